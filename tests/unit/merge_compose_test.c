/* merge_compose_test.c: COMPOSE puts each OK leg's answer into its own field of an empty
 * response (a oneof member too), leaves failed legs' fields unset, fills the counts; and the
 * plan's checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "merge.h"
#include "merge_test.pb-c.h"

/* Field numbers of mt.Page. */
enum { PROFILE = 1, ORDERS = 2, TOTAL = 3, OK = 4, FAILED = 5, MANY = 6, SIDE = 7, LABEL = 8 };

static sg_leg_desc legs[4];

static sg_method_desc page_method(size_t n_legs)
{
	legs[0] = (sg_leg_desc){.name = "profile",
	                        .group = "p",
	                        .path = "/mt.P/Get",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__item__descriptor,
	                        .into = PROFILE};
	legs[1] = (sg_leg_desc){.name = "orders",
	                        .group = "o",
	                        .path = "/mt.O/Get",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__resp__descriptor,
	                        .into = ORDERS,
	                        .optional = true};
	legs[2] = (sg_leg_desc){.name = "side",
	                        .group = "s",
	                        .path = "/mt.S/Get",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__item__descriptor,
	                        .into = SIDE};
	legs[3] = (sg_leg_desc){.name = "audit",
	                        .group = "a",
	                        .path = "/mt.A/Log",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__resp__descriptor};
	return (sg_method_desc){.path = "/mt.Agg/Page",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__page__descriptor,
	                        .legs = legs,
	                        .n_legs = n_legs,
	                        .deadline_ms = 100,
	                        .merge = {.kind = SG_MERGE_COMPOSE},
	                        .partial = {.allow = true,
	                                    .total_field = TOTAL,
	                                    .ok_field = OK,
	                                    .failed_field = FAILED}};
}

static void test_each_leg_into_its_field(void **state)
{
	sg_method_desc m = page_method(4);
	Mt__Item profile = MT__ITEM__INIT, side = MT__ITEM__INIT;
	Mt__Resp audit = MT__RESP__INIT;
	sg_leg_result results[4] = {
	        {.name = "profile", .status = GRPC_STATUS_OK, .response = &profile.base},
	        {.name = "orders", .status = GRPC_STATUS_UNAVAILABLE},
	        {.name = "side", .status = GRPC_STATUS_OK, .response = &side.base},
	        {.name = "audit", .status = GRPC_STATUS_OK, .response = &audit.base},
	};
	sg_legs_summary counts = {.total = 4, .ok = 3, .failed = 1};
	sg__merge_plan plan;
	ProtobufCMessage *out = NULL;
	sg__arena arena;
	char why[200] = "";

	(void)state;
	profile.id = "ada";
	sg__arena_init(&arena, 256);
	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
	sg__merge_in in = {.legs = results, .n_legs = 4, .arena = &arena};
	assert_int_equal(sg__merge_run(&plan, &in, &counts, &out), SG_OK);
	Mt__Page *p = (Mt__Page *)out;
	assert_ptr_equal(p->profile, &profile);
	assert_null(p->orders);
	assert_int_equal(p->extra_case, MT__PAGE__EXTRA_SIDE);
	assert_ptr_equal(p->side, &side);
	assert_int_equal(p->n_many, 0);
	assert_int_equal(p->total, 4);
	assert_int_equal(p->ok, 3);
	assert_int_equal(p->failed, 1);
	/* It encodes, and decodes to the same shape. */
	uint8_t *bytes;
	size_t len;
	assert_int_equal(sg__pack(out, &arena, &bytes, &len), SG_OK);
	Mt__Page *back = mt__page__unpack(sg__arena_allocator(&arena), len, bytes);
	assert_non_null(back);
	assert_string_equal(back->profile->id, "ada");
	assert_null(back->orders);
	assert_int_equal(back->extra_case, MT__PAGE__EXTRA_SIDE);
	sg__merge_plan_fini(&plan);
	/* No OK leg at all still merges (the call decides whether that is an answer). */
	for (int i = 0; i < 4; i++)
		results[i].response = NULL;
	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
	assert_int_equal(sg__merge_run(&plan, &in, NULL, &out), SG_OK);
	assert_null(((Mt__Page *)out)->profile);
	sg__merge_plan_fini(&plan);
	sg__arena_fini(&arena);
}

static void expect_config_error(const sg_method_desc *m, const char *want)
{
	sg__merge_plan plan;
	char why[200] = "";

	assert_int_equal(sg__merge_plan_init(&plan, m, why, sizeof(why)), SG_ECONFIG);
	sg__merge_plan_fini(&plan);
	assert_string_equal(why, want);
}

static void test_plan_rejects_what_does_not_fit(void **state)
{
	static const uint32_t items[] = {1};
	sg_method_desc m = page_method(3);

	(void)state;
	legs[0].into = TOTAL;
	expect_config_error(&m, "compose: leg profile: field 3 of mt.Page is not a single message "
	                        "field");
	legs[0].into = MANY;
	expect_config_error(&m, "compose: leg profile: field 6 of mt.Page is not a single message "
	                        "field");
	legs[0].into = LABEL;
	expect_config_error(&m, "compose: leg profile: field 8 of mt.Page is not a single message "
	                        "field");
	legs[0].into = ORDERS;
	expect_config_error(&m, "compose: leg profile answers mt.Item but field orders holds "
	                        "mt.Resp");
	m = page_method(3);
	legs[2].into = PROFILE;
	expect_config_error(&m, "compose: legs profile and side both fill profile");
	m = page_method(0);
	expect_config_error(&m, "compose: needs heterogeneous legs");
	/* Merges that start from a leg's own response cannot take heterogeneous legs. */
	m = page_method(2);
	m.merge = (sg_merge_desc){.kind = SG_MERGE_TOP_K,
	                          .fields = items,
	                          .n_fields = 1,
	                          .score_field = 2,
	                          .limit = 3};
	expect_config_error(&m, "top_k: needs one backend method (group), not 2 legs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_each_leg_into_its_field),
	        cmocka_unit_test(test_plan_rejects_what_does_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
