/*
 * kv_e2e_test.c: the example quorum read end to end. Three real kv-replica processes and a
 * kv-aggregator on 127.0.0.1 with OS-chosen ports, real gRPC through the generated C client
 * stubs: agreement, a stale replica outvoted, a quorum reached before the slow replica answers
 * (which must see its call cancelled), no majority possible (ABORTED as soon as that is known),
 * and the difference between agreeing on the whole answer (KV.Get) and on the value
 * (KV.GetValue).
 *
 *   kv_e2e_test <path of kv-replica> <path of kv-aggregator>
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

#include "data.h"
#include "kv.scatter.h"
#include "proc.h"
#include "scatter/stats.pb-c.h"

#define N_REPLICAS       3
#define READY_TIMEOUT_MS 15000 /* process start under ASan on a busy 2-core machine */
#define STOP_TIMEOUT_MS  10000
#define CALL_TIMEOUT_MS  5000
#define SLOW_MS          3000 /* the slow replica's latency */
#define METHOD_DEADLINE  1000 /* kv.proto: deadline_ms of both methods */
#define EARLY_MS         700  /* "well before the method deadline", generous under ASan */
#define STATS_WAIT_MS    5000 /* bound for a backend to count a cancellation */

static const char *replica_bin;
static const char *aggregator_bin;

typedef enum mode {
	CURRENT = 0,
	STALE,
	REWRITTEN,
	FAIL,
} mode;

/* What a test runs against: three replicas with these latencies and modes, one aggregator. */
typedef struct cluster_spec {
	uint32_t latency_ms[N_REPLICAS];
	mode modes[N_REPLICAS];
} cluster_spec;

typedef struct cluster {
	const cluster_spec *spec;
	proc replicas[N_REPLICAS];
	proc aggregator;
	sg_client *client;
} cluster;

typedef enum method {
	GET,       /* KV.Get: quorum on the whole message */
	GET_VALUE, /* KV.GetValue: quorum on the value field */
} method;

/* ---- helpers ------------------------------------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int replica_start(proc *p, uint32_t id, uint32_t latency_ms, mode m)
{
	static const char *const mode_flags[] = {[CURRENT] = NULL,
	                                         [STALE] = "--stale",
	                                         [REWRITTEN] = "--rewritten",
	                                         [FAIL] = "--fail"};
	char id_s[16], lat_s[16];
	char *argv[] = {(char *)replica_bin,
	                "--replica-id",
	                id_s,
	                "--latency-ms",
	                lat_s,
	                (char *)mode_flags[m],
	                NULL};

	snprintf(id_s, sizeof(id_s), "%u", id);
	snprintf(lat_s, sizeof(lat_s), "%u", latency_ms);
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

/* Starts an aggregator over the first n replicas' addresses into *p. */
static int aggregator_start(proc *p, const cluster *c, size_t n)
{
	char targets[N_REPLICAS * 72] = "";
	char *argv[] = {(char *)aggregator_bin, "--replicas", targets, NULL};

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(targets, ",");
		strcat(targets, c->replicas[i].addr);
	}
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

/* Stops everything still running; -1 if any process did not exit 0 on SIGTERM. */
static int cluster_stop(cluster *c)
{
	int rc = 0;

	sg_client_close(c->client);
	c->client = NULL;
	if (c->aggregator.pid > 0 && !proc_exited_ok(proc_stop(&c->aggregator, STOP_TIMEOUT_MS))) {
		fprintf(stderr, "kv-aggregator did not exit cleanly\n");
		rc = -1;
	}
	for (size_t i = 0; i < N_REPLICAS; i++) {
		if (c->replicas[i].pid > 0 &&
		    !proc_exited_ok(proc_stop(&c->replicas[i], STOP_TIMEOUT_MS))) {
			fprintf(stderr, "kv-replica %zu did not exit cleanly\n", i);
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
	for (size_t i = 0; i < N_REPLICAS; i++) {
		if (replica_start(&c->replicas[i], (uint32_t)i, c->spec->latency_ms[i],
		                  c->spec->modes[i]) != 0)
			goto fail;
	}
	if (aggregator_start(&c->aggregator, c, N_REPLICAS) != 0 ||
	    sg_client_open(c->aggregator.addr, &c->client) != SG_OK)
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

/* KV.Get or KV.GetValue on the aggregator; stores the call's wall time in *elapsed_ms. The
 * caller frees *resp (if set) and finalises *res. */
static sg_err kv_read(cluster *c, method m, const char *key, Kv__GetResponse **resp,
                      sg_call_result *res, double *elapsed_ms)
{
	Kv__GetRequest req = KV__GET_REQUEST__INIT;
	double t0 = now_ms();
	sg_err rv;

	req.key = (char *)key;
	*resp = NULL;
	memset(res, 0, sizeof(*res));
	if (m == GET)
		rv = kv__kv__get_call(c->client, &req, CALL_TIMEOUT_MS, resp, res);
	else
		rv = kv__kv__get_value_call(c->client, &req, CALL_TIMEOUT_MS, resp, res);
	*elapsed_ms = now_ms() - t0;
	return rv;
}

/* The value key holds at version, in a static buffer (one at a time). */
static const char *value_at(const char *key, uint64_t version)
{
	static char buf[128];

	kv_value(key, version, buf, sizeof(buf));
	return buf;
}

/* Asserts an OK answer carries the key's current value and one of the given versions. */
static void assert_current(const Kv__GetResponse *r, const char *key, uint64_t version_a,
                           uint64_t version_b)
{
	assert_non_null(r);
	assert_string_equal(r->key, key);
	assert_string_equal(r->value, value_at(key, kv_version(key)));
	assert_true(r->version == version_a || r->version == version_b);
	assert_int_equal(r->replicas_total, N_REPLICAS);
	assert_true(r->replicas_ok >= 2);
	assert_int_equal(r->replicas_ok + r->replicas_failed, N_REPLICAS);
}

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

/* The scatter-leg trailer of leg `index`; asserts there is exactly one, that it is named
 * "replicas/<index>" and that it names target. */
static sg_leg_outcome leg_outcome(const sg_call_result *res, uint32_t index, const char *target)
{
	sg_leg_outcome o, found = {0};
	char name[32];
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
	snprintf(name, sizeof(name), "replicas/%u", index);
	assert_string_equal(found.name, name);
	assert_non_null(strstr(found.target, target));
	return found;
}

/* /scatter.Stats/Get on addr (any libscatter server) into *out; asserts it answered. */
static void server_stats(const char *addr, Scatter__ServerStats *out)
{
	Scatter__StatsRequest req = SCATTER__STATS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	sg_client *c;

	assert_int_equal(sg_client_open(addr, &c), SG_OK);
	assert_int_equal(sg_client_call(c, "/scatter.Stats/Get", &req.base,
	                                &scatter__server_stats__descriptor, CALL_TIMEOUT_MS, &resp,
	                                NULL),
	                 SG_OK);
	*out = *(Scatter__ServerStats *)resp;
	out->base.unknown_fields = NULL;
	out->base.n_unknown_fields = 0;
	protobuf_c_message_free_unpacked(resp, NULL);
	sg_client_close(c);
}

/* Waits (at most wait_ms) until the server at addr has counted more than `before` cancelled
 * calls: the cancellation travels to the backend asynchronously, after the answer. No readiness
 * signal exists for it, so this polls. Returns the last count seen. */
static uint64_t wait_cancelled_above(const char *addr, uint64_t before, double wait_ms)
{
	Scatter__ServerStats st;
	double deadline = now_ms() + wait_ms;
	struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};

	for (;;) {
		server_stats(addr, &st);
		if (st.calls_cancelled > before || now_ms() > deadline)
			return st.calls_cancelled;
		nanosleep(&pause, NULL);
	}
}

static const char *const KEY = "alice";

/* Reads (any outcome) until replica `slow` has counted one of them cancelled, bounded by
 * STATS_WAIT_MS: then the aggregator's channel to it is up. A fresh aggregator connects on its
 * first call, and a leg cut short while its connection is still coming up was never sent: no
 * backend could count it (seen under ASan, where the two fast legs win that race). */
static void warm_up(cluster *c, size_t slow)
{
	double deadline = now_ms() + STATS_WAIT_MS;
	Scatter__ServerStats st;

	for (;;) {
		Kv__GetRequest req = KV__GET_REQUEST__INIT;
		Kv__GetResponse *r = NULL;
		sg_call_result res = {0};

		server_stats(c->replicas[slow].addr, &st);
		req.key = "warm-up";
		kv__kv__get_call(c->client, &req, CALL_TIMEOUT_MS, &r, &res);
		if (r != NULL)
			kv__get_response__free_unpacked(r, NULL);
		sg_call_result_fini(&res);
		if (wait_cancelled_above(c->replicas[slow].addr, st.calls_cancelled, 500) >
		    st.calls_cancelled)
			return;
		assert_true(now_ms() < deadline);
	}
}

/* ---- agreement ------------------------------------------------------------------------------ */

static const cluster_spec agree = {.latency_ms = {0, 10, 20}};

/* All three replicas agree: both methods answer the current value, each leg named by the
 * group and index. The answer comes once two agree: the last one, if still running, is cut
 * short. Which two come first is up to the scheduler (10 ms apart, on a busy machine). */
static void test_all_agree(void **state)
{
	cluster *c = *state;
	uint64_t v = kv_version(KEY);

	for (method m = GET; m <= GET_VALUE; m++) {
		Kv__GetResponse *r;
		sg_call_result res;
		uint32_t ok = 0;
		double ms;

		assert_int_equal(kv_read(c, m, KEY, &r, &res, &ms), SG_OK);
		assert_int_equal(res.status, GRPC_STATUS_OK);
		assert_current(r, KEY, v, v);
		assert_int_equal(r->version, v);
		for (uint32_t i = 0; i < N_REPLICAS; i++) {
			grpc_status_code st = leg_outcome(&res, i, c->replicas[i].addr).status;

			assert_true(st == GRPC_STATUS_OK || st == GRPC_STATUS_CANCELLED);
			ok += st == GRPC_STATUS_OK;
		}
		assert_true(ok >= 2);
		assert_legs_summary(&res, N_REPLICAS, ok, 0, N_REPLICAS - ok);
		kv__get_response__free_unpacked(r, NULL);
		sg_call_result_fini(&res);
	}
}

/* ---- a stale replica, answering first, is outvoted --------------------------------------------
 */

static const cluster_spec one_stale = {.latency_ms = {0, 30, 60}, .modes = {STALE}};

static void test_stale_outvoted(void **state)
{
	cluster *c = *state;
	uint64_t v = kv_version(KEY);

	for (method m = GET; m <= GET_VALUE; m++) {
		Kv__GetResponse *r;
		sg_call_result res;
		double ms;

		assert_int_equal(kv_read(c, m, KEY, &r, &res, &ms), SG_OK);
		assert_current(r, KEY, v, v);
		/* The stale replica did answer (OK); its answer lost the vote. */
		assert_int_equal(leg_outcome(&res, 0, c->replicas[0].addr).status, GRPC_STATUS_OK);
		assert_legs_summary(&res, 3, 3, 0, 0);
		assert_int_equal(r->replicas_ok, 3);
		kv__get_response__free_unpacked(r, NULL);
		sg_call_result_fini(&res);
	}
}

/* ---- the quorum is reached before the slow replica answers ------------------------------------
 */

static const cluster_spec one_slow = {.latency_ms = {0, 0, SLOW_MS}};

/* Two fast replicas agree: the answer comes at once, well before the slow replica (and the
 * method deadline); its leg is CANCELLED, and the slow replica itself counts the cancelled
 * call, as does the aggregator its cancelled leg. */
static void test_quorum_early(void **state)
{
	cluster *c = *state;
	Scatter__ServerStats before, agg_before, agg_after;
	Kv__GetResponse *r;
	sg_call_result res;
	double ms;

	warm_up(c, 2);
	server_stats(c->replicas[2].addr, &before);
	server_stats(c->aggregator.addr, &agg_before);
	assert_int_equal(kv_read(c, GET, KEY, &r, &res, &ms), SG_OK);
	print_message("quorum after %.0f ms (slow replica %d ms, deadline %d ms)\n", ms, SLOW_MS,
	              METHOD_DEADLINE);
	assert_true(ms < EARLY_MS);
	assert_current(r, KEY, kv_version(KEY), kv_version(KEY));
	assert_int_equal(r->replicas_ok, 2);
	assert_int_equal(r->replicas_failed, 1);
	assert_legs_summary(&res, 3, 2, 0, 1);
	assert_int_equal(leg_outcome(&res, 0, c->replicas[0].addr).status, GRPC_STATUS_OK);
	assert_int_equal(leg_outcome(&res, 1, c->replicas[1].addr).status, GRPC_STATUS_OK);
	assert_int_equal(leg_outcome(&res, 2, c->replicas[2].addr).status, GRPC_STATUS_CANCELLED);
	kv__get_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);

	assert_true(wait_cancelled_above(c->replicas[2].addr, before.calls_cancelled,
	                                 STATS_WAIT_MS) > before.calls_cancelled);
	server_stats(c->aggregator.addr, &agg_after);
	assert_true(agg_after.legs_cancelled > agg_before.legs_cancelled);
	assert_int_equal(agg_after.legs_started - agg_before.legs_started, 3);
}

/* ---- no majority possible ------------------------------------------------------------------- */

static const cluster_spec two_down_one_slow = {.latency_ms = {0, 0, SLOW_MS},
                                               .modes = {FAIL, FAIL, CURRENT}};

/* Two replicas fail at once: no value can reach 2 of 3 any more, so the call is ABORTED right
 * then, long before the slow replica would answer, and that replica sees its call cancelled. */
static void test_no_majority_as_soon_as_known(void **state)
{
	cluster *c = *state;
	Scatter__ServerStats before;
	Kv__GetResponse *r;
	sg_call_result res;
	double ms;

	warm_up(c, 2);
	server_stats(c->replicas[2].addr, &before);
	assert_int_equal(kv_read(c, GET, KEY, &r, &res, &ms), SG_EGRPC);
	print_message("ABORTED after %.0f ms (slow replica %d ms): %s\n", ms, SLOW_MS, res.message);
	assert_null(r);
	assert_int_equal(res.status, GRPC_STATUS_ABORTED);
	assert_true(ms < EARLY_MS);
	assert_non_null(strstr(res.message, "no majority"));
	assert_non_null(strstr(res.message, "2 failed"));
	assert_int_equal(leg_outcome(&res, 0, c->replicas[0].addr).status, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(leg_outcome(&res, 1, c->replicas[1].addr).status, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(leg_outcome(&res, 2, c->replicas[2].addr).status, GRPC_STATUS_CANCELLED);
	assert_legs_summary(&res, 3, 0, 2, 1);
	sg_call_result_fini(&res);

	assert_true(wait_cancelled_above(c->replicas[2].addr, before.calls_cancelled,
	                                 STATS_WAIT_MS) > before.calls_cancelled);
}

static const cluster_spec split = {.latency_ms = {0, 20, 40}, .modes = {CURRENT, STALE, FAIL}};

/* One current, one stale, one failed: 1 x A, 1 x B, 1 failed. ABORTED for both methods, with
 * a message that says how the votes fell. */
static void test_no_majority_split(void **state)
{
	cluster *c = *state;

	for (method m = GET; m <= GET_VALUE; m++) {
		Kv__GetResponse *r;
		sg_call_result res;
		double ms;

		assert_int_equal(kv_read(c, m, KEY, &r, &res, &ms), SG_EGRPC);
		print_message("%s: %s\n", m == GET ? "Get" : "GetValue", res.message);
		assert_null(r);
		assert_int_equal(res.status, GRPC_STATUS_ABORTED);
		assert_true(ms < METHOD_DEADLINE);
		assert_non_null(strstr(res.message, "no majority"));
		assert_non_null(strstr(res.message, "3 replicas"));
		assert_non_null(strstr(res.message, "1 failed"));
		assert_legs_summary(&res, 3, 2, 1, 0);
		assert_int_equal(leg_outcome(&res, 2, c->replicas[2].addr).status,
		                 GRPC_STATUS_UNAVAILABLE);
		sg_call_result_fini(&res);
	}
}

/* ---- the whole message or the key ----------------------------------------------------------- */

static const cluster_spec three_versions = {.latency_ms = {0, 20, 40},
                                            .modes = {CURRENT, STALE, REWRITTEN}};

/* Current, stale and rewritten replicas: three different messages, so KV.Get (whole message)
 * finds no majority; but two of them hold the current value, so KV.GetValue (key "value")
 * answers it, with the version of either agreeing replica. */
static void test_whole_message_vs_key(void **state)
{
	cluster *c = *state;
	uint64_t v = kv_version(KEY);
	Kv__GetResponse *r;
	sg_call_result res;
	double ms;

	assert_int_equal(kv_read(c, GET, KEY, &r, &res, &ms), SG_EGRPC);
	print_message("Get: %s\n", res.message);
	assert_int_equal(res.status, GRPC_STATUS_ABORTED);
	assert_non_null(strstr(res.message, "no majority"));
	assert_legs_summary(&res, 3, 3, 0, 0);
	sg_call_result_fini(&res);

	assert_int_equal(kv_read(c, GET_VALUE, KEY, &r, &res, &ms), SG_OK);
	assert_current(r, KEY, v, v + 1);
	assert_legs_summary(&res, 3, 3, 0, 0);
	kv__get_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- group_size ----------------------------------------------------------------------------- */

/* kv.proto declares group_size 3: an aggregator given two replicas refuses to start. */
static void test_group_size_enforced(void **state)
{
	cluster *c = *state;
	proc two = {0};

	assert_int_equal(aggregator_start(&two, c, 2), -1);
	assert_int_equal(two.pid, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_prestate_setup_teardown(test_all_agree, cluster_setup,
	                                                 cluster_teardown, (void *)&agree),
	        cmocka_unit_test_prestate_setup_teardown(test_stale_outvoted, cluster_setup,
	                                                 cluster_teardown, (void *)&one_stale),
	        cmocka_unit_test_prestate_setup_teardown(test_quorum_early, cluster_setup,
	                                                 cluster_teardown, (void *)&one_slow),
	        cmocka_unit_test_prestate_setup_teardown(test_no_majority_as_soon_as_known,
	                                                 cluster_setup, cluster_teardown,
	                                                 (void *)&two_down_one_slow),
	        cmocka_unit_test_prestate_setup_teardown(test_no_majority_split, cluster_setup,
	                                                 cluster_teardown, (void *)&split),
	        cmocka_unit_test_prestate_setup_teardown(test_whole_message_vs_key, cluster_setup,
	                                                 cluster_teardown, (void *)&three_versions),
	        cmocka_unit_test_prestate_setup_teardown(test_group_size_enforced, cluster_setup,
	                                                 cluster_teardown, (void *)&agree),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s KV_REPLICA KV_AGGREGATOR\n", argv[0]);
		return 2;
	}
	replica_bin = argv[1];
	aggregator_bin = argv[2];
	return cmocka_run_group_tests_name("kv quorum", tests, NULL, NULL);
}
