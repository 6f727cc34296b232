/*
 * hedge_e2e_test.c: hedged requests and retries with real processes. One shard served by two
 * replicas ("ipv4:A|ipv4:B"), two search-shard processes, and scatter-bench-agg serving
 * search.Search/Query with hedging or retries turned on (a copy of the generated table).
 *
 *   - hedge: replica A answers after 2000 ms, B after 10 ms, fixed hedge delay 50 ms. The first
 *     call goes to A (rotation starts at the first replica), the hedge to B wins: the answer
 *     comes well before 2000 ms, the aggregator counts one hedge sent and won, the leg's
 *     trailer names B, and A counts its call cancelled.
 *   - budget: the same replicas, hedging after 300 ms with a budget of 4 tokens (extra attempts
 *     only above 2). Two calls to A that time out (their legs' deadline is cut short by a
 *     margin, before the hedge delay) spend it; then a call to A sends no hedge and waits for
 *     A until its leg's deadline.
 *   - retry: replica A fails at once with UNAVAILABLE, B answers: the call succeeds through one
 *     retry to B, counted as such.
 *
 *   hedge_e2e_test <search-shard> <scatter-bench-agg>
 *
 * Every wait is bounded; every process a test starts is stopped by its teardown.
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
#include "scatter/stats.pb-c.h"
#include "scatter/trailer.h"
#include "search.scatter.h"

#define READY_TIMEOUT_MS 15000 /* process start under ASan on a busy 2-core machine */
#define STOP_TIMEOUT_MS  10000
#define CALL_TIMEOUT_MS  5000
#define SLOW_MS          2000 /* replica A */
#define FAST_MS          10   /* replica B */
#define HEDGE_MS         "50"
#define EARLY_MS         1000 /* "well under SLOW_MS", generous under ASan */
#define STATS_WAIT_MS    5000 /* bound for a backend to count a cancellation */

static const char *shard_bin;
static const char *agg_bin;

typedef struct cluster {
	proc a, b; /* the shard's two replicas */
	proc agg;
	sg_client *client;
} cluster;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A search-shard with id 0 (both replicas hold the same documents): latency_ms, or failing. */
static int replica_start(proc *p, uint32_t latency_ms, int fail)
{
	char lat[16];
	char *argv[] = {(char *)shard_bin,      "--shard-id", "0", "--latency-ms", lat,
	                fail ? "--fail" : NULL, NULL};

	snprintf(lat, sizeof(lat), "%u", latency_ms);
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

static int cluster_stop(cluster *c)
{
	proc *ps[] = {&c->agg, &c->a, &c->b};
	int rc = 0;

	sg_client_close(c->client);
	c->client = NULL;
	for (size_t i = 0; i < 3; i++) {
		if (ps[i]->pid > 0 && !proc_exited_ok(proc_stop(ps[i], STOP_TIMEOUT_MS))) {
			fprintf(stderr, "%s did not exit cleanly\n", ps[i]->name);
			rc = -1;
		}
	}
	return rc;
}

/* Replicas A (latency_a, or failing) and B (FAST_MS), and an aggregator over the one shard
 * "ipv4:A|ipv4:B" with the extra flags (NULL-terminated). */
static cluster *cluster_start(uint32_t latency_a, int fail_a, const char *const *flags)
{
	cluster *c = calloc(1, sizeof(*c));
	char shard[160];
	char *argv[24] = {(char *)agg_bin, "--shards", shard, "--threads", "1"};
	size_t n = 5;

	assert_non_null(c);
	if (replica_start(&c->a, latency_a, fail_a) != 0 || replica_start(&c->b, FAST_MS, 0) != 0)
		goto fail;
	snprintf(shard, sizeof(shard), "ipv4:%s|ipv4:%s", c->a.addr, c->b.addr);
	for (size_t i = 0; flags[i] != NULL && n + 1 < sizeof(argv) / sizeof(argv[0]); i++)
		argv[n++] = (char *)flags[i];
	argv[n] = NULL;
	if (proc_start(&c->agg, argv, READY_TIMEOUT_MS) != 0 ||
	    sg_client_open(c->agg.addr, &c->client) != SG_OK)
		goto fail;
	return c;
fail:
	cluster_stop(c);
	free(c);
	fail_msg("could not start the cluster");
	return NULL;
}

static int teardown(void **state)
{
	cluster *c = *state;
	int rc = c != NULL ? cluster_stop(c) : 0;

	free(c);
	return rc;
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

/* Query with timeout_ms; returns the status, the elapsed time and the leg's trailer. */
static grpc_status_code query(cluster *c, uint32_t timeout_ms, double *ms, sg_leg_outcome *leg)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *r = NULL;
	sg_call_result res = {0};
	grpc_status_code status;
	const char *v;
	double t0 = now_ms();

	req.query = "hedge";
	req.k = 3;
	search__search__query_call(c->client, &req, timeout_ms, &r, &res);
	*ms = now_ms() - t0;
	status = res.status;
	if (status == GRPC_STATUS_OK)
		assert_non_null(r);
	memset(leg, 0, sizeof(*leg));
	if ((v = sg_call_result_trailer(&res, SG_TRAILER_LEG)) != NULL)
		assert_int_equal(sg_leg_outcome_parse(v, leg), SG_OK);
	if (r != NULL)
		search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
	return status;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* A's counters once every call it received has ended (cancelled calls are counted when they
 * end), polling at most STATS_WAIT_MS: no readiness signal exists for it. */
static void replica_settled(const char *addr, Scatter__ServerStats *st)
{
	double deadline = now_ms() + STATS_WAIT_MS;
	struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};

	for (;;) {
		server_stats(addr, st);
		if (st->calls_cancelled >= st->calls_started || now_ms() > deadline)
			return;
		nanosleep(&pause, NULL);
	}
}

static void test_hedge_wins_and_cancels_the_slow_replica(void **state)
{
	static const char *const flags[] = {"--hedge-ms", HEDGE_MS, NULL};
	cluster *c = *state = cluster_start(SLOW_MS, 0, flags);
	Scatter__ServerStats st;
	sg_leg_outcome leg;
	double ms;

	/* The first call's first attempt goes to A, the hedge to B. */
	assert_int_equal(query(c, CALL_TIMEOUT_MS, &ms, &leg), GRPC_STATUS_OK);
	print_message("answered after %.0f ms (replica A %d ms, B %d ms, hedge after %s ms)\n", ms,
	              SLOW_MS, FAST_MS, HEDGE_MS);
	assert_true(ms < EARLY_MS);
	assert_int_equal(leg.status, GRPC_STATUS_OK);
	assert_non_null(strstr(leg.target, c->b.addr));
	server_stats(c->agg.addr, &st);
	assert_int_equal(st.hedges_sent, 1);
	assert_int_equal(st.hedges_won, 1);
	assert_int_equal(st.retries, 0);
	assert_int_equal(st.legs_failed, 0);
	/* A sees its call cancelled once B's answer has won. A fresh aggregator connects to its
	 * replicas as it starts, and an attempt cancelled while its connection is still coming
	 * up never reached A (nothing to count: seen on a loaded machine). Then the calls go on in
	 * pairs (B first, A first) until A has received one, a few times at most. */
	for (int i = 0; i < 5; i++) {
		server_stats(c->a.addr, &st);
		if (st.calls_started > 0)
			break;
		assert_int_equal(query(c, CALL_TIMEOUT_MS, &ms, &leg), GRPC_STATUS_OK);
		assert_int_equal(query(c, CALL_TIMEOUT_MS, &ms, &leg), GRPC_STATUS_OK);
		assert_non_null(strstr(leg.target, c->b.addr));
	}
	replica_settled(c->a.addr, &st);
	print_message("replica A: %llu calls, %llu cancelled\n",
	              (unsigned long long)st.calls_started, (unsigned long long)st.calls_cancelled);
	assert_true(st.calls_started > 0);
	assert_int_equal(st.calls_cancelled, st.calls_started);
	server_stats(c->b.addr, &st);
	assert_int_equal(st.calls_cancelled, 0);
}

static void test_no_hedge_once_the_budget_is_spent(void **state)
{
	/* 4 tokens: hedges only while more than 2 remain. Hedges after 300 ms. A margin of 900 ms
	 * cuts the legs of a call with a 1000 ms timeout to 100 ms: a call to A then times out (a
	 * failure, one token) before any hedge, and the aggregator still has 900 ms to answer
	 * before the client gives up (which would cancel the leg: no failure counted). */
	static const char *const flags[] = {"--hedge-ms", "300", "--max-tokens", "4", "--margin-ms",
	                                    "900",        NULL};
	cluster *c = *state = cluster_start(SLOW_MS, 0, flags);
	Scatter__ServerStats st;
	sg_leg_outcome leg;
	double ms;

	/* Calls rotate over the replicas from A: A, B, A, B. Both calls to A time out. */
	for (int i = 0; i < 4; i++) {
		grpc_status_code s = query(c, 1000, &ms, &leg);

		if (i % 2 == 0) {
			assert_int_equal(s, GRPC_STATUS_UNAVAILABLE);
			assert_int_equal(leg.status, GRPC_STATUS_DEADLINE_EXCEEDED);
			assert_non_null(strstr(leg.target, c->a.addr));
		}
	}
	server_stats(c->agg.addr, &st);
	assert_int_equal(st.hedges_sent, 0);
	/* A again, with time to hedge: the budget says no, so the leg waits for A until its
	 * deadline (Query's 1000 ms), far past the hedge delay (300 ms). */
	assert_int_equal(query(c, CALL_TIMEOUT_MS, &ms, &leg), GRPC_STATUS_UNAVAILABLE);
	print_message("budget spent: answered after %.0f ms, leg %s from %s\n", ms,
	              sg_status_name(leg.status), leg.target);
	assert_int_equal(leg.status, GRPC_STATUS_DEADLINE_EXCEEDED);
	assert_non_null(strstr(leg.target, c->a.addr));
	assert_true(ms > 800);
	server_stats(c->agg.addr, &st);
	assert_int_equal(st.hedges_sent, 0);
	assert_int_equal(st.hedges_won, 0);
}

static void test_retry_goes_to_the_other_replica(void **state)
{
	static const char *const flags[] = {"--retry", "2", NULL};
	cluster *c = *state = cluster_start(0, 1, flags);
	Scatter__ServerStats st;
	sg_leg_outcome leg;
	double ms;

	/* The first call goes to A, which fails at once: retried on B. */
	assert_int_equal(query(c, CALL_TIMEOUT_MS, &ms, &leg), GRPC_STATUS_OK);
	print_message("answered after %.0f ms through a retry\n", ms);
	assert_int_equal(leg.status, GRPC_STATUS_OK);
	assert_non_null(strstr(leg.target, c->b.addr));
	server_stats(c->agg.addr, &st);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.hedges_sent, 0);
	assert_int_equal(st.legs_failed, 0);
	server_stats(c->a.addr, &st);
	assert_int_equal(st.calls_started, 1); /* the leg's first attempt, nothing else */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_hedge_wins_and_cancels_the_slow_replica, teardown),
	        cmocka_unit_test_teardown(test_no_hedge_once_the_budget_is_spent, teardown),
	        cmocka_unit_test_teardown(test_retry_goes_to_the_other_replica, teardown),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s <search-shard> <scatter-bench-agg>\n", argv[0]);
		return 2;
	}
	shard_bin = argv[1];
	agg_bin = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
