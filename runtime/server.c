/*
 * server.c: the server's life cycle: registration, start, signals, shutdown, stats.
 *
 * Only the controlling thread calls into this file; the workers only read what it set up
 * before they started (method records, groups, channels) and write the atomic counters.
 */
#include "scatter/server.h"

#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/cpu.h>

#include "accept.h"
#include "absl_tune.h"
#include "admin.h"
#include "admission.h"
#include "backend.h"
#include "call.h"
#include "config.h"
#include "deadline.h"
#include "forward.h"
#include "health.h"
#include "leaf_call.h"
#include "log.h"
#include "metrics.h"
#include "op.h"
#include "stats.h"
#include "stats_service.h"
#include "tls.h"
#include "worker.h"

#define SERVER_DEFAULT_LISTEN "127.0.0.1:0"

typedef enum server_state {
	SERVER_NEW,     /* registering */
	SERVER_STARTED, /* serving */
	SERVER_STOPPED, /* shut down (or failed to start): can only be freed */
} server_state;

struct sg_server {
	server_state state;
	char *listen;
	size_t n_workers;
	int port;
	sg__backends backends;
	sg__fanout **fanouts; /* owned records */
	size_t n_fanouts;
	sg__leaf_method **leaves; /* owned records */
	size_t n_leaves;
	grpc_server *server;
	sg__worker *workers;
	size_t n_running; /* workers whose thread runs (a prefix of workers) */
	/* The shutdown notification arrives here, not on a worker's queue, so that the
	 * controlling thread can wait for it with a timeout (pluck) whatever the workers do. */
	grpc_completion_queue *notify_cq;
	sg__op notify_op;
	sg__stats stats;
	sg__metrics metrics; /* per method and backend; read by the admin port */
	char *admin_listen;  /* NULL: no admin port */
	sg__admin *admin;    /* while started */
	sg__health health;   /* grpc.health.v1 on the same port */
	/* The max_calls cap, shared by the workers. */
	sg__admission admission;
	/* Security and limits (sg_server_set_listen_tls, ..._forward_metadata, ..._limits). */
	sg__tls *listen_tls; /* owned; NULL: plaintext */
	sg__forward forward;
	size_t max_recv, max_send; /* 0: gRPC's defaults */
	size_t max_trailer;        /* 0: SG_TRAILER_LIMIT_DEFAULT */
};

/* SIGINT and SIGTERM are taken by sigwait in sg_server_wait_signal, so they must be blocked in
 * every thread: blocking them before grpc_init and the workers start makes every thread created
 * afterwards inherit the mask. */
static void server_block_signals(void)
{
	struct sigaction ign;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A peer closing a socket must not kill the process. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
}

sg_err sg_server_alloc(const sg_server_opts *opts, sg_server **out)
{
	const char *listen =
	        opts != NULL && opts->listen != NULL ? opts->listen : SERVER_DEFAULT_LISTEN;
	int threads = opts != NULL ? opts->threads : 0;
	sg_server *s;

	if (out == NULL || threads < 0 || listen[0] == '\0')
		return SG_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SG_ENOMEM;
	if ((s->listen = strdup(listen)) == NULL) {
		free(s);
		return SG_ENOMEM;
	}
	server_block_signals();
	sg__absl_tune();
	grpc_init();
	s->n_workers = threads > 0 ? (size_t)threads : gpr_cpu_num_cores();
	if (s->n_workers == 0)
		s->n_workers = 1;
	s->state = SERVER_NEW;
	s->admission.max_calls =
	        opts != NULL && opts->max_calls > 0 ? opts->max_calls : SG_ADMISSION_DEFAULT;
	sg__backends_init(&s->backends);
	sg__metrics_init(&s->metrics);
	sg__health_init(&s->health);
	/* First, so that no user method can take its path. */
	if (sg__stats_service_add(s) != SG_OK) {
		sg_server_free(s);
		return SG_ENOMEM;
	}
	*out = s;
	return SG_OK;
}

sg_err sg_server_set_group(sg_server *s, const char *group, const char *const *targets,
                           size_t n_targets)
{
	if (s == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	return sg__backends_set_group(&s->backends, group, targets, n_targets);
}

/* Whether path is served already, as a fan-out or a leaf method. */
static bool server_serves(const sg_server *s, const char *path)
{
	for (size_t i = 0; i < s->n_fanouts; i++) {
		if (strcmp(s->fanouts[i]->m->path, path) == 0)
			return true;
	}
	for (size_t i = 0; i < s->n_leaves; i++) {
		if (strcmp(s->leaves[i]->d->path, path) == 0)
			return true;
	}
	return false;
}

/* Appends p to *arr (a growing array of owned pointers). */
static sg_err server_push(void ***arr, size_t *n, void *p)
{
	void **grown = realloc(*arr, (*n + 1) * sizeof(*grown));

	if (grown == NULL)
		return SG_ENOMEM;
	grown[(*n)++] = p;
	*arr = grown;
	return SG_OK;
}

static void server_fanout_free(sg__fanout *f)
{
	sg__fanout_fini(f);
	free(f);
}

sg_err sg_server_add_fanout(sg_server *s, const sg_method_desc *m)
{
	char why[256] = "";
	sg__fanout *f;
	sg_err rv;

	if (s == NULL || m == NULL || m->path == NULL || m->request == NULL || m->response == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	if (server_serves(s, m->path))
		return SG_EEXIST;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return SG_ENOMEM;
	if ((rv = sg__fanout_init(f, m, why, sizeof(why))) != SG_OK) {
		sg__log(SG_LOG_ERROR, "%s: %s", m->path, why[0] != '\0' ? why : sg_strerror(rv));
		server_fanout_free(f);
		return rv;
	}
	if ((rv = server_push((void ***)&s->fanouts, &s->n_fanouts, f)) != SG_OK)
		server_fanout_free(f);
	return rv;
}

/* A leaf method, the user's or (builtin) libscatter's own. */
static sg_err server_add_leaf(sg_server *s, const sg_leaf_desc *m, sg_leaf_fn fn,
                              const void *handlers, void *arg, bool builtin)
{
	sg__leaf_method *lm;
	sg_err rv;

	if (s == NULL || m == NULL || m->path == NULL || m->request == NULL ||
	    m->response == NULL || fn == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	if (server_serves(s, m->path))
		return SG_EEXIST;
	if ((lm = calloc(1, sizeof(*lm))) == NULL)
		return SG_ENOMEM;
	lm->d = m;
	lm->fn = fn;
	lm->handlers = handlers;
	lm->arg = arg;
	lm->builtin = builtin;
	if ((rv = server_push((void ***)&s->leaves, &s->n_leaves, lm)) != SG_OK)
		free(lm);
	return rv;
}

sg_err sg_server_add_leaf(sg_server *s, const sg_leaf_desc *m, sg_leaf_fn fn, const void *handlers,
                          void *arg)
{
	return server_add_leaf(s, m, fn, handlers, arg, false);
}

sg_err sg__server_add_builtin(sg_server *s, const sg_leaf_desc *m, sg_leaf_fn fn, void *arg)
{
	return server_add_leaf(s, m, fn, NULL, arg, true);
}

sg_err sg_server_set_listen_tls(sg_server *s, const sg_tls_opts *tls)
{
	sg__tls *t;
	sg_err rv;

	if (s == NULL || tls == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	if ((rv = sg__tls_replace(&s->listen_tls, tls, SG_TLS_LISTEN)) != SG_OK)
		return rv;
	t = s->listen_tls;
	sg__log(SG_LOG_INFO, "listening with TLS%s",
	        t->require_client_cert ? ", client certificates required (mTLS)" : "");
	return SG_OK;
}

sg_err sg_server_set_group_tls(sg_server *s, const char *group, const sg_tls_opts *tls)
{
	if (s == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	return sg__backends_set_tls(&s->backends, group, tls);
}

sg_err sg_server_set_forward_metadata(sg_server *s, const char *const *keys, size_t n_keys)
{
	if (s == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	return sg__forward_set(&s->forward, keys, n_keys);
}

sg_err sg_server_set_message_limits(sg_server *s, size_t max_recv, size_t max_send)
{
	if (s == NULL || max_recv > INT_MAX || max_send > INT_MAX)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	s->max_recv = max_recv;
	s->max_send = max_send;
	s->backends.max_recv = max_recv;
	s->backends.max_send = max_send;
	return SG_OK;
}

sg_err sg_server_set_trailer_limit(sg_server *s, size_t max_bytes)
{
	if (s == NULL || max_bytes > INT_MAX)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	s->max_trailer = max_bytes;
	return SG_OK;
}

/* Every fan-out method must fit the configured groups before anything is created. */
static sg_err server_check_groups(sg_server *s)
{
	char why[256] = "";
	sg_err rv;

	for (size_t i = 0; i < s->n_fanouts; i++) {
		if ((rv = sg__fanout_check(s->fanouts[i], &s->backends, why, sizeof(why))) !=
		    SG_OK) {
			sg__log(SG_LOG_ERROR, "%s", why[0] != '\0' ? why : sg_strerror(rv));
			return rv;
		}
	}
	return SG_OK;
}

/* The metrics record of each backend target of every group that has none yet (under the
 * first group naming it, with its hedge counters), before routes naming it are published: at
 * start, and for the targets a reload adds. A record that cannot be made only means that
 * nothing is counted there. */
static void server_wire_backends(sg_server *s)
{
	for (size_t i = 0; i < s->backends.n_groups; i++) {
		const sg__group *g = &s->backends.groups[i];

		for (size_t j = 0; j < g->n_shards; j++) {
			for (uint32_t k = 0; k < g->shards[j].n; k++) {
				sg__backend *be = g->shards[j].replicas[k];

				if (be->metrics != NULL)
					continue;
				be->metrics = sg__metrics_target(&s->metrics, g->name, be->target);
				if (be->metrics == NULL)
					continue;
				be->metrics->hedges_sent = &be->hedge.hedges_sent;
				be->metrics->hedges_won = &be->hedge.hedges_won;
				be->metrics->retries = &be->hedge.retries;
				be->metrics->breaker = &be->guard.breaker;
			}
		}
	}
}

/* One metrics record per fan-out method, and one per backend target. */
static void server_wire_metrics(sg_server *s)
{
	for (size_t i = 0; i < s->n_fanouts; i++) {
		sg__fanout *f = s->fanouts[i];

		f->metrics = sg__metrics_method(&s->metrics,
		                                f->m->path[0] == '/' ? f->m->path + 1 : f->m->path);
	}
	server_wire_backends(s);
}

/* Once the channels exist: every method's legs, one route each. */
static sg_err server_route(sg_server *s)
{
	sg_err rv;

	for (size_t i = 0; i < s->n_fanouts; i++) {
		if ((rv = sg__fanout_route(s->fanouts[i], &s->backends)) != SG_OK)
			return rv;
		s->fanouts[i]->forward = &s->forward;
		s->fanouts[i]->max_send = s->max_send;
		s->fanouts[i]->max_trailer = s->max_trailer;
	}
	server_wire_metrics(s);
	return SG_OK;
}

static sg_err server_register_methods(sg_server *s)
{
	sg_err rv;

	/* Health knows every service served, by name: Check("search.Search") is SERVING. */
	for (size_t i = 0; i < s->n_fanouts; i++) {
		if ((rv = sg__health_add_path(&s->health, s->fanouts[i]->m->path)) != SG_OK)
			return rv;
	}
	for (size_t i = 0; i < s->n_leaves; i++) {
		if ((rv = sg__health_add_path(&s->health, s->leaves[i]->d->path)) != SG_OK)
			return rv;
	}
	if ((rv = sg__health_register(&s->health, s->server)) != SG_OK)
		return rv;
	for (size_t i = 0; i < s->n_fanouts; i++) {
		sg__fanout *f = s->fanouts[i];

		f->registered = grpc_server_register_method(
		        s->server, f->m->path, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (f->registered == NULL)
			return SG_ECONFIG;
	}
	for (size_t i = 0; i < s->n_leaves; i++) {
		sg__leaf_method *lm = s->leaves[i];

		lm->registered = grpc_server_register_method(
		        s->server, lm->d->path, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (lm->registered == NULL)
			return SG_ECONFIG;
	}
	return SG_OK;
}

/* A pluck queue that never polls: the shutdown notification only, waited for with a timeout. */
static grpc_completion_queue *server_notify_cq(void)
{
	grpc_completion_queue_attributes attr = {
	        .version = GRPC_CQ_CURRENT_VERSION,
	        .cq_completion_type = GRPC_CQ_PLUCK,
	        .cq_polling_type = GRPC_CQ_NON_POLLING,
	        .cq_shutdown_cb = NULL,
	};

	return grpc_completion_queue_create(grpc_completion_queue_factory_lookup(&attr), &attr,
	                                    NULL);
}

/* Undoes a start that failed before grpc_server_start: nothing was served. */
static void server_unwind(sg_server *s)
{
	/* First: the admin port reads what the rest of this frees. */
	sg__admin_stop(s->admin);
	s->admin = NULL;
	for (size_t i = 0; i < s->n_workers && s->workers != NULL; i++)
		sg__worker_fini(&s->workers[i]);
	free(s->workers);
	s->workers = NULL;
	if (s->server != NULL)
		grpc_server_destroy(s->server);
	s->server = NULL;
	if (s->notify_cq != NULL) {
		grpc_completion_queue_shutdown(s->notify_cq);
		grpc_completion_queue_pluck(s->notify_cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC),
		                            NULL);
		grpc_completion_queue_destroy(s->notify_cq);
	}
	s->notify_cq = NULL;
	/* Routes hold references on the backends: they go first. */
	for (size_t i = 0; i < s->n_fanouts; i++)
		sg__fanout_unroute(s->fanouts[i]);
	sg__backends_fini(&s->backends);
	s->state = SERVER_STOPPED;
}

/* Creates the server, its queues and the listening port. */
static sg_err server_create(sg_server *s)
{
	grpc_server_credentials *creds;
	sg_err rv;

	/* No SO_REUSEPORT: a second server on a busy port must fail with SG_EBIND, not silently
	 * share the port's traffic with the first. The message limits when configured: a
	 * request over max_recv is refused by gRPC with RESOURCE_EXHAUSTED. */
	grpc_arg arg[3] = {
	        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0}};
	grpc_channel_args args = {.num_args = 1, .args = arg};

	if (s->max_recv > 0)
		arg[args.num_args++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
		                                  .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		                                  .value.integer = (int)s->max_recv};
	if (s->max_send > 0)
		arg[args.num_args++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
		                                  .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
		                                  .value.integer = (int)s->max_send};

	if ((s->server = grpc_server_create(&args, NULL)) == NULL)
		return SG_ENOMEM;
	if ((rv = server_register_methods(s)) != SG_OK)
		return rv;
	if ((s->workers = calloc(s->n_workers, sizeof(*s->workers))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < s->n_workers; i++) {
		if ((rv = sg__worker_init(&s->workers[i], i, s->server, &s->stats)) != SG_OK)
			return rv;
		s->workers[i].admission = &s->admission;
		grpc_server_register_completion_queue(s->server, s->workers[i].cq, NULL);
	}
	if ((s->notify_cq = server_notify_cq()) == NULL)
		return SG_ENOMEM;
	grpc_server_register_completion_queue(s->server, s->notify_cq, NULL);
	creds = s->listen_tls != NULL ? sg__tls_server_credentials(s->listen_tls)
	                              : grpc_insecure_server_credentials_create();
	s->port = grpc_server_add_http2_port(s->server, s->listen, creds);
	grpc_server_credentials_release(creds);
	if (s->port == 0) {
		sg__log(SG_LOG_ERROR, "cannot listen on %s%s", s->listen,
		        s->listen_tls != NULL ? " (TLS)" : "");
		return SG_EBIND;
	}
	return SG_OK;
}

/* Whether target is in list[n]. */
static bool server_has_target(char *const *list, size_t n, const char *target)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], target) == 0)
			return true;
	}
	return false;
}

/* Waits until no worker is between reading a route set pointer and counting its reference
 * (sg__fanout_acquire): afterwards every worker reads the new pointers, and every reference
 * taken on an old set is counted. The window is a few instructions: this spins, bounded. */
static void server_quiesce(sg_server *s)
{
	int64_t give_up = sg__now_ns() + INT64_C(1000000000);

	for (size_t i = 0; i < s->n_running; i++) {
		while (atomic_load(&s->workers[i].routing) != 0) {
			if (sg__now_ns() > give_up) {
				sg__log(SG_LOG_ERROR, "worker %zu: stuck taking a route set", i);
				break;
			}
			sched_yield();
		}
	}
}

/* Publishes group's new routes to every method calling it (targets already resolved). */
static sg_err server_reroute(sg_server *s, const char *group)
{
	sg__routes **old = calloc(s->n_fanouts > 0 ? s->n_fanouts : 1, sizeof(*old));
	sg_err rv = SG_OK;

	if (old == NULL)
		return SG_ENOMEM;
	server_wire_backends(s); /* the targets the reload added */
	for (size_t i = 0; i < s->n_fanouts && rv == SG_OK; i++) {
		sg__routes *rs;

		if (!sg__fanout_uses(s->fanouts[i], group))
			continue;
		if ((rv = sg__fanout_build(s->fanouts[i], &s->backends, &rs)) != SG_OK)
			break;
		old[i] = sg__fanout_publish(s->fanouts[i], rs);
	}
	server_quiesce(s);
	/* Calls in flight keep their references: the old sets (and channels no new set names)
	 * go when the last of those calls ends. */
	for (size_t i = 0; i < s->n_fanouts; i++)
		sg__routes_release(old[i]);
	free(old);
	return rv;
}

sg_err sg_server_reload_group(sg_server *s, const char *group, const char *const *targets,
                              size_t n_targets)
{
	char why[256] = "";
	char **old = NULL;
	size_t old_n = 0, added = 0, removed = 0;
	const sg__group *g;
	sg_err rv;

	if (s == NULL || group == NULL || targets == NULL || n_targets == 0)
		return SG_EINVAL;
	if (s->state == SERVER_STOPPED)
		return SG_ESTATE;
	if ((rv = sg__backends_retarget(&s->backends, group, targets, n_targets, &old, &old_n)) !=
	    SG_OK)
		return rv;
	if (s->state == SERVER_NEW) {
		/* Nothing is routed yet: start resolves the new targets. */
		sg__backends_free_targets(old, old_n);
		return SG_OK;
	}
	for (size_t i = 0; i < s->n_fanouts; i++) {
		if (sg__fanout_uses(s->fanouts[i], group) &&
		    (rv = sg__fanout_check(s->fanouts[i], &s->backends, why, sizeof(why))) !=
		            SG_OK) {
			sg__log_kv(SG_LOG_ERROR, "group not reloaded", "group=%s reason=\"%s\"",
			           group, why);
			sg__backends_restore(&s->backends, group, old, old_n);
			return rv;
		}
	}
	if ((rv = sg__backends_resolve(&s->backends, group)) != SG_OK) {
		sg__log_kv(SG_LOG_ERROR, "group not reloaded", "group=%s reason=\"%s\"", group,
		           sg_strerror(rv));
		sg__backends_restore(&s->backends, group, old, old_n);
		return rv;
	}
	rv = server_reroute(s, group);
	g = sg__backends_group(&s->backends, group);
	for (size_t i = 0; i < g->n; i++)
		added += !server_has_target(old, old_n, g->targets[i]);
	for (size_t i = 0; i < old_n; i++)
		removed += !server_has_target(g->targets, g->n, old[i]);
	sg__backends_free_targets(old, old_n);
	sg__log_kv(rv == SG_OK ? SG_LOG_INFO : SG_LOG_ERROR, "group reloaded",
	           "group=%s targets=%zu added=%zu removed=%zu%s", group, g->n, added, removed,
	           rv == SG_OK ? "" : " error=out_of_memory");
	return rv;
}

sg_err sg_server_set_group_resilience(sg_server *s, const char *group, const sg_resilience_desc *r)
{
	char why[256] = "";
	sg_err rv;

	if (s == NULL || group == NULL || r == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	if ((rv = sg__guard_check(r, why, sizeof(why))) != SG_OK) {
		sg__log(SG_LOG_ERROR, "group %s: %s", group, why);
		return rv;
	}
	return sg__backends_set_resilience(&s->backends, group, r, true);
}

/* A group the config gave no resilience settings takes those of the first method (in
 * registration order) that calls it: a target has one breaker, whichever method calls it. */
static void server_default_resilience(sg_server *s)
{
	for (size_t i = 0; i < s->n_fanouts; i++) {
		const sg_method_desc *m = s->fanouts[i]->m;

		if (m->n_legs == 0)
			(void)sg__backends_set_resilience(&s->backends, m->group, &m->resilience,
			                                  false);
		for (size_t j = 0; j < m->n_legs; j++)
			(void)sg__backends_set_resilience(&s->backends, m->legs[j].group,
			                                  &m->resilience, false);
	}
}

sg_err sg_server_start(sg_server *s)
{
	sg_err rv;

	if (s == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	if ((rv = server_check_groups(s)) != SG_OK)
		return rv;
	server_default_resilience(s);
	if ((rv = sg__backends_connect(&s->backends)) != SG_OK || (rv = server_route(s)) != SG_OK ||
	    (rv = server_create(s)) != SG_OK ||
	    (s->admin_listen != NULL &&
	     (rv = sg__admin_start(s->admin_listen, &s->metrics, &s->admin)) != SG_OK)) {
		server_unwind(s);
		return rv;
	}
	grpc_server_start(s->server);
	s->state = SERVER_STARTED;
	/* Threads first, then the requests: a worker's slots are only armed once its thread runs
	 * its queue. A worker that cannot start just serves nothing; the others still do. */
	for (size_t i = 0; i < s->n_workers; i++) {
		if ((rv = sg__worker_start(&s->workers[i])) != SG_OK)
			break;
		s->n_running++;
	}
	for (size_t i = 0; i < s->n_running && rv == SG_OK; i++)
		rv = sg__accept_start(&s->workers[i], s->fanouts, s->n_fanouts, s->leaves,
		                      s->n_leaves, &s->health);
	if (rv != SG_OK) {
		sg__log(SG_LOG_ERROR, "cannot start the workers: %s", sg_strerror(rv));
		sg_server_shutdown(s, 0);
		return rv;
	}
	/* The built-in scatter.Stats is not the user's: not counted. */
	sg__log(SG_LOG_INFO,
	        "serving on port %d with %zu workers, %zu fan-out and %zu leaf methods", s->port,
	        s->n_workers, s->n_fanouts, s->n_leaves - 1);
	return SG_OK;
}

bool sg__server_group_used(const sg_server *s, const char *group)
{
	for (size_t i = 0; i < s->n_fanouts; i++) {
		if (sg__fanout_uses(s->fanouts[i], group))
			return true;
	}
	return false;
}

sg_err sg__server_group_resilience(const sg_server *s, const char *group, sg_resilience_desc *out,
                                   const char **method)
{
	for (size_t i = 0; i < s->n_fanouts; i++) {
		const sg_method_desc *m = s->fanouts[i]->m;

		if (!sg__fanout_uses(s->fanouts[i], group))
			continue;
		*out = m->resilience;
		*method = m->path[0] == '/' ? m->path + 1 : m->path;
		return SG_OK;
	}
	return SG_ENOENT;
}

void sg_server_set_serving(sg_server *s, bool serving)
{
	if (s != NULL)
		sg__health_set(&s->health, serving);
}

int sg_server_port(const sg_server *s)
{
	return s != NULL ? s->port : 0;
}

sg_err sg_server_set_admin(sg_server *s, const char *listen)
{
	char *copy;

	if (s == NULL || listen == NULL || strchr(listen, ':') == NULL)
		return SG_EINVAL;
	if (s->state != SERVER_NEW)
		return SG_ESTATE;
	if ((copy = strdup(listen)) == NULL)
		return SG_ENOMEM;
	free(s->admin_listen);
	s->admin_listen = copy;
	return SG_OK;
}

int sg_server_admin_port(const sg_server *s)
{
	return s != NULL ? sg__admin_port(s->admin) : 0;
}

void sg_server_wait_signal(sg_server *s)
{
	sigset_t set;
	int sig = 0;

	(void)s;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Blocked already if sg_server_alloc ran on this thread; blocking again is harmless and
	 * makes sigwait well-defined when it did not. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (sigwait(&set, &sig) != 0) {
	}
	sg__log(SG_LOG_INFO, "signal %d: shutting down", sig);
}

/* Waits for the server's shutdown notification until deadline_ns; true when it arrived. */
static bool server_wait_notify(sg_server *s, int64_t deadline_ns)
{
	grpc_event ev = grpc_completion_queue_pluck(s->notify_cq, &s->notify_op,
	                                            sg__timespec_from_ns(deadline_ns), NULL);

	return ev.type == GRPC_OP_COMPLETE;
}

void sg_server_shutdown(sg_server *s, uint32_t grace_ms)
{
	if (s == NULL || s->state == SERVER_STOPPED)
		return;
	if (s->state == SERVER_NEW) {
		s->state = SERVER_STOPPED;
		return;
	}
	/* Health says NOT_SERVING and its Watch streams end; then stop accepting: calls in flight
	 * may finish within the grace period. */
	sg__health_stop(&s->health);
	sg__log_kv(SG_LOG_INFO, "draining", "grace_ms=%u", grace_ms);
	grpc_server_shutdown_and_notify(s->server, s->notify_cq, &s->notify_op);
	if (!server_wait_notify(s, sg__now_ns() + (int64_t)grace_ms * INT64_C(1000000))) {
		sg__log(SG_LOG_INFO, "grace period of %u ms over: cancelling the calls in flight",
		        grace_ms);
		grpc_server_cancel_all_calls(s->server);
		server_wait_notify(s, SG_NO_DEADLINE);
	}
	/* Every server call has ended; legs cut short are still completing. Each worker's queue
	 * ends once its last operation has completed, and every call is freed by then. */
	for (size_t i = 0; i < s->n_running; i++)
		sg__worker_stop(&s->workers[i]);
	for (size_t i = 0; i < s->n_running; i++)
		sg__worker_join(&s->workers[i]);
	grpc_server_destroy(s->server);
	s->server = NULL;
	for (size_t i = 0; i < s->n_workers; i++)
		sg__accept_fini(&s->workers[i]);
	server_unwind(s);
	sg__log(SG_LOG_INFO, "shut down");
}

void sg_server_free(sg_server *s)
{
	if (s == NULL)
		return;
	sg_server_shutdown(s, 0);
	sg__backends_fini(&s->backends);
	for (size_t i = 0; i < s->n_fanouts; i++)
		server_fanout_free(s->fanouts[i]);
	free(s->fanouts);
	for (size_t i = 0; i < s->n_leaves; i++)
		free(s->leaves[i]);
	free(s->leaves);
	sg__metrics_fini(&s->metrics);
	free(s->admin_listen);
	free(s->listen);
	sg__health_fini(&s->health);
	sg__tls_fini(s->listen_tls);
	free(s->listen_tls);
	sg__forward_fini(&s->forward);
	free(s);
	grpc_shutdown();
}

void sg_server_stats_get(const sg_server *s, sg_server_stats *out)
{
	if (s == NULL || out == NULL)
		return;
	out->calls_started = atomic_load_explicit(&s->stats.calls_started, memory_order_relaxed);
	out->calls_cancelled =
	        atomic_load_explicit(&s->stats.calls_cancelled, memory_order_relaxed);
	out->legs_started = atomic_load_explicit(&s->stats.legs_started, memory_order_relaxed);
	out->legs_failed = atomic_load_explicit(&s->stats.legs_failed, memory_order_relaxed);
	out->legs_cancelled = atomic_load_explicit(&s->stats.legs_cancelled, memory_order_relaxed);
	out->hedges_sent = atomic_load_explicit(&s->stats.hedges_sent, memory_order_relaxed);
	out->hedges_won = atomic_load_explicit(&s->stats.hedges_won, memory_order_relaxed);
	out->retries = atomic_load_explicit(&s->stats.retries, memory_order_relaxed);
	out->calls_rejected = atomic_load_explicit(&s->stats.calls_rejected, memory_order_relaxed);
	out->legs_refused = atomic_load_explicit(&s->stats.legs_refused, memory_order_relaxed);
}
