/*
 * hedge_test.c: the rolling latency histogram (buckets, percentiles, forgetting old periods,
 * on an injected clock) and the hedge delay (fixed, adaptive, the floor, the cold default), and
 * how a Resilience table resolves into a hedge/retry policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hedge.h"

#define MS INT64_C(1000000)
#define US INT64_C(1000)

static sg__latency *lat_new(void)
{
	sg__latency *l = malloc(sizeof(*l));

	assert_non_null(l);
	sg__latency_init(l);
	return l;
}

static void test_buckets_cover_and_bound(void **state)
{
	(void)state;
	/* Exact below 8 us, then 8 buckets per power of two: each value lies below its bucket's
	 * upper bound and at or above the previous bucket's, within 12.5%. */
	for (uint64_t us = 0; us < 8; us++)
		assert_int_equal(sg__latency_bucket_upper_us(sg__latency_bucket(us)), us + 1);
	for (uint64_t us = 8; us < (UINT64_C(1) << 28); us = us * 9 / 8 + 1) {
		uint32_t b = sg__latency_bucket(us);
		uint64_t hi = sg__latency_bucket_upper_us(b);

		assert_true(b < SG__LATENCY_BUCKETS);
		assert_true(us < hi);
		assert_true(us >= sg__latency_bucket_upper_us(b - 1));
		assert_true((double)hi <= (double)us * 1.125 + 1);
	}
	assert_int_equal(sg__latency_bucket(10000), sg__latency_bucket(10239));
	assert_int_equal(sg__latency_bucket_upper_us(sg__latency_bucket(10000)), 10240);
	/* Beyond the range: the last bucket. */
	assert_int_equal(sg__latency_bucket(UINT64_C(1) << 40), SG__LATENCY_BUCKETS - 1);
}

static void test_percentile_of_a_known_set(void **state)
{
	sg__latency *l = lat_new();
	int64_t t = 100 * SG__LATENCY_SLOT_NS;

	(void)state;
	assert_true(sg__latency_percentile(l, t, 95) == -1);
	/* 100 samples: 1 ms .. 100 ms. */
	for (int i = 1; i <= 100; i++)
		sg__latency_record(l, t, i * MS);
	assert_int_equal(sg__latency_count(l, t), 100);
	/* p50 is the 50th sample (50 ms), p95 the 95th, p100 the largest: each reported as its
	 * bucket's upper bound, at most 12.5% above. */
	int64_t p50 = sg__latency_percentile(l, t, 50);
	int64_t p95 = sg__latency_percentile(l, t, 95);
	int64_t p100 = sg__latency_percentile(l, t, 100);
	assert_true(p50 > 50 * MS && p50 <= 50 * MS * 9 / 8);
	assert_true(p95 > 95 * MS && p95 <= 95 * MS * 9 / 8);
	assert_true(p100 > 100 * MS && p100 <= 100 * MS * 9 / 8);
	/* Out-of-range percentiles are clamped. */
	assert_true(sg__latency_percentile(l, t, 0) == sg__latency_percentile(l, t, 1));
	assert_true(sg__latency_percentile(l, t, 250) == p100);
	free(l);
}

static void test_p95_of_a_tail(void **state)
{
	sg__latency *l = lat_new();
	int64_t t = 7 * SG__LATENCY_SLOT_NS + 3;

	(void)state;
	/* 97% at 10 ms, 3% at 200 ms: p95 is 10 ms (its bucket), p99 200 ms. */
	for (int i = 0; i < 970; i++)
		sg__latency_record(l, t, 10 * MS);
	for (int i = 0; i < 30; i++)
		sg__latency_record(l, t, 200 * MS);
	assert_int_equal(sg__latency_percentile(l, t, 95), 10240 * US);
	assert_true(sg__latency_percentile(l, t, 99) >= 200 * MS);
	free(l);
}

static void test_window_forgets_after_two_periods(void **state)
{
	sg__latency *l = lat_new();
	int64_t t0 = 10 * SG__LATENCY_SLOT_NS;

	(void)state;
	for (int i = 0; i < 40; i++)
		sg__latency_record(l, t0, 100 * MS);
	/* Next period: the old samples still count (previous slot) with the new ones. */
	int64_t t1 = t0 + SG__LATENCY_SLOT_NS;
	for (int i = 0; i < 40; i++)
		sg__latency_record(l, t1, 1 * MS);
	assert_int_equal(sg__latency_count(l, t1), 80);
	assert_true(sg__latency_percentile(l, t1, 95) >= 100 * MS);
	/* Two periods on: the 100 ms samples are gone (their slot is reused and cleared). */
	int64_t t2 = t1 + SG__LATENCY_SLOT_NS;
	assert_int_equal(sg__latency_count(l, t2), 40);
	sg__latency_record(l, t2, 2 * MS);
	assert_int_equal(sg__latency_count(l, t2), 41);
	assert_true(sg__latency_percentile(l, t2, 100) <= 3 * MS);
	/* Long silence: nothing is left. */
	assert_int_equal(sg__latency_count(l, t2 + 5 * SG__LATENCY_SLOT_NS), 0);
	assert_true(sg__latency_percentile(l, t2 + 5 * SG__LATENCY_SLOT_NS, 50) == -1);
	/* A sample older than its slot's period is dropped, not mixed in. */
	sg__latency_record(l, t0, 100 * MS);
	assert_int_equal(sg__latency_count(l, t2), 41);
	free(l);
}

static void test_delay_fixed(void **state)
{
	sg_hedge_desc h = {.enabled = true, .delay_ms = 50, .percentile = 95, .min_delay_ms = 1};

	(void)state;
	assert_true(sg__hedge_delay_ns(&h, NULL, 0, 1000 * MS) == 50 * MS);
}

static void test_delay_adaptive_cold_then_warm(void **state)
{
	sg_hedge_desc h = {.enabled = true, .delay_ms = 0, .percentile = 95, .min_delay_ms = 1};
	sg__latency *l = lat_new();
	int64_t t = 3 * SG__LATENCY_SLOT_NS;

	(void)state;
	/* Cold (under SG__LATENCY_MIN_SAMPLES): half the leg's budget. */
	assert_true(sg__hedge_delay_ns(&h, l, t, 400 * MS) == 200 * MS);
	for (int i = 0; i < SG__LATENCY_MIN_SAMPLES - 1; i++)
		sg__latency_record(l, t, 10 * MS);
	assert_true(sg__hedge_delay_ns(&h, l, t, 400 * MS) == 200 * MS);
	/* Warm: the live p95. */
	sg__latency_record(l, t, 10 * MS);
	assert_true(sg__hedge_delay_ns(&h, l, t, 400 * MS) == 10240 * US);
	/* The floor. */
	h.min_delay_ms = 30;
	assert_true(sg__hedge_delay_ns(&h, l, t, 400 * MS) == 30 * MS);
	free(l);
}

static void test_policy_needs_idempotent(void **state)
{
	sg_resilience_desc r = {.has_hedge = true, .has_retry = true};
	sg__tail_policy p;

	(void)state;
	r.hedge.enabled = true;
	r.retry.max_attempts = 3;
	sg__tail_policy_resolve(&r, &p);
	assert_false(p.hedge);
	assert_false(p.retry);
	r.idempotent = true;
	sg__tail_policy_resolve(&r, &p);
	assert_true(p.hedge);
	assert_true(p.retry);
	assert_int_equal(p.r.max_attempts, 3);
	/* Zeros of a hand-written table take options.proto's defaults. */
	assert_int_equal(p.h.percentile, 95);
	assert_int_equal(p.r.initial_backoff_ms, 10);
	assert_int_equal(p.r.max_backoff_ms, 200);
	assert_true(p.r.multiplier == 2.0);
	assert_int_equal(p.r.statuses, 1u << GRPC_STATUS_UNAVAILABLE);
	/* Hedge given but disabled; Retry with one attempt: neither. */
	r.hedge.enabled = false;
	r.retry.max_attempts = 1;
	sg__tail_policy_resolve(&r, &p);
	assert_false(p.hedge);
	assert_false(p.retry);
	sg__tail_policy_resolve(NULL, &p);
	assert_false(p.hedge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_buckets_cover_and_bound),
	        cmocka_unit_test(test_percentile_of_a_known_set),
	        cmocka_unit_test(test_p95_of_a_tail),
	        cmocka_unit_test(test_window_forgets_after_two_periods),
	        cmocka_unit_test(test_delay_fixed),
	        cmocka_unit_test(test_delay_adaptive_cold_then_warm),
	        cmocka_unit_test(test_policy_needs_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
