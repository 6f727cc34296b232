/*
 * golden_test.c: protoc-gen-scatter's output, byte for byte, against tests/codegen/golden/.
 *
 * On a mismatch the test prints `diff -u golden generated`. After an intended change to the
 * generator, refresh the goldens with `cmake --build <build> --target codegen-golden-update`
 * and review the diff in git.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protoc_run.h"

static pr_env env;

/* Generates `files` from import_dir and compares each output named in `outputs` with its
 * golden file. */
static void gt_check(const char *import_dir, const char *const *files, size_t n_files,
                     const char *const *outputs, size_t n_outputs)
{
	char *tmp = pr_tmpdir();
	char *err = NULL;
	int status;
	bool same = true;

	assert_non_null(tmp);
	status = pr_protoc(&env, import_dir, files, n_files, tmp, &err);
	if (status != 0)
		print_error("protoc failed (%d):\n%s\n", status, err ? err : "");
	free(err);
	assert_int_equal(status, 0);
	for (size_t i = 0; i < n_outputs; i++) {
		char golden[4096], got[4096];
		char *want_text, *got_text;
		size_t want_len = 0, got_len = 0;

		snprintf(golden, sizeof(golden), "%s/golden/%s", env.src_dir, outputs[i]);
		snprintf(got, sizeof(got), "%s/%s", tmp, outputs[i]);
		want_text = pr_read_file(golden, &want_len);
		got_text = pr_read_file(got, &got_len);
		if (want_text == NULL || got_text == NULL || want_len != got_len ||
		    memcmp(want_text, got_text, got_len) != 0) {
			print_error("%s differs from its golden file:\n", outputs[i]);
			pr_diff(golden, got);
			same = false;
		}
		free(want_text);
		free(got_text);
	}
	pr_tmpdir_remove(tmp);
	free(tmp);
	assert_true(same);
}

static void test_search(void **state)
{
	const char *files[] = {"search.proto"};
	const char *outputs[] = {"search.scatter.h", "search.scatter.c", "search.scatter-fanout.c"};

	(void)state;
	if (env.search_dir == NULL)
		fail_msg("no services/search directory given");
	gt_check(env.search_dir, files, 1, outputs, 3);
}

static void test_inventory(void **state)
{
	char dir[4096];
	const char *files[] = {"inventory.proto", "stock.proto"};
	const char *outputs[] = {
	        "inventory.scatter.h", "inventory.scatter.c", "inventory.scatter-fanout.c",
	        "stock.scatter.h",     "stock.scatter.c",     "stock.scatter-fanout.c"};

	(void)state;
	snprintf(dir, sizeof(dir), "%s/protos", env.src_dir);
	gt_check(dir, files, 2, outputs, 6);
}

/* Every gather and merge of issue 3, heterogeneous legs and the C hooks. */
static void test_storefront(void **state)
{
	char dir[4096];
	const char *files[] = {"storefront.proto"};
	const char *outputs[] = {"storefront.scatter.h", "storefront.scatter.c",
	                         "storefront.scatter-fanout.c"};

	(void)state;
	snprintf(dir, sizeof(dir), "%s/protos", env.src_dir);
	gt_check(dir, files, 1, outputs, 3);
}

/* The same input twice gives the same bytes (no addresses, times or hash order leak in). */
static void test_deterministic(void **state)
{
	char dir[4096], a[4096], b[4096];
	const char *files[] = {"inventory.proto"};
	const char *outputs[] = {"inventory.scatter.h", "inventory.scatter.c",
	                         "inventory.scatter-fanout.c"};
	char *t1 = pr_tmpdir(), *t2 = pr_tmpdir();

	(void)state;
	assert_non_null(t1);
	assert_non_null(t2);
	snprintf(dir, sizeof(dir), "%s/protos", env.src_dir);
	assert_int_equal(pr_protoc(&env, dir, files, 1, t1, NULL), 0);
	assert_int_equal(pr_protoc(&env, dir, files, 1, t2, NULL), 0);
	for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		char *x, *y;

		snprintf(a, sizeof(a), "%s/%s", t1, outputs[i]);
		snprintf(b, sizeof(b), "%s/%s", t2, outputs[i]);
		x = pr_read_file(a, NULL);
		y = pr_read_file(b, NULL);
		assert_non_null(x);
		assert_non_null(y);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
	pr_tmpdir_remove(t1);
	pr_tmpdir_remove(t2);
	free(t1);
	free(t2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_search),
	        cmocka_unit_test(test_inventory),
	        cmocka_unit_test(test_storefront),
	        cmocka_unit_test(test_deterministic),
	};

	if (!pr_env_parse(&env, argc, argv))
		return 2;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
