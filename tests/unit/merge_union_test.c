/* merge_union_test.c: UNION by string and integer keys, first copy or best copy, first-seen
 * order, and the plan's checks. */
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

/* Field numbers of mt.Bag and mt.Keyed. */
enum { ENTRIES = 1, NOTE = 2 };
enum { NUM = 1, KEY = 2, SCORE = 3, FROM = 4, FLAG = 5 };

static const uint32_t entries_field[] = {ENTRIES};

/* Three legs: leg l holds entries (key, num, score) from the table below. */
typedef struct fixture {
	Mt__Keyed k[3][4];
	Mt__Keyed *p[3][4];
	char from[3][4][8];
	Mt__Bag bag[3];
	sg_leg_result legs[4];
	sg__arena arena;
} fixture;

static const struct {
	const char *key;
	int64_t num;
	double score;
} table[3][4] = {
        {{"a", 1, 0.5}, {"b", 2, 0.9}, {"c", 3, 0.1}, {NULL, 0, 0}},
        {{"b", 2, 0.95}, {"d", 4, 0.2}, {"a", 1, 0.4}, {NULL, 0, 0}},
        {{"c", 3, 0.8}, {"e", 5, 0.3}, {"a", 1, 0.5}, {"b", 2, 0.1}},
};

static int setup(void **state)
{
	static fixture f;

	memset(&f, 0, sizeof(f));
	for (int l = 0; l < 3; l++) {
		mt__bag__init(&f.bag[l]);
		for (int i = 0; i < 4 && table[l][i].key != NULL; i++) {
			mt__keyed__init(&f.k[l][i]);
			f.k[l][i].key = (char *)table[l][i].key;
			f.k[l][i].num = table[l][i].num;
			f.k[l][i].score = table[l][i].score;
			snprintf(f.from[l][i], sizeof(f.from[l][i]), "l%d", l);
			f.k[l][i].from = f.from[l][i];
			f.p[l][i] = &f.k[l][i];
			f.bag[l].n_entries++;
		}
		f.bag[l].entries = f.p[l];
		f.bag[l].note = l == 0 ? "zero" : "other";
	}
	/* Leg order: l0, a failed leg, l1, l2. */
	f.legs[0] = (sg_leg_result){
	        .name = "g/0", .status = GRPC_STATUS_OK, .response = &f.bag[0].base};
	f.legs[1] = (sg_leg_result){.name = "g/1", .status = GRPC_STATUS_UNAVAILABLE};
	f.legs[2] = (sg_leg_result){
	        .name = "g/2", .status = GRPC_STATUS_OK, .response = &f.bag[1].base};
	f.legs[3] = (sg_leg_result){
	        .name = "g/3", .status = GRPC_STATUS_OK, .response = &f.bag[2].base};
	sg__arena_init(&f.arena, 512);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	sg__arena_fini(&f->arena);
	return 0;
}

static Mt__Bag *run(fixture *f, uint32_t key, uint32_t score, sg_order order)
{
	sg_method_desc m = {.path = "/mt.Agg/Bag",
	                    .request = &mt__req__descriptor,
	                    .response = &mt__bag__descriptor,
	                    .merge = {.kind = SG_MERGE_UNION,
	                              .fields = entries_field,
	                              .n_fields = 1,
	                              .key_field = key,
	                              .score_field = score,
	                              .order = order}};
	sg__merge_plan plan;
	ProtobufCMessage *out = NULL;
	char why[200] = "";

	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_OK);
	sg__merge_in in = {.legs = f->legs, .n_legs = 4, .arena = &f->arena};
	assert_int_equal(sg__merge_run(&plan, &in, NULL, &out), SG_OK);
	sg__merge_plan_fini(&plan);
	return (Mt__Bag *)out;
}

/* "a:l0 b:l0 ..." for comparison. */
static const char *show(const Mt__Bag *b)
{
	static char buf[256];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->n_entries; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s:%s", i ? " " : "",
		                         b->entries[i]->key, b->entries[i]->from);
	return buf;
}

static void test_first_copy_by_string_key(void **state)
{
	Mt__Bag *r = run(*state, KEY, 0, SG_ORDER_DESC);

	assert_string_equal(show(r), "a:l0 b:l0 c:l0 d:l1 e:l2");
	assert_string_equal(r->note, "zero"); /* other fields: the first OK leg's */
}

static void test_first_copy_by_integer_key(void **state)
{
	Mt__Bag *r = run(*state, NUM, 0, SG_ORDER_DESC);

	assert_string_equal(show(r), "a:l0 b:l0 c:l0 d:l1 e:l2");
}

static void test_best_copy_desc_and_asc(void **state)
{
	/* Highest score wins, in first-seen position; a tie (a: 0.5 in l0 and l2) keeps the
	 * first. */
	Mt__Bag *r = run(*state, KEY, SCORE, SG_ORDER_DESC);

	assert_string_equal(show(r), "a:l0 b:l1 c:l2 d:l1 e:l2");
	r = run(*state, NUM, SCORE, SG_ORDER_ASC);
	assert_string_equal(show(r), "a:l1 b:l2 c:l0 d:l1 e:l2");
}

static void test_nan_never_wins(void **state)
{
	fixture *f = *state;

	f->k[2][0].score = NAN; /* c in l2 */
	f->k[0][2].score = NAN; /* c in l0 */
	Mt__Bag *r = run(f, KEY, SCORE, SG_ORDER_DESC);
	assert_string_equal(show(r), "a:l0 b:l1 c:l0 d:l1 e:l2");
	f->k[0][2].score = 0.1;
	r = run(f, KEY, SCORE, SG_ORDER_ASC);
	assert_string_equal(show(r), "a:l1 b:l2 c:l0 d:l1 e:l2");
}

static void test_many_keys(void **state)
{
	fixture *f = *state;
	enum { N = 300 };
	static Mt__Keyed k[2][N];
	static Mt__Keyed *p[2][N];
	static char keys[N][8];
	Mt__Bag bags[2] = {MT__BAG__INIT, MT__BAG__INIT};

	/* Leg 0 holds keys 0..N-1, leg 1 the odd ones again: the hash table grows past them. */
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		for (int l = 0; l < 2; l++) {
			mt__keyed__init(&k[l][i]);
			k[l][i].key = keys[l == 0 ? i : (2 * i + 1) % N];
			p[l][i] = &k[l][i];
		}
	}
	for (int l = 0; l < 2; l++) {
		bags[l].entries = p[l];
		bags[l].n_entries = N;
		f->legs[l] = (sg_leg_result){.status = GRPC_STATUS_OK, .response = &bags[l].base};
	}
	f->legs[2].response = NULL;
	f->legs[3].response = NULL;
	Mt__Bag *r = run(f, KEY, 0, SG_ORDER_DESC);
	assert_int_equal(r->n_entries, N);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(r->entries[i], &k[0][i]);
}

static void expect_config_error(uint32_t field, uint32_t key, uint32_t score, const char *want)
{
	const uint32_t fields[] = {field};
	sg_method_desc m = {.path = "/mt.Agg/Bag",
	                    .request = &mt__req__descriptor,
	                    .response = &mt__bag__descriptor,
	                    .merge = {.kind = SG_MERGE_UNION,
	                              .fields = fields,
	                              .n_fields = 1,
	                              .key_field = key,
	                              .score_field = score}};
	sg__merge_plan plan;
	char why[200] = "";

	assert_int_equal(sg__merge_plan_init(&plan, &m, why, sizeof(why)), SG_ECONFIG);
	sg__merge_plan_fini(&plan);
	assert_string_equal(why, want);
}

static void test_plan_rejects_what_does_not_fit(void **state)
{
	(void)state;
	expect_config_error(NOTE, KEY, 0,
	                    "union: field 2 of mt.Bag is not a repeated message field");
	expect_config_error(ENTRIES, SCORE, 0,
	                    "union: key field 3 of mt.Keyed is not a string or integer");
	expect_config_error(ENTRIES, FLAG, 0,
	                    "union: key field 5 of mt.Keyed is not a string or integer");
	expect_config_error(ENTRIES, 0, 0,
	                    "union: key field 0 of mt.Keyed is not a string or integer");
	expect_config_error(ENTRIES, KEY, FROM,
	                    "union: field 4 of mt.Keyed is not a numeric scalar");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_first_copy_by_string_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_first_copy_by_integer_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_best_copy_desc_and_asc, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nan_never_wins, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
	        cmocka_unit_test(test_plan_rejects_what_does_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
