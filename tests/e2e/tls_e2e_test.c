/*
 * tls_e2e_test.c: TLS and mutual TLS on both sides of the aggregator, with real processes.
 *
 * The certificates are made at run time with the openssl command in a temporary directory
 * (removed at the end): a CA, a server certificate for 127.0.0.1 and localhost, a client
 * certificate from the same CA, and a "rogue" client certificate from another CA. The tests:
 *   - files that cannot be read or are not what they should be are refused when configured,
 *     with the error the API documents (not at bind time, not as a lame channel);
 *   - a TLS client reaches a TLS aggregator; a plaintext client cannot;
 *   - an aggregator requiring client certificates refuses a client without one and one whose
 *     certificate another CA signed, before any handler runs, and serves a valid one;
 *   - an aggregator reaches TLS shards that require client certificates with its own;
 *   - an aggregator calling a TLS shard in plaintext fails that leg cleanly (UNAVAILABLE in
 *     the trailer, the other leg's answer kept, long before the deadline, no crash);
 *   - a TLS client to a plaintext server fails cleanly.
 *
 *   tls_e2e_test <path of search-shard> <path of search-aggregator>
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "scatter/stats.pb-c.h"
#include "search.scatter.h"
#include "search_cluster.h"

#define CALL_TIMEOUT_MS 5000
/* A failed handshake must end the call long before its own timeout: no hang. */
#define FAIL_FAST_MS 4000
/* search.proto: Search.Query's deadline; a failed leg must not wait for it. */
#define METHOD_DEADLINE_MS 1000

static const char *shard_bin;
static const char *aggregator_bin;
static char dir[64];        /* the certificates' (and the config's) temporary directory */
static char files[12][128]; /* F_COUNT of them */

/* Paths in dir, filled by certs_make. */
enum {
	F_CA,
	F_SERVER_CERT,
	F_SERVER_KEY,
	F_CLIENT_CERT,
	F_CLIENT_KEY,
	F_ROGUE_CERT,
	F_ROGUE_KEY,
	F_GARBAGE,
	F_MISSING,
	F_CONFIG,
	F_COUNT,
};

_Static_assert(F_COUNT <= sizeof(files) / sizeof(files[0]), "files[] too small");

static const char *file_names[F_COUNT] = {
        "ca.pem",    "server.pem", "server.key",  "client.pem",  "client.key",
        "rogue.pem", "rogue.key",  "garbage.pem", "missing.pem", "aggregator.yaml",
};

#define P(f) (files[f])

/* ---- certificates ---------------------------------------------------------------------- */

/* A CA, a server certificate (127.0.0.1, localhost), a client certificate, and a rogue client
 * signed by another CA: EC P-256, valid for two days. */
static int certs_make(void)
{
	char cmd[4096];
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/scatter-tls-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	for (int i = 0; i < F_COUNT; i++)
		snprintf(files[i], sizeof(files[i]), "%s/%s", dir, file_names[i]);
	/* openssl's chatter goes to a log, shown only when it fails. */
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && ( set -e\n"
	         "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
	         "ca() { openssl req -x509 $ec -keyout $1.key -out $1.pem -days 2 -subj /CN=$1; }\n"
	         "leaf() { openssl req $ec -keyout $1.key -out $1.csr -subj /CN=$1\n"
	         "  printf 'subjectAltName=%%s\\nextendedKeyUsage=%%s\\n' \"$3\" \"$4\" > $1.ext\n"
	         "  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial"
	         " -out $1.pem -days 2 -extfile $1.ext; }\n"
	         "ca ca; ca otherca\n"
	         "leaf server ca IP:127.0.0.1,DNS:localhost serverAuth\n"
	         "leaf client ca DNS:client clientAuth\n"
	         "leaf rogue otherca DNS:rogue clientAuth\n"
	         "echo 'not a certificate' > garbage.pem\n"
	         ") > openssl.log 2>&1 || { cat openssl.log >&2; exit 1; }",
	         dir);
	if ((rc = system(cmd)) != 0) {
		fprintf(stderr, "making the certificates with openssl failed (%d)\n", rc);
		return -1;
	}
	return 0;
}

static void certs_remove(void)
{
	char cmd[128];

	if (dir[0] == '\0' || strncmp(dir, "/tmp/scatter-tls-", 17) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

/* ---- helpers --------------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

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

static const sg_tls_opts *tls_opts(sg_tls_opts *o, const char *ca, const char *cert,
                                   const char *key)
{
	*o = (sg_tls_opts){.ca_file = ca, .cert_file = cert, .key_file = key};
	return o;
}

/* Search.Query "tls" on target (p's address) through client c; returns the status, fills res
 * (finalised by the caller) and *took_ms. */
static grpc_status_code query(sg_client *c, Search__SearchResponse **resp, sg_call_result *res,
                              double *took_ms)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	double t0 = now_ms();

	req.query = "tls";
	req.k = 5;
	*resp = NULL;
	memset(res, 0, sizeof(*res));
	(void)search__search__query_call(c, &req, CALL_TIMEOUT_MS, resp, res);
	*took_ms = now_ms() - t0;
	return res->status;
}

/* Asserts a Query through c answers OK with every one of n_legs legs OK. */
static void assert_query_ok(sg_client *c, uint32_t n_legs)
{
	Search__SearchResponse *resp;
	sg_call_result res;
	double took;

	assert_int_equal(query(c, &resp, &res, &took), GRPC_STATUS_OK);
	assert_non_null(resp);
	assert_int_equal(resp->shards_ok, n_legs);
	assert_int_equal(resp->n_hits, 5);
	search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
}

/* Asserts a Query through c fails with UNAVAILABLE, fast (a refused or failed handshake). */
static void assert_query_refused(sg_client *c)
{
	Search__SearchResponse *resp;
	sg_call_result res;
	double took;

	assert_int_equal(query(c, &resp, &res, &took), GRPC_STATUS_UNAVAILABLE);
	assert_null(resp);
	assert_true(took < FAIL_FAST_MS);
	sg_call_result_fini(&res);
}

/* calls_started of the server behind c (its /scatter.Stats/Get). */
static uint64_t calls_started(sg_client *c)
{
	Scatter__StatsRequest req = SCATTER__STATS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	uint64_t n;

	assert_int_equal(sg_client_call(c, "/scatter.Stats/Get", &req.base,
	                                &scatter__server_stats__descriptor, CALL_TIMEOUT_MS, &m,
	                                NULL),
	                 SG_OK);
	n = ((Scatter__ServerStats *)m)->calls_started;
	protobuf_c_message_free_unpacked(m, NULL);
	return n;
}

/* The shards' or aggregator's listening TLS flags: server cert and key, and with ca client
 * verification; require adds --tls-require-client-cert (which the aggregator, like its config
 * file's tls.require_client_cert, takes as "true"). */
static const char **listen_flags(const char **argv, bool ca, bool require, bool aggregator)
{
	size_t n = 0;

	argv[n++] = "--tls-cert";
	argv[n++] = P(F_SERVER_CERT);
	argv[n++] = "--tls-key";
	argv[n++] = P(F_SERVER_KEY);
	if (ca) {
		argv[n++] = "--tls-ca";
		argv[n++] = P(F_CA);
	}
	if (require)
		argv[n++] = "--tls-require-client-cert";
	if (require && aggregator)
		argv[n++] = "true";
	argv[n] = NULL;
	return argv;
}

/* ---- tests ----------------------------------------------------------------------------- */

/* Unreadable or invalid files are refused when configured, each with its documented error. */
static void test_bad_files_refused_at_configuration(void **state)
{
	sg_server *s = NULL;
	sg_client *c = NULL;
	sg_tls_opts o;
	const char *target[] = {"127.0.0.1:1"};

	(void)state;
	assert_int_equal(sg_server_alloc(NULL, &s), SG_OK);
	/* listening */
	assert_int_equal(
	        sg_server_set_listen_tls(s, tls_opts(&o, NULL, P(F_MISSING), P(F_SERVER_KEY))),
	        SG_ESYS);
	assert_int_equal(
	        sg_server_set_listen_tls(s, tls_opts(&o, NULL, P(F_GARBAGE), P(F_SERVER_KEY))),
	        SG_ECONFIG);
	/* a key that is not the certificate's */
	assert_int_equal(
	        sg_server_set_listen_tls(s, tls_opts(&o, NULL, P(F_SERVER_CERT), P(F_CLIENT_KEY))),
	        SG_ECONFIG);
	assert_int_equal(sg_server_set_listen_tls(
	                         s, tls_opts(&o, P(F_GARBAGE), P(F_SERVER_CERT), P(F_SERVER_KEY))),
	                 SG_ECONFIG);
	assert_int_equal(sg_server_set_listen_tls(s, tls_opts(&o, NULL, NULL, NULL)), SG_EINVAL);
	tls_opts(&o, NULL, P(F_SERVER_CERT), P(F_SERVER_KEY));
	o.require_client_cert = true; /* mTLS without a CA to verify with */
	assert_int_equal(sg_server_set_listen_tls(s, &o), SG_EINVAL);
	assert_int_equal(sg_server_set_listen_tls(
	                         s, tls_opts(&o, P(F_CA), P(F_SERVER_CERT), P(F_SERVER_KEY))),
	                 SG_OK);
	/* backends */
	assert_int_equal(sg_server_set_group_tls(s, "shards", tls_opts(&o, P(F_CA), NULL, NULL)),
	                 SG_ENOENT);
	assert_int_equal(sg_server_set_group(s, "shards", target, 1), SG_OK);
	assert_int_equal(
	        sg_server_set_group_tls(s, "shards", tls_opts(&o, P(F_MISSING), NULL, NULL)),
	        SG_ESYS);
	assert_int_equal(
	        sg_server_set_group_tls(s, "shards", tls_opts(&o, P(F_CA), P(F_CLIENT_CERT), NULL)),
	        SG_EINVAL);
	assert_int_equal(
	        sg_server_set_group_tls(s, "shards",
	                                tls_opts(&o, P(F_CA), P(F_CLIENT_CERT), P(F_ROGUE_KEY))),
	        SG_ECONFIG);
	assert_int_equal(
	        sg_server_set_group_tls(s, "shards",
	                                tls_opts(&o, P(F_CA), P(F_CLIENT_CERT), P(F_CLIENT_KEY))),
	        SG_OK);
	sg_server_free(s);
	/* the client */
	assert_int_equal(
	        sg_client_open_tls("127.0.0.1:1", tls_opts(&o, P(F_GARBAGE), NULL, NULL), &c),
	        SG_ECONFIG);
	assert_int_equal(
	        sg_client_open_tls("127.0.0.1:1", tls_opts(&o, P(F_MISSING), NULL, NULL), &c),
	        SG_ESYS);
	assert_null(c);
}

/* Plaintext shards, a TLS aggregator: a TLS client verifying it with the CA is served; a
 * plaintext client is not. */
static void test_tls_client_to_tls_aggregator(void **state)
{
	search_cluster *c = *state;
	const char *agg[10];
	sg_client *tls = NULL, *plain = NULL;
	char uri[96];
	sg_tls_opts o;

	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_aggregator(c, listen_flags(agg, false, false, true)), 0);
	assert_int_equal(
	        sg_client_open_tls(c->aggregator.addr, tls_opts(&o, P(F_CA), NULL, NULL), &tls),
	        SG_OK);
	assert_query_ok(tls, 2);
	sg_client_close(tls);
	/* The same through an ipv4: URI: the name checked is still the address. */
	snprintf(uri, sizeof(uri), "ipv4:%s", c->aggregator.addr);
	assert_int_equal(sg_client_open_tls(uri, tls_opts(&o, P(F_CA), NULL, NULL), &tls), SG_OK);
	assert_query_ok(tls, 2);
	sg_client_close(tls);
	assert_int_equal(sg_client_open(c->aggregator.addr, &plain), SG_OK);
	assert_query_refused(plain);
	sg_client_close(plain);
}

/* An aggregator requiring client certificates: no certificate, or one from another CA, is
 * refused before any handler runs (its call counter does not move); the CA's client is
 * served. */
static void test_mtls_refuses_unverified_clients(void **state)
{
	search_cluster *c = *state;
	const char *agg[10];
	sg_client *good = NULL, *none = NULL, *rogue = NULL;
	sg_tls_opts o;
	uint64_t before;

	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_aggregator(c, listen_flags(agg, true, true, true)), 0);
	assert_int_equal(
	        sg_client_open_tls(c->aggregator.addr,
	                           tls_opts(&o, P(F_CA), P(F_CLIENT_CERT), P(F_CLIENT_KEY)), &good),
	        SG_OK);
	assert_int_equal(
	        sg_client_open_tls(c->aggregator.addr, tls_opts(&o, P(F_CA), NULL, NULL), &none),
	        SG_OK);
	assert_int_equal(sg_client_open_tls(c->aggregator.addr,
	                                    tls_opts(&o, P(F_CA), P(F_ROGUE_CERT), P(F_ROGUE_KEY)),
	                                    &rogue),
	                 SG_OK);
	assert_query_ok(good, 2);
	before = calls_started(good);
	assert_query_refused(none);
	assert_query_refused(rogue);
	/* Reading the counters moves none of them: the refused calls never started. */
	assert_int_equal(calls_started(good), before);
	assert_query_ok(good, 2);
	sg_client_close(rogue);
	sg_client_close(none);
	sg_client_close(good);
}

/* TLS shards requiring client certificates: the aggregator calls them with the CA and its
 * client certificate; a plaintext client of the aggregator sees every leg OK. */
static void test_aggregator_to_mtls_shards(void **state)
{
	search_cluster *c = *state;
	const char *shard[10];
	const char *agg[] = {"--config", P(F_CONFIG), NULL};
	sg_client *client = NULL;
	char group[600];

	assert_int_equal(sc_start_shard(c, listen_flags(shard, true, true, false)), 0);
	assert_int_equal(sc_start_shard(c, listen_flags(shard, true, true, false)), 0);
	snprintf(group, sizeof(group), "    tls: {ca: %s, cert: %s, key: %s}\n", P(F_CA),
	         P(F_CLIENT_CERT), P(F_CLIENT_KEY));
	assert_int_equal(sc_write_config(c, P(F_CONFIG), NULL, group), 0);
	assert_int_equal(sc_start_aggregator(c, agg), 0);
	assert_int_equal(sg_client_open(c->aggregator.addr, &client), SG_OK);
	assert_query_ok(client, 2);
	sg_client_close(client);
}

/* The leg trailer (scatter-leg) of leg index. */
static sg_leg_outcome leg_of(const sg_call_result *res, uint32_t index)
{
	sg_leg_outcome o, found = {.index = UINT32_MAX};

	for (size_t i = 0; i < res->n_trailers; i++) {
		if (strcmp(res->trailers[i].key, SG_TRAILER_LEG) == 0 &&
		    sg_leg_outcome_parse(res->trailers[i].value, &o) == SG_OK && o.index == index)
			found = o;
	}
	assert_int_equal(found.index, index);
	return found;
}

/* Shard 0 serves TLS, shard 1 plaintext; the aggregator calls both in plaintext (and, in a
 * second run, with TLS but without the client certificate shard 0 requires). Leg 0 fails
 * UNAVAILABLE, reported in the trailer and the shard header, at once rather than at the
 * deadline; leg 1's answer is served; the aggregator keeps serving and exits cleanly. */
static void test_plaintext_leg_to_tls_shard_fails_cleanly(void **state)
{
	search_cluster *c = *state;
	const char *shard[10];
	const char *agg_no_cert[] = {"--config", P(F_CONFIG), NULL};
	char group[300];
	Search__SearchResponse *resp;
	sg_client *client = NULL;
	sg_call_result res;
	double took;

	assert_int_equal(sc_start_shard(c, listen_flags(shard, true, true, false)), 0);
	assert_int_equal(sc_start_shard(c, NULL), 0);
	snprintf(group, sizeof(group), "    tls: {ca: %s}\n", P(F_CA));
	assert_int_equal(sc_write_config(c, P(F_CONFIG), NULL, group), 0);
	for (int run = 0; run < 2; run++) {
		assert_int_equal(sc_start_aggregator(c, run == 0 ? NULL : agg_no_cert), 0);
		assert_int_equal(sg_client_open(c->aggregator.addr, &client), SG_OK);
		for (int i = 0; i < 2; i++) {
			assert_int_equal(query(client, &resp, &res, &took),
			                 run == 0 ? GRPC_STATUS_OK : GRPC_STATUS_UNAVAILABLE);
			assert_int_equal(leg_of(&res, 0).status, GRPC_STATUS_UNAVAILABLE);
			/* With TLS to both, the plaintext shard 1 fails too: nothing to serve. */
			assert_int_equal(leg_of(&res, 1).status,
			                 run == 0 ? GRPC_STATUS_OK : GRPC_STATUS_UNAVAILABLE);
			assert_true(took < METHOD_DEADLINE_MS);
			if (run == 0) {
				assert_non_null(resp);
				assert_int_equal(resp->shards_ok, 1);
				assert_int_equal(resp->shards_failed, 1);
				search__search_response__free_unpacked(resp, NULL);
			}
			sg_call_result_fini(&res);
		}
		sg_client_close(client);
		client = NULL;
		assert_int_equal(sc_stop_aggregator(c), 0);
	}
}

/* A TLS client to a plaintext aggregator: UNAVAILABLE, fast. */
static void test_tls_client_to_plaintext_server_fails_cleanly(void **state)
{
	search_cluster *c = *state;
	sg_client *tls = NULL;
	sg_tls_opts o;

	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_shard(c, NULL), 0);
	assert_int_equal(sc_start_aggregator(c, NULL), 0);
	assert_int_equal(
	        sg_client_open_tls(c->aggregator.addr, tls_opts(&o, P(F_CA), NULL, NULL), &tls),
	        SG_OK);
	assert_query_refused(tls);
	sg_client_close(tls);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_files_refused_at_configuration),
	        cmocka_unit_test_setup_teardown(test_tls_client_to_tls_aggregator, cluster_setup,
	                                        cluster_teardown),
	        cmocka_unit_test_setup_teardown(test_mtls_refuses_unverified_clients, cluster_setup,
	                                        cluster_teardown),
	        cmocka_unit_test_setup_teardown(test_aggregator_to_mtls_shards, cluster_setup,
	                                        cluster_teardown),
	        cmocka_unit_test_setup_teardown(test_plaintext_leg_to_tls_shard_fails_cleanly,
	                                        cluster_setup, cluster_teardown),
	        cmocka_unit_test_setup_teardown(test_tls_client_to_plaintext_server_fails_cleanly,
	                                        cluster_setup, cluster_teardown),
	};
	int failed;

	if (argc != 3) {
		fprintf(stderr, "usage: %s <search-shard> <search-aggregator>\n", argv[0]);
		return 2;
	}
	shard_bin = argv[1];
	aggregator_bin = argv[2];
	if (certs_make() != 0) {
		certs_remove();
		return 1;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	certs_remove();
	return failed;
}
