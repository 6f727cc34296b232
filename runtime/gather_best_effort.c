/*
 * gather_best_effort.c: BEST_EFFORT answers soft_ms after the call started with what arrived
 * (a timer on the worker's heap), or earlier once every leg ended. Legs still in flight at the
 * soft deadline are cancelled and reported DEADLINE_EXCEEDED.
 */
#include "gather.h"
#include "log.h"

#define NS_PER_MS INT64_C(1000000)

static sg_err best_effort_plan(sg__gather_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	(void)p;
	if (m->gather.soft_ms == 0 || m->gather.soft_ms >= m->deadline_ms)
		return sg__why(why, len, "best_effort: soft_ms %u must be > 0 and < deadline_ms %u",
		               (unsigned)m->gather.soft_ms, (unsigned)m->deadline_ms);
	return SG_OK;
}

static sg_err best_effort_on_start(sg__gather_call *gc)
{
	gc->wake_ns = gc->started_ns + (int64_t)gc->plan->g->soft_ms * NS_PER_MS;
	return SG_OK;
}

static sg__gather_verdict best_effort_on_timer(sg__gather_call *gc)
{
	(void)gc;
	return SG__GATHER_DONE;
}

const sg__gather_ops sg__gather_best_effort = {
        .name = "best_effort",
        .cut_status = GRPC_STATUS_DEADLINE_EXCEEDED,
        .plan = best_effort_plan,
        .on_start = best_effort_on_start,
        .on_timer = best_effort_on_timer,
};
