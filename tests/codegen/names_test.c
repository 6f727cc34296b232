/*
 * names_test.c: names.c forms C names exactly as protoc-c 1.4 does. The expected values were
 * read from the .pb-c.h protoc-c writes for the same names (see the comments).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "names.h"

static int nt_setup(void **state)
{
	static cg_pool pool;

	cg_pool_init(&pool);
	*state = &pool;
	return 0;
}

static int nt_teardown(void **state)
{
	cg_pool *pool = *state;

	assert_false(pool->failed);
	cg_pool_fini(pool);
	return 0;
}

static void test_camel_to_lower(void **state)
{
	cg_pool *pool = *state;

	assert_string_equal(cg_camel_to_lower(pool, "SearchRequest"), "search_request");
	assert_string_equal(cg_camel_to_lower(pool, "Hit"), "hit");
	assert_string_equal(cg_camel_to_lower(pool, "search"), "search");
	/* Runs of capitals stay together: protoc-c writes httpserver__descriptor. */
	assert_string_equal(cg_camel_to_lower(pool, "HTTPServer"), "httpserver");
	assert_string_equal(cg_camel_to_lower(pool, "getURLFor2"), "get_urlfor2");
	/* An underscore before a capital doubles: protoc-c writes foo__bar__descriptor. */
	assert_string_equal(cg_camel_to_lower(pool, "Foo_Bar"), "foo__bar");
	assert_string_equal(cg_camel_to_lower(pool, "HealthCheck"), "health_check");
	assert_string_equal(cg_camel_to_lower(pool, ""), "");
}

static void test_to_camel(void **state)
{
	cg_pool *pool = *state;

	assert_string_equal(cg_to_camel(pool, "search"), "Search");
	assert_string_equal(cg_to_camel(pool, "v1"), "V1");
	assert_string_equal(cg_to_camel(pool, "v1_x"), "V1X");
	assert_string_equal(cg_to_camel(pool, "Foo_Bar"), "FooBar");
	assert_string_equal(cg_to_camel(pool, "inner_thing"), "InnerThing");
	assert_string_equal(cg_to_camel(pool, "HTTPServer"), "HTTPServer");
}

static void test_package_prefixes(void **state)
{
	cg_pool *pool = *state;

	assert_string_equal(cg_name_type(pool, ".search.SearchRequest"), "Search__SearchRequest");
	assert_string_equal(cg_name_lower(pool, ".search.SearchRequest"), "search__search_request");
	assert_string_equal(cg_name_type(pool, "search.Shard"), "Search__Shard");
	assert_string_equal(cg_name_lower(pool, "search.Shard"), "search__shard");
	assert_string_equal(cg_name_type(pool, "acme.inventory.v1.Ping.Request"),
	                    "Acme__Inventory__V1__Ping__Request");
	assert_string_equal(cg_name_lower(pool, "acme.inventory.v1.InventoryHub"),
	                    "acme__inventory__v1__inventory_hub");
	/* protoc-c: acme__inventory__v1_x__httpserver__inner_thing__descriptor and
	 * Acme__Inventory__V1X__HTTPServer__InnerThing for package acme.Inventory.v1_x. */
	assert_string_equal(cg_name_lower(pool, ".acme.Inventory.v1_x.HTTPServer.inner_thing"),
	                    "acme__inventory__v1_x__httpserver__inner_thing");
	assert_string_equal(cg_name_type(pool, ".acme.Inventory.v1_x.HTTPServer.inner_thing"),
	                    "Acme__Inventory__V1X__HTTPServer__InnerThing");
	/* No package. */
	assert_string_equal(cg_name_type(pool, ".Hit"), "Hit");
	assert_string_equal(cg_name_lower(pool, "Hit"), "hit");
}

static void test_files(void **state)
{
	cg_pool *pool = *state;

	assert_string_equal(cg_strip_proto(pool, "search.proto"), "search");
	assert_string_equal(cg_strip_proto(pool, "acme/inv/v1/inv.proto"), "acme/inv/v1/inv");
	assert_string_equal(cg_strip_proto(pool, "old.protodevel"), "old");
	assert_string_equal(cg_strip_proto(pool, "noext"), "noext");
	assert_string_equal(cg_include_guard(pool, "search.scatter.h"), "SEARCH_SCATTER_H");
	assert_string_equal(cg_include_guard(pool, "acme/inv-2/x.scatter.h"),
	                    "ACME_INV_2_X_SCATTER_H");
	assert_string_equal(cg_include_guard(pool, "3d.scatter.h"), "P_3D_SCATTER_H");
}

static void test_c_escape(void **state)
{
	cg_pool *pool = *state;

	assert_string_equal(cg_c_escape(pool, "shards"), "shards");
	assert_string_equal(cg_c_escape(pool, "a\"b\\c"), "a\\\"b\\\\c");
	assert_string_equal(cg_c_escape(pool, "tab\there"), "tab\\011here");
	/* -std=c11 turns "??=" into "#": the generator escapes every "?" (split here for that). */
	assert_string_equal(cg_c_escape(pool, "?"
	                                      "?="),
	                    "\\077\\077=");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_camel_to_lower, nt_setup, nt_teardown),
	        cmocka_unit_test_setup_teardown(test_to_camel, nt_setup, nt_teardown),
	        cmocka_unit_test_setup_teardown(test_package_prefixes, nt_setup, nt_teardown),
	        cmocka_unit_test_setup_teardown(test_files, nt_setup, nt_teardown),
	        cmocka_unit_test_setup_teardown(test_c_escape, nt_setup, nt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
