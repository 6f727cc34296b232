/* timer_test.c: the per-worker timer heap (order, cancel by handle, re-arming from callbacks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "timer.h"

#define N_MANY 1000

/* Records the order timers fire in: each timer's arg is its slot in the record. */
typedef struct fired {
	int order[N_MANY];
	size_t n;
} fired;

typedef struct tagged {
	sg__timer t;
	int id;
	fired *log;
} tagged;

static void on_fire(void *arg)
{
	tagged *x = arg;

	x->log->order[x->log->n++] = x->id;
}

static void arm(sg__timer_heap *h, tagged *x, int id, int64_t deadline, fired *log)
{
	sg__timer_init(&x->t);
	x->id = id;
	x->log = log;
	assert_int_equal(sg__timer_start(h, &x->t, deadline, on_fire, x), SG_OK);
}

static void test_empty_heap_has_no_deadline(void **state)
{
	sg__timer_heap h;

	(void)state;
	sg__timer_heap_init(&h);
	assert_true(sg__timer_heap_next(&h) == INT64_MAX);
	assert_int_equal(sg__timer_heap_run(&h, INT64_MAX), 0);
	sg__timer_heap_fini(&h);
}

static void test_fires_in_deadline_order_only_when_due(void **state)
{
	sg__timer_heap h;
	fired log = {.n = 0};
	tagged x[4];

	(void)state;
	sg__timer_heap_init(&h);
	arm(&h, &x[0], 0, 300, &log);
	arm(&h, &x[1], 1, 100, &log);
	arm(&h, &x[2], 2, 200, &log);
	arm(&h, &x[3], 3, 400, &log);
	assert_true(sg__timer_heap_next(&h) == 100);

	assert_int_equal(sg__timer_heap_run(&h, 99), 0);
	assert_int_equal(sg__timer_heap_run(&h, 250), 2);
	assert_int_equal(log.order[0], 1);
	assert_int_equal(log.order[1], 2);
	assert_false(sg__timer_pending(&x[1].t));
	assert_true(sg__timer_pending(&x[0].t));
	assert_true(sg__timer_heap_next(&h) == 300);

	assert_int_equal(sg__timer_heap_run(&h, 1000), 2);
	assert_int_equal(log.order[2], 0);
	assert_int_equal(log.order[3], 3);
	assert_int_equal(sg__timer_heap_len(&h), 0);
	sg__timer_heap_fini(&h);
}

static void test_equal_deadlines_fire_in_arming_order(void **state)
{
	sg__timer_heap h;
	fired log = {.n = 0};
	tagged x[8];

	(void)state;
	sg__timer_heap_init(&h);
	for (int i = 0; i < 8; i++)
		arm(&h, &x[i], i, 50, &log);
	assert_int_equal(sg__timer_heap_run(&h, 50), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(log.order[i], i);
	sg__timer_heap_fini(&h);
}

static void test_cancel_by_handle(void **state)
{
	sg__timer_heap h;
	fired log = {.n = 0};
	tagged x[5];

	(void)state;
	sg__timer_heap_init(&h);
	for (int i = 0; i < 5; i++)
		arm(&h, &x[i], i, 10 * (i + 1), &log);
	/* The root, an inner node and a leaf. */
	assert_true(sg__timer_cancel(&h, &x[0].t));
	assert_true(sg__timer_cancel(&h, &x[2].t));
	assert_true(sg__timer_cancel(&h, &x[4].t));
	assert_false(sg__timer_pending(&x[2].t));
	/* Cancelling again, or a timer never armed, is a no-op. */
	assert_false(sg__timer_cancel(&h, &x[2].t));
	assert_int_equal(sg__timer_heap_len(&h), 2);
	assert_int_equal(sg__timer_heap_run(&h, 1000), 2);
	assert_int_equal(log.order[0], 1);
	assert_int_equal(log.order[1], 3);
	/* A fired timer cannot be cancelled. */
	assert_false(sg__timer_cancel(&h, &x[1].t));
	sg__timer_heap_fini(&h);
}

static void test_arming_an_armed_timer_is_refused(void **state)
{
	sg__timer_heap h;
	fired log = {.n = 0};
	tagged x;

	(void)state;
	sg__timer_heap_init(&h);
	arm(&h, &x, 0, 10, &log);
	assert_int_equal(sg__timer_start(&h, &x.t, 20, on_fire, &x), SG_ESTATE);
	assert_int_equal(sg__timer_start(&h, NULL, 20, on_fire, &x), SG_EINVAL);
	assert_int_equal(sg__timer_heap_len(&h), 1);
	sg__timer_heap_fini(&h);
	assert_false(sg__timer_pending(&x.t));
}

/* A callback that re-arms its own timer once and cancels a sibling. */
typedef struct rearm {
	sg__timer_heap *h;
	sg__timer t;
	sg__timer *victim;
	int runs;
} rearm;

static void on_rearm(void *arg)
{
	rearm *r = arg;

	r->runs++;
	if (r->victim != NULL) {
		assert_true(sg__timer_cancel(r->h, r->victim));
		r->victim = NULL;
	}
	if (r->runs == 1)
		assert_int_equal(sg__timer_start(r->h, &r->t, 5, on_rearm, r), SG_OK);
}

static void test_callbacks_may_rearm_and_cancel(void **state)
{
	sg__timer_heap h;
	fired log = {.n = 0};
	tagged victim;
	rearm r = {.h = &h, .runs = 0};

	(void)state;
	sg__timer_heap_init(&h);
	sg__timer_init(&r.t);
	arm(&h, &victim, 7, 20, &log);
	r.victim = &victim.t;
	assert_int_equal(sg__timer_start(&h, &r.t, 10, on_rearm, &r), SG_OK);
	/* Re-armed for 5 <= now: it runs again in the same pass; the victim never runs. */
	assert_int_equal(sg__timer_heap_run(&h, 30), 2);
	assert_int_equal(r.runs, 2);
	assert_int_equal(log.n, 0);
	assert_int_equal(sg__timer_heap_len(&h), 0);
	sg__timer_heap_fini(&h);
}

/* Many timers, pseudo-random deadlines, every third cancelled: fire order stays sorted. */
static void test_many_random_with_cancels(void **state)
{
	sg__timer_heap h;
	fired log = {.n = 0};
	tagged *x = calloc(N_MANY, sizeof(*x));
	uint32_t seed = 12345;
	size_t live = 0;

	(void)state;
	assert_non_null(x);
	sg__timer_heap_init(&h);
	for (int i = 0; i < N_MANY; i++) {
		seed = seed * 1103515245u + 12345u;
		arm(&h, &x[i], i, (int64_t)(seed >> 8) % 10000, &log);
	}
	for (int i = 0; i < N_MANY; i += 3)
		assert_true(sg__timer_cancel(&h, &x[i].t));
	for (int i = 0; i < N_MANY; i++)
		live += i % 3 != 0;
	assert_int_equal(sg__timer_heap_len(&h), live);
	assert_int_equal(sg__timer_heap_run(&h, 10000), live);
	for (size_t i = 1; i < log.n; i++) {
		const tagged *a = &x[log.order[i - 1]], *b = &x[log.order[i]];

		assert_true(a->t.deadline_ns <= b->t.deadline_ns);
		assert_true(log.order[i] % 3 != 0);
	}
	sg__timer_heap_fini(&h);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_empty_heap_has_no_deadline),
	        cmocka_unit_test(test_fires_in_deadline_order_only_when_due),
	        cmocka_unit_test(test_equal_deadlines_fire_in_arming_order),
	        cmocka_unit_test(test_cancel_by_handle),
	        cmocka_unit_test(test_arming_an_armed_timer_is_refused),
	        cmocka_unit_test(test_callbacks_may_rearm_and_cancel),
	        cmocka_unit_test(test_many_random_with_cancels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
