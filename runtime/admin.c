/*
 * admin.c: the admin HTTP port: /metrics, /status.json and the status page.
 */
#include "admin.h"

#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "deadline.h"
#include "log.h"
#include "status.h"
#include "status_page.h"
#include "strbuf.h"

#define ADMIN_SAMPLE_NS INT64_C(1000000000)
/* A handful of dashboards and one scraper; idle connections go after 10 s. */
#define ADMIN_MAX_CONNECTIONS 32u
#define ADMIN_IDLE_TIMEOUT_S  10u

struct sg__admin {
	const sg__metrics *m;
	sg__status *status;
	struct MHD_Daemon *daemon;
	int port;
	/* The sampler: wakes once a second until stop. */
	pthread_t sampler;
	bool sampler_running;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* CLOCK_MONOTONIC */
	bool stop;
};

/* ---- address ----------------------------------------------------------------------------------
 */

/* "host:port" or "[v6]:port" into a socket address. */
static sg_err admin_resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res = NULL;
	const char *colon = strrchr(listen, ':');
	char host[256];
	size_t hlen;

	if (colon == NULL || colon[1] == '\0')
		return SG_EINVAL;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
		listen++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return SG_EINVAL;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
		return SG_EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return SG_OK;
}

/* ---- requests ---------------------------------------------------------------------------------
 */

static enum MHD_Result admin_send(struct MHD_Connection *conn, unsigned code, const char *type,
                                  char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rv;

	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	/* Live data: never from a cache. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rv = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rv;
}

static enum MHD_Result admin_text(struct MHD_Connection *conn, unsigned code, const char *text)
{
	return admin_send(conn, code, "text/plain; charset=utf-8", (char *)text, strlen(text),
	                  MHD_RESPMEM_PERSISTENT);
}

/* Sends what b holds (taken), or a 500 when it ran out of memory. */
static enum MHD_Result admin_send_buf(struct MHD_Connection *conn, const char *type, sg__strbuf *b)
{
	size_t len = 0;
	char *body = sg__strbuf_take(b, &len);

	if (body == NULL)
		return admin_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return admin_send(conn, MHD_HTTP_OK, type, body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result admin_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
	sg__admin *a = cls;
	sg__strbuf b;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return admin_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	sg__strbuf_init(&b);
	if (strcmp(url, "/metrics") == 0) {
		(void)sg__metrics_render(a->m, &b);
		return admin_send_buf(conn, "text/plain; version=0.0.4; charset=utf-8", &b);
	}
	if (strcmp(url, "/status.json") == 0) {
		(void)sg__status_render(a->status, sg__now_ns(), &b);
		return admin_send_buf(conn, "application/json", &b);
	}
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
		return admin_send(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
		                  (char *)sg__status_page_html, sg__status_page_html_len,
		                  MHD_RESPMEM_PERSISTENT);
	return admin_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /, /status.json or /metrics\n");
}

/* libmicrohttpd's own errors, in our log format. */
static void admin_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (n > 0 && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	sg__log(SG_LOG_WARN, "admin: %s", msg);
}

/* ---- the sampler ------------------------------------------------------------------------------
 */

static void *admin_sampler(void *arg)
{
	sg__admin *a = arg;
	int64_t next = sg__now_ns() + ADMIN_SAMPLE_NS;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		struct timespec ts = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};

		if (pthread_cond_timedwait(&a->wake, &a->lock, &ts) == 0 || sg__now_ns() < next)
			continue; /* stop, or woken early: check again */
		pthread_mutex_unlock(&a->lock);
		sg__status_sample(a->status, sg__now_ns());
		next += ADMIN_SAMPLE_NS;
		/* Behind (a stalled machine): take up from now, not with a burst. */
		if (next <= sg__now_ns())
			next = sg__now_ns() + ADMIN_SAMPLE_NS;
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static sg_err admin_sampler_start(sg__admin *a)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_mutex_init(&a->lock, NULL) != 0)
		return SG_ESYS;
	pthread_condattr_init(&attr);
	/* sg__now_ns is CLOCK_MONOTONIC: the timed wait must use the same clock. */
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&a->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_destroy(&a->lock);
		return SG_ESYS;
	}
	if (pthread_create(&a->sampler, NULL, admin_sampler, a) != 0) {
		pthread_cond_destroy(&a->wake);
		pthread_mutex_destroy(&a->lock);
		return SG_ESYS;
	}
	a->sampler_running = true;
	return SG_OK;
}

static void admin_sampler_stop(sg__admin *a)
{
	if (!a->sampler_running)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->sampler, NULL);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	a->sampler_running = false;
}

/* ---- life cycle -------------------------------------------------------------------------------
 */

sg_err sg__admin_start(const char *listen, const sg__metrics *m, sg__admin **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	sg__admin *a;
	sg_err rv;

	if (listen == NULL || m == NULL || out == NULL)
		return SG_EINVAL;
	if ((rv = admin_resolve(listen, &ss, &sslen)) != SG_OK) {
		sg__log(SG_LOG_ERROR, "admin: cannot parse the address %s (host:port)", listen);
		return rv;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SG_ENOMEM;
	a->m = m;
	if ((rv = sg__status_alloc(m, sg__now_ns(), &a->status)) != SG_OK) {
		free(a);
		return rv;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger first: libmicrohttpd uses its own for errors in the options after it. */
	a->daemon = MHD_start_daemon(
	        flags, 0, NULL, NULL, admin_handle, a, MHD_OPTION_EXTERNAL_LOGGER, admin_log, NULL,
	        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	        ADMIN_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, ADMIN_IDLE_TIMEOUT_S,
	        MHD_OPTION_END);
	if (a->daemon == NULL) {
		sg__log(SG_LOG_ERROR, "admin: cannot listen on %s", listen);
		sg__admin_stop(a);
		return SG_EBIND;
	}
	info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
	a->port = info != NULL ? (int)info->port : 0;
	if ((rv = admin_sampler_start(a)) != SG_OK) {
		sg__admin_stop(a);
		return rv;
	}
	sg__log(SG_LOG_INFO, "admin: serving /metrics, /status.json and / on port %d", a->port);
	*out = a;
	return SG_OK;
}

int sg__admin_port(const sg__admin *a)
{
	return a != NULL ? a->port : 0;
}

void sg__admin_stop(sg__admin *a)
{
	if (a == NULL)
		return;
	/* The HTTP thread first: it reads the status the sampler writes. */
	if (a->daemon != NULL)
		MHD_stop_daemon(a->daemon);
	admin_sampler_stop(a);
	sg__status_free(a->status);
	free(a);
}
