/*
 * dashboard_e2e_test.c: the example API composition end to end. Three real dashboard-leaf
 * processes (profile, orders, recommendations: different services with different request and
 * response types) and a dashboard-aggregator on 127.0.0.1 with OS-chosen ports, real gRPC
 * through the generated C client stubs: every field of the view filled from its own service
 * with the request fields mapped, the optional recommendations leg down or slower than its own
 * deadline (the call still succeeds, without them), the required profile leg down (the call
 * fails with that leg's status, naming it, at once: the slow orders leg is cancelled).
 *
 *   dashboard_e2e_test <path of dashboard-leaf> <path of dashboard-aggregator>
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

#include "dashboard.scatter.h"
#include "proc.h"
#include "scatter/stats.pb-c.h"

#define READY_TIMEOUT_MS 15000 /* process start under ASan on a busy 2-core machine */
#define STOP_TIMEOUT_MS  10000
#define CALL_TIMEOUT_MS  5000
#define METHOD_DEADLINE  1000 /* dashboard.proto: Dashboard.Get deadline_ms */
#define RECS_DEADLINE    300  /* dashboard.proto: the recs leg's deadline_ms */
#define STATS_WAIT_MS    5000 /* bound for a backend to count a cancelled call */
#define SLOW_MS          3000 /* a leaf far slower than the method's deadline */

enum { PROFILE, ORDERS, RECS, N_LEAVES };

static const char *const service_names[N_LEAVES] = {"profile", "orders", "recs"};

static const char *leaf_bin;
static const char *aggregator_bin;

/* What a test runs against: the three leaves with these latencies, some failing. */
typedef struct cluster_spec {
	uint32_t latency_ms[N_LEAVES];
	int fail[N_LEAVES];
} cluster_spec;

typedef struct cluster {
	const cluster_spec *spec;
	proc leaves[N_LEAVES];
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

static int leaf_start(proc *p, int service, uint32_t latency_ms, int fail)
{
	char lat_s[16];
	char *argv[] = {(char *)leaf_bin,
	                "--service",
	                (char *)service_names[service],
	                "--latency-ms",
	                lat_s,
	                fail ? "--fail" : NULL,
	                NULL};

	snprintf(lat_s, sizeof(lat_s), "%u", latency_ms);
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

/* Starts the aggregator with each leg's group mapped to its leaf. */
static int aggregator_start(cluster *c)
{
	char *argv[] = {(char *)aggregator_bin, "--profile", c->leaves[PROFILE].addr, "--orders",
	                c->leaves[ORDERS].addr, "--recs",    c->leaves[RECS].addr,    NULL};

	return proc_start(&c->aggregator, argv, READY_TIMEOUT_MS);
}

static int cluster_stop(cluster *c)
{
	int rc = 0;

	sg_client_close(c->client);
	c->client = NULL;
	if (c->aggregator.pid > 0 && !proc_exited_ok(proc_stop(&c->aggregator, STOP_TIMEOUT_MS))) {
		fprintf(stderr, "dashboard-aggregator did not exit cleanly\n");
		rc = -1;
	}
	for (int i = 0; i < N_LEAVES; i++) {
		if (c->leaves[i].pid > 0 &&
		    !proc_exited_ok(proc_stop(&c->leaves[i], STOP_TIMEOUT_MS))) {
			fprintf(stderr, "dashboard-leaf %s did not exit cleanly\n",
			        service_names[i]);
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
	for (int i = 0; i < N_LEAVES; i++) {
		if (leaf_start(&c->leaves[i], i, c->spec->latency_ms[i], c->spec->fail[i]) != 0)
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

/* Dashboard.Get on the aggregator; stores the call's wall time in *elapsed_ms. The caller frees
 * *view (if set) and finalises *res. */
static sg_err dashboard_get(cluster *c, uint64_t user_id, uint32_t max_orders, uint32_t max_recs,
                            Dashboard__DashboardView **view, sg_call_result *res,
                            double *elapsed_ms)
{
	Dashboard__DashboardRequest req = DASHBOARD__DASHBOARD_REQUEST__INIT;
	double t0 = now_ms();
	sg_err rv;

	req.user_id = user_id;
	req.max_orders = max_orders;
	req.max_recs = max_recs;
	*view = NULL;
	memset(res, 0, sizeof(*res));
	rv = dashboard__dashboard__get_call(c->client, &req, CALL_TIMEOUT_MS, view, res);
	*elapsed_ms = now_ms() - t0;
	return rv;
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

/* The scatter-leg trailer of the leg named `name`; asserts there is exactly one, at the leg's
 * index in dashboard.proto, and that it names target. */
static sg_leg_outcome leg_named(const sg_call_result *res, const char *name, uint32_t index,
                                const char *target)
{
	sg_leg_outcome o, found = {0};
	int n = 0;

	for (size_t i = 0; i < res->n_trailers; i++) {
		if (strcmp(res->trailers[i].key, SG_TRAILER_LEG) != 0)
			continue;
		assert_int_equal(sg_leg_outcome_parse(res->trailers[i].value, &o), SG_OK);
		if (strcmp(o.name, name) == 0) {
			found = o;
			n++;
		}
	}
	assert_int_equal(n, 1);
	assert_int_equal(found.index, index);
	assert_non_null(strstr(found.target, target));
	return found;
}

/* The counters of the server at addr (its /scatter.Stats/Get, which does not count itself). */
static Scatter__ServerStats server_stats(const char *addr)
{
	Scatter__StatsRequest req = SCATTER__STATS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	Scatter__ServerStats st;
	sg_client *c;

	assert_int_equal(sg_client_open(addr, &c), SG_OK);
	assert_int_equal(sg_client_call(c, "/scatter.Stats/Get", &req.base,
	                                &scatter__server_stats__descriptor, CALL_TIMEOUT_MS, &resp,
	                                NULL),
	                 SG_OK);
	st = *(Scatter__ServerStats *)resp;
	st.base.unknown_fields = NULL;
	st.base.n_unknown_fields = 0;
	protobuf_c_message_free_unpacked(resp, NULL);
	sg_client_close(c);
	return st;
}

/* The number of calls the server at addr counted as cancelled. */
static uint64_t calls_cancelled(const char *addr)
{
	return server_stats(addr).calls_cancelled;
}

/* Waits (bounded by STATS_WAIT_MS) until the server at addr has counted more than `before`
 * cancelled calls: the backend learns of a passed deadline on its own, asynchronously. No
 * readiness signal exists for it, so this polls. Returns the last count seen. */
static uint64_t wait_cancelled_above(const char *addr, uint64_t before)
{
	double deadline = now_ms() + STATS_WAIT_MS;
	struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
	uint64_t n;

	while ((n = calls_cancelled(addr)) <= before && now_ms() < deadline)
		nanosleep(&pause, NULL);
	return n;
}

/* Asserts the profile and orders parts of a view for user_id and max_orders: each from its
 * own service, with the mapped request fields visible in the answer. */
static void assert_profile_and_orders(const Dashboard__DashboardView *v, uint64_t user_id,
                                      uint32_t n_orders)
{
	char want[32];

	assert_non_null(v->profile);
	assert_int_equal(v->profile->user_id, user_id);
	snprintf(want, sizeof(want), "user-%llu", (unsigned long long)user_id);
	assert_string_equal(v->profile->name, want);
	assert_non_null(v->profile->tier);
	assert_true(v->profile->tier[0] != '\0');
	assert_non_null(v->orders);
	assert_int_equal(v->orders->n_orders, n_orders);
	for (size_t i = 0; i < v->orders->n_orders; i++) {
		/* Order ids carry the user id the orders leg was asked for. */
		snprintf(want, sizeof(want), "o%llu-%zu", (unsigned long long)user_id, 100 - i);
		assert_string_equal(v->orders->orders[i]->order_id, want);
	}
}

/* ---- all legs OK ---------------------------------------------------------------------------- */

static const cluster_spec healthy = {.latency_ms = {10, 20, 30}};

/* Each field of the view comes from its own service, built from the mapped request fields:
 * the profile and orders carry user_id, orders count max_orders (-> limit), recs count
 * max_recs (-> count). A second request with other numbers shows the mapping is per call. */
static void test_all_legs_ok(void **state)
{
	cluster *c = *state;
	static const struct {
		uint64_t user_id;
		uint32_t max_orders, max_recs;
	} cases[] = {{42, 4, 2}, {7, 1, 6}};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		Dashboard__DashboardView *v;
		sg_call_result res;
		double ms;

		assert_int_equal(dashboard_get(c, cases[k].user_id, cases[k].max_orders,
		                               cases[k].max_recs, &v, &res, &ms),
		                 SG_OK);
		assert_int_equal(res.status, GRPC_STATUS_OK);
		assert_profile_and_orders(v, cases[k].user_id, cases[k].max_orders);
		assert_non_null(v->recs);
		assert_int_equal(v->recs->n_recs, cases[k].max_recs);
		assert_int_equal(v->legs_ok, 3);
		assert_int_equal(v->legs_failed, 0);
		assert_legs_summary(&res, 3, 3, 0, 0);
		assert_int_equal(leg_named(&res, "profile", 0, c->leaves[PROFILE].addr).status,
		                 GRPC_STATUS_OK);
		assert_int_equal(leg_named(&res, "orders", 1, c->leaves[ORDERS].addr).status,
		                 GRPC_STATUS_OK);
		assert_int_equal(leg_named(&res, "recs", 2, c->leaves[RECS].addr).status,
		                 GRPC_STATUS_OK);
		dashboard__dashboard_view__free_unpacked(v, NULL);
		sg_call_result_fini(&res);
	}
}

/* ---- the optional leg fails ----------------------------------------------------------------- */

static const cluster_spec fast = {.latency_ms = {0, 0, 0}};

/* The recommendations service crashed: the view is OK without recs, the counts say 2 ok and
 * 1 failed, and the trailers say which leg failed and how. */
static void test_recs_down(void **state)
{
	cluster *c = *state;
	Dashboard__DashboardView *v;
	sg_call_result res;
	char dead[64];
	double ms;

	snprintf(dead, sizeof(dead), "%s", c->leaves[RECS].addr);
	assert_int_not_equal(proc_kill(&c->leaves[RECS]), -1);

	assert_int_equal(dashboard_get(c, 42, 3, 3, &v, &res, &ms), SG_OK);
	assert_int_equal(res.status, GRPC_STATUS_OK);
	assert_profile_and_orders(v, 42, 3);
	assert_null(v->recs);
	assert_int_equal(v->legs_ok, 2);
	assert_int_equal(v->legs_failed, 1);
	assert_legs_summary(&res, 3, 2, 1, 0);
	assert_int_equal(leg_named(&res, "recs", 2, dead).status, GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(leg_named(&res, "profile", 0, c->leaves[PROFILE].addr).status,
	                 GRPC_STATUS_OK);
	dashboard__dashboard_view__free_unpacked(v, NULL);
	sg_call_result_fini(&res);
}

/* ---- the required leg fails ----------------------------------------------------------------- */

static const cluster_spec profile_down = {.latency_ms = {0, SLOW_MS, 0}, .fail = {1, 0, 0}};

/* Calls Dashboard.Get (any outcome) until the orders service has started one of its legs,
 * bounded by STATS_WAIT_MS: then the aggregator's channel to it is up. A leg cut short while
 * its connection is still coming up was never sent, and no backend could count it cancelled. */
static void warm_up_orders(cluster *c)
{
	double deadline = now_ms() + STATS_WAIT_MS;
	struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};

	while (server_stats(c->leaves[ORDERS].addr).calls_started == 0) {
		Dashboard__DashboardView *v;
		sg_call_result res;
		double ms;

		dashboard_get(c, 1, 1, 1, &v, &res, &ms);
		if (v != NULL)
			dashboard__dashboard_view__free_unpacked(v, NULL);
		sg_call_result_fini(&res);
		assert_true(now_ms() < deadline);
		nanosleep(&pause, NULL);
	}
}

/* The profile service answers UNAVAILABLE at once: the profile leg is required, so the call
 * fails with that status and a message naming the leg and its target, as soon as that is
 * known: long before the orders service (SLOW_MS, beyond the method's deadline) would answer.
 * The orders leg is cut short: reported CANCELLED, counted by the aggregator, and seen by the
 * orders service itself. The recs leg (no latency) may end either way first. */
static void test_profile_down(void **state)
{
	cluster *c = *state;
	Scatter__ServerStats agg_before, agg_after;
	uint64_t orders_before;
	Dashboard__DashboardView *v;
	sg_call_result res;
	const char *summary;
	sg_legs_summary sum;
	double ms;

	warm_up_orders(c);
	orders_before = calls_cancelled(c->leaves[ORDERS].addr);
	agg_before = server_stats(c->aggregator.addr);
	assert_int_equal(dashboard_get(c, 42, 3, 3, &v, &res, &ms), SG_EGRPC);
	print_message("%s after %.0f ms (orders %d ms, method deadline %d ms): %s\n",
	              sg_status_name(res.status), ms, SLOW_MS, METHOD_DEADLINE, res.message);
	assert_null(v);
	assert_int_equal(res.status, GRPC_STATUS_UNAVAILABLE);
	assert_true(ms < METHOD_DEADLINE);
	assert_non_null(strstr(res.message, "leg profile ("));
	assert_non_null(strstr(res.message, c->leaves[PROFILE].addr));
	assert_non_null(strstr(res.message, "UNAVAILABLE"));
	assert_non_null(strstr(res.message, "profile service is down"));
	assert_int_equal(leg_named(&res, "profile", 0, c->leaves[PROFILE].addr).status,
	                 GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(leg_named(&res, "orders", 1, c->leaves[ORDERS].addr).status,
	                 GRPC_STATUS_CANCELLED);
	summary = sg_call_result_trailer(&res, SG_TRAILER_SUMMARY);
	assert_non_null(summary);
	assert_int_equal(sg_legs_summary_parse(summary, &sum), SG_OK);
	/* profile failed; orders was cut short; recs either answered or was cut short too. */
	assert_int_equal(sum.total, 3);
	assert_int_equal(sum.failed, 1);
	assert_true(sum.cut >= 1);
	assert_int_equal(sum.ok + sum.cut, 2);
	sg_call_result_fini(&res);

	assert_true(wait_cancelled_above(c->leaves[ORDERS].addr, orders_before) > orders_before);
	agg_after = server_stats(c->aggregator.addr);
	assert_true(agg_after.legs_cancelled >= agg_before.legs_cancelled + 1);
	assert_int_equal(agg_after.legs_started - agg_before.legs_started, 3);
}

/* ---- the optional leg is slower than its own deadline --------------------------------------- */

static const cluster_spec recs_slow = {.latency_ms = {0, 0, 3000}};

/* Recommendations take 3 s, their leg's deadline is 300 ms (the method's is 1000 ms): the view
 * comes at about 300 ms, OK, without recs, and the recs leg is DEADLINE_EXCEEDED. The leg's
 * deadline travelled with it: the recommendations service itself saw its call end unanswered. */
static void test_recs_slower_than_leg_deadline(void **state)
{
	cluster *c = *state;
	uint64_t before = calls_cancelled(c->leaves[RECS].addr);
	Dashboard__DashboardView *v;
	sg_call_result res;
	double ms;

	assert_int_equal(dashboard_get(c, 42, 3, 3, &v, &res, &ms), SG_OK);
	print_message("answer after %.0f ms (recs leg deadline %d ms, method %d ms)\n", ms,
	              RECS_DEADLINE, METHOD_DEADLINE);
	assert_true(ms >= RECS_DEADLINE - 50);
	assert_true(ms < METHOD_DEADLINE - 200);
	assert_profile_and_orders(v, 42, 3);
	assert_null(v->recs);
	assert_int_equal(v->legs_ok, 2);
	assert_int_equal(v->legs_failed, 1);
	assert_legs_summary(&res, 3, 2, 1, 0);
	assert_int_equal(leg_named(&res, "recs", 2, c->leaves[RECS].addr).status,
	                 GRPC_STATUS_DEADLINE_EXCEEDED);
	dashboard__dashboard_view__free_unpacked(v, NULL);
	sg_call_result_fini(&res);
	assert_true(wait_cancelled_above(c->leaves[RECS].addr, before) > before);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_prestate_setup_teardown(test_all_legs_ok, cluster_setup,
	                                                 cluster_teardown, (void *)&healthy),
	        cmocka_unit_test_prestate_setup_teardown(test_recs_down, cluster_setup,
	                                                 cluster_teardown, (void *)&fast),
	        cmocka_unit_test_prestate_setup_teardown(test_profile_down, cluster_setup,
	                                                 cluster_teardown, (void *)&profile_down),
	        cmocka_unit_test_prestate_setup_teardown(test_recs_slower_than_leg_deadline,
	                                                 cluster_setup, cluster_teardown,
	                                                 (void *)&recs_slow),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s DASHBOARD_LEAF DASHBOARD_AGGREGATOR\n", argv[0]);
		return 2;
	}
	leaf_bin = argv[1];
	aggregator_bin = argv[2];
	return cmocka_run_group_tests_name("dashboard composition", tests, NULL, NULL);
}
