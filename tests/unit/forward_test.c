/* forward_test.c: the metadata allow-list: which keys it accepts and what it picks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "forward.h"

/* md as a server call would receive it: static slices, so nothing to free. */
static grpc_metadata md_entries[5];
static const char *md_text[][2] = {
        {"x-request-id", "req-1"},    {"authorization", "Bearer t"}, {"x-secret", "s"},
        {"x-request-id-extra", "no"}, {"x-request-id", "req-2"},
};

static grpc_metadata_array incoming(void)
{
	grpc_metadata_array a = {.count = 5, .capacity = 5, .metadata = md_entries};

	for (size_t i = 0; i < 5; i++) {
		md_entries[i].key = grpc_slice_from_static_string(md_text[i][0]);
		md_entries[i].value = grpc_slice_from_static_string(md_text[i][1]);
	}
	return a;
}

static int slice_is(grpc_slice s, const char *text)
{
	return GRPC_SLICE_LENGTH(s) == strlen(text) &&
	       memcmp(GRPC_SLICE_START_PTR(s), text, strlen(text)) == 0;
}

static void test_keys_accepted_and_refused(void **state)
{
	sg__forward f = {0};
	const char *bad[] = {"",   "Authorization", "grpc-timeout", "content-type",
	                     "te", "user-agent",    "x key",        ":authority",
	                     NULL};
	const char *good[] = {"authorization", "x-request-id", "trace-bin", "a.b_c"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sg__forward_set(&f, &bad[i], 1), SG_EINVAL);
	assert_int_equal(f.n, 0);
	assert_int_equal(sg__forward_set(&f, good, 4), SG_OK);
	assert_int_equal(f.n, 4);
	/* A refused list leaves the previous one in place. */
	assert_int_equal(sg__forward_set(&f, bad, 2), SG_EINVAL);
	assert_int_equal(f.n, 4);
	assert_int_equal(sg__forward_set(&f, NULL, 0), SG_OK);
	assert_int_equal(f.n, 0);
	sg__forward_fini(&f);
}

/* Only listed keys, exact matches (not prefixes), every occurrence, in the order received,
 * borrowing the incoming slices. */
static void test_pick(void **state)
{
	grpc_metadata_array md = incoming();
	const char *keys[] = {"x-request-id"};
	sg__forward f = {0};
	grpc_metadata *out;
	sg__arena a;
	size_t n;

	(void)state;
	sg__arena_init(&a, 256);
	/* Empty list: nothing, not even an allocation. */
	assert_int_equal(sg__forward_pick(&f, &md, &a, &out, &n), SG_OK);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_int_equal(sg__forward_pick(NULL, &md, &a, &out, &n), SG_OK);
	assert_int_equal(n, 0);

	assert_int_equal(sg__forward_set(&f, keys, 1), SG_OK);
	assert_int_equal(sg__forward_pick(&f, &md, &a, &out, &n), SG_OK);
	assert_int_equal(n, 2);
	assert_true(slice_is(out[0].value, "req-1"));
	assert_true(slice_is(out[1].value, "req-2"));
	assert_ptr_equal(GRPC_SLICE_START_PTR(out[0].key), GRPC_SLICE_START_PTR(md_entries[0].key));

	/* A key listed that never came: nothing. */
	keys[0] = "x-other";
	assert_int_equal(sg__forward_set(&f, keys, 1), SG_OK);
	assert_int_equal(sg__forward_pick(&f, &md, &a, &out, &n), SG_OK);
	assert_int_equal(n, 0);
	assert_null(out);
	sg__forward_fini(&f);
	sg__arena_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_keys_accepted_and_refused),
	        cmocka_unit_test(test_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
