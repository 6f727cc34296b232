/*
 * strategies_e2e_test.c: every gather strategy and merge of search.proto's Search service, end
 * to end. Real search-shard and search-aggregator processes on 127.0.0.1 with OS-chosen ports,
 * real gRPC. Each test checks the merged answer against what the shards return when asked
 * directly, the shard header, and the per-leg trailers.
 *
 * A gather that ends early must cancel the legs it no longer needs, and the backend must see
 * it: each "early" test asks the slow shard's /scatter.Stats/Get, before and after, and wants
 * its calls_cancelled up by one well before the legs' own deadline (which would also count),
 * and the answer long before the slow shard would have answered. Each strategy also has its
 * "not early" path: it then behaves like ALL.
 *
 *   strategies_e2e_test <path of search-shard> <path of search-aggregator>
 *
 * Every process a test starts is stopped by its teardown (and dies with the test if it
 * crashes: see proc.h), and must exit 0 on SIGTERM. Timing bounds are generous: a 2-core
 * machine shared with other work, and ASan in CI.
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

#include "proc.h"
#include "scatter/stats.pb-c.h"
#include "search.scatter.h"

#define MAX_SHARDS       4
#define MAX_HITS         (MAX_SHARDS * 20)
#define READY_TIMEOUT_MS 15000 /* process start under ASan on a busy 2-core machine */
#define STOP_TIMEOUT_MS  10000
#define CALL_TIMEOUT_MS  5000
#define SLOW_MS          3000 /* a shard the early gathers must not wait for */
/* search.proto: every Search method's deadline_ms. A leg still running then is cancelled by
 * its deadline, which a backend also counts in calls_cancelled: a cancellation caused by the
 * gather must be seen before it. The margin covers delivery on a loaded machine. */
#define METHOD_DEADLINE_MS 1000
#define CANCEL_SEEN_BY_MS  (METHOD_DEADLINE_MS - 100)
/* "Long before the slow shard": an early answer comes within this, far below SLOW_MS and
 * below the method's deadline (the answer a gather that did NOT end early would give). */
#define EARLY_MS        700
#define SOFT_MS         150  /* QueryWithin: best_effort { soft_ms } */
#define QUALITY_SCORE   0.9  /* QueryGoodEnough: min_score */
#define QUALITY_COUNT   3    /* QueryGoodEnough: min_count */
#define JUDGED_BEST     0.95 /* hooks.c: QueryJudged stops at 2 shards and a hit this good */
#define DIVERSE_DEFAULT 10   /* hooks.c: QueryDiverse's k when the request gives 0 */
#define PROBES          500  /* queries tried when a test needs scores of a certain shape */

static const char *shard_bin;
static const char *aggregator_bin;

/* One shard's flags (search-shard). */
typedef struct shard_spec {
	uint32_t latency_ms;
	uint32_t hits;    /* 0: the shard's default (20) */
	uint32_t overlap; /* --overlap */
	bool fail;        /* --fail */
} shard_spec;

/* What a test runs against: these shards, one aggregator over all of them, a client to the
 * aggregator and one to each shard (direct answers and /scatter.Stats/Get). */
typedef struct cluster_spec {
	size_t n_shards;
	shard_spec shards[MAX_SHARDS];
} cluster_spec;

typedef struct cluster {
	const cluster_spec *spec;
	proc shards[MAX_SHARDS];
	proc aggregator;
	sg_client *client;
	sg_client *direct[MAX_SHARDS];
} cluster;

/* ---- processes ---------------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int shard_start(proc *p, uint32_t id, const shard_spec *s)
{
	char id_s[16], lat_s[16], hits_s[16], overlap_s[16];
	char *argv[12] = {(char *)shard_bin, "--shard-id", id_s, "--latency-ms", lat_s};
	int n = 5;

	snprintf(id_s, sizeof(id_s), "%u", id);
	snprintf(lat_s, sizeof(lat_s), "%u", s->latency_ms);
	if (s->hits != 0) {
		snprintf(hits_s, sizeof(hits_s), "%u", s->hits);
		argv[n++] = "--hits";
		argv[n++] = hits_s;
	}
	if (s->overlap != 0) {
		snprintf(overlap_s, sizeof(overlap_s), "%u", s->overlap);
		argv[n++] = "--overlap";
		argv[n++] = overlap_s;
	}
	if (s->fail)
		argv[n++] = "--fail";
	argv[n] = NULL;
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

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
	for (size_t i = 0; i < MAX_SHARDS; i++) {
		sg_client_close(c->direct[i]);
		c->direct[i] = NULL;
	}
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
		if (shard_start(&c->shards[i], (uint32_t)i, &c->spec->shards[i]) != 0 ||
		    sg_client_open(c->shards[i].addr, &c->direct[i]) != SG_OK)
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

/* ---- calls -------------------------------------------------------------------------------- */

/* One aggregate call: path on the aggregator, timed. The caller frees *resp (if set) and
 * finalises *res. */
static sg_err call(cluster *c, const char *path, const char *q, uint32_t k,
                   Search__SearchResponse **resp, sg_call_result *res, double *elapsed_ms)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	double t0 = now_ms();
	sg_err rv;

	req.query = (char *)q;
	req.k = k;
	*resp = NULL;
	memset(res, 0, sizeof(*res));
	rv = sg_client_call(c->client, path, &req.base, &search__search_response__descriptor,
	                    CALL_TIMEOUT_MS, (ProtobufCMessage **)resp, res);
	*elapsed_ms = now_ms() - t0;
	print_message("%s \"%s\" k=%u: %s after %.0f ms\n", path, q, k, sg_status_name(res->status),
	              *elapsed_ms);
	return rv;
}

/* Shard i's own answer to the query (the shard's latency applies); NULL if it failed. The
 * caller frees it. */
static Search__SearchResponse *direct(cluster *c, size_t i, const char *q, uint32_t k)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *r = NULL;

	req.query = (char *)q;
	req.k = k;
	if (search__shard__search_call(c->direct[i], &req, CALL_TIMEOUT_MS, &r, NULL) != SG_OK)
		return NULL;
	return r;
}

/* Every shard's own answer (NULL for a failing shard, and for i >= n: not asked, so a slow
 * shard costs no time). */
static void direct_all(cluster *c, size_t n, const char *q, uint32_t k,
                       Search__SearchResponse *out[MAX_SHARDS])
{
	for (size_t i = 0; i < MAX_SHARDS; i++)
		out[i] = i < n ? direct(c, i, q, k) : NULL;
}

static void free_all(Search__SearchResponse *r[MAX_SHARDS])
{
	for (size_t i = 0; i < MAX_SHARDS; i++) {
		if (r[i] != NULL)
			search__search_response__free_unpacked(r[i], NULL);
		r[i] = NULL;
	}
}

/* A server's /scatter.Stats/Get. */
static Scatter__ServerStats *stats(sg_client *sc)
{
	Scatter__StatsRequest req = SCATTER__STATS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;

	assert_int_equal(sg_client_call(sc, "/scatter.Stats/Get", &req.base,
	                                &scatter__server_stats__descriptor, CALL_TIMEOUT_MS, &m,
	                                NULL),
	                 SG_OK);
	return (Scatter__ServerStats *)m;
}

/* Shard `shard`'s calls_cancelled; its calls_started into *started when not NULL. */
static uint64_t calls_cancelled(cluster *c, size_t shard, uint64_t *started)
{
	Scatter__ServerStats *s = stats(c->direct[shard]);
	uint64_t v = s->calls_cancelled;

	if (started != NULL)
		*started = s->calls_started;
	scatter__server_stats__free_unpacked(s, NULL);
	return v;
}

static uint64_t aggregator_legs_cancelled(cluster *c)
{
	Scatter__ServerStats *s = stats(c->client);
	uint64_t v = s->legs_cancelled;

	scatter__server_stats__free_unpacked(s, NULL);
	return v;
}

/* Asserts shard `shard` counts one cancelled call more than `before`, no later than
 * CANCEL_SEEN_BY_MS after t0 (the call's start): before the legs' deadline, so the gather's
 * cancellation is what it observed. The count moves when the shard's worker sees the cancel,
 * a little after the answer: polled, bounded. */
static void assert_shard_saw_cancel(cluster *c, size_t shard, uint64_t before, double t0)
{
	uint64_t now, started;

	for (;;) {
		double t = now_ms();

		now = calls_cancelled(c, shard, &started);
		if (now > before || t - t0 > CANCEL_SEEN_BY_MS)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	/* calls_started (Stats calls are not counted) says whether the leg arrived at all. */
	print_message("shard %zu: calls_cancelled %llu -> %llu (calls_started %llu), %.0f ms"
	              " after the call began\n",
	              shard, (unsigned long long)before, (unsigned long long)now,
	              (unsigned long long)started, now_ms() - t0);
	assert_int_equal(now, before + 1);
}

/* ---- trailers and the shard header ------------------------------------------------------ */

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

/* Asserts leg i's scatter-leg trailer (exactly one) names it "shards/<i>", with shard i's
 * address as target and the wanted status. */
static void assert_leg(const cluster *c, const sg_call_result *res, uint32_t i,
                       grpc_status_code status)
{
	char name[32];
	sg_leg_outcome o, found = {0};
	int n = 0;

	for (size_t t = 0; t < res->n_trailers; t++) {
		if (strcmp(res->trailers[t].key, SG_TRAILER_LEG) != 0)
			continue;
		assert_int_equal(sg_leg_outcome_parse(res->trailers[t].value, &o), SG_OK);
		if (o.index == i) {
			found = o;
			n++;
		}
	}
	assert_int_equal(n, 1);
	snprintf(name, sizeof(name), "shards/%u", i);
	assert_string_equal(found.name, name);
	assert_non_null(strstr(found.target, c->shards[i].addr));
	if (found.status != status)
		fail_msg("leg %u: %s, want %s", i, sg_status_name(found.status),
		         sg_status_name(status));
}

/* Asserts the legs' statuses (one per shard, in leg order), the scatter-legs summary and the
 * shard header agree. In these tests no leg reaches its own deadline, so a leg reported
 * CANCELLED or DEADLINE_EXCEEDED was cut short by the gather; the summary counts it as cut,
 * the shard header (shards_failed: every leg not OK) as failed. */
static void assert_legs(const cluster *c, const sg_call_result *res,
                        const Search__SearchResponse *r, const grpc_status_code *want)
{
	uint32_t n = (uint32_t)c->spec->n_shards, ok = 0, cut = 0, legs = 0;

	for (uint32_t i = 0; i < n; i++) {
		assert_leg(c, res, i, want[i]);
		ok += want[i] == GRPC_STATUS_OK;
		cut += want[i] == GRPC_STATUS_CANCELLED || want[i] == GRPC_STATUS_DEADLINE_EXCEEDED;
	}
	for (size_t t = 0; t < res->n_trailers; t++)
		legs += strcmp(res->trailers[t].key, SG_TRAILER_LEG) == 0;
	assert_int_equal(legs, n);
	assert_legs_summary(res, n, ok, n - ok - cut, cut);
	assert_int_equal(r->shards_total, n);
	assert_int_equal(r->shards_ok, ok);
	assert_int_equal(r->shards_failed, n - ok);
}

/* ---- expected answers, from the shards' own ---------------------------------------------- */

static void assert_hit(const Search__Hit *got, const Search__Hit *want)
{
	assert_string_equal(got->doc_id, want->doc_id);
	assert_true(got->score == want->score);
	assert_int_equal(got->shard, want->shard);
	assert_string_equal(got->title, want->title);
}

typedef struct ranked_hit {
	const Search__Hit *hit;
	size_t seq;
} ranked_hit;

/* Best first; ties keep leg order, then element order (top_k's documented tie rule). */
static int ranked_cmp(const void *a, const void *b)
{
	const ranked_hit *x = a, *y = b;

	if (x->hit->score != y->hit->score)
		return x->hit->score > y->hit->score ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Asserts r's hits are the top k (0: 10) of the non-NULL direct answers. */
static void assert_top_k(const Search__SearchResponse *r, Search__SearchResponse *d[MAX_SHARDS],
                         uint32_t k)
{
	ranked_hit all[MAX_HITS];
	size_t n = 0, want;

	for (size_t i = 0; i < MAX_SHARDS; i++) {
		for (size_t j = 0; d[i] != NULL && j < d[i]->n_hits; j++) {
			assert_true(n < MAX_HITS);
			all[n] = (ranked_hit){.hit = d[i]->hits[j], .seq = n};
			n++;
		}
	}
	qsort(all, n, sizeof(all[0]), ranked_cmp);
	want = k == 0 || k > 10 ? 10 : k;
	if (want > n)
		want = n;
	assert_int_equal(r->n_hits, want);
	for (size_t i = 0; i < want; i++)
		assert_hit(r->hits[i], all[i].hit);
}

/* Hits of r scoring at least min. */
static size_t count_at_least(const Search__SearchResponse *r, double min)
{
	size_t n = 0;

	for (size_t j = 0; r != NULL && j < r->n_hits; j++)
		n += r->hits[j]->score >= min;
	return n;
}

static double best_of(const Search__SearchResponse *r)
{
	return r != NULL && r->n_hits > 0 ? r->hits[0]->score : 0;
}

/* Scores are a hash of (query, doc): a test that needs a certain shape (say, "shard 0 alone
 * does not meet the threshold, shards 0 and 1 together do") tries queries "probe <i>" on the
 * first n shards directly until `fits` holds, and copies that query into q. */
typedef bool (*shape_fn)(Search__SearchResponse *d[MAX_SHARDS]);

static void pick_query(cluster *c, size_t n, uint32_t k, shape_fn fits, char *q, size_t size)
{
	for (int i = 0; i < PROBES; i++) {
		Search__SearchResponse *d[MAX_SHARDS];
		bool ok;

		snprintf(q, size, "probe %d", i);
		direct_all(c, n, q, k, d);
		ok = fits(d);
		free_all(d);
		if (ok) {
			print_message("query \"%s\" has the shape the test needs\n", q);
			return;
		}
	}
	fail_msg("no query of the needed shape in %d probes", PROBES);
}

/* ---- first_n: Search.QueryFast (n: 2) ----------------------------------------------------- */

/* The fast shards take FAST_MS, not 0: a leg cancelled before its call reached the backend
 * (the aggregator's first call on a channel still connecting, under ASan) is cancelled all
 * right, but leaves the backend nothing to observe; this test wants the backend's view. */
#define FAST_MS 100

static const cluster_spec two_fast_two_slow = {
        .n_shards = 4,
        .shards = {{.latency_ms = FAST_MS},
                   {.latency_ms = FAST_MS},
                   {.latency_ms = SLOW_MS},
                   {.latency_ms = SLOW_MS}},
};

/* 2 fast shards answer: the answer is their top k as soon as they did, the 2 slow legs
 * CANCELLED, and both slow shards saw their call cancelled; the aggregator counts 2 legs cut
 * short. */
static void test_first_n_early(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_OK,
	                                        GRPC_STATUS_CANCELLED, GRPC_STATUS_CANCELLED};
	uint64_t before2 = calls_cancelled(c, 2, NULL), before3 = calls_cancelled(c, 3, NULL);
	uint64_t agg_before = aggregator_legs_cancelled(c);
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	double t0 = now_ms(), elapsed;

	assert_int_equal(call(c, "/search.Search/QueryFast", "first two", 10, &r, &res, &elapsed),
	                 SG_OK);
	assert_true(elapsed >= FAST_MS - 10);
	assert_true(elapsed < EARLY_MS);
	assert_legs(c, &res, r, want);
	assert_shard_saw_cancel(c, 2, before2, t0);
	assert_shard_saw_cancel(c, 3, before3, t0);
	assert_int_equal(aggregator_legs_cancelled(c), agg_before + 2);

	direct_all(c, 2, "first two", 10, d);
	assert_top_k(r, d, 10);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

static const cluster_spec one_answers = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0}, {.fail = true}, {.fail = true}, {.fail = true}},
};

/* Fewer than n can answer: once every leg ended, it is ALL's partial answer (shard 0's hits,
 * OK, the failures reported), not an error and not a wait for the deadline. */
static void test_first_n_fewer_than_n(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_UNAVAILABLE,
	                                        GRPC_STATUS_UNAVAILABLE, GRPC_STATUS_UNAVAILABLE};
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/QueryFast", "alone", 5, &r, &res, &elapsed),
	                 SG_OK);
	assert_true(elapsed < EARLY_MS);
	assert_legs(c, &res, r, want);
	direct_all(c, 1, "alone", 5, d);
	assert_top_k(r, d, 5);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- best_effort: Search.QueryWithin (soft_ms: 150) --------------------------------------- */

static const cluster_spec one_slow = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0},
                   {.latency_ms = 10},
                   {.latency_ms = 20},
                   {.latency_ms = SLOW_MS}},
};

/* At the soft deadline: the 3 shards that answered, the slow leg DEADLINE_EXCEEDED and its
 * shard saw the cancellation; the answer came at about soft_ms, not at the slow shard's time
 * nor at the method's deadline. */
static void test_best_effort_early(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_OK, GRPC_STATUS_OK,
	                                        GRPC_STATUS_DEADLINE_EXCEEDED};
	uint64_t before = calls_cancelled(c, 3, NULL), agg_before = aggregator_legs_cancelled(c);
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	double t0 = now_ms(), elapsed;

	assert_int_equal(call(c, "/search.Search/QueryWithin", "in time", 10, &r, &res, &elapsed),
	                 SG_OK);
	assert_true(elapsed >= SOFT_MS - 10);
	assert_true(elapsed < EARLY_MS);
	assert_legs(c, &res, r, want);
	assert_shard_saw_cancel(c, 3, before, t0);
	assert_int_equal(aggregator_legs_cancelled(c), agg_before + 1);

	direct_all(c, 3, "in time", 10, d);
	assert_top_k(r, d, 10);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

static const cluster_spec four_quick = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0}, {.latency_ms = 10}, {.latency_ms = 20}, {.latency_ms = 30}},
};

/* Every shard answers before the soft deadline: done when the last leg ends, all 4 in the
 * answer. */
static void test_best_effort_all_in_time(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_OK, GRPC_STATUS_OK,
	                                        GRPC_STATUS_OK};
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/QueryWithin", "everyone", 10, &r, &res, &elapsed),
	                 SG_OK);
	assert_legs(c, &res, r, want);
	direct_all(c, 4, "everyone", 10, d);
	assert_top_k(r, d, 10);
	/* Nothing was cut short. */
	assert_int_equal(aggregator_legs_cancelled(c), 0);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- quality threshold: Search.QueryGoodEnough (3 hits >= 0.9) ---------------------------- */

static const cluster_spec quality_early = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0},
                   {.latency_ms = 100},
                   {.latency_ms = SLOW_MS},
                   {.latency_ms = SLOW_MS}},
};

/* Shard 0 alone has fewer than 3 good hits, shards 0 and 1 together have 3 or more. */
static bool threshold_after_two(Search__SearchResponse *d[MAX_SHARDS])
{
	size_t a = count_at_least(d[0], QUALITY_SCORE), b = count_at_least(d[1], QUALITY_SCORE);

	return a < QUALITY_COUNT && a + b >= QUALITY_COUNT;
}

/* The threshold is met once the 2 fast shards answered: their top k, the slow legs
 * CANCELLED and seen cancelled by their shards. */
static void test_quality_threshold_early(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_OK,
	                                        GRPC_STATUS_CANCELLED, GRPC_STATUS_CANCELLED};
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	char q[32];
	uint64_t before2, before3;
	double t0, elapsed;

	pick_query(c, 2, 10, threshold_after_two, q, sizeof(q));
	before2 = calls_cancelled(c, 2, NULL);
	before3 = calls_cancelled(c, 3, NULL);
	t0 = now_ms();
	assert_int_equal(call(c, "/search.Search/QueryGoodEnough", q, 10, &r, &res, &elapsed),
	                 SG_OK);
	assert_true(elapsed < EARLY_MS);
	assert_legs(c, &res, r, want);
	assert_shard_saw_cancel(c, 2, before2, t0);
	assert_shard_saw_cancel(c, 3, before3, t0);

	direct_all(c, 2, q, 10, d);
	assert_top_k(r, d, 10);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

static const cluster_spec few_hits = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0, .hits = 2},
                   {.latency_ms = 10, .hits = 2},
                   {.latency_ms = 20, .hits = 2},
                   {.latency_ms = 30, .hits = 2}},
};

/* All 4 shards together hold fewer than 3 good hits. */
static bool threshold_never(Search__SearchResponse *d[MAX_SHARDS])
{
	size_t n = 0;

	for (size_t i = 0; i < MAX_SHARDS; i++)
		n += count_at_least(d[i], QUALITY_SCORE);
	return n < QUALITY_COUNT;
}

/* Never good enough: like ALL, every shard in the answer. */
static void test_quality_threshold_never(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_OK, GRPC_STATUS_OK,
	                                        GRPC_STATUS_OK};
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	char q[32];
	double elapsed;

	pick_query(c, 4, 10, threshold_never, q, sizeof(q));
	assert_int_equal(call(c, "/search.Search/QueryGoodEnough", q, 10, &r, &res, &elapsed),
	                 SG_OK);
	assert_legs(c, &res, r, want);
	direct_all(c, 4, q, 10, d);
	assert_top_k(r, d, 10);
	assert_int_equal(r->n_hits, 8);
	/* Nothing was cut short. */
	assert_int_equal(aggregator_legs_cancelled(c), 0);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- quality predicate: Search.QueryJudged (hooks.c: 2 shards and a hit >= 0.95) ---------- */

/* One of the 2 fast shards holds a hit of JUDGED_BEST or more. */
static bool judged_after_two(Search__SearchResponse *d[MAX_SHARDS])
{
	return best_of(d[0]) >= JUDGED_BEST || best_of(d[1]) >= JUDGED_BEST;
}

/* The predicate is true once the 2 fast shards answered (not after the first: it wants 2):
 * their top k, the slow legs CANCELLED and seen cancelled by their shards. */
static void test_quality_predicate_early(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_OK,
	                                        GRPC_STATUS_CANCELLED, GRPC_STATUS_CANCELLED};
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	char q[32];
	uint64_t before2, before3;
	double t0, elapsed;

	pick_query(c, 2, 10, judged_after_two, q, sizeof(q));
	before2 = calls_cancelled(c, 2, NULL);
	before3 = calls_cancelled(c, 3, NULL);
	t0 = now_ms();
	assert_int_equal(call(c, "/search.Search/QueryJudged", q, 10, &r, &res, &elapsed), SG_OK);
	assert_true(elapsed >= 100 - 10); /* shard 1's latency: the predicate waited for it */
	assert_true(elapsed < EARLY_MS);
	assert_legs(c, &res, r, want);
	assert_shard_saw_cancel(c, 2, before2, t0);
	assert_shard_saw_cancel(c, 3, before3, t0);

	direct_all(c, 2, q, 10, d);
	assert_top_k(r, d, 10);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

static const cluster_spec five_hits = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0, .hits = 5},
                   {.latency_ms = 10, .hits = 5},
                   {.latency_ms = 20, .hits = 5},
                   {.latency_ms = 30, .hits = 5}},
};

/* No shard holds a hit of JUDGED_BEST. */
static bool judged_never(Search__SearchResponse *d[MAX_SHARDS])
{
	for (size_t i = 0; i < MAX_SHARDS; i++) {
		if (best_of(d[i]) >= JUDGED_BEST)
			return false;
	}
	return true;
}

/* The predicate never holds: like ALL, every shard in the answer. */
static void test_quality_predicate_never(void **state)
{
	cluster *c = *state;
	static const grpc_status_code want[] = {GRPC_STATUS_OK, GRPC_STATUS_OK, GRPC_STATUS_OK,
	                                        GRPC_STATUS_OK};
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	char q[32];
	double elapsed;

	pick_query(c, 4, 10, judged_never, q, sizeof(q));
	assert_int_equal(call(c, "/search.Search/QueryJudged", q, 10, &r, &res, &elapsed), SG_OK);
	assert_legs(c, &res, r, want);
	direct_all(c, 4, q, 10, d);
	assert_top_k(r, d, 10);
	/* Nothing was cut short. */
	assert_int_equal(aggregator_legs_cancelled(c), 0);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- merges ------------------------------------------------------------------------------- */

/* 4 healthy shards whose first 10 documents are common to all of them (--overlap), scored per
 * shard: a union has duplicates to remove. */
static const cluster_spec overlapping = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0, .overlap = 10},
                   {.latency_ms = 10, .overlap = 10},
                   {.latency_ms = 20, .overlap = 10},
                   {.latency_ms = 30, .overlap = 10}},
};

static const grpc_status_code all_ok[] = {GRPC_STATUS_OK, GRPC_STATUS_OK, GRPC_STATUS_OK,
                                          GRPC_STATUS_OK};

static int overlapping_setup(void **state)
{
	*state = (void *)&overlapping;
	return cluster_setup(state);
}

/* Asserts r's hits are the non-NULL direct answers' hits one after another, in leg order. */
static void assert_concat(const Search__SearchResponse *r, Search__SearchResponse *d[MAX_SHARDS])
{
	size_t n = 0;

	for (size_t i = 0; i < MAX_SHARDS; i++) {
		for (size_t j = 0; d[i] != NULL && j < d[i]->n_hits; j++) {
			assert_true(n < r->n_hits);
			assert_hit(r->hits[n], d[i]->hits[j]);
			n++;
		}
	}
	assert_int_equal(r->n_hits, n);
}

/* concat { field: "hits" }: every shard's k hits, shard 0's first, each in its shard's
 * order. */
static void test_concat(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/QueryAll", "everything", 6, &r, &res, &elapsed),
	                 SG_OK);
	assert_legs(c, &res, r, all_ok);
	direct_all(c, 4, "everything", 6, d);
	assert_int_equal(r->n_hits, 4 * 6);
	assert_concat(r, d);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* union { field: "hits" key: "doc_id" by: "score" }: one hit per doc_id, in the order each id
 * was first seen (leg order), each the copy with the best score; and there were duplicates. */
static void test_union(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r, *d[MAX_SHARDS];
	const Search__Hit *want[MAX_HITS];
	size_t n_want = 0, n_all = 0;
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/QueryUnique", "dedup", 10, &r, &res, &elapsed),
	                 SG_OK);
	assert_legs(c, &res, r, all_ok);
	direct_all(c, 4, "dedup", 10, d);
	for (size_t i = 0; i < MAX_SHARDS; i++) {
		for (size_t j = 0; j < d[i]->n_hits; j++) {
			const Search__Hit *h = d[i]->hits[j];
			size_t w = 0;

			n_all++;
			while (w < n_want && strcmp(want[w]->doc_id, h->doc_id) != 0)
				w++;
			if (w == n_want)
				want[n_want++] = h;
			else if (h->score > want[w]->score)
				want[w] = h;
		}
	}
	print_message("%zu hits from the shards, %zu distinct\n", n_all, n_want);
	assert_true(n_want < n_all);
	assert_int_equal(r->n_hits, n_want);
	for (size_t i = 0; i < n_want; i++)
		assert_hit(r->hits[i], want[i]);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* reduce { total_matches SUM, best_score MAX }: the sums and maxima of the shards' own
 * values; fields the merge does not name (hits) come from the first OK leg, shard 0; the
 * shard header is the aggregator's, not shard 0's. */
static void test_reduce(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r, *d[MAX_SHARDS];
	uint64_t sum = 0;
	double max = 0;
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/Count", "how many", 10, &r, &res, &elapsed),
	                 SG_OK);
	assert_legs(c, &res, r, all_ok);
	direct_all(c, 4, "how many", 10, d);
	for (size_t i = 0; i < MAX_SHARDS; i++) {
		sum += d[i]->total_matches;
		if (d[i]->best_score > max)
			max = d[i]->best_score;
	}
	print_message("total_matches %llu, best_score %f\n", (unsigned long long)sum, max);
	assert_true(sum > 0);
	assert_int_equal(r->total_matches, sum);
	assert_true(r->best_score == max);
	assert_int_equal(r->n_hits, d[0]->n_hits);
	for (size_t j = 0; j < r->n_hits; j++)
		assert_hit(r->hits[j], d[0]->hits[j]);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* Asserts r's hits are what hooks.c's round robin makes of the direct answers: each shard's
 * best in leg order, then each one's second, ... k of them. */
static void assert_round_robin(const Search__SearchResponse *r,
                               Search__SearchResponse *d[MAX_SHARDS], size_t k)
{
	size_t n = 0;

	for (size_t round = 0; n < k && n < r->n_hits; round++) {
		bool any = false;

		for (size_t i = 0; i < MAX_SHARDS && n < k; i++) {
			if (d[i] == NULL || round >= d[i]->n_hits)
				continue;
			any = true;
			assert_true(n < r->n_hits);
			assert_hit(r->hits[n], d[i]->hits[round]);
			n++;
		}
		if (!any)
			break;
	}
	assert_int_equal(r->n_hits, n);
}

/* custom {}: the user's merge (hooks.c) made the answer: round robin over the shards, k of
 * them, every shard contributing although top_k would take most from a few. */
static void test_custom(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	uint32_t shards_seen = 0;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/QueryDiverse", "variety", 6, &r, &res, &elapsed),
	                 SG_OK);
	assert_legs(c, &res, r, all_ok);
	direct_all(c, 4, "variety", 6, d);
	assert_int_equal(r->n_hits, 6);
	assert_round_robin(r, d, 6);
	for (size_t i = 0; i < r->n_hits; i++)
		shards_seen |= 1u << r->hits[i]->shard;
	assert_int_equal(shards_seen, 0xf);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);

	/* k = 0: the hook's default. */
	assert_int_equal(call(c, "/search.Search/QueryDiverse", "variety", 0, &r, &res, &elapsed),
	                 SG_OK);
	free_all(d);
	direct_all(c, 4, "variety", 0, d);
	assert_int_equal(r->n_hits, DIVERSE_DEFAULT);
	assert_round_robin(r, d, DIVERSE_DEFAULT);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- merges over a partial answer: one shard fails ---------------------------------------- */

static const cluster_spec one_failing = {
        .n_shards = 4,
        .shards = {{.latency_ms = 0, .overlap = 10},
                   {.fail = true},
                   {.latency_ms = 10, .overlap = 10},
                   {.latency_ms = 20, .overlap = 10}},
};

static const grpc_status_code leg1_failed[] = {GRPC_STATUS_OK, GRPC_STATUS_UNAVAILABLE,
                                               GRPC_STATUS_OK, GRPC_STATUS_OK};

static int one_failing_setup(void **state)
{
	*state = (void *)&one_failing;
	return cluster_setup(state);
}

/* concat skips the failed leg and keeps leg order for the rest. */
static void test_concat_partial(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/QueryAll", "some", 4, &r, &res, &elapsed), SG_OK);
	assert_legs(c, &res, r, leg1_failed);
	direct_all(c, 4, "some", 4, d);
	assert_null(d[1]);
	assert_int_equal(r->n_hits, 3 * 4);
	assert_concat(r, d);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* reduce over the OK legs only. */
static void test_reduce_partial(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r, *d[MAX_SHARDS];
	uint64_t sum = 0;
	double max = 0;
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/Count", "some", 10, &r, &res, &elapsed), SG_OK);
	assert_legs(c, &res, r, leg1_failed);
	direct_all(c, 4, "some", 10, d);
	for (size_t i = 0; i < MAX_SHARDS; i++) {
		if (d[i] == NULL)
			continue;
		sum += d[i]->total_matches;
		if (d[i]->best_score > max)
			max = d[i]->best_score;
	}
	assert_int_equal(r->total_matches, sum);
	assert_true(r->best_score == max);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* The custom merge sees every leg, the failed one with no response, and skips it. */
static void test_custom_partial(void **state)
{
	cluster *c = *state;
	Search__SearchResponse *r, *d[MAX_SHARDS];
	sg_call_result res;
	double elapsed;

	assert_int_equal(call(c, "/search.Search/QueryDiverse", "some", 5, &r, &res, &elapsed),
	                 SG_OK);
	assert_legs(c, &res, r, leg1_failed);
	direct_all(c, 4, "some", 5, d);
	assert_round_robin(r, d, 5);
	assert_int_equal(r->n_hits, 5);
	for (size_t i = 0; i < r->n_hits; i++)
		assert_int_not_equal(r->hits[i]->shard, 1);
	free_all(d);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
}

/* ---- scatter.Stats ------------------------------------------------------------------------ */

/* Every counter of a, asserted equal to b's. */
static void assert_same_stats(const Scatter__ServerStats *a, const Scatter__ServerStats *b)
{
	assert_int_equal(a->calls_started, b->calls_started);
	assert_int_equal(a->calls_cancelled, b->calls_cancelled);
	assert_int_equal(a->legs_started, b->legs_started);
	assert_int_equal(a->legs_failed, b->legs_failed);
	assert_int_equal(a->legs_cancelled, b->legs_cancelled);
}

/* Reading the counters does not move them: two reads in a row agree on every counter, on the
 * aggregator and on a shard. One aggregate call then counts exactly one call on each, and one
 * leg per shard on the aggregator. */
static void test_stats_not_counted(void **state)
{
	cluster *c = *state;
	Scatter__ServerStats *agg[3], *shard[3];
	Search__SearchResponse *r;
	sg_call_result res;
	double elapsed;

	agg[0] = stats(c->client);
	shard[0] = stats(c->direct[0]);
	agg[1] = stats(c->client);
	shard[1] = stats(c->direct[0]);
	assert_same_stats(agg[0], agg[1]);
	assert_same_stats(shard[0], shard[1]);

	assert_int_equal(call(c, "/search.Search/Query", "counted once", 5, &r, &res, &elapsed),
	                 SG_OK);
	search__search_response__free_unpacked(r, NULL);
	sg_call_result_fini(&res);
	agg[2] = stats(c->client);
	shard[2] = stats(c->direct[0]);
	assert_int_equal(agg[2]->calls_started, agg[1]->calls_started + 1);
	assert_int_equal(agg[2]->legs_started, agg[1]->legs_started + c->spec->n_shards);
	assert_int_equal(shard[2]->calls_started, shard[1]->calls_started + 1);
	for (size_t i = 0; i < 3; i++) {
		scatter__server_stats__free_unpacked(agg[i], NULL);
		scatter__server_stats__free_unpacked(shard[i], NULL);
	}
}

#define CLUSTER_TEST(fn, spec)                                                                     \
	cmocka_unit_test_prestate_setup_teardown(fn, cluster_setup, cluster_teardown,              \
	                                         (void *)&(spec))

int main(int argc, char **argv)
{
	const struct CMUnitTest gather_tests[] = {
	        CLUSTER_TEST(test_first_n_early, two_fast_two_slow),
	        CLUSTER_TEST(test_first_n_fewer_than_n, one_answers),
	        CLUSTER_TEST(test_best_effort_early, one_slow),
	        CLUSTER_TEST(test_best_effort_all_in_time, four_quick),
	        CLUSTER_TEST(test_quality_threshold_early, quality_early),
	        CLUSTER_TEST(test_quality_threshold_never, few_hits),
	        CLUSTER_TEST(test_quality_predicate_early, quality_early),
	        CLUSTER_TEST(test_quality_predicate_never, five_hits),
	};
	const struct CMUnitTest merge_tests[] = {
	        cmocka_unit_test(test_concat),
	        cmocka_unit_test(test_union),
	        cmocka_unit_test(test_reduce),
	        cmocka_unit_test(test_custom),
	        cmocka_unit_test(test_stats_not_counted),
	};
	const struct CMUnitTest partial_merge_tests[] = {
	        cmocka_unit_test(test_concat_partial),
	        cmocka_unit_test(test_reduce_partial),
	        cmocka_unit_test(test_custom_partial),
	};
	int failed = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SEARCH_SHARD SEARCH_AGGREGATOR\n", argv[0]);
		return 2;
	}
	shard_bin = argv[1];
	aggregator_bin = argv[2];
	failed += cmocka_run_group_tests_name("gather strategies", gather_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("merges", merge_tests, overlapping_setup,
	                                      cluster_teardown);
	failed += cmocka_run_group_tests_name("merges, one shard failing", partial_merge_tests,
	                                      one_failing_setup, cluster_teardown);
	return failed;
}
