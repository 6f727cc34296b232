/* merge_test.c: generic merges over protobuf-c reflection, and the plan's checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "merge.h"
#include "merge_test.pb-c.h"

/* Field numbers of merge_test.proto. */
enum { ITEMS = 1, TAGS = 2, CODES = 3, TOTAL = 4, OK = 5, FAILED = 6, NOTE = 7, SINGLE = 8 };
enum { ITEM_SCORE = 2, ITEM_RANK = 3, ITEM_WEIGHT = 4, ITEM_LABEL = 5 };
enum { REQ_K = 1, REQ_Q = 2 };

static const uint32_t items_field[] = {ITEMS};

static sg_method_desc topk_method(sg_order order, uint32_t limit, uint32_t limit_field,
                                  uint32_t score)
{
	return (sg_method_desc){
	        .path = "/mt.Agg/Get",
	        .request = &mt__req__descriptor,
	        .response = &mt__resp__descriptor,
	        .group = "g",
	        .backend_path = "/mt.Leaf/Get",
	        .deadline_ms = 100,
	        .merge = {.kind = SG_MERGE_TOP_K,
	                  .fields = items_field,
	                  .n_fields = 1,
	                  .score_field = score,
	                  .order = order,
	                  .limit = limit,
	                  .limit_field = limit_field},
	        .partial = {.allow = true,
	                    .total_field = TOTAL,
	                    .ok_field = OK,
	                    .failed_field = FAILED},
	};
}

/* Three legs' answers: items with scores that interleave across legs, and a tie. */
typedef struct fixture {
	Mt__Item items[3][3];
	Mt__Item *ptrs[3][3];
	char ids[3][3][8];
	Mt__Resp resp[3];
	char *tags[3][1];
	int32_t codes[3][2];
	const ProtobufCMessage *in[3];
	sg__arena arena;
} fixture;

static const double scores[3][3] = {{0.9, 0.5, 0.1}, {0.95, 0.5, 0.2}, {0.7, 0.6, 0.05}};

static int setup(void **state)
{
	static fixture f;
	memset(&f, 0, sizeof(f));
	static char *tag_text[3] = {"a", "b", "c"};
	for (int l = 0; l < 3; l++) {
		mt__resp__init(&f.resp[l]);
		for (int i = 0; i < 3; i++) {
			mt__item__init(&f.items[l][i]);
			snprintf(f.ids[l][i], sizeof(f.ids[l][i]), "l%d-%d", l, i);
			f.items[l][i].id = f.ids[l][i];
			f.items[l][i].score = scores[l][i];
			f.items[l][i].rank = (l + 1) * 10 + i;
			f.items[l][i].weight = (float)scores[l][i];
			f.ptrs[l][i] = &f.items[l][i];
		}
		f.resp[l].n_items = 3;
		f.resp[l].items = f.ptrs[l];
		f.tags[l][0] = tag_text[l];
		f.resp[l].n_tags = 1;
		f.resp[l].tags = f.tags[l];
		f.codes[l][0] = l;
		f.codes[l][1] = 100 + l;
		f.resp[l].n_codes = 2;
		f.resp[l].codes = f.codes[l];
		f.resp[l].note = l == 0 ? "first" : "other";
		f.in[l] = &f.resp[l].base;
	}
	sg__arena_init(&f.arena, 1024);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sg__arena_fini(&f->arena);
	return 0;
}

/* The first n legs answered OK, in leg order. */
static sg__merge_in legs_in(fixture *f, const Mt__Req *req, size_t n)
{
	static sg_leg_result legs[3];
	static const char *const names[3] = {"g/0", "g/1", "g/2"};

	for (size_t i = 0; i < n; i++)
		legs[i] = (sg_leg_result){
		        .name = names[i], .status = GRPC_STATUS_OK, .response = f->in[i]};
	return (sg__merge_in){.request = req != NULL ? &req->base : NULL,
	                      .legs = legs,
	                      .n_legs = n,
	                      .arena = &f->arena};
}

static Mt__Resp *merge(fixture *f, const sg_method_desc *m, const Mt__Req *req, size_t n)
{
	sg__merge_plan plan;
	char why[200] = "";
	assert_int_equal(sg__merge_plan_init(&plan, m, why, sizeof(why)), SG_OK);
	/* One leg failed, the rest were cut short: the declared failed field counts both. */
	sg_legs_summary counts = {
	        .total = 4, .ok = (uint32_t)n, .failed = 1, .cut = 3 - (uint32_t)n};
	ProtobufCMessage *out = NULL;
	sg__merge_in in = legs_in(f, req, n);
	assert_int_equal(sg__merge_run(&plan, &in, &counts, &out), SG_OK);
	sg__merge_plan_fini(&plan);
	return (Mt__Resp *)out;
}

static void test_top_k_desc_with_limit(void **state)
{
	fixture *f = *state;
	sg_method_desc m = topk_method(SG_ORDER_DESC, 4, 0, ITEM_SCORE);
	Mt__Resp *r = merge(f, &m, NULL, 3);
	assert_int_equal(r->n_items, 4);
	/* 0.95 (leg 1), 0.9 (leg 0), 0.7 (leg 2), 0.6 (leg 2). */
	assert_string_equal(r->items[0]->id, "l1-0");
	assert_string_equal(r->items[1]->id, "l0-0");
	assert_string_equal(r->items[2]->id, "l2-0");
	assert_string_equal(r->items[3]->id, "l2-1");
	/* Outcome counts land in the declared fields, other fields come from the first leg. */
	assert_int_equal(r->total, 4);
	assert_int_equal(r->ok, 3);
	assert_int_equal(r->failed, 1);
	assert_string_equal(r->note, "first");
	/* The inputs are untouched. */
	assert_int_equal(f->resp[0].n_items, 3);
	assert_int_equal(f->resp[0].ok, 0);
}

static void test_top_k_ties_keep_leg_order(void **state)
{
	fixture *f = *state;
	sg_method_desc m = topk_method(SG_ORDER_DESC, 6, 0, ITEM_SCORE);
	Mt__Resp *r = merge(f, &m, NULL, 3);
	assert_int_equal(r->n_items, 6);
	/* 0.5 appears in leg 0 and leg 1: leg 0 first. */
	assert_string_equal(r->items[4]->id, "l0-1");
	assert_string_equal(r->items[5]->id, "l1-1");
}

/* The bounded selection agrees with a full stable sort for every limit and both orders, on
 * scores with many ties (drawn from 7 values) and a NaN or two, over 4 legs x 25 items. */
static void test_top_k_selection_matches_full_sort(void **state)
{
	enum { LEGS = 4, PER = 25, N = LEGS * PER };
	static Mt__Item items[N];
	static Mt__Item *ptrs[N];
	static char ids[N][8];
	static Mt__Resp resp[LEGS];
	static sg_leg_result legs[LEGS];
	size_t ref[N];
	uint32_t seed = 12345;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		mt__item__init(&items[i]);
		seed = seed * 1103515245u + 12345u;
		items[i].score = (seed >> 16) % 50 == 0 ? NAN : (double)((seed >> 16) % 7) / 7.0;
		snprintf(ids[i], sizeof(ids[i]), "i%zu", i);
		items[i].id = ids[i];
		ptrs[i] = &items[i];
	}
	for (size_t l = 0; l < LEGS; l++) {
		mt__resp__init(&resp[l]);
		resp[l].n_items = PER;
		resp[l].items = &ptrs[l * PER];
		legs[l] = (sg_leg_result){
		        .name = "g/x", .status = GRPC_STATUS_OK, .response = &resp[l].base};
	}
	for (int asc = 0; asc < 2; asc++) {
		/* The reference: a stable insertion sort by score (NaN last), leg order on ties. */
		for (size_t i = 0; i < N; i++) {
			size_t j = i;
			double si = items[i].score;

			while (j > 0) {
				double sj = items[ref[j - 1]].score;
				bool after = isnan(sj) ? !isnan(si)
				                       : !isnan(si) && (asc ? si < sj : si > sj);

				if (!after)
					break;
				ref[j] = ref[j - 1];
				j--;
			}
			ref[j] = i;
		}
		for (uint32_t limit = 1; limit <= N; limit++) {
			sg_method_desc m = topk_method(asc ? SG_ORDER_ASC : SG_ORDER_DESC, limit, 0,
			                               ITEM_SCORE);
			sg__merge_plan plan;
			sg__arena arena;
			char why[200] = "";
			sg_legs_summary counts = {.total = LEGS, .ok = LEGS};
			ProtobufCMessage *out = NULL;
			sg__merge_in in = {.legs = legs, .n_legs = LEGS, .arena = &arena};

			sg__arena_init(&arena, 1024);
			assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
			assert_int_equal(sg__merge_run(&plan, &in, &counts, &out), SG_OK);
			Mt__Resp *r = (Mt__Resp *)out;
			assert_int_equal(r->n_items, limit);
			for (size_t k = 0; k < limit; k++)
				assert_ptr_equal(r->items[k], &items[ref[k]]);
			sg__merge_plan_fini(&plan);
			sg__arena_fini(&arena);
		}
	}
}

static void test_top_k_limit_from_request(void **state)
{
	fixture *f = *state;
	sg_method_desc m = topk_method(SG_ORDER_DESC, 5, REQ_K, ITEM_SCORE);
	Mt__Req req = MT__REQ__INIT;
	req.k = 2;
	assert_int_equal(merge(f, &m, &req, 3)->n_items, 2);
	req.k = 0; /* unset: the method's limit */
	assert_int_equal(merge(f, &m, &req, 3)->n_items, 5);
	req.k = 50; /* capped by the method's limit */
	assert_int_equal(merge(f, &m, &req, 3)->n_items, 5);
	/* No fixed limit: the request decides, bounded by what arrived. */
	m = topk_method(SG_ORDER_DESC, 0, REQ_K, ITEM_SCORE);
	req.k = 50;
	assert_int_equal(merge(f, &m, &req, 3)->n_items, 9);
	req.k = 0;
	assert_int_equal(merge(f, &m, &req, 3)->n_items, 9);
}

static void test_top_k_asc_and_integer_score(void **state)
{
	fixture *f = *state;
	sg_method_desc m = topk_method(SG_ORDER_ASC, 2, 0, ITEM_SCORE);
	Mt__Resp *r = merge(f, &m, NULL, 3);
	assert_string_equal(r->items[0]->id, "l2-2"); /* 0.05 */
	assert_string_equal(r->items[1]->id, "l0-2"); /* 0.1 */
	m = topk_method(SG_ORDER_DESC, 1, 0, ITEM_RANK);
	r = merge(f, &m, NULL, 3);
	assert_string_equal(r->items[0]->id, "l2-2"); /* rank 32 */
	m = topk_method(SG_ORDER_DESC, 1, 0, ITEM_WEIGHT);
	r = merge(f, &m, NULL, 3);
	assert_string_equal(r->items[0]->id, "l1-0"); /* float 0.95 */
}

static void test_top_k_nan_sorts_last(void **state)
{
	fixture *f = *state;
	f->items[0][0].score = NAN;
	sg_method_desc m = topk_method(SG_ORDER_DESC, 9, 0, ITEM_SCORE);
	Mt__Resp *r = merge(f, &m, NULL, 3);
	assert_string_equal(r->items[8]->id, "l0-0");
	m = topk_method(SG_ORDER_ASC, 9, 0, ITEM_SCORE);
	r = merge(f, &m, NULL, 3);
	assert_string_equal(r->items[8]->id, "l0-0");
}

static void test_top_k_fewer_legs_and_empty(void **state)
{
	fixture *f = *state;
	sg_method_desc m = topk_method(SG_ORDER_DESC, 10, 0, ITEM_SCORE);
	Mt__Resp *r = merge(f, &m, NULL, 1);
	assert_int_equal(r->n_items, 3);
	assert_int_equal(r->ok, 1);
	assert_int_equal(r->failed, 3);
	f->resp[0].n_items = 0;
	r = merge(f, &m, NULL, 1);
	assert_int_equal(r->n_items, 0);
}

static void test_concat_keeps_leg_order(void **state)
{
	fixture *f = *state;
	static const uint32_t fields[] = {TAGS, CODES, ITEMS};
	sg_method_desc m = topk_method(SG_ORDER_DESC, 0, 0, 0);
	m.merge = (sg_merge_desc){.kind = SG_MERGE_CONCAT, .fields = fields, .n_fields = 3};
	Mt__Resp *r = merge(f, &m, NULL, 3);
	assert_int_equal(r->n_tags, 3);
	assert_string_equal(r->tags[0], "a");
	assert_string_equal(r->tags[2], "c");
	assert_int_equal(r->n_codes, 6);
	int32_t want[] = {0, 100, 1, 101, 2, 102};
	assert_memory_equal(r->codes, want, sizeof(want));
	assert_int_equal(r->n_items, 9);
	assert_string_equal(r->items[3]->id, "l1-0");
}

static void test_merged_message_encodes(void **state)
{
	fixture *f = *state;
	sg_method_desc m = topk_method(SG_ORDER_DESC, 3, 0, ITEM_SCORE);
	Mt__Resp *r = merge(f, &m, NULL, 3);
	uint8_t *bytes;
	size_t len;
	assert_int_equal(sg__pack(&r->base, &f->arena, &bytes, &len), SG_OK);
	Mt__Resp *back = mt__resp__unpack(sg__arena_allocator(&f->arena), len, bytes);
	assert_non_null(back);
	assert_int_equal(back->n_items, 3);
	assert_string_equal(back->items[0]->id, "l1-0");
	assert_int_equal(back->failed, 1);
	assert_int_equal(back->n_tags, 1);
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
	(void)state;
	sg_method_desc m = topk_method(SG_ORDER_DESC, 5, 0, ITEM_LABEL);
	expect_config_error(&m, "top_k: field 5 of mt.Item is not a numeric scalar");
	m = topk_method(SG_ORDER_DESC, 5, 0, 99);
	expect_config_error(&m, "top_k: field 99 of mt.Item is not a numeric scalar");
	m = topk_method(SG_ORDER_DESC, 5, REQ_Q, ITEM_SCORE);
	expect_config_error(&m, "top_k: field 2 of mt.Req is not an integer scalar");
	m = topk_method(SG_ORDER_DESC, 0, 0, ITEM_SCORE);
	expect_config_error(&m, "top_k: neither a limit nor a limit field");
	static const uint32_t tags[] = {TAGS}, note[] = {NOTE}, single[] = {SINGLE};
	m.merge.fields = tags;
	m.merge.limit = 3;
	expect_config_error(&m, "top_k: field 2 of mt.Resp is not a repeated message field");
	m.merge = (sg_merge_desc){.kind = SG_MERGE_CONCAT, .fields = note, .n_fields = 1};
	expect_config_error(&m, "concat: field note of mt.Resp is not repeated");
	m.merge.fields = single;
	expect_config_error(&m, "concat: field single of mt.Resp is not repeated");
	m.merge.n_fields = 0;
	expect_config_error(&m, "concat: between 1 and 16 fields are needed, not 0");
	m = topk_method(SG_ORDER_DESC, 5, 0, ITEM_SCORE);
	m.partial.ok_field = NOTE;
	expect_config_error(&m, "partial.ok_field: field note of mt.Resp is not an integer scalar");
	m.partial.ok_field = 77;
	expect_config_error(&m, "partial.ok_field: mt.Resp has no field 77");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_top_k_desc_with_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_top_k_ties_keep_leg_order, setup, teardown),
	        cmocka_unit_test(test_top_k_selection_matches_full_sort),
	        cmocka_unit_test_setup_teardown(test_top_k_limit_from_request, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_top_k_asc_and_integer_score, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_top_k_nan_sorts_last, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_top_k_fewer_legs_and_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_concat_keeps_leg_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_merged_message_encodes, setup, teardown),
	        cmocka_unit_test(test_plan_rejects_what_does_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
