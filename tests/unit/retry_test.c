/*
 * retry_test.c: which statuses are retried, and the backoff: exponential caps, full jitter in
 * [0, cap), never past the leg's deadline. Randomness and time are injected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "retry.h"

#define MS INT64_C(1000000)

static const sg_retry_desc policy = {
        .max_attempts = 5,
        .initial_backoff_ms = 10,
        .max_backoff_ms = 50,
        .multiplier = 2.0,
        .statuses = (1u << GRPC_STATUS_UNAVAILABLE) | (1u << GRPC_STATUS_RESOURCE_EXHAUSTED),
};

static void test_statuses(void **state)
{
	(void)state;
	assert_true(sg__retry_status(&policy, GRPC_STATUS_UNAVAILABLE));
	assert_true(sg__retry_status(&policy, GRPC_STATUS_RESOURCE_EXHAUSTED));
	assert_false(sg__retry_status(&policy, GRPC_STATUS_OK));
	assert_false(sg__retry_status(&policy, GRPC_STATUS_INVALID_ARGUMENT));
	assert_false(sg__retry_status(&policy, GRPC_STATUS_DEADLINE_EXCEEDED));
	assert_false(sg__retry_status(&policy, (grpc_status_code)40));
}

static void test_caps_grow_then_stop(void **state)
{
	(void)state;
	assert_true(sg__retry_backoff_cap_ns(&policy, 1) == 10 * MS);
	assert_true(sg__retry_backoff_cap_ns(&policy, 2) == 20 * MS);
	assert_true(sg__retry_backoff_cap_ns(&policy, 3) == 40 * MS);
	assert_true(sg__retry_backoff_cap_ns(&policy, 4) == 50 * MS);
	assert_true(sg__retry_backoff_cap_ns(&policy, 60) == 50 * MS); /* no overflow */
}

static void test_full_jitter_range(void **state)
{
	int64_t w = -1, lo = INT64_MAX, hi = 0;
	uint64_t r = 12345;

	(void)state;
	assert_true(sg__retry_backoff(&policy, 2, 0, 0, 1000 * MS, &w));
	assert_true(w == 0);
	assert_true(sg__retry_backoff(&policy, 2, UINT64_MAX, 0, 1000 * MS, &w));
	assert_true(w >= 0 && w < 20 * MS);
	assert_true(w > 19 * MS);
	assert_true(sg__retry_backoff(&policy, 2, UINT64_MAX / 2, 0, 1000 * MS, &w));
	assert_true(w > 9 * MS && w < 11 * MS);
	/* A spread of draws stays in [0, cap) and covers most of it. */
	for (int i = 0; i < 1000; i++) {
		r = r * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
		assert_true(sg__retry_backoff(&policy, 1, r, 0, 1000 * MS, &w));
		assert_true(w >= 0 && w < 10 * MS);
		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
	}
	assert_true(lo < 1 * MS);
	assert_true(hi > 9 * MS);
}

static void test_never_past_the_deadline(void **state)
{
	int64_t w = -1;

	(void)state;
	/* The wait must end before the deadline: 5 ms left, a draw of ~10 ms: no retry. */
	assert_false(sg__retry_backoff(&policy, 2, UINT64_MAX / 2, 100 * MS, 105 * MS, &w));
	assert_true(w == -1);
	/* The same draw with time left: yes. */
	assert_true(sg__retry_backoff(&policy, 2, UINT64_MAX / 2, 100 * MS, 125 * MS, &w));
	assert_true(100 * MS + w < 125 * MS);
	/* No time left at all, even with a zero wait: no retry. */
	assert_false(sg__retry_backoff(&policy, 1, 0, 100 * MS, 100 * MS, &w));
	assert_false(sg__retry_backoff(&policy, 1, 0, 101 * MS, 100 * MS, &w));
}

static void test_random_is_not_constant(void **state)
{
	uint64_t a = sg__retry_random(), b = sg__retry_random(), c = sg__retry_random();

	(void)state;
	assert_true(a != b || b != c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_statuses),
	        cmocka_unit_test(test_caps_grow_then_stop),
	        cmocka_unit_test(test_full_jitter_range),
	        cmocka_unit_test(test_never_past_the_deadline),
	        cmocka_unit_test(test_random_is_not_constant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
