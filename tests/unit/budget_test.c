/*
 * budget_test.c: the hedge/retry token budget against gRFC A6 (retryThrottling): it starts
 * full, a failure takes one token and never goes below 0, a success gives token_ratio back and
 * never goes above max_tokens, extra attempts only while tokens > max_tokens / 2, and the ratio
 * counts in thousandths, truncated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "budget.h"

static void test_starts_full_and_allows(void **state)
{
	sg__budget b;

	(void)state;
	sg__budget_init(&b, 10, 0.5);
	assert_true(sg__budget_configured(&b));
	assert_int_equal(sg__budget_milli(&b), 10000);
	assert_true(sg__budget_allows(&b));
}

static void test_unconfigured_allows_nothing_and_counts_nothing(void **state)
{
	sg__budget b = {0};

	(void)state;
	assert_false(sg__budget_configured(&b));
	assert_false(sg__budget_allows(&b));
	sg__budget_failure(&b);
	sg__budget_success(&b);
	assert_int_equal(sg__budget_milli(&b), 0);
}

static void test_threshold_is_strictly_above_half(void **state)
{
	sg__budget b;

	(void)state;
	sg__budget_init(&b, 10, 0.5);
	for (int i = 0; i < 4; i++) {
		sg__budget_failure(&b);
		assert_true(sg__budget_allows(&b)); /* 9, 8, 7, 6 > 5 */
	}
	sg__budget_failure(&b); /* 5: not above half */
	assert_int_equal(sg__budget_milli(&b), 5000);
	assert_false(sg__budget_allows(&b));
	sg__budget_success(&b); /* 5.5 */
	assert_int_equal(sg__budget_milli(&b), 5500);
	assert_true(sg__budget_allows(&b));
}

static void test_odd_max_half_is_exact(void **state)
{
	sg__budget b;

	(void)state;
	/* max 3: the threshold is 1.5 tokens, not 1 (integer division of tokens would say 1). */
	sg__budget_init(&b, 3, 0.1);
	sg__budget_failure(&b); /* 2 > 1.5 */
	assert_true(sg__budget_allows(&b));
	sg__budget_failure(&b); /* 1 */
	assert_false(sg__budget_allows(&b));
	for (int i = 0; i < 4; i++)
		sg__budget_success(&b); /* 1.4 */
	assert_false(sg__budget_allows(&b));
	sg__budget_success(&b); /* 1.5: not above */
	assert_false(sg__budget_allows(&b));
	sg__budget_success(&b); /* 1.6 */
	assert_true(sg__budget_allows(&b));
}

static void test_never_below_zero_nor_above_max(void **state)
{
	sg__budget b;

	(void)state;
	sg__budget_init(&b, 2, 0.7);
	for (int i = 0; i < 10; i++)
		sg__budget_failure(&b);
	assert_int_equal(sg__budget_milli(&b), 0);
	sg__budget_success(&b);
	assert_int_equal(sg__budget_milli(&b), 700);
	for (int i = 0; i < 10; i++)
		sg__budget_success(&b);
	assert_int_equal(sg__budget_milli(&b), 2000);
}

static void test_ratio_in_thousandths_truncated(void **state)
{
	sg__budget b;

	(void)state;
	assert_int_equal(sg__budget_ratio_milli(0.1), 100);
	assert_int_equal(sg__budget_ratio_milli(0.1234), 123);
	assert_int_equal(sg__budget_ratio_milli(0.0019), 1);
	assert_int_equal(sg__budget_ratio_milli(0.29), 290); /* 289.99... in binary */
	assert_int_equal(sg__budget_ratio_milli(1.5), 1500);
	assert_int_equal(sg__budget_ratio_milli(0.0009), 0); /* under a thousandth */
	sg__budget_init(&b, 10, 0.1239);
	sg__budget_failure(&b);
	sg__budget_success(&b);
	assert_int_equal(sg__budget_milli(&b), 9123);
}

static void test_defaults_and_clamps(void **state)
{
	sg__budget b;

	(void)state;
	sg__budget_init(&b, 0, 0); /* options.proto's defaults: 100 tokens, ratio 0.1 */
	assert_int_equal(sg__budget_milli(&b), 100000);
	sg__budget_failure(&b);
	sg__budget_success(&b);
	assert_int_equal(sg__budget_milli(&b), 99100);
	sg__budget_init(&b, 5000, 0.0001); /* A6: at most 1000 tokens; ratio below 0.001 */
	assert_int_equal(sg__budget_milli(&b), 1000000);
	sg__budget_failure(&b);
	sg__budget_success(&b);
	assert_int_equal(sg__budget_milli(&b), 999100);
}

static void test_fifty_failures_of_a_hundred_throttle(void **state)
{
	sg__budget b;
	int allowed = 0;

	(void)state;
	sg__budget_init(&b, 100, 0.1);
	/* A dead backend: every attempt fails. Extra attempts stop after 50 failures. */
	for (int i = 0; i < 200; i++) {
		if (sg__budget_allows(&b))
			allowed++;
		sg__budget_failure(&b);
	}
	assert_int_equal(allowed, 50);
	/* It recovers on successes: 10 successes give one token back. */
	for (int i = 0; i < 510; i++)
		sg__budget_success(&b);
	assert_true(sg__budget_allows(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_starts_full_and_allows),
	        cmocka_unit_test(test_unconfigured_allows_nothing_and_counts_nothing),
	        cmocka_unit_test(test_threshold_is_strictly_above_half),
	        cmocka_unit_test(test_odd_max_half_is_exact),
	        cmocka_unit_test(test_never_below_zero_nor_above_max),
	        cmocka_unit_test(test_ratio_in_thousandths_truncated),
	        cmocka_unit_test(test_defaults_and_clamps),
	        cmocka_unit_test(test_fifty_failures_of_a_hundred_throttle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
