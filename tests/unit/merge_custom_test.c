/* merge_custom_test.c: CUSTOM calls the user's function with every leg in leg order (failed
 * ones without a response), an initialised answer and the call's arena; its error is the
 * merge's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "merge.h"
#include "merge_test.pb-c.h"

enum { TOTAL = 4, OK = 5, FAILED = 6 };

/* "<name>=<note>" per leg, "<name>=!<status>" for failed ones, into note; tags counts. */
static sg_err join(sg_merge_ctx *ctx, const ProtobufCMessage *request, const sg_leg_result *legs,
                   size_t n_legs, ProtobufCMessage *out)
{
	Mt__Resp *r = (Mt__Resp *)out;
	const Mt__Req *req = (const Mt__Req *)request;
	char *buf = sg_merge_alloc(ctx, 128);
	size_t used = 0;

	/* The answer starts initialised. */
	assert_string_equal(r->note, "");
	assert_int_equal(r->n_items, 0);
	if (buf == NULL)
		return SG_ENOMEM;
	buf[0] = '\0';
	for (size_t i = 0; i < n_legs; i++) {
		const Mt__Resp *lr = (const Mt__Resp *)legs[i].response;

		if (lr != NULL)
			assert_int_equal(legs[i].status, GRPC_STATUS_OK);
		used += (size_t)snprintf(buf + used, 128 - used, "%s%s=%s%s", i ? "," : "",
		                         legs[i].name, lr != NULL ? "" : "!",
		                         lr != NULL ? lr->note : "CANCELLED");
	}
	r->note = buf;
	r->total = req->k; /* the request reaches it; overwritten by the counts below */
	return SG_OK;
}

static sg_err refuse(sg_merge_ctx *ctx, const ProtobufCMessage *request, const sg_leg_result *legs,
                     size_t n_legs, ProtobufCMessage *out)
{
	(void)ctx, (void)request, (void)legs, (void)n_legs, (void)out;
	return SG_EINVAL;
}

static sg_method_desc custom_method(sg_merge_fn fn)
{
	return (sg_method_desc){.path = "/mt.Agg/Get",
	                        .request = &mt__req__descriptor,
	                        .response = &mt__resp__descriptor,
	                        .group = "g",
	                        .backend_path = "/mt.Leaf/Get",
	                        .deadline_ms = 100,
	                        .merge = {.kind = SG_MERGE_CUSTOM, .custom = fn},
	                        .partial = {.allow = true, .ok_field = OK, .failed_field = FAILED}};
}

static void test_every_leg_in_leg_order(void **state)
{
	sg_method_desc m = custom_method(join);
	Mt__Resp a = MT__RESP__INIT, c = MT__RESP__INIT;
	Mt__Req req = MT__REQ__INIT;
	sg_leg_result legs[3] = {
	        {.name = "g/0", .status = GRPC_STATUS_OK, .response = &a.base},
	        {.name = "g/1", .status = GRPC_STATUS_CANCELLED},
	        {.name = "g/2", .status = GRPC_STATUS_OK, .response = &c.base},
	};
	sg_legs_summary counts = {.total = 3, .ok = 2, .failed = 1};
	sg__merge_plan plan;
	ProtobufCMessage *out;
	sg__arena arena;
	char why[200] = "";

	(void)state;
	a.note = "x";
	c.note = "z";
	req.k = 7;
	sg__arena_init(&arena, 256);
	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
	sg__merge_in in = {.request = &req.base, .legs = legs, .n_legs = 3, .arena = &arena};
	assert_int_equal(sg__merge_run(&plan, &in, &counts, &out), SG_OK);
	Mt__Resp *r = (Mt__Resp *)out;
	assert_string_equal(r->note, "g/0=x,g/1=!CANCELLED,g/2=z");
	assert_int_equal(r->total, 7);
	assert_int_equal(r->ok, 2);
	assert_int_equal(r->failed, 1);
	sg__merge_plan_fini(&plan);

	m = custom_method(refuse);
	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
	assert_string_equal(plan.ops->name, "custom");
	assert_int_equal(sg__merge_run(&plan, &in, &counts, &out), SG_EINVAL);
	sg__merge_plan_fini(&plan);
	sg__arena_fini(&arena);
}

static void test_alloc_and_checks(void **state)
{
	sg_method_desc m = custom_method(NULL);
	sg__merge_plan plan;
	char why[200] = "";

	(void)state;
	assert_null(sg_merge_alloc(NULL, 8));
	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_ECONFIG);
	assert_string_equal(why, "custom: no merge function");
	sg__merge_plan_fini(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_leg_in_leg_order),
	        cmocka_unit_test(test_alloc_and_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
