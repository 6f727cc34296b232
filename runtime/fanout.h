/*
 * fanout.h (internal): a served fan-out method, resolved in two steps.
 *
 *   sg_server_add_fanout  -> sg__fanout_init:  the table against its descriptors (gather and
 *                            merge plans, leg request maps); SG_ECONFIG with a reason
 *   sg_server_start       -> sg__fanout_check: the table against the configured groups
 *                            (group_size, one target per heterogeneous leg, what the gather
 *                            needs); then sg__fanout_route once the channels exist
 *
 * Afterwards it is read-only, shared by every worker, except its route set: a reload
 * (sg__fanout_build, sg__fanout_publish) makes a new one for the calls that start from then on,
 * while calls in flight keep the one they took (sg__fanout_acquire). A route set is freed by
 * whoever releases its last reference: the fanout's own (until replaced) or a call's.
 */
#ifndef SG_FANOUT_H
#define SG_FANOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "gather.h"
#include "leg.h"
#include "merge.h"
#include "metrics.h"
#include "request_map.h"
#include "scatter/method.h"

/* The legs of a method at one moment: immutable once published. */
typedef struct sg__routes {
	atomic_uint refs; /* the fanout's while current, plus one per call using it */
	size_t n;
	char *names;       /* homogeneous legs' names ("<group>/<i>"); owned */
	sg__shard *shards; /* r[i].shard: the set's own copies (a reload replaces the group's) */
	sg__leg_route r[];
} sg__routes;

typedef struct sg__fanout {
	const sg_method_desc *m; /* borrowed (generated tables are static) */
	sg__merge_plan plan;
	const sg__gather_ops *gather;
	sg__gather_plan gather_plan;
	sg__request_map *maps;        /* heterogeneous: one per leg; owned */
	_Atomic(sg__routes *) routes; /* after sg__fanout_route: the current set; owned ref */
	void *registered;             /* grpc_server_register_method's handle */
	sg__method_metrics *metrics;  /* set at start by the server; NULL: not counted */
	/* The server's, set at start: metadata its legs forward, the largest answer it sends. */
	const struct sg__forward *forward;
	size_t max_send;    /* 0: no limit of Scatter's own (gRPC's) */
	size_t max_trailer; /* the answer's scatter-* trailers, in gRPC's metadata accounting */
	/* The legs' answers stay encoded until the merge (plan.lazy, one response type, a gather
	 * that does not read them): checked on arrival, decoded where the merge needs it. */
	bool lazy;
	sg__wire_pick pick; /* lazy: what the legs' answers are scored by (plan.fields[0], score) */
} sg__fanout;

/* Checks m (borrowed) and resolves its plans into f (zeroed storage). SG_ECONFIG with why;
 * release with sg__fanout_fini whatever the result. */
sg_err sg__fanout_init(sg__fanout *f, const sg_method_desc *m, char *why, size_t len);

/* Checks f against the groups (set, before connect): SG_ECONFIG with why, e.g. "group shards
 * has 3 targets; search.Search/QueryX declares group_size 4". */
sg_err sg__fanout_check(const sg__fanout *f, const sg__backends *b, char *why, size_t len);

/* Builds the routes, one per leg, once b is connected (after a successful sg__fanout_check). */
sg_err sg__fanout_route(sg__fanout *f, const sg__backends *b);

/* Whether f's legs go to group `name`. */
bool sg__fanout_uses(const sg__fanout *f, const char *name);

/* Reload, in two steps so that the server can wire the new routes (metrics) in between:
 * builds f's routes from b's groups as they are now, then swaps them in and returns the
 * previous set, for the caller to sg__routes_release once no worker can still be taking it
 * (see sg_server_reload_group). */
sg_err sg__fanout_build(const sg__fanout *f, const sg__backends *b, sg__routes **out);
sg__routes *sg__fanout_publish(sg__fanout *f, sg__routes *rs);

/* A call's reference on the current route set. `guard` is the calling worker's flag that tells
 * a reload "a worker is between reading the pointer and counting its reference". */
sg__routes *sg__fanout_acquire(const sg__fanout *f, atomic_int *guard);

/* Any thread; the last release frees the set and lets go of its backends. NULL: no-op. */
void sg__routes_release(sg__routes *rs);

/* Drops f's own route set (before the backends go). Idempotent. */
void sg__fanout_unroute(sg__fanout *f);

void sg__fanout_fini(sg__fanout *f);

#endif
