/*
 * backend.c: groups of targets and the channels to them.
 */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "log.h"

void sg__backends_init(sg__backends *b)
{
	memset(b, 0, sizeof(*b));
}

static void group_fini(sg__group *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->targets[i]);
	free(g->targets);
	free(g->legs);
	free(g->shards);
	free(g->name);
	sg__tls_fini(g->tls);
	free(g->tls);
}

/* How many replicas target lists ("a|b|c"); 0 if it is not a valid list (NULL, empty, an
 * empty replica, more than SG__REPLICAS_MAX). */
static size_t backend_replicas(const char *target)
{
	size_t n = 1, len = 0;

	if (target == NULL)
		return 0;
	for (const char *p = target;; p++) {
		if (*p == '|' || *p == '\0') {
			if (len == 0)
				return 0;
			if (*p == '\0')
				break;
			n++;
			len = 0;
		} else {
			len++;
		}
	}
	return n <= SG__REPLICAS_MAX ? n : 0;
}

sg_err sg__backends_set_group(sg__backends *b, const char *name, const char *const *targets,
                              size_t n)
{
	sg__group g = {0};
	sg__group *groups;

	if (b == NULL || name == NULL || targets == NULL || n == 0)
		return SG_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (backend_replicas(targets[i]) == 0)
			return SG_EINVAL;
	}
	if (b->backends != NULL)
		return SG_ESTATE;
	if (sg__backends_group(b, name) != NULL)
		return SG_EEXIST;

	g.name = strdup(name);
	g.targets = calloc(n, sizeof(*g.targets));
	if (g.name == NULL || g.targets == NULL)
		goto nomem;
	for (; g.n < n; g.n++) {
		if ((g.targets[g.n] = strdup(targets[g.n])) == NULL)
			goto nomem;
	}
	groups = realloc(b->groups, (b->n_groups + 1) * sizeof(*groups));
	if (groups == NULL)
		goto nomem;
	b->groups = groups;
	b->groups[b->n_groups++] = g;
	return SG_OK;
nomem:
	group_fini(&g);
	return SG_ENOMEM;
}

sg_err sg__backends_set_tls(sg__backends *b, const char *name, const sg_tls_opts *opts)
{
	sg__group *g;

	if (b == NULL || name == NULL || opts == NULL)
		return SG_EINVAL;
	if (b->backends != NULL)
		return SG_ESTATE;
	/* The groups are the caller's (b is not const): only the lookup returns them const. */
	if ((g = (sg__group *)sg__backends_group(b, name)) == NULL)
		return SG_ENOENT;
	return sg__tls_replace(&g->tls, opts, SG_TLS_CALL);
}

const sg__group *sg__backends_group(const sg__backends *b, const char *name)
{
	for (size_t i = 0; i < b->n_groups; i++) {
		if (strcmp(b->groups[i].name, name) == 0)
			return &b->groups[i];
	}
	return NULL;
}

/* The backend for target over tls (NULL: plaintext) still in use, or NULL. */
static sg__backend *backend_find(sg__backends *b, const char *target, const sg__tls *tls)
{
	/* One nobody refers to any more is not reused: its channel is gone, or going on a
	 * worker. (At connect, every backend found has its first group's reference.) */
	for (size_t i = 0; i < b->n_backends; i++) {
		if (strcmp(b->backends[i].target, target) == 0 && b->backends[i].tls == tls &&
		    atomic_load(&b->backends[i].refs) > 0)
			return &b->backends[i];
	}
	for (sg__backend *be = b->added; be != NULL; be = be->next_added) {
		if (strcmp(be->target, target) == 0 && be->tls == tls && atomic_load(&be->refs) > 0)
			return be;
	}
	return NULL;
}

/* A reference, unless the count already reached 0 (the channel is closing). */
static bool backend_tryref(sg__backend *be)
{
	unsigned r = atomic_load_explicit(&be->refs, memory_order_relaxed);

	while (r != 0) {
		if (atomic_compare_exchange_weak_explicit(
		            &be->refs, &r, r + 1, memory_order_relaxed, memory_order_relaxed))
			return true;
	}
	return false;
}

void sg__backend_ref(const sg__backend *be)
{
	sg__backend *m = (sg__backend *)be;

	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void sg__backend_release(const sg__backend *be)
{
	sg__backend *m = (sg__backend *)be;

	/* acq_rel: whatever the other holders did with the channel happens before it goes. */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	grpc_channel_destroy(m->channel);
	m->channel = NULL;
	atomic_store(&m->closed, true);
	sg__log_kv(SG_LOG_INFO, "backend channel closed", "target=%s reason=unused", m->target);
}

sg_err sg__backends_set_resilience(sg__backends *b, const char *group, const sg_resilience_desc *r,
                                   bool override)
{
	sg__group *g = (sg__group *)sg__backends_group(b, group);

	if (g == NULL)
		return SG_ENOENT;
	if (b->backends != NULL)
		return SG_ESTATE;
	if (override || !g->has_resilience) {
		g->resilience = *r;
		g->has_resilience = true;
		g->resilience_override = g->resilience_override || override;
	}
	return SG_OK;
}

/* Opens be's channel to target (taken) over tls (NULL: plaintext; creds are made from it),
 * with the backends' arguments; its guard from r (NULL: none). */
static sg_err backend_open(sg__backend *be, const sg_resilience_desc *r, char *target,
                           const sg__tls *tls, grpc_channel_credentials *creds,
                           const grpc_channel_args *args)
{
	be->target = target;
	be->tls = tls;
	sg__latency_init(&be->latency);
	atomic_init(&be->refs, 0);
	atomic_init(&be->closed, false);
	if (sg__guard_init(&be->guard, r, target) != SG_OK) {
		free(be->target);
		be->target = NULL;
		return SG_ENOMEM;
	}
	be->channel = grpc_channel_create(target, creds, args);
	if (be->channel == NULL) {
		sg__guard_fini(&be->guard);
		free(be->target);
		be->target = NULL;
		return SG_EINVAL;
	}
	/* Connect now rather than on the first call: the first call does not pay for the
	 * handshake, and a gather that ends early on it still reaches every backend. */
	(void)grpc_channel_check_connectivity_state(be->channel, 1);
	sg__log(SG_LOG_DEBUG, "channel to %s%s", target, tls != NULL ? " (TLS)" : "");
	return SG_OK;
}

/* The channel for target (len bytes of a replica list) over tls, made once. */
static sg_err backend_add(sg__backends *b, const sg_resilience_desc *r, const char *target,
                          size_t len, const sg__tls *tls, grpc_channel_credentials *creds,
                          const grpc_channel_args *args, bool in_array, sg__backend **out)
{
	char *copy = strndup(target, len);
	sg__backend *be;

	if (copy == NULL)
		return SG_ENOMEM;
	/* A channel whose last user is letting go on a worker right now cannot be taken back:
	 * a new one is made instead. */
	if ((be = backend_find(b, copy, tls)) != NULL && backend_tryref(be)) {
		free(copy);
	} else if (in_array) {
		/* At connect: in the array, sized for every replica. */
		sg_err rv;

		be = &b->backends[b->n_backends];
		if ((rv = backend_open(be, r, copy, tls, creds, args)) != SG_OK)
			return rv;
		b->n_backends++;
		sg__backend_ref(be);
	} else {
		/* At a reload: a list of its own, so that the array's pointers never move. */
		sg_err rv;

		if ((be = calloc(1, sizeof(*be))) == NULL) {
			free(copy);
			return SG_ENOMEM;
		}
		if ((rv = backend_open(be, r, copy, tls, creds, args)) != SG_OK) {
			free(be);
			return rv;
		}
		be->next_added = b->added;
		b->added = be;
		sg__backend_ref(be);
	}
	/* The caller's (the group's) reference is taken. */
	*out = be;
	return SG_OK;
}

/* The shard of target: one backend per replica, over tls. */
static sg_err backend_add_shard(sg__backends *b, const sg_resilience_desc *r, const char *target,
                                const sg__tls *tls, grpc_channel_credentials *creds,
                                const grpc_channel_args *args, bool in_array, sg__shard *out)
{
	const char *p = target;
	sg_err rv;

	out->n = 0;
	atomic_init(&out->next, 0);
	for (;;) {
		size_t len = strcspn(p, "|");

		if ((rv = backend_add(b, r, p, len, tls, creds, args, in_array,
		                      &out->replicas[out->n])) != SG_OK)
			return rv;
		out->n++;
		if (p[len] == '\0')
			return SG_OK;
		p += len + 1;
	}
}

/* The arguments of every backend channel. Retries off: a leg's failure must reach the gather as
 * it is, and Scatter owns its retries and hedges. Channelz off: it costs on every call and
 * nothing reads it. Reconnect backoff capped at a second (gRPC's default grows to 120 s):
 * channels connect at start, and a backend that comes up after its aggregator, or comes back,
 * must be used within a second, not minutes later. */
static const grpc_arg backend_arg_list[] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_CHANNELZ, .value.integer = 0},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, .value.integer = 1000},
        /* A target resolving to several addresses spreads calls over them, and a hedge on the
         * same channel goes to another address (pick_first would reuse one). */
        {.type = GRPC_ARG_STRING,
         .key = GRPC_ARG_SERVICE_CONFIG,
         .value.string = "{\"loadBalancingConfig\":[{\"round_robin\":{}}]}"},
};

#define BACKEND_N_ARGS (sizeof(backend_arg_list) / sizeof(backend_arg_list[0]))

/* backend_arg_list and the message limits when configured (sg_server_set_message_limits), in
 * list[BACKEND_N_ARGS + 2]. */
static grpc_channel_args backend_args(const sg__backends *b, grpc_arg *list)
{
	grpc_channel_args args = {.num_args = BACKEND_N_ARGS, .args = list};

	memcpy(list, backend_arg_list, sizeof(backend_arg_list));
	if (b->max_recv > 0)
		list[args.num_args++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
		                                   .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		                                   .value.integer = (int)b->max_recv};
	if (b->max_send > 0)
		list[args.num_args++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
		                                   .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
		                                   .value.integer = (int)b->max_send};
	return args;
}

/* g's shards (and legs, their first replicas) resolved to channels; the group takes a reference
 * on each. */
static sg_err backend_resolve_group(sg__backends *b, sg__group *g, bool in_array)
{
	grpc_channel_credentials *creds = sg__tls_channel_credentials(g->tls);
	grpc_arg list[BACKEND_N_ARGS + 2];
	grpc_channel_args args = backend_args(b, list);
	sg__backend **legs = calloc(g->n, sizeof(*legs));
	sg__shard *shards = calloc(g->n, sizeof(*shards));
	sg_err rv = SG_OK;
	size_t j = 0;

	if (legs == NULL || shards == NULL)
		rv = SG_ENOMEM;
	for (; j < g->n && rv == SG_OK; j++) {
		rv = backend_add_shard(b, g->has_resilience ? &g->resilience : NULL, g->targets[j],
		                       g->tls, creds, &args, in_array, &shards[j]);
		legs[j] = shards[j].replicas[0];
	}
	grpc_channel_credentials_release(creds);
	if (rv != SG_OK) {
		for (size_t k = 0; k < j && shards != NULL; k++) {
			for (uint32_t r = 0; r < shards[k].n; r++)
				sg__backend_release(shards[k].replicas[r]);
		}
		free(legs);
		free(shards);
		return rv;
	}
	/* The old targets' channels stay open while routes of calls in flight name them. */
	for (size_t k = 0; k < g->n_shards; k++) {
		for (uint32_t r = 0; r < g->shards[k].n; r++)
			sg__backend_release(g->shards[k].replicas[r]);
	}
	free(g->legs);
	free(g->shards);
	g->legs = legs;
	g->shards = shards;
	g->n_shards = g->n;
	return SG_OK;
}

sg_err sg__backends_connect(sg__backends *b)
{
	size_t total = 0;
	sg_err rv = SG_OK;

	if (b->backends != NULL)
		return SG_ESTATE;
	for (size_t i = 0; i < b->n_groups; i++) {
		for (size_t j = 0; j < b->groups[i].n; j++)
			total += backend_replicas(b->groups[i].targets[j]);
	}
	/* Sized for the worst case (all distinct) so that pointers into it never move. */
	b->backends = calloc(total > 0 ? total : 1, sizeof(*b->backends));
	if (b->backends == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < b->n_groups && rv == SG_OK; i++)
		rv = backend_resolve_group(b, &b->groups[i], true);
	return rv;
}

static sg__group *backends_group_mut(sg__backends *b, const char *name)
{
	return (sg__group *)sg__backends_group(b, name);
}

void sg__backends_free_targets(char **targets, size_t n)
{
	for (size_t i = 0; targets != NULL && i < n; i++)
		free(targets[i]);
	free(targets);
}

sg_err sg__backends_retarget(sg__backends *b, const char *name, const char *const *targets,
                             size_t n, char ***old_targets, size_t *old_n)
{
	sg__group *g = backends_group_mut(b, name);
	char **copy;

	if (g == NULL)
		return SG_ENOENT;
	if (targets == NULL || n == 0)
		return SG_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (backend_replicas(targets[i]) == 0)
			return SG_EINVAL;
	}
	if ((copy = calloc(n, sizeof(*copy))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((copy[i] = strdup(targets[i])) == NULL) {
			sg__backends_free_targets(copy, i);
			return SG_ENOMEM;
		}
	}
	*old_targets = g->targets;
	*old_n = g->n;
	g->targets = copy;
	g->n = n;
	return SG_OK;
}

void sg__backends_restore(sg__backends *b, const char *name, char **old_targets, size_t old_n)
{
	sg__group *g = backends_group_mut(b, name);

	if (g == NULL)
		return;
	sg__backends_free_targets(g->targets, g->n);
	g->targets = old_targets;
	g->n = old_n;
}

sg_err sg__backends_resolve(sg__backends *b, const char *name)
{
	sg__group *g = backends_group_mut(b, name);

	return g != NULL ? backend_resolve_group(b, g, false) : SG_ENOENT;
}

void sg__backends_fini(sg__backends *b)
{
	sg__backend *next;

	for (size_t i = 0; i < b->n_backends; i++) {
		if (!atomic_load(&b->backends[i].closed))
			grpc_channel_destroy(b->backends[i].channel);
		sg__guard_fini(&b->backends[i].guard);
		free(b->backends[i].target);
	}
	free(b->backends);
	for (sg__backend *be = b->added; be != NULL; be = next) {
		next = be->next_added;
		if (!atomic_load(&be->closed))
			grpc_channel_destroy(be->channel);
		sg__guard_fini(&be->guard);
		free(be->target);
		free(be);
	}
	for (size_t i = 0; i < b->n_groups; i++)
		group_fini(&b->groups[i]);
	free(b->groups);
	sg__backends_init(b);
}
