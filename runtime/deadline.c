/* deadline.c: leg deadlines, on monotonic nanoseconds. */
#include "deadline.h"

#include <pthread.h>
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

/* gpr's monotonic clock is CLOCK_MONOTONIC plus an epoch of its own (a constant: gRPC adds a
 * few seconds so that it is never 0). Measured once, the offset turns each conversion into an
 * addition instead of two clock reads on every leg. The tightest of a few paired reads keeps
 * its error well under a microsecond; both directions use the same offset, so a round trip is
 * exact. */
static pthread_once_t gpr_offset_once = PTHREAD_ONCE_INIT;
static int64_t gpr_offset_ns;

static int64_t ns_from_gpr(gpr_timespec t)
{
	return sat_add((int64_t)t.tv_sec * 1000000000, t.tv_nsec);
}

static void gpr_offset_measure(void)
{
	int64_t best_window = INT64_MAX;

	for (int i = 0; i < 5; i++) {
		int64_t before = sg__now_ns();
		int64_t theirs = ns_from_gpr(gpr_now(GPR_CLOCK_MONOTONIC));
		int64_t after = sg__now_ns();

		if (after - before < best_window) {
			best_window = after - before;
			gpr_offset_ns = theirs - (before + (after - before) / 2);
		}
	}
}

static int64_t gpr_offset(void)
{
	pthread_once(&gpr_offset_once, gpr_offset_measure);
	return gpr_offset_ns;
}

int64_t sg__ns_from_timespec(gpr_timespec t)
{
	if (gpr_time_cmp(t, gpr_inf_future(t.clock_type)) == 0)
		return SG_NO_DEADLINE;
	if (gpr_time_cmp(t, gpr_inf_past(t.clock_type)) == 0)
		return INT64_MIN;
	if (t.clock_type != GPR_CLOCK_MONOTONIC)
		t = gpr_convert_clock_type(t, GPR_CLOCK_MONOTONIC);
	return sat_add(ns_from_gpr(t), -gpr_offset());
}

gpr_timespec sg__timespec_from_ns(int64_t ns)
{
	int64_t theirs;

	if (ns == SG_NO_DEADLINE)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	theirs = sat_add(ns, gpr_offset());
	if (theirs == INT64_MAX)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	if (theirs <= 0) /* before gpr's epoch: long past */
		return gpr_inf_past(GPR_CLOCK_MONOTONIC);
	return (gpr_timespec){.tv_sec = theirs / 1000000000,
	                      .tv_nsec = (int32_t)(theirs % 1000000000),
	                      .clock_type = GPR_CLOCK_MONOTONIC};
}
