/*
 * tables_test.c: the generated code compiles, links against libscatter, and its tables say
 * what the .proto says: field numbers resolve, through protobuf-c's own descriptors, to the
 * fields the options name, and libscatter accepts every table at registration (it checks them
 * again against the descriptors). Nothing is served: the server is never started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inventory.scatter.h"
#include "search.scatter.h"
#include "stock.scatter.h"

/* The name of field `number` of message d, or "" if d has no such field. */
static const char *tt_field(const ProtobufCMessageDescriptor *d, uint32_t number)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, number);

	return f != NULL ? f->name : "";
}

static void test_search_query_table(void **state)
{
	const sg_method_desc *m = &search__search__query__fanout;

	(void)state;
	assert_string_equal(m->path, "/search.Search/Query");
	assert_string_equal(m->backend_path, "/search.Shard/Search");
	assert_string_equal(m->group, "shards");
	assert_ptr_equal(m->request, &search__search_request__descriptor);
	assert_ptr_equal(m->response, &search__search_response__descriptor);
	assert_int_equal(m->deadline_ms, 1000);
	assert_int_equal(m->margin_ms, 20) /* options.proto default */;
	assert_int_equal(m->gather.kind, SG_GATHER_ALL);
	assert_int_equal(m->merge.kind, SG_MERGE_TOP_K);
	assert_int_equal(m->merge.n_fields, 1);
	assert_string_equal(tt_field(m->response, m->merge.fields[0]), "hits");
	assert_string_equal(tt_field(&search__hit__descriptor, m->merge.score_field), "score");
	assert_int_equal(m->merge.order, SG_ORDER_DESC);
	assert_int_equal(m->merge.limit, 10);
	assert_string_equal(tt_field(m->request, m->merge.limit_field), "k");
	assert_true(m->partial.allow);
	assert_string_equal(tt_field(m->response, m->partial.total_field), "shards_total");
	assert_string_equal(tt_field(m->response, m->partial.ok_field), "shards_ok");
	assert_string_equal(tt_field(m->response, m->partial.failed_field), "shards_failed");
	assert_string_equal(search__shard__search__leaf.path, "/search.Shard/Search");
}

static void test_inventory_tables(void **state)
{
	const sg_method_desc *list = &acme__inventory__v1__inventory_hub__list_stock__fanout;
	const sg_method_desc *stalest = &acme__inventory__v1__inventory_hub__stalest__fanout;
	const sg_method_desc *any = &acme__inventory__v1__inventory_hub__any_stock__fanout;

	(void)state;
	assert_int_equal(list->merge.kind, SG_MERGE_CONCAT);
	assert_int_equal(list->merge.n_fields, 2);
	assert_string_equal(tt_field(list->response, list->merge.fields[0]), "items");
	assert_string_equal(tt_field(list->response, list->merge.fields[1]), "warnings");
	assert_false(list->partial.allow);
	assert_int_equal(list->deadline_ms, 250);
	assert_int_equal(list->margin_ms, 20);
	assert_string_equal(list->backend_path, "/acme.inventory.v1.Warehouse/Stock");
	assert_int_equal(stalest->merge.kind, SG_MERGE_TOP_K);
	assert_int_equal(stalest->merge.order, SG_ORDER_ASC);
	assert_int_equal(stalest->merge.limit, 3);
	assert_int_equal(stalest->merge.limit_field, 0);
	assert_string_equal(
	        tt_field(&acme__inventory__v1__stock_item__descriptor, stalest->merge.score_field),
	        "freshness");
	assert_int_equal(any->merge.kind, SG_MERGE_NONE);
	assert_true(any->partial.allow);
	assert_ptr_equal(acme__inventory__v1__warehouse__ping__leaf.request,
	                 &acme__inventory__v1__ping__request__descriptor);
}

static void tt_search(sg_leaf_call *call, const Search__SearchRequest *request, void *arg)
{
	(void)call;
	(void)request;
	(void)arg;
}

static void tt_ping(sg_leaf_call *call, const Acme__Inventory__V1__Ping__Request *request,
                    void *arg)
{
	(void)call;
	(void)request;
	(void)arg;
}

/* libscatter's own check of every table, as a user's main would register them. */
static void test_runtime_accepts_tables(void **state)
{
	static const Search__Shard_Handlers shard = {.search = tt_search};
	static const Acme__Inventory__V1__InventoryHub_Handlers hub = {.ping = tt_ping};
	sg_server *s = NULL;

	(void)state;
	assert_int_equal(sg_server_alloc(NULL, &s), SG_OK);
	assert_int_equal(search__search__register(s), SG_OK);
	assert_int_equal(search__shard__serve(s, &shard, NULL), SG_OK);
	assert_int_equal(acme__inventory__v1__inventory_hub__register(s), SG_OK);
	assert_int_equal(acme__inventory__v1__inventory_hub__serve(s, &hub, NULL), SG_OK);
	/* Registering the same tables twice is the runtime's SG_EEXIST, passed through. */
	assert_int_equal(search__search__register(s), SG_EEXIST);
	sg_server_free(s);
}

static void test_wrappers_check_arguments(void **state)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;

	(void)state;
	assert_int_equal(search__shard__serve(NULL, NULL, NULL), SG_EINVAL);
	assert_int_equal(search__shard__search_call(NULL, &req, 0, NULL, NULL), SG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_search_query_table),
	        cmocka_unit_test(test_inventory_tables),
	        cmocka_unit_test(test_runtime_accepts_tables),
	        cmocka_unit_test(test_wrappers_check_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
