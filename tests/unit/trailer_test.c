/* trailer_test.c: the per-leg outcome's text form, both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scatter/trailer.h"
#include "trailer_write.h"

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(sg_status_name(GRPC_STATUS_OK), "OK");
	assert_string_equal(sg_status_name(GRPC_STATUS_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
	assert_string_equal(sg_status_name(GRPC_STATUS_UNAUTHENTICATED), "UNAUTHENTICATED");
	assert_string_equal(sg_status_name((grpc_status_code)99), "UNKNOWN");
	grpc_status_code c;
	for (int i = 0; i <= GRPC_STATUS_UNAUTHENTICATED; i++) {
		assert_int_equal(sg_status_from_name(sg_status_name((grpc_status_code)i), &c),
		                 SG_OK);
		assert_int_equal(c, i);
	}
	assert_int_equal(sg_status_from_name("NOPE", &c), SG_EINVAL);
}

static void test_summary_round_trip(void **state)
{
	(void)state;
	char buf[64];
	sg_legs_summary s = {.total = 4, .ok = 2, .failed = 0, .cut = 2}, back;
	size_t n = sg_legs_summary_format(&s, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "total=4 ok=2 failed=0 cut=2");
	assert_int_equal(sg_legs_summary_parse(buf, &back), SG_OK);
	assert_memory_equal(&s, &back, sizeof(s));
}

/* A peer from before cut was counted apart sends three fields: cut is 0, failed as sent. */
static void test_summary_without_cut(void **state)
{
	(void)state;
	sg_legs_summary s = {.cut = 7};
	assert_int_equal(sg_legs_summary_parse("total=4 ok=3 failed=1", &s), SG_OK);
	assert_int_equal(s.total, 4);
	assert_int_equal(s.ok, 3);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.cut, 0);
}

static void test_outcome_round_trip(void **state)
{
	(void)state;
	char buf[512];
	sg_leg_outcome o = {.index = 3,
	                    .status = GRPC_STATUS_DEADLINE_EXCEEDED,
	                    .latency_us = 300102},
	               back;
	strcpy(o.name, "shards/3");
	strcpy(o.target, "ipv4:127.0.0.1:5004");
	size_t n = sg_leg_outcome_format(&o, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "index=3 name=shards/3 target=ipv4:127.0.0.1:5004 "
	                         "status=DEADLINE_EXCEEDED latency_us=300102");
	assert_int_equal(sg_leg_outcome_parse(buf, &back), SG_OK);
	assert_int_equal(back.index, 3);
	assert_string_equal(back.name, "shards/3");
	assert_string_equal(back.target, o.target);
	assert_int_equal(back.status, GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_int_equal(back.latency_us, 300102);
}

/* Heterogeneous legs carry the table's leg name; a peer without names still parses. */
static void test_outcome_names(void **state)
{
	(void)state;
	char buf[512];
	sg_leg_outcome o = {.index = 1, .status = GRPC_STATUS_CANCELLED, .latency_us = 7}, back;
	strcpy(o.name, "profile");
	strcpy(o.target, "unix:/tmp/p.sock");
	sg_leg_outcome_format(&o, buf, sizeof(buf));
	assert_string_equal(buf, "index=1 name=profile target=unix:/tmp/p.sock status=CANCELLED "
	                         "latency_us=7");
	assert_int_equal(sg_leg_outcome_parse(buf, &back), SG_OK);
	assert_string_equal(back.name, "profile");
	assert_int_equal(back.status, GRPC_STATUS_CANCELLED);
	assert_int_equal(
	        sg_leg_outcome_parse("index=0 target=ipv4:1.2.3.4:5 status=OK latency_us=9", &back),
	        SG_OK);
	assert_string_equal(back.name, "");
	assert_string_equal(back.target, "ipv4:1.2.3.4:5");
	/* A name too long for the struct is refused, not cut. */
	char longer[400] = "index=0 name=";
	for (int i = 0; i < 200; i++)
		strcat(longer, "x");
	strcat(longer, " target=t status=OK latency_us=1");
	assert_int_equal(sg_leg_outcome_parse(longer, &back), SG_EINVAL);
}

static void test_parse_rejects_garbage(void **state)
{
	(void)state;
	sg_legs_summary s;
	sg_leg_outcome o;
	const char *bad_summaries[] = {"",
	                               "total=4",
	                               "total=4 ok=3",
	                               "total=x ok=3 failed=1",
	                               "ok=3 total=4 failed=1",
	                               "total=4 ok=3 failed=1 extra=2",
	                               "total=4 ok=3 failed=0 cut=1 extra=2",
	                               "total=4 ok=3 failed=0 cut=",
	                               "total=4 ok=3 failed=0 cut=x",
	                               "total=4 ok=3 cut=1 failed=0",
	                               "total=4 ok=3 cut=1",
	                               "total=99999999999 ok=0 failed=0"};
	for (size_t i = 0; i < sizeof(bad_summaries) / sizeof(bad_summaries[0]); i++)
		assert_int_equal(sg_legs_summary_parse(bad_summaries[i], &s), SG_EINVAL);
	const char *bad_outcomes[] = {
	        "index=1 target=x status=BOGUS latency_us=1",
	        "index=1 target= status=OK latency_us=1",
	        "index=1 target=x status=OK latency_us=1z",
	        "index=1 target=x status=OK",
	        "index=1 name= target=x status=OK latency_us=1",
	        "index=1 target=x name=a status=OK latency_us=1",
	};
	for (size_t i = 0; i < sizeof(bad_outcomes) / sizeof(bad_outcomes[0]); i++)
		assert_int_equal(sg_leg_outcome_parse(bad_outcomes[i], &o), SG_EINVAL);
	assert_int_equal(sg_leg_outcome_parse(NULL, &o), SG_EINVAL);
}

/* What sg_leg_outcome_format must write: its documented format, by snprintf. */
static int outcome_by_snprintf(const sg_leg_outcome *o, char *buf, size_t size)
{
	return snprintf(buf, size, "index=%u name=%s target=%s status=%s latency_us=%lld%s%s",
	                o->index, o->name, o->target, sg_status_name(o->status),
	                (long long)o->latency_us, o->note[0] != '\0' ? " note=" : "", o->note);
}

/* The writer keeps snprintf's contract for every buffer size: the same bytes, the same return
 * value, always NUL-terminated, nothing written past size. */
static void check_outcome_all_sizes(const sg_leg_outcome *o)
{
	char want[600], got[600];
	int full = outcome_by_snprintf(o, want, sizeof(want));

	assert_true(full > 0 && (size_t)full + 2 < sizeof(got));
	assert_int_equal(sg_leg_outcome_format(o, NULL, 0), (size_t)full);
	for (size_t size = 1; size <= (size_t)full + 2; size++) {
		memset(got, 'x', sizeof(got));
		assert_int_equal(sg_leg_outcome_format(o, got, size), (size_t)full);
		outcome_by_snprintf(o, want, size);
		assert_memory_equal(got, want, strlen(want) + 1);
		assert_int_equal(got[size], 'x');
	}
}

static void test_format_matches_snprintf(void **state)
{
	(void)state;
	sg_leg_outcome o = {
	        .index = 4294967295u, .status = GRPC_STATUS_UNAVAILABLE, .latency_us = INT64_MIN};
	sg_legs_summary sum = {.total = 1000, .ok = 0, .failed = 999, .cut = 1};
	char got[64];

	strcpy(o.name, "shards/12");
	strcpy(o.target, "ipv4:127.0.0.1:5001|ipv4:127.0.0.1:5002");
	check_outcome_all_sizes(&o);
	strcpy(o.note, "circuit_open");
	o.index = 0;
	o.latency_us = 0;
	check_outcome_all_sizes(&o);
	o.latency_us = 1234567;
	check_outcome_all_sizes(&o);
	assert_int_equal(sg_legs_summary_format(&sum, got, sizeof(got)), 32);
	assert_string_equal(got, "total=1000 ok=0 failed=999 cut=1");
	assert_int_equal(sg_legs_summary_format(&sum, got, 6), 32);
	assert_string_equal(got, "total");
}

/* Past the trailer limit the summary counts the legs left without an entry; only then does it
 * say omitted, and a summary without it parses as 0. */
static void test_summary_omitted(void **state)
{
	(void)state;
	char buf[64];
	sg_legs_summary s = {.total = 120, .ok = 119, .failed = 1, .omitted = 68}, back;

	size_t n = sg_legs_summary_format(&s, buf, sizeof(buf));

	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "total=120 ok=119 failed=1 cut=0 omitted=68");
	assert_int_equal(sg_legs_summary_parse(buf, &back), SG_OK);
	assert_memory_equal(&s, &back, sizeof(s));
	back.omitted = 5;
	assert_int_equal(sg_legs_summary_parse("total=4 ok=4 failed=0 cut=0", &back), SG_OK);
	assert_int_equal(back.omitted, 0);
	assert_int_equal(sg_legs_summary_parse("total=4 ok=4 failed=0 cut=0 omitted=", &back),
	                 SG_EINVAL);
	assert_int_equal(sg_legs_summary_parse("total=4 ok=4 failed=0 cut=0 omitted=1 x=2", &back),
	                 SG_EINVAL);
}

/* What fits the limit: everything when it can, else failures first, each in leg order. */
static void test_trailer_select(void **state)
{
	(void)state;
	/* Legs 0-5; 1 and 4 failed. Costs 100 each but leg 4 (200). */
	const size_t cost[6] = {100, 100, 100, 100, 200, 100};
	const bool ok[6] = {true, false, true, true, false, true};
	bool keep[6];

	/* 50 + 700 = 750: all fit, also exactly at the limit. */
	assert_int_equal(sg__trailer_select(cost, ok, 6, 50, 750, keep), 6);
	for (size_t i = 0; i < 6; i++)
		assert_true(keep[i]);
	/* 749: the two failures (300), then OK legs 0, 2, 3 (300) and not 5: 50 + 600 = 650. */
	assert_int_equal(sg__trailer_select(cost, ok, 6, 50, 749, keep), 5);
	assert_true(keep[1] && keep[4] && keep[0] && keep[2] && keep[3]);
	assert_false(keep[5]);
	/* 400: the failures only (50 + 300 = 350); no room for a 100 OK entry. */
	assert_int_equal(sg__trailer_select(cost, ok, 6, 50, 400, keep), 2);
	assert_true(keep[1] && keep[4]);
	assert_false(keep[0] || keep[2] || keep[3] || keep[5]);
	/* 349: failed leg 4 (200) no longer fits after failed leg 1 (150 so far); OK leg 0 does
	 * (250), leg 2 would make 350. */
	assert_int_equal(sg__trailer_select(cost, ok, 6, 50, 349, keep), 2);
	assert_true(keep[1] && keep[0]);
	assert_false(keep[4] || keep[2] || keep[3] || keep[5]);
	/* A limit under the summary keeps no leg. */
	assert_int_equal(sg__trailer_select(cost, ok, 6, 50, 40, keep), 0);
	for (size_t i = 0; i < 6; i++)
		assert_false(keep[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_status_names),
	        cmocka_unit_test(test_summary_round_trip),
	        cmocka_unit_test(test_summary_without_cut),
	        cmocka_unit_test(test_outcome_round_trip),
	        cmocka_unit_test(test_outcome_names),
	        cmocka_unit_test(test_parse_rejects_garbage),
	        cmocka_unit_test(test_format_matches_snprintf),
	        cmocka_unit_test(test_summary_omitted),
	        cmocka_unit_test(test_trailer_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
