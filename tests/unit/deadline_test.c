/* deadline_test.c: leg deadline arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "deadline.h"

#define MS INT64_C(1000000)

static void test_method_deadline_when_client_has_none(void **state)
{
	(void)state;
	assert_int_equal(sg__leg_deadline(1000 * MS, 300, SG_NO_DEADLINE, 5), 1300 * MS);
}

static void test_client_deadline_minus_margin_when_shorter(void **state)
{
	(void)state;
	/* Client gives 100 ms, method allows 300: legs get 100 - 5. */
	assert_int_equal(sg__leg_deadline(1000 * MS, 300, 1100 * MS, 5), 1095 * MS);
}

static void test_method_deadline_when_shorter(void **state)
{
	(void)state;
	assert_int_equal(sg__leg_deadline(1000 * MS, 300, 5000 * MS, 5), 1300 * MS);
}

static void test_no_time_left(void **state)
{
	(void)state;
	/* The client's deadline is within the margin: nothing is left for legs. */
	assert_true(sg__leg_deadline(1000 * MS, 300, 1003 * MS, 5) <= 1000 * MS);
	/* Already past. */
	assert_true(sg__leg_deadline(1000 * MS, 300, 900 * MS, 0) <= 1000 * MS);
}

static void test_saturates(void **state)
{
	(void)state;
	assert_int_equal(sg__leg_deadline(INT64_MAX - 10, 300, SG_NO_DEADLINE, 5), INT64_MAX);
	assert_int_equal(sg__leg_deadline(0, 100, INT64_MIN + 1, 5), INT64_MIN);
}

static void test_timespec_round_trip(void **state)
{
	(void)state;
	int64_t now = sg__now_ns();
	int64_t later = now + 250 * MS;
	int64_t back = sg__ns_from_timespec(sg__timespec_from_ns(later));
	/* One offset both ways: exact. */
	assert_int_equal(back, later);
	assert_int_equal(sg__ns_from_timespec(gpr_inf_future(GPR_CLOCK_REALTIME)), SG_NO_DEADLINE);
	assert_int_equal(sg__ns_from_timespec(gpr_inf_future(GPR_CLOCK_MONOTONIC)), SG_NO_DEADLINE);
	gpr_timespec inf = sg__timespec_from_ns(SG_NO_DEADLINE);
	assert_int_equal(gpr_time_cmp(inf, gpr_inf_future(GPR_CLOCK_MONOTONIC)), 0);
}

/* The conversion agrees with gRPC's own clock: now in our clock is gpr_now, give or take the
 * reads in between (a loaded machine can preempt between them, hence 20 ms). */
static void test_timespec_matches_gpr_clock(void **state)
{
	(void)state;
	gpr_timespec ours = sg__timespec_from_ns(sg__now_ns());
	gpr_timespec theirs = gpr_now(GPR_CLOCK_MONOTONIC);
	gpr_timespec diff = gpr_time_sub(theirs, ours);
	int64_t diff_ns = diff.tv_sec * 1000000000 + diff.tv_nsec;

	assert_int_equal(ours.clock_type, GPR_CLOCK_MONOTONIC);
	assert_true(ours.tv_nsec >= 0 && ours.tv_nsec < 1000000000);
	assert_true(diff_ns >= 0 && diff_ns < 20 * MS);
	/* A realtime deadline converts through gRPC's clocks. */
	gpr_timespec rt =
	        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(500, GPR_TIMESPAN));
	int64_t left = sg__ns_from_timespec(rt) - sg__now_ns();
	assert_true(left > 480 * MS && left <= 500 * MS);
	/* Long past stays past. */
	assert_int_equal(
	        gpr_time_cmp(sg__timespec_from_ns(INT64_MIN), gpr_inf_past(GPR_CLOCK_MONOTONIC)),
	        0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_method_deadline_when_client_has_none),
	        cmocka_unit_test(test_client_deadline_minus_margin_when_shorter),
	        cmocka_unit_test(test_method_deadline_when_shorter),
	        cmocka_unit_test(test_no_time_left),
	        cmocka_unit_test(test_saturates),
	        cmocka_unit_test(test_timespec_round_trip),
	        cmocka_unit_test(test_timespec_matches_gpr_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
