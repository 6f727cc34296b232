/*
 * no_hooks_test.c: a leaf service and a client of a .proto whose fan-out methods declare C
 * hooks (search.proto: a quality predicate and a custom merge; storefront.proto: two custom
 * merges and a predicate) link without defining any of them. The generated code comes from a
 * static library (scatter_generate), and this program uses only the skeletons and the client
 * stubs of <name>.scatter.c, never __register or a __fanout table, so the linker leaves
 * <name>.scatter-fanout.c's object, the one that refers to the hooks, out. That this test
 * links is most of what it checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "search.scatter.h"
#include "storefront.scatter.h"

static void nh_search(sg_leaf_call *call, const Search__SearchRequest *request, void *arg)
{
	(void)request;
	(void)arg;
	sg_leaf_fail(call, GRPC_STATUS_UNIMPLEMENTED, "never called");
}

/* The skeleton: a shard serves search.Shard without search.Search's hooks. */
static void test_leaf_serves(void **state)
{
	static const Search__Shard_Handlers shard = {.search = nh_search};
	sg_server *s = NULL;

	(void)state;
	assert_int_equal(sg_server_alloc(NULL, &s), SG_OK);
	assert_int_equal(search__shard__serve(s, &shard, NULL), SG_OK);
	assert_ptr_equal(search__shard__search__leaf.request, &search__search_request__descriptor);
	sg_server_free(s);
}

/* The stubs: a client calls the hooked methods themselves without their hooks. */
static void test_client_stubs(void **state)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Shop__V1__FindRequest find = SHOP__V1__FIND_REQUEST__INIT;

	(void)state;
	assert_int_equal(search__search__query_diverse_call(NULL, &req, 0, NULL, NULL), SG_EINVAL);
	assert_int_equal(search__search__query_judged_call(NULL, &req, 0, NULL, NULL), SG_EINVAL);
	assert_int_equal(shop__v1__storefront__find_smart_call(NULL, &find, 0, NULL, NULL),
	                 SG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_leaf_serves),
	        cmocka_unit_test(test_client_stubs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
