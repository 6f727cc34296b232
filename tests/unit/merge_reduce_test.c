/* merge_reduce_test.c: REDUCE, every op over every type family, presence, and the plan's checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "merge.h"
#include "merge_test.pb-c.h"
#include "presence_test.pb-c.h"

/* Field numbers of mt.Stats. */
enum {
	I32 = 1,
	S64 = 2,
	U32 = 3,
	F64 = 4,
	FL = 5,
	DB = 6,
	NAME = 7,
	BLOB = 8,
	FLAG = 9,
	BEST = 10,
	COLOR = 11,
	ITEMS = 13,
	TOTAL = 14,
	BIG = 15,
};

static sg__arena arena;

static int setup(void **state)
{
	(void)state;
	sg__arena_init(&arena, 512);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sg__arena_fini(&arena);
	return 0;
}

/* Runs a REDUCE with rules over legs (NULL: a failed leg). */
static ProtobufCMessage *reduce(const ProtobufCMessageDescriptor *resp,
                                const sg_reduce_field *rules, size_t n_rules,
                                const ProtobufCMessage *const *legs, size_t n_legs)
{
	sg_method_desc m = {
	        .path = "/mt.Agg/Stats",
	        .request = &mt__req__descriptor,
	        .response = resp,
	        .merge = {.kind = SG_MERGE_REDUCE, .reduce = rules, .n_reduce = n_rules}};
	sg_leg_result results[8];
	sg__merge_plan plan;
	ProtobufCMessage *out = NULL;
	char why[200] = "";

	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
	for (size_t i = 0; i < n_legs; i++)
		results[i] = (sg_leg_result){.name = "s",
		                             .status = legs[i] != NULL ? GRPC_STATUS_OK
		                                                       : GRPC_STATUS_UNAVAILABLE,
		                             .response = legs[i]};
	sg__merge_in in = {.legs = results, .n_legs = n_legs, .arena = &arena};
	assert_int_equal(sg__merge_run(&plan, &in, NULL, &out), SG_OK);
	sg__merge_plan_fini(&plan);
	return out;
}

static void test_sum_every_numeric_type(void **state)
{
	static const sg_reduce_field rules[] = {{I32, SG_REDUCE_SUM}, {S64, SG_REDUCE_SUM},
	                                        {U32, SG_REDUCE_SUM}, {F64, SG_REDUCE_SUM},
	                                        {FL, SG_REDUCE_SUM},  {DB, SG_REDUCE_SUM}};
	Mt__Stats a = MT__STATS__INIT, b = MT__STATS__INIT, c = MT__STATS__INIT;

	(void)state;
	a.i32 = -5, a.s64 = -10000000000LL, a.u32 = 4000000000u, a.f64 = 1, a.fl = 0.5f,
	a.db = 0.25;
	b.i32 = 7, b.s64 = 3, b.u32 = 1, b.f64 = UINT64_C(1) << 40, b.fl = 1.5f, b.db = 1;
	c.i32 = 1, c.s64 = 7, c.u32 = 2, c.f64 = 2, c.fl = 1, c.db = -0.5;
	a.total = 99; /* no rule: the first OK leg's */
	const ProtobufCMessage *legs[] = {&a.base, NULL, &b.base, &c.base};
	Mt__Stats *r = (Mt__Stats *)reduce(&mt__stats__descriptor, rules, 6, legs, 4);
	assert_int_equal(r->i32, 3);
	assert_int_equal(r->s64, -9999999990LL);
	assert_int_equal(r->u32, 4000000003u);
	assert_true(r->f64 == (UINT64_C(1) << 40) + 3);
	assert_true(r->fl == 3.0f);
	assert_true(r->db == 0.75);
	assert_int_equal(r->total, 99);
}

static void test_sum_wraps_at_the_field_width(void **state)
{
	static const sg_reduce_field rules[] = {{I32, SG_REDUCE_SUM}, {U32, SG_REDUCE_SUM}};
	Mt__Stats a = MT__STATS__INIT, b = MT__STATS__INIT;

	(void)state;
	a.i32 = INT32_MAX, b.i32 = 1;
	a.u32 = UINT32_MAX, b.u32 = 2;
	const ProtobufCMessage *legs[] = {&a.base, &b.base};
	Mt__Stats *r = (Mt__Stats *)reduce(&mt__stats__descriptor, rules, 2, legs, 2);
	assert_int_equal(r->i32, INT32_MIN);
	assert_int_equal(r->u32, 1);
}

static void test_min_max_in_each_type_order(void **state)
{
	static const sg_reduce_field rules[] = {{I32, SG_REDUCE_MIN}, {S64, SG_REDUCE_MAX},
	                                        {U32, SG_REDUCE_MAX}, {F64, SG_REDUCE_MIN},
	                                        {FL, SG_REDUCE_MAX},  {DB, SG_REDUCE_MIN},
	                                        {BIG, SG_REDUCE_MAX}};
	Mt__Stats a = MT__STATS__INIT, b = MT__STATS__INIT, c = MT__STATS__INIT;

	(void)state;
	/* Signed order for signed types, unsigned for unsigned ones: -1 is not huge. */
	a.i32 = -1, b.i32 = 3, c.i32 = -7;
	a.s64 = -1, b.s64 = -2, c.s64 = -3;
	a.u32 = 0xfffffff0u, b.u32 = 1, c.u32 = 7;
	a.f64 = UINT64_MAX, b.f64 = 5, c.f64 = 6;
	a.fl = -1.5f, b.fl = 2.5f, c.fl = 0;
	/* NaN neither wins nor poisons. */
	a.db = NAN, b.db = 0.3, c.db = 0.2;
	a.big = INT64_MIN, b.big = -5, c.big = INT64_MIN + 1;
	const ProtobufCMessage *legs[] = {&a.base, &b.base, &c.base};
	Mt__Stats *r = (Mt__Stats *)reduce(&mt__stats__descriptor, rules, 7, legs, 3);
	assert_int_equal(r->i32, -7);
	assert_int_equal(r->s64, -1);
	assert_int_equal(r->u32, 0xfffffff0u);
	assert_true(r->f64 == 5);
	assert_true(r->fl == 2.5f);
	assert_true(r->db == 0.2);
	assert_int_equal(r->big, -5);
}

static void test_first_last_non_empty(void **state)
{
	static const sg_reduce_field first[] = {{NAME, SG_REDUCE_FIRST},  {BLOB, SG_REDUCE_FIRST},
	                                        {FLAG, SG_REDUCE_FIRST},  {BEST, SG_REDUCE_FIRST},
	                                        {COLOR, SG_REDUCE_FIRST}, {I32, SG_REDUCE_FIRST},
	                                        {DB, SG_REDUCE_FIRST}};
	static const sg_reduce_field last[] = {{NAME, SG_REDUCE_LAST},  {BLOB, SG_REDUCE_LAST},
	                                       {FLAG, SG_REDUCE_LAST},  {BEST, SG_REDUCE_LAST},
	                                       {COLOR, SG_REDUCE_LAST}, {I32, SG_REDUCE_LAST},
	                                       {DB, SG_REDUCE_LAST}};
	Mt__Stats a = MT__STATS__INIT, b = MT__STATS__INIT, c = MT__STATS__INIT,
	          d = MT__STATS__INIT;
	Mt__Item i1 = MT__ITEM__INIT, i2 = MT__ITEM__INIT;
	static uint8_t bytes[] = {1, 2, 3};

	(void)state;
	/* Leg a: everything empty. b and c carry values; d is empty again. */
	b.name = "bee", b.flag = 1, b.best = &i1, b.color = MT__COLOR__RED, b.i32 = 4;
	b.blob = (ProtobufCBinaryData){.len = 3, .data = bytes};
	c.name = "sea", c.flag = 1, c.best = &i2, c.color = MT__COLOR__BLUE, c.db = 2.5;
	c.blob = (ProtobufCBinaryData){.len = 2, .data = bytes};
	const ProtobufCMessage *legs[] = {&a.base, &b.base, NULL, &c.base, &d.base};
	Mt__Stats *r = (Mt__Stats *)reduce(&mt__stats__descriptor, first, 7, legs, 5);
	assert_string_equal(r->name, "bee");
	assert_int_equal(r->blob.len, 3);
	assert_true(r->flag);
	assert_ptr_equal(r->best, &i1);
	assert_int_equal(r->color, MT__COLOR__RED);
	assert_int_equal(r->i32, 4);
	assert_true(r->db == 2.5);
	r = (Mt__Stats *)reduce(&mt__stats__descriptor, last, 7, legs, 5);
	assert_string_equal(r->name, "sea");
	assert_int_equal(r->blob.len, 2);
	assert_ptr_equal(r->best, &i2);
	assert_int_equal(r->color, MT__COLOR__BLUE);
	assert_int_equal(r->i32, 4); /* c's i32 is 0: empty */
	assert_true(r->db == 2.5);
	/* Nothing non-empty anywhere: the first OK leg's (empty) value. */
	const ProtobufCMessage *empty[] = {&a.base, &d.base};
	r = (Mt__Stats *)reduce(&mt__stats__descriptor, first, 7, empty, 2);
	assert_string_equal(r->name, "");
	assert_null(r->best);
}

static void test_absent_fields_take_no_part(void **state)
{
	static const sg_reduce_field rules[] = {{1, SG_REDUCE_MIN},
	                                        {3, SG_REDUCE_SUM},
	                                        {2, SG_REDUCE_FIRST},
	                                        {4, SG_REDUCE_LAST},
	                                        {5, SG_REDUCE_FIRST}};
	Pt__Counts a = PT__COUNTS__INIT, b = PT__COUNTS__INIT, c = PT__COUNTS__INIT;
	Pt__Inner in = PT__INNER__INIT;

	(void)state;
	/* a has no n (would be a 0 MIN otherwise), no total, no name. */
	b.has_n = 1, b.n = 5, b.has_total = 1, b.total = 2, b.name = "b", b.inner = &in;
	c.has_n = 1, c.n = 3, c.has_total = 1, c.total = 40;
	const ProtobufCMessage *legs[] = {&a.base, &b.base, &c.base};
	Pt__Counts *r = (Pt__Counts *)reduce(&pt__counts__descriptor, rules, 5, legs, 3);
	assert_true(r->has_n);
	assert_int_equal(r->n, 3);
	assert_true(r->has_total);
	assert_int_equal(r->total, 42);
	assert_string_equal(r->name, "b");
	assert_ptr_equal(r->inner, &in);
	assert_false(r->has_blob);
	/* Nobody has it: stays absent. */
	const ProtobufCMessage *none[] = {&a.base};
	r = (Pt__Counts *)reduce(&pt__counts__descriptor, rules, 2, none, 1);
	assert_false(r->has_n);
	assert_false(r->has_total);
}

static void expect_config_error(const sg_reduce_field *rules, size_t n, const char *want)
{
	sg_method_desc m = {.path = "/mt.Agg/Stats",
	                    .request = &mt__req__descriptor,
	                    .response = &mt__stats__descriptor,
	                    .merge = {.kind = SG_MERGE_REDUCE, .reduce = rules, .n_reduce = n}};
	sg__merge_plan plan;
	char why[200] = "";

	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_ECONFIG);
	sg__merge_plan_fini(&plan);
	assert_string_equal(why, want);
}

static void test_plan_rejects_what_does_not_fit(void **state)
{
	(void)state;
	expect_config_error(NULL, 0, "reduce: no field rule");
	expect_config_error((sg_reduce_field[]){{NAME, SG_REDUCE_SUM}}, 1,
	                    "reduce: SUM needs a number; field name of mt.Stats is not");
	expect_config_error((sg_reduce_field[]){{BEST, SG_REDUCE_MAX}}, 1,
	                    "reduce: MAX needs a number; field best of mt.Stats is not");
	expect_config_error((sg_reduce_field[]){{COLOR, SG_REDUCE_MIN}}, 1,
	                    "reduce: MIN needs a number; field color of mt.Stats is not");
	expect_config_error((sg_reduce_field[]){{ITEMS, SG_REDUCE_FIRST}}, 1,
	                    "reduce: field items of mt.Stats is repeated");
	expect_config_error((sg_reduce_field[]){{99, SG_REDUCE_FIRST}}, 1,
	                    "reduce: mt.Stats has no field 99");
	expect_config_error((sg_reduce_field[]){{I32, SG_REDUCE_SUM}, {I32, SG_REDUCE_MAX}}, 2,
	                    "reduce: field i32 has two rules");
	expect_config_error((sg_reduce_field[]){{I32, (sg_reduce_op)9}}, 1, "reduce: unknown op 9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_sum_every_numeric_type, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_sum_wraps_at_the_field_width, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_min_max_in_each_type_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_first_last_non_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_absent_fields_take_no_part, setup, teardown),
	        cmocka_unit_test(test_plan_rejects_what_does_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
