/*
 * fanout.h (internal): a served fan-out method, resolved in two steps.
 *
 *   sg_server_add_fanout  -> sg__fanout_init:  the table against its descriptors (gather and
 *                            merge plans, leg request maps); SG_ECONFIG with a reason
 *   sg_server_start       -> sg__fanout_check: the table against the configured groups
 *                            (group_size, one target per heterogeneous leg, what the gather
 *                            needs); then sg__fanout_route once the channels exist
 *
 * Afterwards it is read-only, shared by every worker.
 */
#ifndef SG_FANOUT_H
#define SG_FANOUT_H

#include <stddef.h>

#include "backend.h"
#include "gather.h"
#include "leg.h"
#include "merge.h"
#include "metrics.h"
#include "request_map.h"
#include "scatter/method.h"

typedef struct sg__fanout {
	const sg_method_desc *m; /* borrowed (generated tables are static) */
	sg__merge_plan plan;
	const sg__gather_ops *gather;
	sg__gather_plan gather_plan;
	sg__request_map *maps; /* heterogeneous: one per leg; owned */
	sg__leg_route *routes; /* after sg__fanout_route: one per leg; owned */
	char *names;           /* homogeneous legs' names ("<group>/<i>"); owned */
	size_t n_routes;
	void *registered;            /* grpc_server_register_method's handle */
	sg__method_metrics *metrics; /* set at start by the server; NULL: not counted */
} sg__fanout;

/* Checks m (borrowed) and resolves its plans into f (zeroed storage). SG_ECONFIG with why;
 * release with sg__fanout_fini whatever the result. */
sg_err sg__fanout_init(sg__fanout *f, const sg_method_desc *m, char *why, size_t len);

/* Checks f against the groups (set, before connect): SG_ECONFIG with why, e.g. "group shards
 * has 3 targets; search.Search/QueryX declares group_size 4". */
sg_err sg__fanout_check(const sg__fanout *f, const sg__backends *b, char *why, size_t len);

/* Builds the routes, one per leg, once b is connected (after a successful sg__fanout_check). */
sg_err sg__fanout_route(sg__fanout *f, const sg__backends *b);

void sg__fanout_fini(sg__fanout *f);

#endif
