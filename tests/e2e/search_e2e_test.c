/*
 * search_e2e_test.c: the example sharded search end to end. Real search-shard and
 * search-aggregator processes on 127.0.0.1 with OS-chosen ports, real gRPC through the
 * generated C client stubs, and the faults a fan-out must survive: a dead shard, a shard slower
 * than the deadline, a malformed request, every shard down.
 *
 *   search_e2e_test <path of search-shard> <path of search-aggregator>
 *
 * Every process a test starts is stopped by its teardown (and dies with the test if it
 * crashes: see proc.h), and must exit 0 on SIGTERM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "proc.h"
#include "search.scatter.h"

#define MAX_SHARDS         8
#define READY_TIMEOUT_MS   15000 /* process start under ASan on a busy 2-core machine */
#define STOP_TIMEOUT_MS    10000
#define CALL_TIMEOUT_MS    5000
#define METHOD_DEADLINE_MS 1000 /* search.proto: Search.Query deadline_ms */

static const char *shard_bin;
static const char *aggregator_bin;

/* What a test runs against: n shards with these simulated latencies, one aggregator over all
 * of them, and a client connected to the aggregator. */
typedef struct cluster_spec {
	size_t n_shards;
	uint32_t latency_ms[MAX_SHARDS];
} cluster_spec;

typedef struct cluster {
	const cluster_spec *spec;
	proc shards[MAX_SHARDS];
	proc aggregator;
	sg_client *client;
} cluster;

/* ---- helpers ------------------------------------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Starts shard `id` with a simulated latency; 0 or -1 as proc_start. */
static int shard_start(proc *p, uint32_t id, uint32_t latency_ms)
{
	char id_s[16], lat_s[16];
	char *argv[] = {(char *)shard_bin, "--shard-id", id_s, "--latency-ms", lat_s, NULL};

	snprintf(id_s, sizeof(id_s), "%u", id);
	snprintf(lat_s, sizeof(lat_s), "%u", latency_ms);
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

/* Starts an aggregator over the shards' addresses (live or not). */
static int aggregator_start(cluster *c)
{
	char targets[MAX_SHARDS * 72] = "";
	char *argv[] = {(char *)aggregator_bin, "--shards", targets, NULL};

	for (size_t i = 0; i < c->spec->n_shards; i++) {
		if (i > 0)
			strcat(targets, ",");
		strcat(targets, c->shards[i].addr);
	}
	return proc_start(&c->aggregator, argv, READY_TIMEOUT_MS);
}

/* Stops everything still running; -1 if any process did not exit 0 on SIGTERM (a crash or a
 * leak report under ASan at shutdown). */
static int cluster_stop(cluster *c)
{
	int rc = 0;

	sg_client_close(c->client);
	c->client = NULL;
	if (c->aggregator.pid > 0 && !proc_exited_ok(proc_stop(&c->aggregator, STOP_TIMEOUT_MS))) {
		fprintf(stderr, "search-aggregator did not exit cleanly\n");
		rc = -1;
	}
	for (size_t i = 0; i < c->spec->n_shards; i++) {
		if (c->shards[i].pid > 0 &&
		    !proc_exited_ok(proc_stop(&c->shards[i], STOP_TIMEOUT_MS))) {
			fprintf(stderr, "search-shard %zu did not exit cleanly\n", i);
			rc = -1;
		}
	}
	return rc;
}

/* cmocka setup: *state holds a cluster_spec on entry and a running cluster on success. */
static int cluster_setup(void **state)
{
	cluster *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->spec = *state;
	for (size_t i = 0; i < c->spec->n_shards; i++) {
		if (shard_start(&c->shards[i], (uint32_t)i, c->spec->latency_ms[i]) != 0)
			goto fail;
	}
	if (aggregator_start(c) != 0 || sg_client_open(c->aggregator.addr, &c->client) != SG_OK)
		goto fail;
	*state = c;
	return 0;
fail:
	cluster_stop(c);
	free(c);
	return -1;
}

static int cluster_teardown(void **state)
{
	cluster *c = *state;
	int rc = cluster_stop(c);

	free(c);
	return rc;
}

/* Search.Query on the aggregator; the caller frees *resp (if set) and finalises *res. */
static sg_err query(cluster *c, const char *q, uint32_t k, uint32_t timeout_ms,
                    Search__SearchResponse **resp, sg_call_result *res)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;

	req.query = (char *)q;
	req.k = k;
	*resp = NULL;
	memset(res, 0, sizeof(*res));
	return search__search__query_call(c->client, &req, timeout_ms, resp, res);
}

/* Asserts the scatter-legs trailer says total/ok/failed. */
static void assert_legs_summary(const sg_call_result *res, uint32_t total, uint32_t ok,
                                uint32_t failed, uint32_t cut)
{
	const char *v = sg_call_result_trailer(res, SG_TRAILER_SUMMARY);
	sg_legs_summary s;

	assert_non_null(v);
	assert_int_equal(sg_legs_summary_parse(v, &s), SG_OK);
	assert_int_equal(s.total, total);
	assert_int_equal(s.ok, ok);
	assert_int_equal(s.failed, failed);
	assert_int_equal(s.cut, cut);
}

/* The scatter-leg trailer of leg `index`; asserts there is exactly one and that it names
 * target. */
static sg_leg_outcome leg_outcome(const sg_call_result *res, uint32_t index, const char *target)
{
	sg_leg_outcome o, found = {0};
	int n = 0;

	for (size_t i = 0; i < res->n_trailers; i++) {
		if (strcmp(res->trailers[i].key, SG_TRAILER_LEG) != 0)
			continue;
		assert_int_equal(sg_leg_outcome_parse(res->trailers[i].value, &o), SG_OK);
		if (o.index == index) {
			found = o;
			n++;
		}
	}
	assert_int_equal(n, 1);
	assert_non_null(strstr(found.target, target));
	return found;
}

/* Number of scatter-leg trailers. */
static size_t leg_count(const sg_call_result *res)
{
	size_t n = 0;

	for (size_t i = 0; i < res->n_trailers; i++)
		n += strcmp(res->trailers[i].key, SG_TRAILER_LEG) == 0;
	return n;
}

/* Best first; equal scores keep the order they came in (leg order, then element order), the
 * tie rule top_k documents. */
typedef struct ranked_hit {
	const Search__Hit *hit;
	size_t seq;
} ranked_hit;

static int ranked_cmp(const void *a, const void *b)
{
	const ranked_hit *x = a, *y = b;

	if (x->hit->score != y->hit->score)
		return x->hit->score > y->hit->score ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- a healthy cluster: 4 shards with small latencies, shared by the group ------------------- */

static const cluster_spec healthy = {.n_shards = 4, .latency_ms = {0, 10, 20, 30}};

/* cmocka starts a group's state at NULL: hand cluster_setup its spec. */
static int healthy_setup(void **state)
{
	*state = (void *)&healthy;
	return cluster_setup(state);
}

/* The aggregate top 10 equals the top 10 merged here from each shard's own answer, and draws
 * from more than one shard; the shard header and the trailers count 4 answers. */
static void test_top_k_across_shards(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *agg, *direct[MAX_SHARDS];
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	ranked_hit all[MAX_SHARDS * 10];
	size_t n_all = 0;
	uint32_t shards_seen = 0;
	sg_call_result res;

	assert_int_equal(query(c, "distributed systems", 10, CALL_TIMEOUT_MS, &agg, &res), SG_OK);
	assert_int_equal(res.status, GRPC_STATUS_OK);
	assert_int_equal(agg->n_hits, 10);
	assert_int_equal(agg->shards_total, 4);
	assert_int_equal(agg->shards_ok, 4);
	assert_int_equal(agg->shards_failed, 0);
	assert_legs_summary(&res, 4, 4, 0, 0);
	assert_int_equal(leg_count(&res), 4);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(leg_outcome(&res, i, c->shards[i].addr).status, GRPC_STATUS_OK);

	/* The same query on each shard directly, merged here. */
	req.query = "distributed systems";
	req.k = 10;
	for (size_t i = 0; i < healthy.n_shards; i++) {
		sg_client *sc;

		assert_int_equal(sg_client_open(c->shards[i].addr, &sc), SG_OK);
		assert_int_equal(
		        search__shard__search_call(sc, &req, CALL_TIMEOUT_MS, &direct[i], NULL),
		        SG_OK);
		sg_client_close(sc);
		assert_int_equal(direct[i]->n_hits, 10);
		for (size_t j = 0; j < direct[i]->n_hits; j++) {
			all[n_all] = (ranked_hit){.hit = direct[i]->hits[j], .seq = n_all};
			n_all++;
		}
	}
	qsort(all, n_all, sizeof(all[0]), ranked_cmp);
	for (size_t i = 0; i < agg->n_hits; i++) {
		const Search__Hit *want = all[i].hit, *got = agg->hits[i];

		assert_string_equal(got->doc_id, want->doc_id);
		assert_true(got->score == want->score);
		assert_int_equal(got->shard, want->shard);
		assert_string_equal(got->title, want->title);
		shards_seen |= 1u << got->shard;
	}
	assert_true(__builtin_popcount(shards_seen) > 1);

	for (size_t i = 0; i < healthy.n_shards; i++)
		search__search_response__free_unpacked(direct[i], NULL);
	search__search_response__free_unpacked(agg, NULL);
	sg_call_result_fini(&res);
}

/* k comes from the request: 3 gives the best 3, 0 the method's default 10, and the option's
 * limit (10) caps a larger k. */
static void test_k_from_request(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *ten, *r;
	sg_call_result res;

	assert_int_equal(query(c, "gather", 10, CALL_TIMEOUT_MS, &ten, &res), SG_OK);
	sg_call_result_fini(&res);
	assert_int_equal(ten->n_hits, 10);

	assert_int_equal(query(c, "gather", 3, CALL_TIMEOUT_MS, &r, &res), SG_OK);
	assert_int_equal(r->n_hits, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(r->hits[i]->doc_id, ten->hits[i]->doc_id);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);

	assert_int_equal(query(c, "gather", 0, CALL_TIMEOUT_MS, &r, &res), SG_OK);
	assert_int_equal(r->n_hits, 10);
	for (size_t i = 0; i < 10; i++)
		assert_string_equal(r->hits[i]->doc_id, ten->hits[i]->doc_id);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);

	assert_int_equal(query(c, "gather", 50, CALL_TIMEOUT_MS, &r, &res), SG_OK);
	assert_int_equal(r->n_hits, 10);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);

	search__search_response__free_unpacked(ten, NULL);
}

/* Bytes that are not a SearchRequest get INVALID_ARGUMENT, and the server keeps serving. */
static void test_malformed_request(void **state)
{
	cluster *c = *state;
	static const uint8_t garbage[] = {0xff, 0xff, 0xff};
	Search__SearchResponse *r;
	sg_call_result res = {0};

	assert_int_equal(sg_client_call_bytes(c->client, "/search.Search/Query", garbage,
	                                      sizeof(garbage), CALL_TIMEOUT_MS, NULL, NULL, &res),
	                 SG_EGRPC);
	assert_int_equal(res.status, GRPC_STATUS_INVALID_ARGUMENT);
	sg_call_result_fini(&res);

	assert_int_equal(query(c, "still serving", 5, CALL_TIMEOUT_MS, &r, &res), SG_OK);
	assert_int_equal(res.status, GRPC_STATUS_OK);
	assert_int_equal(r->n_hits, 5);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- faults: each test gets its own cluster ---------------------------------------------- */

static const cluster_spec four_fast = {.n_shards = 4, .latency_ms = {0, 0, 0, 0}};
static const cluster_spec one_slow = {.n_shards = 4, .latency_ms = {0, 0, 0, 3000}};

/* A shard killed outright: the answer is OK but partial, from the live shards only, and says
 * which leg failed and how. */
static void test_killed_shard(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r;
	sg_call_result res;
	char dead[64];

	snprintf(dead, sizeof(dead), "%s", c->shards[2].addr);
	assert_int_not_equal(proc_kill(&c->shards[2]), -1);

	assert_int_equal(query(c, "partial", 10, CALL_TIMEOUT_MS, &r, &res), SG_OK);
	assert_int_equal(res.status, GRPC_STATUS_OK);
	assert_int_equal(r->n_hits, 10);
	for (size_t i = 0; i < r->n_hits; i++)
		assert_int_not_equal(r->hits[i]->shard, 2);
	assert_int_equal(r->shards_total, 4);
	assert_int_equal(r->shards_ok, 3);
	assert_int_equal(r->shards_failed, 1);
	assert_legs_summary(&res, 4, 3, 1, 0);
	assert_int_equal(leg_outcome(&res, 2, dead).status, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(leg_outcome(&res, 0, c->shards[0].addr).status, GRPC_STATUS_OK);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* A shard slower than the method's deadline: the answer comes at the deadline, not when the
 * slow shard would answer, OK but partial, and that leg is DEADLINE_EXCEEDED. */
static void test_slow_shard_deadline(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r;
	sg_call_result res;
	double t0 = now_ms(), elapsed;

	assert_int_equal(query(c, "slow", 10, CALL_TIMEOUT_MS, &r, &res), SG_OK);
	elapsed = now_ms() - t0;
	print_message("answer after %.0f ms (method deadline %d ms, slow shard 3000 ms)\n", elapsed,
	              METHOD_DEADLINE_MS);
	assert_true(elapsed >= METHOD_DEADLINE_MS - 50);
	assert_true(elapsed < 2000);
	assert_int_equal(res.status, GRPC_STATUS_OK);
	for (size_t i = 0; i < r->n_hits; i++)
		assert_int_not_equal(r->hits[i]->shard, 3);
	assert_int_equal(r->shards_ok, 3);
	assert_int_equal(r->shards_failed, 1);
	assert_legs_summary(&res, 4, 3, 1, 0);
	assert_int_equal(leg_outcome(&res, 3, c->shards[3].addr).status,
	                 GRPC_STATUS_DEADLINE_EXCEEDED);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* A caller whose own deadline is shorter than the method's still gets the partial answer in
 * time: each leg's deadline is the incoming one minus the margin. */
static void test_client_deadline_propagates(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r;
	sg_call_result res;
	double t0 = now_ms(), elapsed;

	/* SG_OK means gRPC saw the answer before the caller's deadline; the time measured here
	 * also holds the client's own work, so it only has to be well short of the method's. */
	assert_int_equal(query(c, "hurry", 10, 600, &r, &res), SG_OK);
	elapsed = now_ms() - t0;
	print_message("answer after %.0f ms (client deadline 600 ms)\n", elapsed);
	assert_true(elapsed < 900);
	assert_int_equal(r->shards_ok, 3);
	assert_int_equal(leg_outcome(&res, 3, c->shards[3].addr).status,
	                 GRPC_STATUS_DEADLINE_EXCEEDED);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* Every shard down: UNAVAILABLE, and the message names each leg. */
static void test_all_shards_down(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r;
	sg_call_result res;
	char dead[MAX_SHARDS][64];

	for (size_t i = 0; i < c->spec->n_shards; i++) {
		snprintf(dead[i], sizeof(dead[i]), "%s", c->shards[i].addr);
		assert_int_not_equal(proc_kill(&c->shards[i]), -1);
	}
	assert_int_equal(query(c, "nobody home", 10, CALL_TIMEOUT_MS, &r, &res), SG_EGRPC);
	assert_null(r);
	assert_int_equal(res.status, GRPC_STATUS_UNAVAILABLE);
	print_message("message: %s\n", res.message);
	for (size_t i = 0; i < c->spec->n_shards; i++)
		assert_non_null(strstr(res.message, dead[i]));
	assert_legs_summary(&res, 4, 0, 4, 0);
	sg_call_result_fini(&res);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest healthy_tests[] = {
	        cmocka_unit_test(test_top_k_across_shards),
	        cmocka_unit_test(test_k_from_request),
	        cmocka_unit_test(test_malformed_request),
	};
	const struct CMUnitTest fault_tests[] = {
	        cmocka_unit_test_prestate_setup_teardown(test_killed_shard, cluster_setup,
	                                                 cluster_teardown, (void *)&four_fast),
	        cmocka_unit_test_prestate_setup_teardown(test_slow_shard_deadline, cluster_setup,
	                                                 cluster_teardown, (void *)&one_slow),
	        cmocka_unit_test_prestate_setup_teardown(test_client_deadline_propagates,
	                                                 cluster_setup, cluster_teardown,
	                                                 (void *)&one_slow),
	        cmocka_unit_test_prestate_setup_teardown(test_all_shards_down, cluster_setup,
	                                                 cluster_teardown, (void *)&four_fast),
	};
	int failed = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SEARCH_SHARD SEARCH_AGGREGATOR\n", argv[0]);
		return 2;
	}
	shard_bin = argv[1];
	aggregator_bin = argv[2];
	failed += cmocka_run_group_tests_name("healthy cluster", healthy_tests, healthy_setup,
	                                      cluster_teardown);
	failed += cmocka_run_group_tests_name("faults", fault_tests, NULL, NULL);
	return failed;
}
