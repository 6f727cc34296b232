/*
 * gather.c: the strategies' table and the rule they share.
 */
#include "gather.h"

#include <string.h>

/* Indexed by sg_gather_kind: adding a strategy is adding its table here. */
static const sg__gather_ops *const gather_table[] = {
        [SG_GATHER_ALL] = &sg__gather_all,
        [SG_GATHER_FIRST_N] = &sg__gather_first_n,
        [SG_GATHER_QUORUM] = &sg__gather_quorum,
        [SG_GATHER_BEST_EFFORT] = &sg__gather_best_effort,
        [SG_GATHER_QUALITY] = &sg__gather_quality,
};

const sg__gather_ops *sg__gather_ops_for(sg_gather_kind kind)
{
	if ((size_t)kind >= sizeof(gather_table) / sizeof(gather_table[0]))
		return NULL;
	return gather_table[kind];
}

sg_err sg__gather_plan_init(sg__gather_plan *p, const sg__gather_ops *ops, const sg_method_desc *m,
                            char *why, size_t len)
{
	memset(p, 0, sizeof(*p));
	if (ops == NULL || m == NULL)
		return SG_EINVAL;
	p->g = &m->gather;
	return ops->plan != NULL ? ops->plan(p, m, why, len) : SG_OK;
}

void sg__gather_call_init(sg__gather_call *gc, const sg__gather_plan *plan,
                          const ProtobufCMessage *request, sg__arena *arena, int64_t started_ns,
                          uint32_t total)
{
	memset(gc, 0, sizeof(*gc));
	gc->plan = plan;
	gc->request = request;
	gc->arena = arena;
	gc->started_ns = started_ns;
	gc->total = total;
	gc->answer = UINT32_MAX;
	gc->abort_status = GRPC_STATUS_OK;
}

sg__gather_verdict sg__gather_leg_end(const sg__gather_ops *ops, sg__gather_call *gc,
                                      const sg__gather_leg *leg)
{
	sg__gather_verdict v =
	        ops->on_leg_end != NULL ? ops->on_leg_end(gc, leg) : SG__GATHER_CONTINUE;

	if (v == SG__GATHER_CONTINUE && gc->ok + gc->failed >= gc->total)
		v = SG__GATHER_DONE;
	return v;
}
