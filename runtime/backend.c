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

const sg__group *sg__backends_group(const sg__backends *b, const char *name)
{
	for (size_t i = 0; i < b->n_groups; i++) {
		if (strcmp(b->groups[i].name, name) == 0)
			return &b->groups[i];
	}
	return NULL;
}

static sg__backend *backend_find(sg__backends *b, const char *target)
{
	for (size_t i = 0; i < b->n_backends; i++) {
		if (strcmp(b->backends[i].target, target) == 0)
			return &b->backends[i];
	}
	return NULL;
}

/* The channel for target (len bytes of a replica list), made once. */
static sg_err backend_add(sg__backends *b, const char *target, size_t len,
                          grpc_channel_credentials *creds, const grpc_channel_args *args,
                          sg__backend **out)
{
	char *copy = strndup(target, len);
	sg__backend *be;

	if (copy == NULL)
		return SG_ENOMEM;
	if ((be = backend_find(b, copy)) != NULL) {
		free(copy);
	} else {
		be = &b->backends[b->n_backends];
		be->target = copy;
		sg__latency_init(&be->latency);
		be->channel = grpc_channel_create(copy, creds, args);
		if (be->channel == NULL) {
			free(be->target);
			be->target = NULL;
			return SG_EINVAL;
		}
		b->n_backends++;
		/* Connect now rather than on the first call: the first call does not pay for the
		 * handshake, and a gather that ends early on it still reaches every backend. */
		(void)grpc_channel_check_connectivity_state(be->channel, 1);
		sg__log(SG_LOG_DEBUG, "channel to %s", copy);
	}
	*out = be;
	return SG_OK;
}

/* The shard of target: one backend per replica. */
static sg_err backend_add_shard(sg__backends *b, const char *target,
                                grpc_channel_credentials *creds, const grpc_channel_args *args,
                                sg__shard *out)
{
	const char *p = target;
	sg_err rv;

	out->n = 0;
	atomic_init(&out->next, 0);
	for (;;) {
		size_t len = strcspn(p, "|");

		if ((rv = backend_add(b, p, len, creds, args, &out->replicas[out->n++])) != SG_OK)
			return rv;
		if (p[len] == '\0')
			return SG_OK;
		p += len + 1;
	}
}

sg_err sg__backends_connect(sg__backends *b)
{
	/* Retries off: a leg's failure must reach the gather as it is, and Scatter will own its
	 * retries and hedges. Channelz off: it costs on every call and nothing reads it.
	 * Reconnect backoff capped at a second (gRPC's default grows to 120 s): channels connect
	 * at start, and a backend that comes up after its aggregator, or comes back, must be used
	 * within a second, not minutes later. */
	grpc_arg arg_list[] = {
	        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0},
	        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_CHANNELZ, .value.integer = 0},
	        {.type = GRPC_ARG_INTEGER,
	         .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
	         .value.integer = 1000},
	        /* A target resolving to several addresses spreads calls over them, and a hedge
	         * on the same channel goes to another address (pick_first would reuse one). */
	        {.type = GRPC_ARG_STRING,
	         .key = GRPC_ARG_SERVICE_CONFIG,
	         .value.string = "{\"loadBalancingConfig\":[{\"round_robin\":{}}]}"},
	};
	grpc_channel_args args = {.num_args = sizeof(arg_list) / sizeof(arg_list[0]),
	                          .args = arg_list};
	grpc_channel_credentials *creds;
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
	creds = grpc_insecure_credentials_create();
	for (size_t i = 0; i < b->n_groups && rv == SG_OK; i++) {
		sg__group *g = &b->groups[i];

		g->legs = calloc(g->n, sizeof(*g->legs));
		g->shards = calloc(g->n, sizeof(*g->shards));
		if (g->legs == NULL || g->shards == NULL) {
			rv = SG_ENOMEM;
			break;
		}
		for (size_t j = 0; j < g->n && rv == SG_OK; j++) {
			rv = backend_add_shard(b, g->targets[j], creds, &args, &g->shards[j]);
			g->legs[j] = g->shards[j].replicas[0];
		}
	}
	grpc_channel_credentials_release(creds);
	return rv;
}

void sg__backends_fini(sg__backends *b)
{
	for (size_t i = 0; i < b->n_backends; i++) {
		grpc_channel_destroy(b->backends[i].channel);
		free(b->backends[i].target);
	}
	free(b->backends);
	for (size_t i = 0; i < b->n_groups; i++)
		group_fini(&b->groups[i]);
	free(b->groups);
	sg__backends_init(b);
}
