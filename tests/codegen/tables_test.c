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
#include "storefront.scatter.h"

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

/* ---- search.proto's hooks: this test registers search.Search, so it defines them ----------- */

/* As any binary that calls search__search__register must (services/search/hooks.c has the
 * aggregator's); nothing here calls them. */
bool search__search__query_judged_quality(const Search__SearchRequest *request,
                                          const sg_leg_result *legs, size_t n_legs)
{
	(void)request;
	(void)legs;
	return n_legs > 0;
}

sg_err search__search__query_diverse_merge(sg_merge_ctx *ctx, const Search__SearchRequest *request,
                                           const sg_leg_result *legs, size_t n_legs,
                                           Search__SearchResponse *out)
{
	(void)ctx;
	(void)request;
	(void)legs;
	(void)n_legs;
	(void)out;
	return SG_OK;
}

/* ---- storefront.proto: the hooks its options declare, as a user writes them ---------------- */

sg_err shop__v1__storefront__blend_merge(sg_merge_ctx *ctx, const Shop__V1__ProductRequest *request,
                                         const sg_leg_result *legs, size_t n_legs,
                                         Shop__V1__ProductPage *out)
{
	(void)ctx;
	(void)request;
	(void)legs;
	(void)n_legs;
	out->parts_ok = 42;
	return SG_OK;
}

sg_err shop__v1__storefront__find_smart_merge(sg_merge_ctx *ctx,
                                              const Shop__V1__FindRequest *request,
                                              const sg_leg_result *legs, size_t n_legs,
                                              Shop__V1__FindResponse *out)
{
	(void)ctx;
	out->total = n_legs + request->k;
	out->shards_ok = legs != NULL;
	return SG_OK;
}

bool shop__v1__storefront__find_smart_quality(const Shop__V1__FindRequest *request,
                                              const sg_leg_result *legs, size_t n_legs)
{
	(void)legs;
	return n_legs >= request->k;
}

/* A composed method: legs with their groups, paths, descriptors, field maps, into fields,
 * optional flags and deadlines. */
static void test_storefront_compose(void **state)
{
	const sg_method_desc *m = &shop__v1__storefront__page__fanout;
	const sg_leg_desc *l;

	(void)state;
	assert_null(m->group);
	assert_null(m->backend_path);
	assert_int_equal(m->n_legs, 3);
	assert_int_equal(m->deadline_ms, 200);
	assert_int_equal(m->gather.kind, SG_GATHER_BEST_EFFORT);
	assert_int_equal(m->gather.soft_ms, 120);
	assert_int_equal(m->merge.kind, SG_MERGE_COMPOSE);
	assert_string_equal(tt_field(m->response, m->partial.ok_field), "parts_ok");
	assert_string_equal(tt_field(m->response, m->partial.failed_field), "parts_failed");

	l = &m->legs[0];
	assert_string_equal(l->name, "product");
	assert_string_equal(l->group, "products");
	assert_string_equal(l->path, "/shop.v1.Products/Get");
	assert_ptr_equal(l->request, &shop__v1__get_product_request__descriptor);
	assert_ptr_equal(l->response, &shop__v1__product__descriptor);
	assert_int_equal(l->n_map, 1);
	assert_string_equal(tt_field(m->request, l->map[0].from), "product_id");
	assert_string_equal(tt_field(l->request, l->map[0].to), "id");
	assert_string_equal(tt_field(m->response, l->into), "product");
	assert_false(l->optional);
	assert_int_equal(l->deadline_ms, 0);

	l = &m->legs[1];
	assert_string_equal(l->name, "reviews");
	assert_int_equal(l->n_map, 2);
	assert_string_equal(tt_field(m->request, l->map[1].from), "review_limit");
	assert_string_equal(tt_field(l->request, l->map[1].to), "limit");
	assert_string_equal(tt_field(m->response, l->into), "reviews");
	assert_true(l->optional);
	assert_int_equal(l->deadline_ms, 100);

	l = &m->legs[2];
	assert_string_equal(l->name, "viewer");
	assert_string_equal(tt_field(m->response, l->into), "viewer");
	assert_ptr_equal(l->response, &shop__v1__user__descriptor);
	assert_true(l->optional);
}

/* The trampolines reach the user's typed hooks with the generic types cast back. */
static void test_storefront_hooks(void **state)
{
	const sg_method_desc *blend = &shop__v1__storefront__blend__fanout;
	const sg_method_desc *smart = &shop__v1__storefront__find_smart__fanout;
	Shop__V1__ProductRequest preq = SHOP__V1__PRODUCT_REQUEST__INIT;
	Shop__V1__ProductPage page = SHOP__V1__PRODUCT_PAGE__INIT;
	Shop__V1__FindRequest freq = SHOP__V1__FIND_REQUEST__INIT;
	Shop__V1__FindResponse fresp = SHOP__V1__FIND_RESPONSE__INIT;
	sg_leg_result legs[2] = {{.name = "product", .status = GRPC_STATUS_OK},
	                         {.name = "viewer", .status = GRPC_STATUS_UNAVAILABLE}};

	(void)state;
	assert_int_equal(blend->merge.kind, SG_MERGE_CUSTOM);
	assert_int_equal(blend->n_legs, 2);
	assert_int_equal(blend->legs[0].into, 0); /* custom: no into */
	assert_true(blend->legs[1].optional);
	assert_non_null(blend->merge.custom);
	assert_int_equal(blend->merge.custom(NULL, &preq.base, legs, 2, &page.base), SG_OK);
	assert_int_equal(page.parts_ok, 42);

	assert_int_equal(smart->merge.kind, SG_MERGE_CUSTOM);
	assert_int_equal(smart->gather.kind, SG_GATHER_QUALITY);
	assert_non_null(smart->gather.predicate);
	freq.k = 2;
	assert_false(smart->gather.predicate(&freq.base, legs, 1));
	assert_true(smart->gather.predicate(&freq.base, legs, 2));
	assert_int_equal(smart->merge.custom(NULL, &freq.base, legs, 2, &fresp.base), SG_OK);
	assert_int_equal(fresp.total, 4);
	assert_int_equal(fresp.shards_ok, 1);
}

/* The homogeneous gathers and merges: their numbers and field numbers. */
static void test_storefront_gathers_merges(void **state)
{
	const sg_method_desc *first = &shop__v1__storefront__find_first__fanout;
	const sg_method_desc *agreed = &shop__v1__storefront__find_agreed__fanout;
	const sg_method_desc *fast = &shop__v1__storefront__find_fast__fanout;
	const sg_method_desc *good = &shop__v1__storefront__find_good__fanout;
	const sg_method_desc *count = &shop__v1__storefront__count__fanout;
	const sg_method_desc *dedup = &shop__v1__storefront__dedup__fanout;
	const ProtobufCMessageDescriptor *hit = &shop__v1__hit__descriptor;

	(void)state;
	assert_int_equal(first->gather.kind, SG_GATHER_FIRST_N);
	assert_int_equal(first->gather.n, 2);
	assert_int_equal(first->group_size, 3);
	assert_int_equal(first->n_legs, 0);
	assert_int_equal(first->merge.kind, SG_MERGE_TOP_K);

	assert_int_equal(agreed->gather.kind, SG_GATHER_QUORUM);
	assert_string_equal(tt_field(agreed->response, agreed->gather.key_field), "index_version");
	assert_int_equal(agreed->merge.kind, SG_MERGE_NONE);

	assert_int_equal(fast->gather.kind, SG_GATHER_BEST_EFFORT);
	assert_int_equal(fast->gather.soft_ms, 50);
	assert_int_equal(fast->deadline_ms, 300);

	assert_int_equal(good->gather.kind, SG_GATHER_QUALITY);
	assert_string_equal(tt_field(good->response, good->gather.field), "hits");
	assert_string_equal(tt_field(hit, good->gather.by), "score");
	assert_int_equal(good->gather.min_count, 5);
	assert_true(good->gather.min_score == 0.75);
	assert_null(good->gather.predicate);

	assert_int_equal(count->merge.kind, SG_MERGE_REDUCE);
	assert_int_equal(count->merge.n_reduce, 4);
	assert_string_equal(tt_field(count->response, count->merge.reduce[0].field), "total");
	assert_int_equal(count->merge.reduce[0].op, SG_REDUCE_SUM);
	assert_string_equal(tt_field(count->response, count->merge.reduce[1].field), "best_score");
	assert_int_equal(count->merge.reduce[1].op, SG_REDUCE_MAX);
	assert_int_equal(count->merge.reduce[2].op, SG_REDUCE_FIRST);
	assert_string_equal(tt_field(count->response, count->merge.reduce[3].field), "truncated");
	assert_int_equal(count->merge.reduce[3].op, SG_REDUCE_LAST);

	assert_int_equal(dedup->merge.kind, SG_MERGE_UNION);
	assert_int_equal(dedup->merge.n_fields, 1);
	assert_string_equal(tt_field(dedup->response, dedup->merge.fields[0]), "hits");
	assert_string_equal(tt_field(hit, dedup->merge.key_field), "id");
	assert_string_equal(tt_field(hit, dedup->merge.score_field), "score");
	assert_int_equal(dedup->merge.order, SG_ORDER_DESC);
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
	assert_int_equal(shop__v1__storefront__register(s), SG_OK);
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
	        cmocka_unit_test(test_storefront_compose),
	        cmocka_unit_test(test_storefront_hooks),
	        cmocka_unit_test(test_storefront_gathers_merges),
	        cmocka_unit_test(test_runtime_accepts_tables),
	        cmocka_unit_test(test_wrappers_check_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
