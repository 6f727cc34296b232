/* gather_quality_test.c: QUALITY by threshold (counted over every OK leg so far) and by a
 * user predicate (asked after each leg end with the legs ended so far). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gather.h"
#include "merge_test.pb-c.h"

enum { ITEMS = 1, NOTE = 7, ITEM_SCORE = 2, ITEM_ID = 1 };

typedef struct harness {
	sg_method_desc m;
	const sg__gather_ops *ops;
	sg__gather_plan plan;
	sg__gather_call gc;
	sg_leg_result ended[8];
	Mt__Resp resp[8];
	Mt__Item items[8][4];
	Mt__Item *ptrs[8][4];
	sg__arena arena;
} harness;

static void harness_start(harness *h, sg_gather_desc g, uint32_t total, const Mt__Req *req)
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
	h->ops = sg__gather_ops_for(SG_GATHER_QUALITY);
	assert_int_equal(sg__gather_plan_init(&h->plan, h->ops, &h->m, why, sizeof(why)), SG_OK);
	sg__arena_init(&h->arena, 256);
	sg__gather_call_init(&h->gc, &h->plan, req != NULL ? &req->base : NULL, &h->arena, 0,
	                     total);
	h->gc.ended = h->ended;
	assert_int_equal(h->ops->on_start(&h->gc), SG_OK);
}

/* Leg index answers with n items of the given scores (n < 0: fails). */
static sg__gather_verdict harness_end(harness *h, uint32_t index, int n, const double *scores)
{
	Mt__Resp *r = &h->resp[index];
	sg__gather_leg leg = {.index = index, .status = GRPC_STATUS_UNAVAILABLE};

	mt__resp__init(r);
	if (n >= 0) {
		for (int i = 0; i < n; i++) {
			mt__item__init(&h->items[index][i]);
			h->items[index][i].score = scores[i];
			h->ptrs[index][i] = &h->items[index][i];
		}
		r->items = h->ptrs[index];
		r->n_items = (size_t)n;
		leg.status = GRPC_STATUS_OK;
		leg.response = &r->base;
		h->gc.ok++;
	} else {
		h->gc.failed++;
	}
	h->ended[h->gc.n_ended++] =
	        (sg_leg_result){.name = "q", .status = leg.status, .response = leg.response};
	return sg__gather_leg_end(h->ops, &h->gc, &leg);
}

static const sg_gather_desc threshold = {.kind = SG_GATHER_QUALITY,
                                         .field = ITEMS,
                                         .by = ITEM_SCORE,
                                         .min_count = 3,
                                         .min_score = 0.5};

static void test_threshold_across_legs(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, threshold, 4, NULL);
	assert_int_equal(harness_end(&h, 0, 3, (double[]){0.9, 0.4, 0.49}), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, -1, NULL), SG__GATHER_CONTINUE);
	/* 0.5 counts (>=): 1 + 2 = 3. */
	assert_int_equal(harness_end(&h, 2, 2, (double[]){0.5, 0.7}), SG__GATHER_DONE);
	sg__arena_fini(&h.arena);
}

static void test_threshold_never_met_is_all(void **state)
{
	harness h;

	(void)state;
	harness_start(&h, threshold, 2, NULL);
	assert_int_equal(harness_end(&h, 0, 1, (double[]){0.9}), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 1, 1, (double[]){0.9}), SG__GATHER_DONE);
	sg__arena_fini(&h.arena);
}

/* Done once two legs ended OK with at least request.k items between them. */
static bool enough(const ProtobufCMessage *request, const sg_leg_result *legs, size_t n_legs)
{
	const Mt__Req *req = (const Mt__Req *)request;
	size_t ok = 0, items = 0;

	for (size_t i = 0; i < n_legs; i++) {
		if (legs[i].status == GRPC_STATUS_OK) {
			ok++;
			items += ((const Mt__Resp *)legs[i].response)->n_items;
		} else {
			assert_null(legs[i].response);
		}
	}
	return ok >= 2 && items >= req->k;
}

static void test_predicate(void **state)
{
	sg_gather_desc g = {.kind = SG_GATHER_QUALITY, .predicate = enough};
	Mt__Req req = MT__REQ__INIT;
	harness h;

	(void)state;
	req.k = 3;
	harness_start(&h, g, 4, &req);
	assert_int_equal(harness_end(&h, 3, 1, (double[]){0}), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 0, -1, NULL), SG__GATHER_CONTINUE); /* asked, still no */
	assert_int_equal(harness_end(&h, 1, 1, (double[]){0}), SG__GATHER_CONTINUE);
	assert_int_equal(harness_end(&h, 2, 2, (double[]){0, 0}), SG__GATHER_DONE);
	/* The predicate saw the legs in the order they ended. */
	assert_int_equal(h.gc.n_ended, 4);
	assert_int_equal(h.ended[1].status, GRPC_STATUS_UNAVAILABLE);
	sg__arena_fini(&h.arena);
}

static void test_checks(void **state)
{
	const sg__gather_ops *ops = sg__gather_ops_for(SG_GATHER_QUALITY);
	static const sg_leg_desc legs[1] = {{.name = "a"}};
	sg_method_desc m = {.request = &mt__req__descriptor,
	                    .response = &mt__resp__descriptor,
	                    .gather = threshold};
	sg__gather_plan p;
	char why[200] = "";

	(void)state;
	m.gather.field = NOTE;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "quality: field 7 of mt.Resp is not a repeated message field");
	m.gather.field = ITEMS;
	m.gather.by = ITEM_ID;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "quality: field 1 of mt.Item is not a numeric scalar");
	m.gather.by = ITEM_SCORE;
	m.gather.min_count = 0;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "quality: min_count must be at least 1");
	m.gather.min_count = 1;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_OK);
	m.legs = legs;
	m.n_legs = 1;
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_ECONFIG);
	/* A predicate needs nothing else, and works over heterogeneous legs. */
	m.gather = (sg_gather_desc){.kind = SG_GATHER_QUALITY, .predicate = enough};
	assert_int_equal(sg__gather_plan_init(&p, ops, &m, why, sizeof(why)), SG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_threshold_across_legs),
	        cmocka_unit_test(test_threshold_never_met_is_all),
	        cmocka_unit_test(test_predicate),
	        cmocka_unit_test(test_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
