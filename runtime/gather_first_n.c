/*
 * gather_first_n.c: FIRST_N answers once n legs answered OK, merging the OK answers so far; the
 * legs still in flight are cancelled and reported CANCELLED. Fewer than n OK once every leg
 * ended: like ALL.
 */
#include "gather.h"
#include "log.h"

static sg_err first_n_plan(sg__gather_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	(void)p;
	if (m->gather.n == 0)
		return sg__why(why, len, "first_n: n must be at least 1");
	return SG_OK;
}

static sg_err first_n_check_legs(const sg_gather_desc *g, size_t n_legs, char *why, size_t len)
{
	if (g->n > n_legs)
		return sg__why(why, len, "first_n: n is %u but there are %zu legs", (unsigned)g->n,
		               n_legs);
	return SG_OK;
}

static sg__gather_verdict first_n_on_leg_end(sg__gather_call *gc, const sg__gather_leg *leg)
{
	(void)leg;
	return gc->ok >= gc->plan->g->n ? SG__GATHER_DONE : SG__GATHER_CONTINUE;
}

const sg__gather_ops sg__gather_first_n = {
        .name = "first_n",
        .cut_status = GRPC_STATUS_CANCELLED,
        .plan = first_n_plan,
        .check_legs = first_n_check_legs,
        .on_leg_end = first_n_on_leg_end,
};
