/*
 * ops_pending.c: the operations API that server.h declares and other engineers are building
 * (TLS, metadata, limits: OPS-C), so that the config
 * (config.c) links and says clearly what is missing until they land. Whoever lands a function
 * deletes its stub here (a duplicate definition fails the link, so none can be forgotten).
 */
#include "scatter/server.h"

#include "log.h"

static sg_err pending(const char *what)
{
	sg__log(SG_LOG_ERROR, "%s: not built yet", what);
	return SG_ESTATE;
}

sg_err sg_server_set_listen_tls(sg_server *s, const sg_tls_opts *tls)
{
	(void)s;
	(void)tls;
	return pending("tls");
}

sg_err sg_server_set_group_tls(sg_server *s, const char *group, const sg_tls_opts *tls)
{
	(void)s;
	(void)group;
	(void)tls;
	return pending("group tls");
}

sg_err sg_server_set_forward_metadata(sg_server *s, const char *const *keys, size_t n_keys)
{
	(void)s;
	(void)keys;
	(void)n_keys;
	return pending("forward_metadata");
}

sg_err sg_server_set_message_limits(sg_server *s, size_t max_recv, size_t max_send)
{
	(void)s;
	(void)max_recv;
	(void)max_send;
	return pending("limits");
}
