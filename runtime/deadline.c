/* deadline.c: leg deadlines, on monotonic nanoseconds. */
#include "deadline.h"

#include <time.h>

#define NS_PER_MS INT64_C(1000000)

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

int64_t sg__leg_deadline(int64_t now_ns, uint32_t method_ms, int64_t incoming_ns,
                         uint32_t margin_ms)
{
	int64_t own = sat_add(now_ns, (int64_t)method_ms * NS_PER_MS);
	if (incoming_ns == SG_NO_DEADLINE)
		return own;
	/* Answer before the client gives up, so it sees what arrived rather than
	 * DEADLINE_EXCEEDED. */
	int64_t theirs = sat_add(incoming_ns, -(int64_t)margin_ms * NS_PER_MS);
	return theirs < own ? theirs : own;
}

int64_t sg__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sg__ns_from_timespec(gpr_timespec t)
{
	if (gpr_time_cmp(t, gpr_inf_future(t.clock_type)) == 0)
		return SG_NO_DEADLINE;
	if (gpr_time_cmp(t, gpr_inf_past(t.clock_type)) == 0)
		return INT64_MIN;
	/* gpr's monotonic clock has its own epoch: convert through "time from now". */
	gpr_timespec mono = gpr_convert_clock_type(t, GPR_CLOCK_MONOTONIC);
	gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
	gpr_timespec left = gpr_time_sub(mono, now);
	int64_t left_ns = sat_add((int64_t)left.tv_sec * 1000000000, left.tv_nsec);
	return sat_add(sg__now_ns(), left_ns);
}

gpr_timespec sg__timespec_from_ns(int64_t ns)
{
	if (ns == SG_NO_DEADLINE)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	int64_t left = sat_add(ns, -sg__now_ns());
	gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
	return gpr_time_add(now, gpr_time_from_nanos(left, GPR_TIMESPAN));
}
