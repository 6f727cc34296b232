/* gather_test.c: the gather table, the rule every strategy shares, ALL, FIRST_N, BEST_EFFORT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gather.h"
#include "merge_test.pb-c.h"

/* A call of `total` legs under strategy kind, planned against mt.Req / mt.Resp. */
typedef struct harness {
	sg_method_desc m;
	const sg__gather_ops *ops;
	sg__gather_plan plan;
	sg__gather_call gc;
	sg_leg_result ended[8];
	sg__arena arena;
} harness;

static void harness_start(harness *h, sg_gather_desc g, uint32_t total)
{
	char why[200] = "";

	memset(h, 0, sizeof(*h));
	h->m = (sg_method_desc){.path = "/mt.Agg/Get",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__resp__descriptor,
	                        .group = "g",
	                        .backend_path = "/mt.Leaf/Get",
	                        .deadline_ms = 1000,
	                        .gather = g};
	h->ops = sg__gather_ops_for(g.kind);
	assert_non_null(h->ops);
	assert_int_equal(sg__gather_plan_init(&h->plan, h->ops, &h->m, why, sizeof(why)), SG_OK);
	sg__arena_init(&h->arena, 1024);
	sg__gather_call_init(&h->gc, &h->plan, NULL, &h->arena, 1000000, total);
	h->gc.ended = h->ended;
	if (h->ops->on_start != NULL)
		assert_int_equal(h->ops->on_start(&h->gc), SG_OK);
}

/* Leg `index` ends with status; counted first, as the call does. */
static sg__gather_verdict harness_end(harness *h, uint32_t index, grpc_status_code status)
{
	static Mt__Resp resp = MT__RESP__INIT;
	const ProtobufCMessage *r = status == GRPC_STATUS_OK ? &resp.base : NULL;

	if (status == GRPC_STATUS_OK)
		h->gc.ok++;
	else
		h->gc.failed++;
	h->ended[h->gc.n_ended++] = (sg_leg_result){.name = "g/x", .status = status, .response = r};
	return sg__gather_leg_end(
	        h->ops, &h->gc, &(sg__gather_leg){.index = index, .status = status, .response = r});
}

static void harness_fini(harness *h)
{
	sg__arena_fini(&h->arena);
}

static void test_table(void **state)
{
	(void)state;
	assert_string_equal(sg__gather_ops_for(SG_GATHER_ALL)->name, "all");
	assert_string_equal(sg__gather_ops_for(SG_GATHER_FIRST_N)->name, "first_n");
	assert_string_equal(sg__gather_ops_for(SG_GATHER_QUORUM)->name, "quorum");
	assert_string_equal(sg__gather_ops_for(SG_GATHER_BEST_EFFORT)->name, "best_effort");
	assert_string_equal(sg__gather_ops_for(SG_GATHER_QUALITY)->name, "quality");
	assert_null(sg__gather_ops_for((sg_gather_kind)999));
	/* How each reports the legs it cuts short. */
	assert_int_equal(sg__gather_ops_for(SG_GATHER_FIRST_N)->cut_status, GRPC_STATUS_CANCELLED);
	assert_int_equal(sg__gather_ops_for(SG_GATHER_BEST_EFFORT)->cut_status,
	                 GRPC_STATUS_DEADLINE_EXCEEDED);
}

static void test_all_waits_for_every_leg(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, (sg_gather_desc){.kind = SG_GATHER_ALL}, 3);
	assert_int_equal(h.gc.wake_ns, 0);
	assert_int_equal(harness_end(&h, 0, GRPC_STATUS_OK), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 2, GRPC_STATUS_UNAVAILABLE), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, GRPC_STATUS_OK), SG__GATHER_DONE);
	assert_int_equal(h.gc.answer, UINT32_MAX);
	harness_fini(&h);
}

static void test_first_n_done_at_n_ok(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, (sg_gather_desc){.kind = SG_GATHER_FIRST_N, .n = 2}, 4);
	assert_int_equal(harness_end(&h, 3, GRPC_STATUS_OK), SG__GATHER_CONTINUE);
	/* A failure does not count towards n. */
	assert_int_equal(harness_end(&h, 0, GRPC_STATUS_DEADLINE_EXCEEDED), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, GRPC_STATUS_OK), SG__GATHER_DONE);
	harness_fini(&h);
}

static void test_first_n_fewer_than_n_is_all(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, (sg_gather_desc){.kind = SG_GATHER_FIRST_N, .n = 3}, 3);
	assert_int_equal(harness_end(&h, 0, GRPC_STATUS_OK), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, GRPC_STATUS_UNAVAILABLE), SG__GATHER_CONTINUE);
	/* Every leg ended: done like ALL, never ABORT. */
	assert_int_equal(harness_end(&h, 2, GRPC_STATUS_OK), SG__GATHER_DONE);
	harness_fini(&h);
}

static void test_first_n_checks(void **state)
{
	const sg__gather_ops *ops = sg__gather_ops_for(SG_GATHER_FIRST_N);
	sg_method_desc m = {.request = &mt__req__descriptor,
	                    .response = &mt__resp__descriptor,
	                    .gather = {.kind = SG_GATHER_FIRST_N}};
	sg__gather_plan p;
	char why[200] = "";

	(void)state;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "first_n: n must be at least 1");
	m.gather.n = 5;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_OK);
	assert_int_equal(ops->check_legs(&m.gather, 4, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "first_n: n is 5 but there are 4 legs");
	assert_int_equal(ops->check_legs(&m.gather, 5, why, sizeof(why)), SG_OK);
}

static void test_best_effort_wakes_at_soft_deadline(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, (sg_gather_desc){.kind = SG_GATHER_BEST_EFFORT, .soft_ms = 150}, 3);
	/* Started at 1 ms (the harness's clock): wake 150 ms later. */
	assert_int_equal(h.gc.wake_ns, 1000000 + 150 * INT64_C(1000000));
	assert_int_equal(harness_end(&h, 0, GRPC_STATUS_OK), SG__GATHER_CONTINUE);
	assert_int_equal(h.ops->on_timer(&h.gc), SG__GATHER_DONE);
	harness_fini(&h);
	/* Every leg in before the soft deadline: done then. */
	harness_start(&h, (sg_gather_desc){.kind = SG_GATHER_BEST_EFFORT, .soft_ms = 150}, 2);
	assert_int_equal(harness_end(&h, 0, GRPC_STATUS_OK), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, GRPC_STATUS_INTERNAL), SG__GATHER_DONE);
	harness_fini(&h);
}

static void test_best_effort_checks(void **state)
{
	const sg__gather_ops *ops = sg__gather_ops_for(SG_GATHER_BEST_EFFORT);
	sg_method_desc m = {.request = &mt__req__descriptor,
	                    .response = &mt__resp__descriptor,
	                    .deadline_ms = 100,
	                    .gather = {.kind = SG_GATHER_BEST_EFFORT, .soft_ms = 100}};
	sg__gather_plan p;
	char why[200] = "";

	(void)state;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "best_effort: soft_ms 100 must be > 0 and < deadline_ms 100");
	m.gather.soft_ms = 0;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	m.gather.soft_ms = 99;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_all_waits_for_every_leg),
	        cmocka_unit_test(test_first_n_done_at_n_ok),
	        cmocka_unit_test(test_first_n_fewer_than_n_is_all),
	        cmocka_unit_test(test_first_n_checks),
	        cmocka_unit_test(test_best_effort_wakes_at_soft_deadline),
	        cmocka_unit_test(test_best_effort_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
