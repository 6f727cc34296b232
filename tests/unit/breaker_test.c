/*
 * breaker_test.c: the circuit breaker's state machine under an injected clock (every
 * transition), its windows, and its atomics used from two threads at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "breaker.h"
#include "guard.h"

#define MS(x) ((int64_t)(x)*INT64_C(1000000))
/* An arbitrary start, far from 0, like a monotonic clock. */
#define T0 MS(5000000)

static sg_breaker_desc defaults(void)
{
	return (sg_breaker_desc){
	        .enabled = true,
	        .window = 20,
	        .min_calls = 10,
	        .failure_rate_pct = 50,
	        .slow_ms = 0,
	        .slow_rate_pct = 80,
	        .open_ms = 1000,
	        .half_open_probes = 3,
	};
}

/* One admitted leg ending with status after latency_ms (slow over 500 ms), at now. */
static void call(sg__breaker *b, int64_t now, grpc_status_code status, int64_t latency_ms)
{
	sg__breaker_ticket t = sg__breaker_admit(b, now);

	assert_int_not_equal(t, SG_BREAKER_REJECTED);
	sg__breaker_record(b, t, status, latency_ms * 1000, 500 * 1000, now);
}

static void calls(sg__breaker *b, int n, int64_t now, grpc_status_code status)
{
	for (int i = 0; i < n; i++)
		call(b, now, status, 1);
}

/* Opens a default breaker at T0 with 10 failures. */
static void open_it(sg__breaker *b, const sg_breaker_desc *d)
{
	assert_int_equal(sg__breaker_init(b, d, "test-target"), SG_OK);
	calls(b, 10, T0, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(sg__breaker_state_get(b), SG_BREAKER_OPEN);
}

static void test_min_calls_respected(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker b;

	(void)state;
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	calls(&b, 9, T0, GRPC_STATUS_UNAVAILABLE);
	/* 100 % failures, but only 9 calls: not enough to judge. */
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	calls(&b, 1, T0, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	assert_int_equal(atomic_load(&b.opened), 1);
	sg__breaker_fini(&b);
}

static void test_closed_to_open_by_failure_rate(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker b;

	(void)state;
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	calls(&b, 10, T0, GRPC_STATUS_OK);
	calls(&b, 9, T0, GRPC_STATUS_UNAVAILABLE); /* 9 of 19: 47 % */
	/* Statuses outside the failure set are not failures. */
	calls(&b, 3, T0, GRPC_STATUS_NOT_FOUND); /* 22 calls: the 2 oldest OK ones leave */
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	sg__breaker_window win;
	sg__breaker_window_get(&b, T0, &win);
	assert_int_equal(win.calls, 20); /* the window keeps the last 20 */
	assert_int_equal(win.failed, 9);
	calls(&b, 1, T0, GRPC_STATUS_DEADLINE_EXCEEDED); /* 10 of 20: 50 % */
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	/* Open: legs are refused, no network. */
	assert_int_equal(sg__breaker_admit(&b, T0 + MS(1)), SG_BREAKER_REJECTED);
	sg__breaker_fini(&b);
}

static void test_closed_to_open_by_slow_rate(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker b;

	(void)state;
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	/* 7 slow of 10 OK answers: 70 % < 80 %. */
	for (int i = 0; i < 7; i++)
		call(&b, T0, GRPC_STATUS_OK, 600);
	for (int i = 0; i < 3; i++)
		call(&b, T0, GRPC_STATUS_OK, 10);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	/* More slow answers: it opens once 80 % of the window is slow (12 of 15). */
	for (int i = 0; i < 4; i++)
		call(&b, T0, GRPC_STATUS_OK, 600);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	call(&b, T0, GRPC_STATUS_OK, 600);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	sg__breaker_fini(&b);
}

static void test_open_to_half_open_after_open_ms(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker b;

	(void)state;
	open_it(&b, &d);
	assert_int_equal(sg__breaker_admit(&b, T0 + MS(999)), SG_BREAKER_REJECTED);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	assert_int_not_equal(sg__breaker_admit(&b, T0 + MS(1000)), SG_BREAKER_REJECTED);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_HALF_OPEN);
	sg__breaker_fini(&b);
}

static void test_half_open_to_closed_after_probes(void **state)
{
	sg_breaker_desc d = defaults();
	int64_t t = T0 + MS(1000);
	sg__breaker_ticket p[3];
	sg__breaker b;

	(void)state;
	open_it(&b, &d);
	for (int i = 0; i < 3; i++)
		assert_int_not_equal(p[i] = sg__breaker_admit(&b, t), SG_BREAKER_REJECTED);
	sg__breaker_record(&b, p[0], GRPC_STATUS_OK, 1000, 500000, t);
	sg__breaker_record(&b, p[1], GRPC_STATUS_OK, 1000, 500000, t);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_HALF_OPEN);
	sg__breaker_record(&b, p[2], GRPC_STATUS_OK, 1000, 500000, t);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	/* A fresh window: the failures that opened it are gone. */
	sg__breaker_window win;
	sg__breaker_window_get(&b, t, &win);
	assert_int_equal(win.calls, 0);
	calls(&b, 9, t, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	sg__breaker_fini(&b);
}

static void test_half_open_to_open_on_probe_failure(void **state)
{
	sg_breaker_desc d = defaults();
	int64_t t = T0 + MS(1000);
	sg__breaker_ticket p[2];
	sg__breaker b;

	(void)state;
	open_it(&b, &d);
	p[0] = sg__breaker_admit(&b, t);
	p[1] = sg__breaker_admit(&b, t);
	sg__breaker_record(&b, p[0], GRPC_STATUS_OK, 1000, 500000, t);
	sg__breaker_record(&b, p[1], GRPC_STATUS_UNAVAILABLE, 1000, 500000, t + MS(5));
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	assert_int_equal(atomic_load(&b.opened), 2);
	/* Open for another open_ms, counted from the failed probe. */
	assert_int_equal(sg__breaker_admit(&b, t + MS(1004)), SG_BREAKER_REJECTED);
	assert_int_not_equal(sg__breaker_admit(&b, t + MS(1005)), SG_BREAKER_REJECTED);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_HALF_OPEN);
	sg__breaker_fini(&b);
}

static void test_slow_probe_reopens(void **state)
{
	sg_breaker_desc d = defaults();
	int64_t t = T0 + MS(1000);
	sg__breaker b;

	(void)state;
	open_it(&b, &d);
	sg__breaker_ticket p = sg__breaker_admit(&b, t);
	sg__breaker_record(&b, p, GRPC_STATUS_OK, 700 * 1000, 500 * 1000, t);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	sg__breaker_fini(&b);
}

static void test_probe_permits_limited(void **state)
{
	sg_breaker_desc d = defaults();
	int64_t t = T0 + MS(1000);
	sg__breaker_ticket p[3], late;
	sg__breaker b;

	(void)state;
	open_it(&b, &d);
	for (int i = 0; i < 3; i++)
		assert_int_not_equal(p[i] = sg__breaker_admit(&b, t), SG_BREAKER_REJECTED);
	assert_int_equal(sg__breaker_admit(&b, t), SG_BREAKER_REJECTED);
	/* A probe whose outcome does not count gives its permit back. */
	sg__breaker_release(&b, p[1]);
	assert_int_not_equal(late = sg__breaker_admit(&b, t), SG_BREAKER_REJECTED);
	assert_int_equal(sg__breaker_admit(&b, t), SG_BREAKER_REJECTED);
	sg__breaker_record(&b, p[0], GRPC_STATUS_OK, 1, 500000, t);
	sg__breaker_record(&b, p[2], GRPC_STATUS_OK, 1, 500000, t);
	sg__breaker_record(&b, late, GRPC_STATUS_OK, 1, 500000, t);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	sg__breaker_fini(&b);
}

static void test_stale_probe_ignored(void **state)
{
	sg_breaker_desc d = defaults();
	int64_t t = T0 + MS(1000);
	sg__breaker b;

	(void)state;
	open_it(&b, &d);
	sg__breaker_ticket old = sg__breaker_admit(&b, t);
	sg__breaker_ticket bad = sg__breaker_admit(&b, t);
	sg__breaker_record(&b, bad, GRPC_STATUS_UNAVAILABLE, 1, 500000, t); /* open again */
	t += MS(1000);
	for (int i = 0; i < 3; i++) {
		sg__breaker_ticket p = sg__breaker_admit(&b, t);

		assert_int_not_equal(p, SG_BREAKER_REJECTED);
		if (i == 1) /* a probe of the earlier period ends now: it has no say */
			sg__breaker_record(&b, old, GRPC_STATUS_UNAVAILABLE, 1, 500000, t);
		sg__breaker_record(&b, p, GRPC_STATUS_OK, 1, 500000, t);
	}
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	sg__breaker_fini(&b);
}

static void test_time_window_expiry(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker_window win;
	sg__breaker b;

	(void)state;
	d.window_ms = 1000; /* 10 buckets of 100 ms */
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	calls(&b, 9, T0, GRPC_STATUS_UNAVAILABLE);
	sg__breaker_window_get(&b, T0 + MS(500), &win);
	assert_int_equal(win.calls, 9);
	/* 1.5 s later the 9 failures have left the window: 9 more do not open it. */
	calls(&b, 9, T0 + MS(1500), GRPC_STATUS_UNAVAILABLE);
	sg__breaker_window_get(&b, T0 + MS(1500), &win);
	assert_int_equal(win.calls, 9);
	assert_int_equal(win.failed, 9);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	/* Successes age out too: 20 OK, then 2 s later 10 failures are 100 %. */
	calls(&b, 20, T0 + MS(3000), GRPC_STATUS_OK);
	calls(&b, 10, T0 + MS(5000), GRPC_STATUS_INTERNAL);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	sg__breaker_fini(&b);
}

static void test_time_window_within(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker b;

	(void)state;
	d.window_ms = 1000;
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	/* Calls spread over 900 ms are all in the window. */
	for (int i = 0; i < 10; i++)
		calls(&b, 1, T0 + MS(i * 100), GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	sg__breaker_fini(&b);
}

static void test_failure_statuses_and_undecodable(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker b;

	(void)state;
	d.failure_statuses = 1u << GRPC_STATUS_NOT_FOUND;
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	calls(&b, 10, T0, GRPC_STATUS_UNAVAILABLE); /* not a failure for this breaker */
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	/* An answer that does not decode always is. */
	for (int i = 0; i < 10; i++)
		call(&b, T0, SG_BREAKER_UNDECODABLE, 1);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	sg__breaker_fini(&b);
}

static void test_disabled(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker b;

	(void)state;
	d.enabled = false;
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	calls(&b, 100, T0, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	sg__breaker_fini(&b);
	/* NULL: the same. */
	assert_int_equal(sg__breaker_init(&b, NULL, "t"), SG_OK);
	calls(&b, 100, T0, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	sg__breaker_fini(&b);
}

static void test_check(void **state)
{
	sg_breaker_desc d = defaults();
	char why[128];

	(void)state;
	assert_int_equal(sg__breaker_check(&d, why, sizeof(why)), SG_OK);
	d.failure_rate_pct = 0;
	assert_int_equal(sg__breaker_check(&d, why, sizeof(why)), SG_ECONFIG);
	d = defaults();
	d.window = 5;
	assert_int_equal(sg__breaker_check(&d, why, sizeof(why)), SG_ECONFIG);
	d.window_ms = 2000; /* a time window has no count to compare */
	assert_int_equal(sg__breaker_check(&d, why, sizeof(why)), SG_OK);
	d = defaults();
	d.failure_statuses = 1u; /* OK */
	assert_int_equal(sg__breaker_check(&d, why, sizeof(why)), SG_ECONFIG);
}

/* The guard in front of the breaker: the in-flight cap, and a refused leg taking no permit. */
static void test_guard_cap(void **state)
{
	sg_resilience_desc r = {.breaker = defaults(), .max_in_flight = 2};
	sg__guard_pass p[3];
	const char *why = NULL;
	sg__guard g;

	(void)state;
	assert_int_equal(sg__guard_init(&g, &r, "t"), SG_OK);
	assert_int_equal(sg__guard_admit(&g, T0, &p[0], &why), GRPC_STATUS_OK);
	assert_int_equal(sg__guard_admit(&g, T0, &p[1], &why), GRPC_STATUS_OK);
	assert_int_equal(sg__guard_admit(&g, T0, &p[2], &why), GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_string_equal(why, SG_GUARD_OVER_CAP);
	sg__guard_done(&g, &p[0], true, GRPC_STATUS_OK, 1, 500000, T0);
	assert_int_equal(sg__guard_admit(&g, T0, &p[2], &why), GRPC_STATUS_OK);
	sg__guard_done(&g, &p[1], true, GRPC_STATUS_OK, 1, 500000, T0);
	sg__guard_done(&g, &p[2], false, GRPC_STATUS_CANCELLED, 1, 500000, T0);
	assert_int_equal(atomic_load(&g.in_flight), 0);
	assert_int_equal(atomic_load(&g.refused_cap), 1);
	/* Open the breaker (2 OK + 8 failures: 80 %): refused as "circuit open", and the cap
	 * is not held. */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(sg__guard_admit(&g, T0, &p[0], &why), GRPC_STATUS_OK);
		sg__guard_done(&g, &p[0], true, GRPC_STATUS_UNAVAILABLE, 1, 500000, T0);
	}
	assert_int_equal(sg__guard_admit(&g, T0, &p[0], &why), GRPC_STATUS_UNAVAILABLE);
	assert_string_equal(why, SG_GUARD_CIRCUIT_OPEN);
	assert_int_equal(atomic_load(&g.in_flight), 0);
	sg__guard_fini(&g);
}

/* ---- two threads ------------------------------------------------------------------------- */

typedef struct worker_arg {
	sg__breaker *b;
	int mode; /* 0: OK calls; 1: failures; 2: take probe permits */
	int n;
	int got; /* mode 2: permits taken */
	int64_t now;
	pthread_barrier_t *start;
} worker_arg;

static void *worker(void *p)
{
	worker_arg *a = p;

	pthread_barrier_wait(a->start);
	for (int i = 0; i < a->n; i++) {
		sg__breaker_ticket t = sg__breaker_admit(a->b, a->now);

		if (a->mode == 2) {
			a->got += t != SG_BREAKER_REJECTED;
			continue;
		}
		if (t == SG_BREAKER_REJECTED)
			continue;
		sg__breaker_record(a->b, t, a->mode == 0 ? GRPC_STATUS_OK : GRPC_STATUS_UNAVAILABLE,
		                   10, 500000, a->now);
	}
	return NULL;
}

static void run_two(sg__breaker *b, int mode, int n, int64_t now, int *got)
{
	pthread_barrier_t start;
	worker_arg a[2];
	pthread_t th[2];

	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++) {
		a[i] = (worker_arg){.b = b, .mode = mode, .n = n, .start = &start, .now = now};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	if (got != NULL)
		*got = a[0].got + a[1].got;
}

static void test_two_threads(void **state)
{
	sg_breaker_desc d = defaults();
	sg__breaker_window win;
	sg__breaker b;
	int got = 0;

	(void)state;
	d.window = 100;
	d.min_calls = 50;
	d.half_open_probes = 7;
	assert_int_equal(sg__breaker_init(&b, &d, "t"), SG_OK);
	/* Many OK outcomes at once: the counters stay exact. */
	run_two(&b, 0, 20000, T0, NULL);
	sg__breaker_window_get(&b, T0, &win);
	assert_int_equal(win.calls, 100);
	assert_int_equal(win.failed, 0);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_CLOSED);
	/* Failures from both: it opens exactly once (one thread wins the transition). */
	run_two(&b, 1, 2000, T0, NULL);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_OPEN);
	assert_int_equal(atomic_load(&b.opened), 1);
	/* Past open_ms both race for probe permits: exactly half_open_probes are handed out. */
	run_two(&b, 2, 1000, T0 + MS(2000), &got);
	assert_int_equal(got, 7);
	assert_int_equal(sg__breaker_state_get(&b), SG_BREAKER_HALF_OPEN);
	sg__breaker_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_min_calls_respected),
	        cmocka_unit_test(test_closed_to_open_by_failure_rate),
	        cmocka_unit_test(test_closed_to_open_by_slow_rate),
	        cmocka_unit_test(test_open_to_half_open_after_open_ms),
	        cmocka_unit_test(test_half_open_to_closed_after_probes),
	        cmocka_unit_test(test_half_open_to_open_on_probe_failure),
	        cmocka_unit_test(test_slow_probe_reopens),
	        cmocka_unit_test(test_probe_permits_limited),
	        cmocka_unit_test(test_stale_probe_ignored),
	        cmocka_unit_test(test_time_window_expiry),
	        cmocka_unit_test(test_time_window_within),
	        cmocka_unit_test(test_failure_statuses_and_undecodable),
	        cmocka_unit_test(test_disabled),
	        cmocka_unit_test(test_check),
	        cmocka_unit_test(test_guard_cap),
	        cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
