/* gather_quorum_test.c: QUORUM over whole bytes and over a key field; DONE at a majority,
 * ABORT as soon as none is possible, and the checks at registration and start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gather.h"
#include "merge_test.pb-c.h"

enum { NOTE = 7, TOTAL = 4, ITEMS = 1, SINGLE = 8 };

typedef struct harness {
	sg_method_desc m;
	const sg__gather_ops *ops;
	sg__gather_plan plan;
	sg__gather_call gc;
	sg_leg_result ended[8];
	Mt__Resp resp[8];
	uint8_t bytes[8][64];
	sg__arena arena;
} harness;

static void harness_start(harness *h, uint32_t key, uint32_t total)
{
	char why[200] = "";

	memset(h, 0, sizeof(*h));
	h->m = (sg_method_desc){.path = "/mt.Agg/Get",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__resp__descriptor,
	                        .group = "g",
	                        .backend_path = "/mt.Leaf/Get",
	                        .deadline_ms = 1000,
	                        .gather = {.kind = SG_GATHER_QUORUM, .key_field = key}};
	h->ops = sg__gather_ops_for(SG_GATHER_QUORUM);
	assert_int_equal(sg__gather_plan_init(&h->plan, h->ops, &h->m, why, sizeof(why)), SG_OK);
	sg__arena_init(&h->arena, 256);
	sg__gather_call_init(&h->gc, &h->plan, NULL, &h->arena, 0, total);
	h->gc.ended = h->ended;
	assert_int_equal(h->ops->on_start(&h->gc), SG_OK);
}

/* Leg `index` answers OK with note and total (packed: the bytes compared), or fails (note
 * NULL). The bytes buffer is scribbled over after the hook, as gRPC frees it. */
static sg__gather_verdict harness_end(harness *h, uint32_t index, const char *note, uint32_t total)
{
	Mt__Resp *r = &h->resp[index];
	sg__gather_leg leg = {.index = index, .status = GRPC_STATUS_UNAVAILABLE};
	sg__gather_verdict v;

	mt__resp__init(r);
	if (note != NULL) {
		r->note = (char *)note;
		r->total = total;
		leg.status = GRPC_STATUS_OK;
		leg.response = &r->base;
		leg.len = mt__resp__pack(r, h->bytes[index]);
		leg.bytes = h->bytes[index];
		h->gc.ok++;
	} else {
		h->gc.failed++;
	}
	h->ended[h->gc.n_ended++] =
	        (sg_leg_result){.name = "r", .status = leg.status, .response = leg.response};
	v = sg__gather_leg_end(h->ops, &h->gc, &leg);
	memset(h->bytes[index], 0xee, sizeof(h->bytes[index]));
	return v;
}

static void test_bytes_majority(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, 0, 3);
	assert_int_equal(harness_end(&h, 2, "v1", 7), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 0, "v1", 8), SG__GATHER_CONTINUE); /* other bytes */
	/* Leg 1 agrees with leg 2 byte for byte (kept as a copy: the buffer is gone). */
	assert_int_equal(harness_end(&h, 1, "v1", 7), SG__GATHER_DONE);
	assert_int_equal(h.gc.answer, 2);
	sg__arena_fini(&h.arena);
}

static void test_key_majority(void **state)
{
	harness h;

	(void)state;
	/* On the string field note: different totals still agree. */
	harness_start(&h, NOTE, 3);
	assert_int_equal(harness_end(&h, 1, "v2", 1), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 0, "v2", 2), SG__GATHER_DONE);
	assert_int_equal(h.gc.answer, 1);
	sg__arena_fini(&h.arena);
	/* On the integer field total. */
	harness_start(&h, TOTAL, 4);
	assert_int_equal(harness_end(&h, 0, "a", 5), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, "b", 6), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 2, "c", 6), SG__GATHER_CONTINUE); /* 2 of 4: no */
	assert_int_equal(harness_end(&h, 3, "d", 6), SG__GATHER_DONE);     /* 3 of 4 */
	assert_int_equal(h.gc.answer, 1);
	sg__arena_fini(&h.arena);
}

static void test_abort_as_soon_as_impossible(void **state)
{
	harness h;

	(void)state;
	/* 5 replicas, majority 3. */
	harness_start(&h, 0, 5);
	assert_int_equal(harness_end(&h, 0, "A", 1), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, "B", 1), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 2, NULL, 0), SG__GATHER_CONTINUE); /* A can still win */
	/* A 1 + 1 running < 3: no value can make it, with one leg still out. */
	assert_int_equal(harness_end(&h, 3, "C", 1), SG__GATHER_ABORT);
	assert_int_equal(h.gc.abort_status, GRPC_STATUS_ABORTED);
	assert_string_equal(h.gc.abort_message,
	                    "no majority: 5 replicas, 1 x response A (5 bytes), 1 x response B "
	                    "(5 bytes), 1 x response C (5 bytes), 1 failed, 1 cut short");
	sg__arena_fini(&h.arena);
}

static void test_abort_message_with_key(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, NOTE, 3);
	assert_int_equal(harness_end(&h, 0, "x", 1), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, "y", 1), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 2, NULL, 0), SG__GATHER_ABORT);
	assert_string_equal(h.gc.abort_message,
	                    "no majority: 3 replicas, 1 x \"x\", 1 x \"y\", 1 failed");
	sg__arena_fini(&h.arena);
	/* Two failures of three: nothing can agree any more, decided at the second. */
	harness_start(&h, TOTAL, 3);
	assert_int_equal(harness_end(&h, 0, NULL, 0), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, NULL, 0), SG__GATHER_ABORT);
	assert_string_equal(h.gc.abort_message, "no majority: 3 replicas, 2 failed, 1 cut short");
	sg__arena_fini(&h.arena);
}

static void test_checks(void **state)
{
	const sg__gather_ops *ops = sg__gather_ops_for(SG_GATHER_QUORUM);
	static const uint32_t items[] = {ITEMS};
	static const sg_leg_desc legs[1] = {{.name = "a"}};
	sg_method_desc m = {.request = &mt__req__descriptor,
	                    .response = &mt__resp__descriptor,
	                    .gather = {.kind = SG_GATHER_QUORUM, .key_field = ITEMS}};
	sg__gather_plan p;
	char why[200] = "";

	(void)state;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "quorum: key field 1 of mt.Resp is not a single scalar");
	m.gather.key_field = SINGLE;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	m.gather.key_field = NOTE;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_OK);
	assert_non_null(p.key);
	m.merge = (sg_merge_desc){.kind = SG_MERGE_CONCAT, .fields = items, .n_fields = 1};
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "quorum: the answer is one of the agreeing responses; no merge "
	                         "may be set");
	m.merge = (sg_merge_desc){0};
	m.legs = legs;
	m.n_legs = 1;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_int_equal(ops->check_legs(&m.gather, 1, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "quorum: needs at least 2 targets, not 1");
	assert_int_equal(ops->check_legs(&m.gather, 2, why, sizeof(why)), SG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bytes_majority),
	        cmocka_unit_test(test_key_majority),
	        cmocka_unit_test(test_abort_as_soon_as_impossible),
	        cmocka_unit_test(test_abort_message_with_key),
	        cmocka_unit_test(test_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
