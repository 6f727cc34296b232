/*
 * wire_test.c: the wire checker gives protobuf-c's verdict, scores read off the wire equal the
 * decoded ones, and a top_k merge over encoded answers equals the one over decoded answers.
 *
 * Differential: protobuf_c_message_unpack (the library the aggregator links) is the reference,
 * on hand-made edge cases, on random well-formed and malformed input, and on mutations of
 * packed messages. Deterministic: a fixed seed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "merge.h"
#include "merge_test.pb-c.h"
#include "presence_test.pb-c.h"
#include "reflect.h"
#include "wire.h"

static uint32_t rng = 20261207u;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static uint64_t rnd64(void)
{
	return (uint64_t)rnd() << 40 ^ (uint64_t)rnd() << 20 ^ rnd();
}

/* protobuf-c's verdict. */
static bool unpacks(const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t n)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, b);

	if (m == NULL)
		return false;
	protobuf_c_message_free_unpacked(m, NULL);
	return true;
}

/* The scored walk over mt.Wide's children (field 24) by their i32 (field 1): its verdict. */
static bool scored_verdict(const uint8_t *b, size_t n)
{
	sg__wire_pick pick = {
	        .field = 24,
	        .score = protobuf_c_message_descriptor_get_field(&mt__wide__descriptor, 1)};
	sg__wire_scored *out;
	size_t cnt;
	sg__arena a;
	sg_err rv;

	sg__arena_init(&a, 256);
	rv = sg__wire_check_scored(&mt__wide__descriptor, b, n, &pick, &a, &out, &cnt);
	sg__arena_fini(&a);
	assert_true(rv == SG_OK || rv == SG_EDECODE);
	return rv == SG_OK;
}

static void expect_same_verdict(const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t n)
{
	bool want = unpacks(d, b, n), got = sg__wire_check(d, b, n);

	if (d == &mt__wide__descriptor)
		assert_int_equal(scored_verdict(b, n), got);

	if (want != got) {
		fprintf(stderr, "verdict differs (protobuf-c %d, checker %d) on %zu bytes:", want,
		        got, n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", b[i]);
		fprintf(stderr, "\n");
	}
	assert_int_equal(got, want);
}

/* Hand-made edge cases, each with the verdict protobuf-c gives. */
static void test_check_edges(void **state)
{
	static const struct {
		const char *what;
		uint8_t b[16];
		size_t n;
	} cases[] = {
	        {"empty", {0}, 0},
	        {"i32 = 1", {0x08, 0x01}, 2},
	        {"i32 as fixed64", {0x09, 1, 2, 3, 4, 5, 6, 7, 8}, 9},
	        {"i32 as a length", {0x0a, 0x00}, 2},
	        {"truncated varint", {0x08, 0x80}, 2},
	        {"11-byte varint",
	         {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
	         12},
	        {"10-byte varint",
	         {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	         11},
	        {"tag 0", {0x00, 0x01}, 2},
	        {"tag 0 in two bytes", {0x80, 0x00, 0x01}, 3},
	        {"5-byte tag", {0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01}, 6},
	        {"6-byte tag", {0xf8, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}, 7},
	        {"start group", {0xfb, 0x01}, 2},
	        {"end group", {0xfc, 0x01}, 2},
	        {"wire type 6", {0xfe, 0x01, 0x00}, 3},
	        {"unknown fixed32", {0xfd, 0x01, 1, 2, 3, 4}, 6},
	        {"unknown fixed32 short", {0xfd, 0x01, 1, 2, 3}, 5},
	        {"length past the end", {0x7a, 0x05, 'a', 'b'}, 4},
	        {"6-byte length", {0x7a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 7},
	        {"length over INT_MAX", {0x7a, 0xff, 0xff, 0xff, 0xff, 0x0f}, 6},
	        {"packed fixed32, 3 bytes", {0xa2, 0x01, 0x03, 1, 2, 3}, 6},
	        {"packed fixed32, 8 bytes", {0xa2, 0x01, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}, 11},
	        {"packed bool 2", {0xb2, 0x01, 0x02, 0x01, 0x02}, 5},
	        {"packed bool 0 1", {0xb2, 0x01, 0x02, 0x00, 0x01}, 5},
	        {"packed int32, open varint", {0x92, 0x01, 0x02, 0x01, 0x80}, 5},
	        {"bool 2, unpacked", {0x68, 0x02}, 2},
	        {"nested item, bad", {0x8a, 0x01, 0x02, 0x11, 0x01}, 5},
	        {"nested item, good", {0x8a, 0x01, 0x02, 0x18, 0x01}, 5},
	        {"repeated string packed?", {0xba, 0x01, 0x01, 'x'}, 4},
	        {"oneof both", {0xd0, 0x01, 0x05, 0xca, 0x01, 0x00}, 6},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool want = unpacks(&mt__wide__descriptor, cases[i].b, cases[i].n);

		if (sg__wire_check(&mt__wide__descriptor, cases[i].b, cases[i].n) != want)
			fail_msg("%s: checker says %d, protobuf-c %d", cases[i].what, !want, want);
	}
}

static size_t put_varint(uint8_t *b, uint64_t v)
{
	size_t n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	return n;
}

/* A random message body for mt.Wide at b (at most ~2 KiB): mostly well-formed fields of the
 * right wire type, some wrong, unknown, overlong or cut short. */
static size_t gen(uint8_t *b, int depth)
{
	static const uint32_t extra[] = {27, 99, 1000, 300000};
	size_t n = 0, fields = rnd() % 6;

	for (size_t i = 0; i < fields; i++) {
		uint32_t field = rnd() % 5 == 0 ? extra[rnd() % 4] : 1 + rnd() % 26;
		const ProtobufCFieldDescriptor *f =
		        protobuf_c_message_descriptor_get_field(&mt__wide__descriptor, field);
		unsigned wt;

		if (f == NULL || rnd() % 8 == 0)
			wt = (unsigned[]){0, 1, 2, 5, 0, 2, 3, 6}[rnd() % 8];
		else if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING ||
		         f->type == PROTOBUF_C_TYPE_BYTES ||
		         (f->label == PROTOBUF_C_LABEL_REPEATED && rnd() % 2))
			wt = 2;
		else if (f->type == PROTOBUF_C_TYPE_FIXED32 ||
		         f->type == PROTOBUF_C_TYPE_SFIXED32 || f->type == PROTOBUF_C_TYPE_FLOAT)
			wt = 5;
		else if (f->type == PROTOBUF_C_TYPE_FIXED64 ||
		         f->type == PROTOBUF_C_TYPE_SFIXED64 || f->type == PROTOBUF_C_TYPE_DOUBLE)
			wt = 1;
		else
			wt = 0;
		n += put_varint(b + n, (uint64_t)field << 3 | wt);
		switch (wt) {
		case 0:
			if (rnd() % 40 == 0) {
				memset(b + n, 0x80, 11); /* never ends */
				n += 11;
			} else {
				n += put_varint(b + n, rnd() % 3 ? rnd() % 300 : rnd64());
			}
			break;
		case 1:
		case 5:
			for (unsigned k = 0; k < (wt == 1 ? 8u : 4u); k++)
				b[n++] = (uint8_t)rnd();
			break;
		case 2: {
			uint8_t sub[2400];
			size_t len = 0;

			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 3 &&
			    rnd() % 4 != 0) {
				len = f->descriptor == &mt__wide__descriptor ? gen(sub, depth + 1)
				                                             : 0;
				if (f->descriptor !=
				    &mt__wide__descriptor) /* an Item: small fields */
					for (size_t k = rnd() % 4; k-- > 0;) {
						sub[len++] = (uint8_t)((1 + rnd() % 6) << 3 |
						                       (rnd() % 3 ? 0 : 2));
						sub[len++] = (uint8_t)(rnd() % 3);
					}
			} else {
				len = rnd() % 12;
				for (size_t k = 0; k < len; k++)
					sub[k] = (uint8_t)(rnd() % 4 == 0 ? rnd() : rnd() % 3);
			}
			n += put_varint(b + n, rnd() % 50 == 0 ? len + 1 + rnd() % 5 : len);
			memcpy(b + n, sub, len);
			n += len;
			break;
		}
		default: /* groups and wire type 6: no payload */
			break;
		}
	}
	return n;
}

static void test_check_random(void **state)
{
	static uint8_t b[1 << 16];
	size_t ok = 0, bad = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t n = gen(b, 0);

		if (n > 0 && rnd() % 10 == 0) /* cut short */
			n -= 1 + rnd() % n;
		expect_same_verdict(&mt__wide__descriptor, b, n);
		if (sg__wire_check(&mt__wide__descriptor, b, n))
			ok++;
		else
			bad++;
	}
	/* Both verdicts are well exercised. */
	assert_true(ok > 2000);
	assert_true(bad > 2000);
}

/* A random, valid mt.Wide (and Item) through protobuf-c, then mutated a byte at a time. */
static void test_check_mutations(void **state)
{
	static uint8_t b[4096];
	Mt__Item item = MT__ITEM__INIT, picked = MT__ITEM__INIT;
	int32_t r_i32[3] = {-1, 0, 300};
	int64_t r_s64[2] = {-5, INT64_MIN};
	uint32_t r_f32[2] = {1, 2};
	double r_db[1] = {0.5};
	protobuf_c_boolean r_flag[3] = {1, 0, 1};
	char *r_name[2] = {"a", "bc"};

	(void)state;
	for (int i = 0; i < 400; i++) {
		Mt__Wide w = MT__WIDE__INIT;
		size_t n;

		w.i32 = (int32_t)rnd64();
		w.i64 = (int64_t)rnd64();
		w.s32 = -(int32_t)(rnd() % 1000);
		w.s64 = (int64_t)rnd64();
		w.u64 = rnd64();
		w.f64 = rnd64();
		w.fl = (float)rnd();
		w.db = (double)rnd64();
		w.flag = rnd() % 2;
		w.color = MT__COLOR__BLUE;
		w.name = "name";
		w.blob = (ProtobufCBinaryData){.len = 3, .data = (uint8_t *)"\x01\x02\x03"};
		item.id = "x";
		item.score = 0.25;
		item.rank = -7;
		w.item = &item;
		w.n_r_i32 = 3;
		w.r_i32 = r_i32;
		w.n_r_s64 = 2;
		w.r_s64 = r_s64;
		w.n_r_f32 = 2;
		w.r_f32 = r_f32;
		w.n_r_db = 1;
		w.r_db = r_db;
		w.n_r_flag = 3;
		w.r_flag = r_flag;
		w.n_r_name = 2;
		w.r_name = r_name;
		if (i % 2) {
			w.pick_case = MT__WIDE__PICK_PICKED;
			w.picked = &picked;
		} else {
			w.pick_case = MT__WIDE__PICK_NUMBER;
			w.number = rnd();
		}
		n = protobuf_c_message_pack(&w.base, b);
		expect_same_verdict(&mt__wide__descriptor, b, n);
		for (int k = 0; k < 20; k++) {
			size_t at = rnd() % n;
			uint8_t was = b[at];

			b[at] = (uint8_t)(k % 2 ? rnd() : was ^ (1u << (rnd() % 8)));
			expect_same_verdict(&mt__wide__descriptor, b, n);
			expect_same_verdict(&mt__wide__descriptor, b, at);
			b[at] = was;
		}
	}
}

/* One element's score through the scored walk: body (an mt.Wide's bytes) as the only child
 * (field 24) of an mt.Wide in outer, scored by f. */
static double scored_one(const uint8_t *body, size_t n, const ProtobufCFieldDescriptor *f,
                         uint8_t *outer, size_t *outer_len)
{
	sg__wire_pick pick = {.field = 24, .score = f};
	sg__wire_scored *out;
	size_t cnt, at = put_varint(outer, 24 << 3 | 2);
	sg__arena a;
	double v;

	at += put_varint(outer + at, n);
	memcpy(outer + at, body, n);
	*outer_len = at + n;
	sg__arena_init(&a, 256);
	assert_int_equal(sg__wire_check_scored(&mt__wide__descriptor, outer, *outer_len, &pick, &a,
	                                       &out, &cnt),
	                 SG_OK);
	assert_int_equal(cnt, 1);
	assert_ptr_equal(out[0].elem.data, outer + at);
	assert_int_equal(out[0].elem.len, n);
	v = out[0].score;
	sg__arena_fini(&a);
	return v;
}

/* Scores read on the wire equal the decoded element's, last occurrence winning. */
static void test_number_matches_decoded(void **state)
{
	static const uint32_t numeric[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	uint8_t b[1024], outer[1100];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		Mt__Wide w = MT__WIDE__INIT;
		size_t n, outer_len;
		Mt__Wide *back;

		w.i32 = (int32_t)rnd64();
		w.i64 = (int64_t)rnd64();
		w.u32 = (uint32_t)rnd64();
		w.u64 = rnd64();
		w.s32 = (int32_t)rnd64();
		w.s64 = (int64_t)rnd64();
		w.f32 = (uint32_t)rnd64();
		w.f64 = rnd64();
		w.sf32 = (int32_t)rnd64();
		w.sf64 = (int64_t)rnd64();
		w.fl = (float)(int32_t)rnd() / 7.0f;
		w.db = i % 50 == 0 ? NAN : (double)(int64_t)rnd64() / 3.0;
		n = protobuf_c_message_pack(&w.base, b);
		/* Twice over, with other values second: the second occurrence is what counts. */
		if (i % 3 == 0) {
			w.i32 = -1;
			w.s64 = INT64_MIN;
			w.db = -0.0;
			n += protobuf_c_message_pack(&w.base, b + n);
		}
		/* Some fields left out (proto3 zero values are not sent): they read as 0. */
		if (i % 5 == 0)
			n = 0;
		for (size_t k = 0; k < sizeof(numeric) / sizeof(numeric[0]); k++) {
			const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
			        &mt__wide__descriptor, numeric[k]);
			double got = scored_one(b, n, f, outer, &outer_len), want;

			back = mt__wide__unpack(NULL, outer_len, outer);
			assert_non_null(back);
			assert_int_equal(back->n_children, 1);
			want = sg__field_number(&back->children[0]->base, f);
			if (isnan(want))
				assert_true(isnan(got));
			else
				assert_memory_equal(&got, &want, sizeof(got));
			mt__wide__free_unpacked(back, NULL);
		}
	}
}

/* proto2: a score left out is its declared default; a required field anywhere below the
 * response keeps the merge decoding (the checker does not judge presence). */
static void test_defaults_and_required(void **state)
{
	static const uint32_t numeric[] = {1, 2, 3, 4};
	static const uint8_t one_empty[] = {0x0a, 0x00}; /* ScoredList: one Scored, empty */
	Pt__Scored empty = PT__SCORED__INIT;

	(void)state;
	for (size_t k = 0; k < 4; k++) {
		sg__wire_pick pick = {.field = 1,
		                      .score = protobuf_c_message_descriptor_get_field(
		                              &pt__scored__descriptor, numeric[k])};
		sg__wire_scored *out;
		size_t cnt;
		sg__arena a;
		double want = sg__field_number(&empty.base, pick.score), got;

		sg__arena_init(&a, 256);
		assert_int_equal(sg__wire_check_scored(&pt__scored_list__descriptor, one_empty,
		                                       sizeof(one_empty), &pick, &a, &out, &cnt),
		                 SG_OK);
		assert_int_equal(cnt, 1);
		got = out[0].score;
		sg__arena_fini(&a);
		assert_memory_equal(&got, &want, sizeof(got));
	}
	assert_true(sg__wire_lazy_ok(&pt__scored__descriptor));
	assert_true(sg__wire_lazy_ok(&mt__resp__descriptor));
	assert_false(sg__wire_lazy_ok(&pt__strict__descriptor));
	assert_false(sg__wire_lazy_ok(&pt__holds_strict__descriptor));
	/* Recursive: nesting without bound, which the checker does not follow. */
	assert_false(sg__wire_lazy_ok(&mt__wide__descriptor));
}

/* The same legs merged decoded (top_k_run) and encoded (the lazy path) pack to the same bytes. */
static void test_top_k_encoded_matches_decoded(void **state)
{
	enum { LEGS = 5, PER = 12 };
	static const uint32_t items_field[] = {1};
	static uint8_t wire[LEGS][4096];
	static char ids[LEGS][PER][24];
	size_t wire_len[LEGS];

	(void)state;
	for (int round = 0; round < 200; round++) {
		Mt__Item items[LEGS][PER], *ptrs[LEGS][PER];
		Mt__Resp resp[LEGS];
		sg_leg_result dec[LEGS], enc_legs[LEGS];
		sg__merge_bytes enc[LEGS];
		ProtobufCMessage *decoded[LEGS] = {0};
		bool any_ok = false;

		for (int l = 0; l < LEGS; l++) {
			bool ok = round != 0 && rnd() % 5 != 0; /* round 0: none */

			mt__resp__init(&resp[l]);
			resp[l].n_items = rnd() % (PER + 1);
			resp[l].items = ptrs[l];
			resp[l].total = rnd();
			resp[l].note = l % 2 ? "odd" : "even";
			for (size_t i = 0; i < resp[l].n_items; i++) {
				mt__item__init(&items[l][i]);
				snprintf(ids[l][i], sizeof(ids[l][i]), "l%d-%zu", l, i);
				items[l][i].id = ids[l][i];
				items[l][i].score =
				        rnd() % 30 == 0 ? NAN : (double)(rnd() % 9) / 8.0;
				items[l][i].rank = (int64_t)(rnd() % 7) - 3;
				items[l][i].weight = (float)(rnd() % 5);
				ptrs[l][i] = &items[l][i];
			}
			wire_len[l] = protobuf_c_message_pack(&resp[l].base, wire[l]);
			decoded[l] = ok ? protobuf_c_message_unpack(&mt__resp__descriptor, NULL,
			                                            wire_len[l], wire[l])
			                : NULL;
			dec[l] = (sg_leg_result){.name = "g/x",
			                         .status = ok ? GRPC_STATUS_OK
			                                      : GRPC_STATUS_UNAVAILABLE,
			                         .response = decoded[l]};
			enc_legs[l] = dec[l];
			enc_legs[l].response = NULL; /* the encoded path decodes what it needs */
			if (ok)
				any_ok = true;
			enc[l] = (sg__merge_bytes){NULL, 0, NULL, 0};
			if (ok)
				enc[l] = (sg__merge_bytes){wire[l], wire_len[l], NULL, 0};
		}
		uint32_t score = (uint32_t[]){2, 3, 4}[rnd() % 3];
		sg_method_desc m = {
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
		                  .order = rnd() % 2 ? SG_ORDER_ASC : SG_ORDER_DESC,
		                  .limit = 1 + rnd() % (LEGS * PER + 2)},
		        .partial = {.allow = true, .total_field = 4, .ok_field = 5},
		};
		sg__merge_plan plan;
		sg__arena a1, a2;
		char why[200] = "";
		sg_legs_summary counts = {.total = LEGS, .ok = 3};
		ProtobufCMessage *o1 = NULL, *o2 = NULL;
		uint8_t p1[8192], p2[8192];
		size_t n1, n2;

		sg__arena_init(&a1, 1024);
		sg__arena_init(&a2, 1024);
		assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
		assert_true(plan.lazy);
		/* What the legs do on arrival. */
		sg__wire_pick pick = {.field = 1, .score = plan.score};
		for (int l = 0; l < LEGS; l++) {
			sg__wire_scored *sc = NULL;

			if (enc[l].data == NULL)
				continue;
			assert_int_equal(sg__wire_check_scored(&mt__resp__descriptor, enc[l].data,
			                                       enc[l].len, &pick, &a2, &sc,
			                                       &enc[l].n_scored),
			                 SG_OK);
			enc[l].scored = sc;
		}
		sg__merge_in in1 = {.legs = dec, .n_legs = LEGS, .arena = &a1};
		sg__merge_in in2 = {.legs = enc_legs, .n_legs = LEGS, .arena = &a2, .encoded = enc};
		/* No leg answered OK: nothing to start from, either way. */
		assert_int_equal(sg__merge_run(&plan, &in1, &counts, &o1),
		                 any_ok ? SG_OK : SG_EINVAL);
		assert_int_equal(sg__merge_run(&plan, &in2, &counts, &o2),
		                 any_ok ? SG_OK : SG_EINVAL);
		if (any_ok) {
			n1 = protobuf_c_message_pack(o1, p1);
			n2 = protobuf_c_message_pack(o2, p2);
			assert_int_equal(n1, n2);
			assert_memory_equal(p1, p2, n1);
		}
		sg__merge_plan_fini(&plan);
		sg__arena_fini(&a1);
		sg__arena_fini(&a2);
		for (int l = 0; l < LEGS; l++)
			if (decoded[l] != NULL)
				protobuf_c_message_free_unpacked(decoded[l], NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_check_edges),
	        cmocka_unit_test(test_check_random),
	        cmocka_unit_test(test_check_mutations),
	        cmocka_unit_test(test_number_matches_decoded),
	        cmocka_unit_test(test_defaults_and_required),
	        cmocka_unit_test(test_top_k_encoded_matches_decoded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
