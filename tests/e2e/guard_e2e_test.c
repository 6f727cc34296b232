/*
 * guard_e2e_test.c: what an aggregator lets through, with real processes: the metadata
 * allow-list and the message size limits.
 *
 * Metadata: the shards run with --echo-metadata (every hit's title is the metadata the shard's
 * call came with, "key=value;..."); the client sends x-request-id, authorization and x-secret.
 * Only the keys the aggregator's config lists (forward_metadata) may reach a shard: none by
 * default, x-request-id alone, then authorization too; x-secret never.
 *
 * Limits (--max-recv-bytes, --max-send-bytes): a request over the limit is refused with
 * RESOURCE_EXHAUSTED; a shard's answer over it fails that leg (RESOURCE_EXHAUSTED in its
 * trailer) and the others are served; a merged answer over the send limit fails the call with
 * RESOURCE_EXHAUSTED and a reason, the trailers still there; the aggregator serves on after
 * each. The tests first check their own premise (the sizes the shards really answer).
 *
 *   guard_e2e_test <path of search-shard> <path of search-aggregator>
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "search.scatter.h"
#include "search_cluster.h"

#define CALL_TIMEOUT_MS 5000

static const char *shard_bin;
static const char *aggregator_bin;
static char dir[64];     /* a temporary directory for the aggregator's config file */
static char config[128]; /* its path */

static int cluster_setup(void **state)
{
	search_cluster *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->shard_bin = shard_bin;
	c->aggregator_bin = aggregator_bin;
	*state = c;
	return 0;
}

static int cluster_teardown(void **state)
{
	search_cluster *c = *state;
	int rc = sc_stop(c);

	free(c);
	return rc;
}

/* Calls Search.Query (or Search.QueryAll when all) on c with query q and k; returns the status
 * and fills *resp (freed by the caller, NULL unless OK) and res (finalised by the caller). */
static grpc_status_code call(sg_client *c, bool all, const char *q, uint32_t k,
                             Search__SearchResponse **resp, sg_call_result *res)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;

	req.query = (char *)q;
	req.k = k;
	*resp = NULL;
	memset(res, 0, sizeof(*res));
	if (all)
		(void)search__search__query_all_call(c, &req, CALL_TIMEOUT_MS, resp, res);
	else
		(void)search__search__query_call(c, &req, CALL_TIMEOUT_MS, resp, res);
	return res->status;
}

/* The packed size of shard p's own answer to (q, k). */
static size_t shard_answer_size(const proc *p, const char *q, uint32_t k)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *resp = NULL;
	sg_client *c = NULL;
	size_t n;

	req.query = (char *)q;
	req.k = k;
	assert_int_equal(sg_client_open(p->addr, &c), SG_OK);
	assert_int_equal(search__shard__search_call(c, &req, CALL_TIMEOUT_MS, &resp, NULL), SG_OK);
	n = search__search_response__get_packed_size(resp);
	search__search_response__free_unpacked(resp, NULL);
	sg_client_close(c);
	return n;
}

/* The status leg `index`'s trailer reports. */
static grpc_status_code leg_status(const sg_call_result *res, uint32_t index)
{
	sg_leg_outcome o;

	for (size_t i = 0; i < res->n_trailers; i++) {
		if (strcmp(res->trailers[i].key, SG_TRAILER_LEG) == 0 &&
		    sg_leg_outcome_parse(res->trailers[i].value, &o) == SG_OK && o.index == index)
			return o.status;
	}
	fail_msg("no trailer for leg %u", index);
	return GRPC_STATUS_UNKNOWN;
}

/* ---- metadata -------------------------------------------------------------------------- */

static const sg_metadata_entry client_md[] = {
        {.key = "x-request-id", .value = "req-42"},
        {.key = "authorization", .value = "Bearer s3cr3t"},
        {.key = "x-secret", .value = "do-not-leak"},
};

/* Starts an aggregator whose config forwards `forward` (a YAML list; NULL: no
 * forward_metadata key), queries it with the client's metadata and returns what the shards
 * saw: the first hit's title (malloc'd), after checking that every hit of every shard saw the
 * same. */
static char *shards_saw(search_cluster *c, const char *forward)
{
	const char *flags[] = {"--config", config, NULL};
	char top[128];
	Search__SearchResponse *resp;
	sg_client *client = NULL;
	sg_call_result res;
	char *seen;

	snprintf(top, sizeof(top), "forward_metadata: %s\n", forward != NULL ? forward : "");
	assert_int_equal(sc_write_config(c, config, forward != NULL ? top : NULL, NULL), 0);
	assert_int_equal(sc_start_aggregator(c, flags), 0);
	assert_int_equal(sg_client_open(c->aggregator.addr, &client), SG_OK);
	assert_int_equal(sg_client_set_metadata(client, client_md, 3), SG_OK);
	assert_int_equal(call(client, true, "md", 3, &resp, &res), GRPC_STATUS_OK);
	assert_int_equal(resp->n_hits, 6); /* 3 from each shard */
	seen = strdup(resp->hits[0]->title);
	for (size_t i = 0; i < resp->n_hits; i++)
		assert_string_equal(resp->hits[i]->title, seen);
	search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
	sg_client_close(client);
	assert_int_equal(sc_stop_aggregator(c), 0);
	return seen;
}

static void test_metadata_forwarded_only_when_listed(void **state)
{
	search_cluster *c = *state;
	const char *echo[] = {"--echo-metadata", NULL};
	char *seen;

	assert_int_equal(sc_start_shard(c, echo), 0);
	assert_int_equal(sc_start_shard(c, echo), 0);

	/* Default: nothing of the client's. */
	seen = shards_saw(c, NULL);
	assert_null(strstr(seen, "x-request-id"));
	assert_null(strstr(seen, "authorization"));
	assert_null(strstr(seen, "s3cr3t"));
	assert_null(strstr(seen, "x-secret"));
	free(seen);

	/* x-request-id only: authorization stays behind. */
	seen = shards_saw(c, "[x-request-id]");
	assert_non_null(strstr(seen, "x-request-id=req-42"));
	assert_null(strstr(seen, "authorization"));
	assert_null(strstr(seen, "s3cr3t"));
	assert_null(strstr(seen, "x-secret"));
	free(seen);

	/* Listed: authorization reaches the shards, with its value; x-secret still does not. */
	seen = shards_saw(c, "[authorization, x-request-id]");
	assert_non_null(strstr(seen, "x-request-id=req-42"));
	assert_non_null(strstr(seen, "authorization=Bearer s3cr3t"));
	assert_null(strstr(seen, "x-secret"));
	assert_null(strstr(seen, "do-not-leak"));
	free(seen);
}

/* A key gRPC owns, or not lower case, is refused: the aggregator does not start. */
static void test_metadata_reserved_keys_refused(void **state)
{
	sg_server *s = NULL;
	const char *bad[][1] = {{"grpc-timeout"}, {"Authorization"}, {"content-type"}, {""}};
	const char *good[] = {"authorization", "x-request-id", "trace-bin"};

	(void)state;
	assert_int_equal(sg_server_alloc(NULL, &s), SG_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sg_server_set_forward_metadata(s, bad[i], 1), SG_EINVAL);
	assert_int_equal(sg_server_set_forward_metadata(s, good, 3), SG_OK);
	assert_int_equal(sg_server_set_message_limits(s, (size_t)INT32_MAX + 1, 0), SG_EINVAL);
	sg_server_free(s);
}

/* ---- limits ---------------------------------------------------------------------------- */

#define RECV_LIMIT 8192
#define SEND_LIMIT 12000

/* A request over --max-recv-bytes: RESOURCE_EXHAUSTED, no leg started; one under it is
 * served. */
static void test_request_over_limit(void **state)
{
	search_cluster *c = *state;
	const char *agg[] = {"--max-recv-bytes", "8192", NULL};
	char *big = malloc(RECV_LIMIT + 1);
	Search__SearchResponse *resp;
	sg_client *client = NULL;
	sg_call_result res;

	assert_non_null(big);
	memset(big, 'q', RECV_LIMIT);
	big[RECV_LIMIT] = '\0';
	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_aggregator(c, agg), 0);
	assert_int_equal(sg_client_open(c->aggregator.addr, &client), SG_OK);
	assert_int_equal(call(client, false, big, 5, &resp, &res), GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_null(resp);
	sg_call_result_fini(&res);
	big[RECV_LIMIT / 2] = '\0';
	assert_int_equal(call(client, false, big, 5, &resp, &res), GRPC_STATUS_OK);
	assert_int_equal(resp->shards_ok, 2);
	search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
	sg_client_close(client);
	free(big);
}

/* Shard 0 answers more than --max-recv-bytes, shard 1 less: leg 0 fails RESOURCE_EXHAUSTED,
 * leg 1's hits are served (QueryAll: all of them). */
static void test_backend_answer_over_limit(void **state)
{
	search_cluster *c = *state;
	const char *many[] = {"--hits", "1000", NULL};
	const char *agg[] = {"--max-recv-bytes", "8192", NULL};
	Search__SearchResponse *resp;
	sg_client *client = NULL;
	sg_call_result res;

	assert_int_equal(sc_start_shard(c, many), 0);
	assert_int_equal(sc_start_shard(c, NULL), 0); /* 20 hits */
	assert_true(shard_answer_size(&c->shards[0], "big", 1000) > RECV_LIMIT);
	assert_true(shard_answer_size(&c->shards[1], "big", 1000) < RECV_LIMIT);
	assert_int_equal(sc_start_aggregator(c, agg), 0);
	assert_int_equal(sg_client_open(c->aggregator.addr, &client), SG_OK);
	assert_int_equal(call(client, true, "big", 1000, &resp, &res), GRPC_STATUS_OK);
	assert_int_equal(leg_status(&res, 0), GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_int_equal(leg_status(&res, 1), GRPC_STATUS_OK);
	assert_int_equal(resp->shards_ok, 1);
	assert_int_equal(resp->shards_failed, 1);
	assert_int_equal(resp->n_hits, 20);
	for (size_t i = 0; i < resp->n_hits; i++)
		assert_int_equal(resp->hits[i]->shard, 1);
	search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
	sg_client_close(client);
}

/* Each shard's answer fits, their concatenation does not fit --max-send-bytes: the call fails
 * RESOURCE_EXHAUSTED saying so, with both legs OK in the trailers; a small answer is still
 * served. */
static void test_merged_answer_over_limit(void **state)
{
	search_cluster *c = *state;
	const char *hits[] = {"--hits", "200", NULL};
	const char *agg[] = {"--max-send-bytes", "12000", NULL};
	Search__SearchResponse *resp;
	sg_client *client = NULL;
	sg_call_result res;
	size_t a, b;

	assert_int_equal(sc_start_shard(c, hits), 0);
	assert_int_equal(sc_start_shard(c, hits), 0);
	a = shard_answer_size(&c->shards[0], "merged", 200);
	b = shard_answer_size(&c->shards[1], "merged", 200);
	assert_true(a < SEND_LIMIT && b < SEND_LIMIT && a + b > SEND_LIMIT);
	assert_int_equal(sc_start_aggregator(c, agg), 0);
	assert_int_equal(sg_client_open(c->aggregator.addr, &client), SG_OK);
	assert_int_equal(call(client, true, "merged", 200, &resp, &res),
	                 GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_null(resp);
	assert_non_null(strstr(res.message, "exceeds the limit of 12000 bytes"));
	assert_int_equal(leg_status(&res, 0), GRPC_STATUS_OK);
	assert_int_equal(leg_status(&res, 1), GRPC_STATUS_OK);
	sg_call_result_fini(&res);
	assert_int_equal(call(client, true, "merged", 10, &resp, &res), GRPC_STATUS_OK);
	assert_int_equal(resp->n_hits, 20);
	search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
	sg_client_close(client);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_metadata_forwarded_only_when_listed,
	                                        cluster_setup, cluster_teardown),
	        cmocka_unit_test(test_metadata_reserved_keys_refused),
	        cmocka_unit_test_setup_teardown(test_request_over_limit, cluster_setup,
	                                        cluster_teardown),
	        cmocka_unit_test_setup_teardown(test_backend_answer_over_limit, cluster_setup,
	                                        cluster_teardown),
	        cmocka_unit_test_setup_teardown(test_merged_answer_over_limit, cluster_setup,
	                                        cluster_teardown),
	};

	int failed;

	if (argc != 3) {
		fprintf(stderr, "usage: %s <search-shard> <search-aggregator>\n", argv[0]);
		return 2;
	}
	shard_bin = argv[1];
	aggregator_bin = argv[2];
	snprintf(dir, sizeof(dir), "/tmp/scatter-guard-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(config, sizeof(config), "%s/aggregator.yaml", dir);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(config);
	rmdir(dir);
	return failed;
}
