/*
 * metrics_test.c: the metrics records, their Prometheus exposition, histogram quantiles, and
 * the status history and JSON under an injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "breaker.h"
#include "metrics.h"
#include "minijson.h"
#include "status.h"
#include "strbuf.h"

#define S_NS INT64_C(1000000000)

static char *render(const sg__metrics *m)
{
	sg__strbuf b;
	size_t len;

	sg__strbuf_init(&b);
	assert_int_equal(sg__metrics_render(m, &b), SG_OK);
	return sg__strbuf_take(&b, &len);
}

static void assert_line(const char *text, const char *line)
{
	char needle[512];

	snprintf(needle, sizeof(needle), "\n%s\n", line);
	if (strstr(text, needle) == NULL)
		fail_msg("no line `%s` in:\n%s", line, text);
}

static void test_records_are_found_again(void **state)
{
	sg__metrics m;

	(void)state;
	sg__metrics_init(&m);
	sg__method_metrics *a = sg__metrics_method(&m, "pkg.S/A");
	sg__target_metrics *t = sg__metrics_target(&m, "g", "ipv4:127.0.0.1:1");

	assert_ptr_equal(sg__metrics_method(&m, "pkg.S/A"), a);
	assert_ptr_not_equal(sg__metrics_method(&m, "pkg.S/B"), a);
	assert_ptr_equal(sg__metrics_target(&m, "g", "ipv4:127.0.0.1:1"), t);
	/* The same target in another group is another record. */
	assert_ptr_not_equal(sg__metrics_target(&m, "h", "ipv4:127.0.0.1:1"), t);
	/* Creation order. */
	assert_ptr_equal(sg__metrics_methods(&m), a);
	assert_string_equal(sg__method_metrics_next(a)->method, "pkg.S/B");
	sg__metrics_fini(&m);
}

static void test_exposition(void **state)
{
	sg__metrics m;
	char *text;

	(void)state;
	sg__metrics_init(&m);
	sg__method_metrics *mm = sg__metrics_method(&m, "pkg.S/A");
	sg__target_metrics *tm = sg__metrics_target(&m, "g", "t\"1\\");

	sg__metrics_call_end(mm, GRPC_STATUS_OK, 2000, true);
	sg__metrics_call_end(mm, GRPC_STATUS_UNAVAILABLE, 3000, false);
	/* Four calls sent (a leg, its hedge, two more legs), three ended. */
	for (int i = 0; i < 4; i++)
		sg__metrics_attempt_start(tm);
	for (int i = 0; i < 3; i++)
		sg__metrics_attempt_end(tm);
	sg__metrics_leg_end(tm, GRPC_STATUS_OK, 400);  /* le 0.0005 */
	sg__metrics_leg_end(tm, GRPC_STATUS_OK, 1000); /* le 0.001: bounds inclusive */
	sg__metrics_leg_end(tm, GRPC_STATUS_DEADLINE_EXCEEDED, 12000000); /* past 10 s: +Inf */
	sg__metrics_leg_refused(tm, GRPC_STATUS_UNAVAILABLE);             /* counted, not timed */
	text = render(&m);

	assert_non_null(strstr(text, "# HELP scatter_calls_total "));
	assert_line(text, "# TYPE scatter_calls_total counter");
	assert_line(text, "scatter_calls_total{method=\"pkg.S/A\",code=\"OK\"} 1");
	assert_line(text, "scatter_calls_total{method=\"pkg.S/A\",code=\"UNAVAILABLE\"} 1");
	assert_null(strstr(text, "code=\"INTERNAL\"")); /* codes that never happened: absent */
	assert_line(text, "scatter_partial_answers_total{method=\"pkg.S/A\"} 1");
	assert_line(text, "# TYPE scatter_call_duration_seconds histogram");
	assert_line(text,
	            "scatter_call_duration_seconds_bucket{method=\"pkg.S/A\",le=\"0.001\"} 0");
	assert_line(text,
	            "scatter_call_duration_seconds_bucket{method=\"pkg.S/A\",le=\"0.0025\"} 1");
	assert_line(text,
	            "scatter_call_duration_seconds_bucket{method=\"pkg.S/A\",le=\"0.005\"} 2");
	assert_line(text, "scatter_call_duration_seconds_sum{method=\"pkg.S/A\"} 0.005000");
	assert_line(text, "scatter_call_duration_seconds_count{method=\"pkg.S/A\"} 2");

	/* Label values escaped: t"1\ */
	const char *l = "group=\"g\",target=\"t\\\"1\\\\\"";
	char line[256];

	snprintf(line, sizeof(line), "scatter_backend_legs_total{%s,code=\"OK\"} 2", l);
	assert_line(text, line);
	snprintf(line, sizeof(line), "scatter_backend_legs_total{%s,code=\"UNAVAILABLE\"} 1", l);
	assert_line(text, line);
	snprintf(line, sizeof(line), "scatter_backend_legs_total{%s,code=\"DEADLINE_EXCEEDED\"} 1",
	         l);
	assert_line(text, line);
	snprintf(line, sizeof(line),
	         "scatter_backend_leg_duration_seconds_bucket{%s,le=\"0.0005\"} 1", l);
	assert_line(text, line);
	snprintf(line, sizeof(line),
	         "scatter_backend_leg_duration_seconds_bucket{%s,le=\"0.001\"} 2", l);
	assert_line(text, line);
	snprintf(line, sizeof(line), "scatter_backend_leg_duration_seconds_bucket{%s,le=\"10\"} 2",
	         l);
	assert_line(text, line);
	snprintf(line, sizeof(line),
	         "scatter_backend_leg_duration_seconds_bucket{%s,le=\"+Inf\"} 3", l);
	assert_line(text, line);
	snprintf(line, sizeof(line), "scatter_backend_leg_duration_seconds_count{%s} 3", l);
	assert_line(text, line);
	snprintf(line, sizeof(line), "scatter_backend_leg_duration_seconds_sum{%s} 12.001400", l);
	assert_line(text, line);
	/* Counters kept elsewhere are exported only where they are wired. */
	assert_null(strstr(text, "scatter_backend_hedges_sent_total"));
	snprintf(line, sizeof(line), "scatter_backend_in_flight{%s} 1", l);
	assert_line(text, line);
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);

	atomic_uint_fast64_t sent = 7, won = 3, retries = 2;
	tm->hedges_sent = &sent;
	tm->hedges_won = &won;
	tm->retries = &retries;
	text = render(&m);
	assert_line(text, "# TYPE scatter_backend_hedges_sent_total counter");
	snprintf(line, sizeof(line), "scatter_backend_hedges_sent_total{%s} 7", l);
	assert_line(text, line);
	snprintf(line, sizeof(line), "scatter_backend_hedges_won_total{%s} 3", l);
	assert_line(text, line);
	snprintf(line, sizeof(line), "scatter_backend_retries_total{%s} 2", l);
	assert_line(text, line);
	free(text);
	sg__metrics_fini(&m);
}

/* A target's breaker: its state as three samples, transitions into open; none when disabled. */
static void test_breaker_exposition(void **state)
{
	sg_breaker_desc d = {.enabled = true,
	                     .window = 20,
	                     .min_calls = 4,
	                     .failure_rate_pct = 50,
	                     .slow_rate_pct = 100,
	                     .open_ms = 1000,
	                     .half_open_probes = 1};
	sg__breaker br, off;
	sg__metrics m;
	char *text;

	(void)state;
	sg__metrics_init(&m);
	assert_int_equal(sg__breaker_init(&br, &d, "a"), SG_OK);
	assert_int_equal(sg__breaker_init(&off, NULL, "b"), SG_OK);
	sg__target_metrics *a = sg__metrics_target(&m, "g", "a");
	sg__target_metrics *b = sg__metrics_target(&m, "g", "b");
	a->breaker = &br;
	b->breaker = &off;
	text = render(&m);
	assert_line(text, "# TYPE scatter_breaker_state gauge");
	assert_line(text, "scatter_breaker_state{group=\"g\",target=\"a\",state=\"closed\"} 1");
	assert_line(text, "scatter_breaker_state{group=\"g\",target=\"a\",state=\"open\"} 0");
	assert_line(text, "scatter_breaker_state{group=\"g\",target=\"a\",state=\"half_open\"} 0");
	assert_line(text, "# TYPE scatter_breaker_transitions_total counter");
	assert_line(text,
	            "scatter_breaker_transitions_total{group=\"g\",target=\"a\",state=\"open\"} 0");
	assert_null(strstr(text, "target=\"b\",state=")); /* disabled: not exported */
	free(text);

	/* Four failures in a row open it. */
	for (int i = 0; i < 4; i++) {
		sg__breaker_ticket t = sg__breaker_admit(&br, (int64_t)i * 1000000);

		assert_int_not_equal(t, SG_BREAKER_REJECTED);
		sg__breaker_record(&br, t, GRPC_STATUS_UNAVAILABLE, 100, 1000000,
		                   (int64_t)i * 1000000);
	}
	text = render(&m);
	assert_line(text, "scatter_breaker_state{group=\"g\",target=\"a\",state=\"open\"} 1");
	assert_line(text, "scatter_breaker_state{group=\"g\",target=\"a\",state=\"closed\"} 0");
	assert_line(text,
	            "scatter_breaker_transitions_total{group=\"g\",target=\"a\",state=\"open\"} 1");
	free(text);

	/* The status page sees it: the target is down whatever its legs said. */
	sg__status *st;
	sg__strbuf sb;
	size_t len;
	mj doc;

	assert_int_equal(sg__status_alloc(&m, 0, &st), SG_OK);
	sg__strbuf_init(&sb);
	assert_int_equal(sg__status_render(st, S_NS, &sb), SG_OK);
	text = sg__strbuf_take(&sb, &len);
	assert_int_equal(mj_parse(text, &doc, NULL), 0);
	const mj *be = &mj_get(&doc, "backends")->items[0];
	assert_string_equal(mj_get(be, "health")->string, "down");
	assert_string_equal(mj_get(mj_get(be, "breaker"), "state")->string, "open");
	assert_true(mj_get(mj_get(be, "breaker"), "opened")->number == 1);
	assert_null(mj_get(&mj_get(&doc, "backends")->items[1], "breaker"));
	mj_free(&doc);
	free(text);
	sg__status_free(st);
	sg__breaker_fini(&br);
	sg__breaker_fini(&off);
	sg__metrics_fini(&m);
}

static void test_null_records_are_not_counted(void **state)
{
	(void)state;
	sg__metrics_call_end(NULL, GRPC_STATUS_OK, 1, false);
	sg__metrics_attempt_start(NULL);
	sg__metrics_attempt_end(NULL);
	sg__metrics_leg_end(NULL, GRPC_STATUS_OK, 1);
	sg__metrics_leg_refused(NULL, GRPC_STATUS_OK);
}

static void test_quantiles(void **state)
{
	sg__histogram_snap s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_true(sg__histogram_snap_quantile(&s, 0.5) == 0);
	/* 100 observations in (0.01, 0.025]: linear inside the bucket. */
	s.buckets[5] = 100;
	assert_true(sg__histogram_snap_count(&s) == 100);
	assert_float_equal(sg__histogram_snap_quantile(&s, 0.5), 0.0175, 1e-9);
	assert_float_equal(sg__histogram_snap_quantile(&s, 1.0), 0.025, 1e-9);
	/* 1 slow observation past every bound: the p99 of 101 stays in the first bucket, the max
	 * answers the last bound. */
	s.buckets[SG__METRICS_N_BOUNDS] = 1;
	assert_true(sg__histogram_snap_quantile(&s, 0.99) <= 0.025);
	assert_float_equal(sg__histogram_snap_quantile(&s, 1.0), 10.0, 1e-9);
}

static mj render_status(sg__status *st, int64_t now)
{
	sg__strbuf b;
	size_t len;
	char *text;
	mj doc;

	sg__strbuf_init(&b);
	assert_int_equal(sg__status_render(st, now, &b), SG_OK);
	text = sg__strbuf_take(&b, &len);
	if (mj_parse(text, &doc, NULL) != 0)
		fail_msg("status JSON does not parse: %s", text);
	free(text);
	return doc;
}

static const mj *first_backend(const mj *doc)
{
	const mj *b = mj_get(doc, "backends");

	assert_true(mj_is(b, MJ_ARRAY));
	assert_int_equal(b->n, 1);
	return &b->items[0];
}

static void test_status_history(void **state)
{
	sg__metrics m;
	sg__status *st;
	mj doc;

	(void)state;
	sg__metrics_init(&m);
	sg__target_metrics *tm = sg__metrics_target(&m, "shards", "ipv4:127.0.0.1:7");
	assert_int_equal(sg__status_alloc(&m, 0, &st), SG_OK);

	/* Nothing yet: idle, no latency. */
	doc = render_status(st, S_NS / 2);
	assert_string_equal(mj_get(first_backend(&doc), "health")->string, "idle");
	assert_true(mj_is(mj_get(first_backend(&doc), "p99_ms"), MJ_NULL));
	assert_true(mj_is(mj_get(first_backend(&doc), "error_rate"), MJ_NULL));
	mj_free(&doc);

	/* 10 OK legs of 20 ms in the first second, 10 more in the second. */
	for (int i = 0; i < 10; i++) {
		sg__metrics_attempt_start(tm);
		sg__metrics_attempt_end(tm);
		sg__metrics_leg_end(tm, GRPC_STATUS_OK, 20000);
	}
	sg__status_sample(st, 1 * S_NS);
	for (int i = 0; i < 10; i++) {
		sg__metrics_attempt_start(tm);
		sg__metrics_attempt_end(tm);
		sg__metrics_leg_end(tm, GRPC_STATUS_OK, 20000);
	}
	sg__status_sample(st, 2 * S_NS);
	doc = render_status(st, 2 * S_NS);
	const mj *b = first_backend(&doc);
	assert_string_equal(mj_get(b, "group")->string, "shards");
	assert_string_equal(mj_get(b, "health")->string, "up");
	assert_float_equal(mj_get(b, "rate")->number, 10.0, 1e-9);
	assert_float_equal(mj_get(b, "error_rate")->number, 0.0, 1e-9);
	assert_true(mj_get(b, "p99_ms")->number > 10 && mj_get(b, "p99_ms")->number <= 25);
	assert_int_equal(mj_get(mj_get(b, "series"), "rate")->n, 2);
	assert_float_equal(mj_get(mj_get(b, "series"), "rate")->items[1].number, 10.0, 1e-9);
	mj_free(&doc);

	/* The backend dies: only failures for the next 11 seconds. The window forgets the OKs. */
	for (int s = 3; s <= 13; s++) {
		sg__metrics_attempt_start(tm);
		sg__metrics_attempt_end(tm);
		sg__metrics_leg_end(tm, GRPC_STATUS_UNAVAILABLE, 100);
		sg__status_sample(st, s * S_NS);
	}
	doc = render_status(st, 13 * S_NS);
	b = first_backend(&doc);
	assert_string_equal(mj_get(b, "health")->string, "down");
	assert_float_equal(mj_get(b, "error_rate")->number, 1.0, 1e-9);
	assert_float_equal(mj_get(mj_get(b, "window"), "seconds")->number, 10.0, 1e-9);
	assert_true(mj_get(b, "legs")->number == 31);
	assert_true(mj_get(b, "failed")->number == 11);
	mj_free(&doc);

	/* A minute later the ring holds SG__STATUS_POINTS samples: 60 per-second values. */
	for (int s = 14; s <= 100; s++)
		sg__status_sample(st, s * S_NS);
	doc = render_status(st, 100 * S_NS);
	b = first_backend(&doc);
	assert_int_equal(mj_get(mj_get(b, "series"), "p99_ms")->n, SG__STATUS_POINTS - 1);
	assert_string_equal(mj_get(b, "health")->string, "idle");
	mj_free(&doc);

	sg__status_free(st);
	sg__metrics_fini(&m);
}

/* A record made after the status began joins with its whole count in its first second. */
static void test_status_new_record(void **state)
{
	sg__metrics m;
	sg__status *st;
	mj doc;

	(void)state;
	sg__metrics_init(&m);
	assert_int_equal(sg__status_alloc(&m, 0, &st), SG_OK);
	sg__method_metrics *mm = sg__metrics_method(&m, "pkg.S/Late");
	sg__metrics_call_end(mm, GRPC_STATUS_OK, 1000, true);
	sg__status_sample(st, 1 * S_NS);
	doc = render_status(st, 1 * S_NS);
	const mj *ms = mj_get(&doc, "methods");
	assert_int_equal(ms->n, 1);
	assert_string_equal(mj_get(&ms->items[0], "method")->string, "pkg.S/Late");
	assert_true(mj_get(&ms->items[0], "calls")->number == 1);
	assert_true(mj_get(&ms->items[0], "partial")->number == 1);
	/* Partial answers make a method degraded. */
	assert_string_equal(mj_get(&ms->items[0], "health")->string, "degraded");
	mj_free(&doc);
	sg__status_free(st);
	sg__metrics_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_records_are_found_again),
	        cmocka_unit_test(test_exposition),
	        cmocka_unit_test(test_breaker_exposition),
	        cmocka_unit_test(test_null_records_are_not_counted),
	        cmocka_unit_test(test_quantiles),
	        cmocka_unit_test(test_status_history),
	        cmocka_unit_test(test_status_new_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
