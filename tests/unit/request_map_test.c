/* request_map_test.c: a heterogeneous leg's request built from fields of the incoming one:
 * scalars, strings, bytes, messages, enums and repeated fields; presence; forwarding; the
 * checks at registration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>

#include "bytes.h"
#include "merge_test.pb-c.h"
#include "presence_test.pb-c.h"
#include "request_map.h"

/* mt.Query -> mt.Lookup field numbers. */
enum { Q = 1, K = 2, TAGS = 3, TOKEN = 4, FILTER = 5, IDS = 6, OPT = 7, COLOR = 8 };
enum {
	L_QUERY = 1,
	L_LIMIT = 2,
	L_TAGS = 3,
	L_TOKEN = 4,
	L_FILTER = 5,
	L_IDS = 6,
	L_WRONG = 8,
	L_SINGLE_TAG = 9,
	L_COLOR = 10,
	L_OTHER = 11
};

static const sg_field_map full_map[] = {{Q, L_QUERY},     {K, L_LIMIT},       {TAGS, L_TAGS},
                                        {TOKEN, L_TOKEN}, {FILTER, L_FILTER}, {IDS, L_IDS},
                                        {COLOR, L_COLOR}};

static sg_method_desc method(const sg_leg_desc *leg, const ProtobufCMessageDescriptor *req)
{
	return (sg_method_desc){.path = "/mt.Agg/Find",
	                        .request = req,
	                        .response = &mt__resp__descriptor,
	                        .legs = leg,
	                        .n_legs = 1,
	                        .deadline_ms = 100,
	                        .merge = {.kind = SG_MERGE_COMPOSE}};
}

static sg_leg_desc lookup_leg(const sg_field_map *map, size_t n)
{
	return (sg_leg_desc){.name = "lookup",
	                     .group = "l",
	                     .path = "/mt.L/Find",
	                     .request = &mt__lookup__descriptor,
	                     .response = &mt__resp__descriptor,
	                     .map = map,
	                     .n_map = n};
}

static void test_copies_every_kind_of_field(void **state)
{
	sg_leg_desc leg = lookup_leg(full_map, 7);
	sg_method_desc m = method(&leg, &mt__query__descriptor);
	Mt__Query in = MT__QUERY__INIT;
	Mt__Item filter = MT__ITEM__INIT;
	char *tags[] = {"red", "blue"};
	int64_t ids[] = {-1, 1LL << 40, 3};
	uint8_t token[] = {0, 1, 2, 255};
	sg__request_map map;
	sg__arena arena;
	char why[200] = "";

	(void)state;
	in.q = "shoes";
	in.k = 12;
	in.n_tags = 2, in.tags = tags;
	in.token = (ProtobufCBinaryData){.len = 4, .data = token};
	filter.id = "f";
	filter.score = 0.5;
	in.filter = &filter;
	in.n_ids = 3, in.ids = ids;
	in.opt = 9; /* not mapped */
	in.color = MT__COLOR__BLUE;
	sg__arena_init(&arena, 256);
	assert_int_equal(sg__request_map_init(&map, &m, &leg, why, sizeof(why)), SG_OK);
	assert_false(sg__request_map_forwards(&map));
	Mt__Lookup *out = (Mt__Lookup *)sg__request_map_apply(&map, &in.base, &arena);
	assert_non_null(out);
	assert_string_equal(out->query, "shoes");
	assert_int_equal(out->limit, 12);
	assert_int_equal(out->n_tags, 2);
	assert_string_equal(out->tags[1], "blue");
	assert_int_equal(out->token.len, 4);
	assert_memory_equal(out->token.data, token, 4);
	assert_string_equal(out->filter->id, "f");
	assert_int_equal(out->n_ids, 3);
	assert_true(out->ids[1] == (1LL << 40));
	assert_int_equal(out->opt, 0);
	assert_int_equal(out->color, MT__COLOR__BLUE);
	assert_null(out->other);

	/* Encoded once into a byte buffer whose bytes live in the arena. */
	grpc_byte_buffer *bb = NULL;
	const uint8_t *data;
	size_t len;
	assert_int_equal(sg__request_map_build(&map, &in.base, &arena, &bb), SG_OK);
	assert_int_equal(sg__bytes_flatten(bb, &arena, &data, &len), SG_OK);
	Mt__Lookup *back = mt__lookup__unpack(sg__arena_allocator(&arena), len, data);
	assert_non_null(back);
	assert_string_equal(back->query, "shoes");
	assert_int_equal(back->n_ids, 3);
	assert_true(back->ids[0] == -1);
	assert_string_equal(back->tags[0], "red");
	assert_true(back->filter->score == 0.5);
	grpc_byte_buffer_destroy(bb);
	sg__request_map_fini(&map);
	sg__arena_fini(&arena);
}

static void test_presence_follows_the_source(void **state)
{
	static const sg_field_map map_pt[] = {{1, 1}, {2, 2}, {4, 3}};
	sg_leg_desc leg = {.name = "p",
	                   .group = "p",
	                   .path = "/pt.P/Get",
	                   .request = &pt__lookup__descriptor,
	                   .response = &pt__counts__descriptor,
	                   .map = map_pt,
	                   .n_map = 3};
	sg_method_desc m = method(&leg, &pt__counts__descriptor);
	Pt__Counts in = PT__COUNTS__INIT;
	Pt__Inner inner = PT__INNER__INIT;
	sg__request_map map;
	sg__arena arena;
	char why[200] = "";

	(void)state;
	sg__arena_init(&arena, 256);
	assert_int_equal(sg__request_map_init(&map, &m, &leg, why, sizeof(why)), SG_OK);
	/* Nothing set: nothing set in the leg's request either. */
	Pt__Lookup *out = (Pt__Lookup *)sg__request_map_apply(&map, &in.base, &arena);
	assert_false(out->has_n);
	assert_null(out->name);
	assert_null(out->inner);
	/* A zero that is present stays present. */
	in.has_n = 1, in.n = 0, in.name = "", in.inner = &inner;
	out = (Pt__Lookup *)sg__request_map_apply(&map, &in.base, &arena);
	assert_true(out->has_n);
	assert_string_equal(out->name, "");
	assert_ptr_equal(out->inner, &inner);
	sg__request_map_fini(&map);
	sg__arena_fini(&arena);
}

static void test_forwarding(void **state)
{
	sg_leg_desc leg = lookup_leg(NULL, 0);
	sg_method_desc m = method(&leg, &mt__lookup__descriptor);
	sg__request_map map;
	char why[200] = "";

	(void)state;
	assert_int_equal(sg__request_map_init(&map, &m, &leg, why, sizeof(why)), SG_OK);
	assert_true(sg__request_map_forwards(&map));
	sg__request_map_fini(&map);
	m.request = &mt__query__descriptor;
	assert_int_equal(sg__request_map_init(&map, &m, &leg, why, sizeof(why)), SG_ECONFIG);
	sg__request_map_fini(&map);
	assert_string_equal(why,
	                    "leg lookup: takes mt.Lookup, not mt.Query: its request needs field "
	                    "maps");
}

static void expect_config_error(uint32_t from, uint32_t to, const char *want)
{
	const sg_field_map one[] = {{from, to}};
	sg_leg_desc leg = lookup_leg(one, 1);
	sg_method_desc m = method(&leg, &mt__query__descriptor);
	sg__request_map map;
	char why[200] = "";

	assert_int_equal(sg__request_map_init(&map, &m, &leg, why, sizeof(why)), SG_ECONFIG);
	sg__request_map_fini(&map);
	assert_string_equal(why, want);
}

static void test_plan_rejects_what_does_not_fit(void **state)
{
	(void)state;
	expect_config_error(K, L_WRONG,
	                    "leg lookup: field k of mt.Query does not fit field "
	                    "wrong_type of mt.Lookup (type or label differ)");
	expect_config_error(TAGS, L_SINGLE_TAG,
	                    "leg lookup: field tags of mt.Query does not fit "
	                    "field single_tag of mt.Lookup (type or label "
	                    "differ)");
	expect_config_error(FILTER, L_OTHER,
	                    "leg lookup: field filter of mt.Query does not fit "
	                    "field other of mt.Lookup (type or label differ)");
	expect_config_error(99, L_QUERY, "leg lookup: mt.Query has no field 99");
	expect_config_error(Q, 99, "leg lookup: mt.Lookup has no field 99");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_copies_every_kind_of_field),
	        cmocka_unit_test(test_presence_follows_the_source),
	        cmocka_unit_test(test_forwarding),
	        cmocka_unit_test(test_plan_rejects_what_does_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
