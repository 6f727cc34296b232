/*
 * resilience_e2e_test.c: circuit breakers, load shedding and cancellation with real processes.
 * Real search-shard and search-aggregator processes on 127.0.0.1, real gRPC, Search.Query (gather
 * all, deadline 1000 ms, the default breaker: window 20, 10 calls minimum, 50 % failures, open
 * 1000 ms, 3 probes).
 *
 *   kill_restart  a shard is SIGKILLed under a steady load of ~100 calls/s: every call still
 *                 answers (partially), the breaker opens within about a second, its legs then
 *                 fail at once without reaching the network, and once the shard is back on the
 *                 same port the breaker closes and its hits come back. Prints the timeline of
 *                 the breaker's states (from the trailers and the aggregator's log, with times).
 *   hang          a shard accepts and never answers: calls answer at the deadline until the
 *                 breaker opens on slow (and timed-out) calls; later calls are not delayed.
 *   garbage       a shard answers bytes that are not a SearchResponse: failures, never a
 *                 crash; the breaker opens.
 *   overload      offered load far above a low --max-calls: admitted calls keep a bounded
 *                 latency, the rest get RESOURCE_EXHAUSTED at once, the aggregator's memory
 *                 stays bounded (VmRSS before and after) and it exits cleanly. Figures printed,
 *                 not asserted tightly.
 *   cancel        a client that cancels, or whose deadline passes, cancels every leg: each
 *                 shard counts it (calls_cancelled) long before the legs' own deadline.
 *
 *   resilience_e2e_test <path of search-shard> <path of search-aggregator>
 *
 * The aggregator runs under /bin/sh only to send its stderr (the breaker's log lines) to a file
 * the test reads; `exec` keeps its pid. Every loop and wait is bounded; processes are stopped
 * by the teardown and die with the test if it crashes.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "proc.h"
#include "scatter/stats.pb-c.h"
#include "search.scatter.h"

#define N_SHARDS         3
#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS  10000
#define CALL_TIMEOUT_MS  5000
#define DEADLINE_MS      1000 /* search.proto: Query's deadline_ms */
#define OPEN_MS          1000 /* the default breaker's open_ms */
#define MAX_EVENTS       4096

static const char *shard_bin;
static const char *aggregator_bin;

typedef struct shard_spec {
	uint32_t latency_ms;
	const char *fault; /* NULL, "--garbage", "--hang" */
} shard_spec;

typedef struct spec {
	shard_spec shards[N_SHARDS];
	uint32_t max_calls; /* 0: the default */
} spec;

typedef struct cluster {
	const spec *spec;
	proc shards[N_SHARDS];
	proc aggregator;
	char log_path[64]; /* the aggregator's stderr */
	int log_fd;
	sg_client *client;
	sg_client *direct[N_SHARDS];
} cluster;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}, NULL);
}

/* ---- processes ---------------------------------------------------------------------------- */

/* listen: "127.0.0.1:0", or the address of the shard being restarted. */
static int shard_start(proc *p, uint32_t id, const shard_spec *s, const char *listen)
{
	char id_s[16], lat_s[16];
	char *argv[10] = {(char *)shard_bin, "--shard-id",  id_s, "--latency-ms", lat_s,
	                  "--listen",        (char *)listen};
	int n = 7;

	snprintf(id_s, sizeof(id_s), "%u", id);
	snprintf(lat_s, sizeof(lat_s), "%u", s->latency_ms);
	if (s->fault != NULL)
		argv[n++] = (char *)s->fault;
	argv[n] = NULL;
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

static int aggregator_start(cluster *c)
{
	char targets[N_SHARDS * 72] = "", max_calls[16], script[256];
	char *argv[12] = {"/bin/sh",  "-c",    script,      (char *)aggregator_bin,
	                  "--shards", targets, "--threads", "2"};
	int n = 8;

	for (size_t i = 0; i < N_SHARDS; i++) {
		if (i > 0)
			strcat(targets, ",");
		strcat(targets, c->shards[i].addr);
	}
	/* Under ASan, freed memory waits in a quarantine (256 MB by default) before reuse, which
	 * VmRSS shows: a small one lets the overload test see the aggregator's own memory. */
	snprintf(script, sizeof(script),
	         "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16 "
	         "exec \"$0\" \"$@\" 2>%s",
	         c->log_path);
	if (c->spec->max_calls > 0) {
		snprintf(max_calls, sizeof(max_calls), "%u", c->spec->max_calls);
		argv[n++] = "--max-calls";
		argv[n++] = max_calls;
	}
	argv[n] = NULL;
	return proc_start(&c->aggregator, argv, READY_TIMEOUT_MS);
}

/* The aggregator's log lines since the last read, NUL-terminated into buf (may be ""). */
static void log_read(cluster *c, char *buf, size_t size)
{
	ssize_t n = c->log_fd >= 0 ? read(c->log_fd, buf, size - 1) : 0;

	buf[n > 0 ? n : 0] = '\0';
}

static int cluster_stop(cluster *c)
{
	int rc = 0;

	sg_client_close(c->client);
	c->client = NULL;
	for (size_t i = 0; i < N_SHARDS; i++) {
		sg_client_close(c->direct[i]);
		c->direct[i] = NULL;
	}
	if (c->aggregator.pid > 0 && !proc_exited_ok(proc_stop(&c->aggregator, STOP_TIMEOUT_MS))) {
		char buf[8192];
		int fd = open(c->log_path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;

		buf[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "search-aggregator did not exit cleanly; its log begins:\n%s\n",
		        buf);
		if (fd >= 0)
			close(fd);
		rc = -1;
	}
	for (size_t i = 0; i < N_SHARDS; i++) {
		if (c->shards[i].pid > 0 &&
		    !proc_exited_ok(proc_stop(&c->shards[i], STOP_TIMEOUT_MS))) {
			fprintf(stderr, "search-shard %zu did not exit cleanly\n", i);
			rc = -1;
		}
	}
	if (c->log_fd >= 0)
		close(c->log_fd);
	unlink(c->log_path);
	return rc;
}

static int cluster_setup(void **state)
{
	cluster *c = calloc(1, sizeof(*c));
	int fd;

	if (c == NULL)
		return -1;
	c->spec = *state;
	c->log_fd = -1;
	snprintf(c->log_path, sizeof(c->log_path), "/tmp/scatter-resilience-XXXXXX");
	if ((fd = mkstemp(c->log_path)) < 0)
		goto fail;
	close(fd);
	for (size_t i = 0; i < N_SHARDS; i++) {
		if (shard_start(&c->shards[i], (uint32_t)i, &c->spec->shards[i], "127.0.0.1:0") !=
		            0 ||
		    sg_client_open(c->shards[i].addr, &c->direct[i]) != SG_OK)
			goto fail;
	}
	if (aggregator_start(c) != 0 || sg_client_open(c->aggregator.addr, &c->client) != SG_OK)
		goto fail;
	c->log_fd = open(c->log_path, O_RDONLY);
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

/* ---- calls, trailers, stats --------------------------------------------------------------- */

/* What one aggregate call showed about one leg. */
typedef struct leg_seen {
	grpc_status_code call_status;
	grpc_status_code status;
	char note[32];
	int64_t latency_us;
	size_t hits_of_shard; /* hits in the answer that came from that shard */
	double elapsed_ms;
} leg_seen;

/* Search.Query on client, and what it says about leg `leg`. */
static void query(sg_client *client, const char *q, uint32_t timeout_ms, uint32_t leg,
                  leg_seen *out)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *resp = NULL;
	sg_call_result res = {0};
	double t0 = now_ms();

	req.query = (char *)q;
	req.k = 10 * N_SHARDS;
	memset(out, 0, sizeof(*out));
	out->status = GRPC_STATUS_UNKNOWN;
	(void)search__search__query_call(client, &req, timeout_ms, &resp, &res);
	out->elapsed_ms = now_ms() - t0;
	out->call_status = res.status;
	for (size_t t = 0; t < res.n_trailers; t++) {
		sg_leg_outcome o;

		if (strcmp(res.trailers[t].key, SG_TRAILER_LEG) == 0 &&
		    sg_leg_outcome_parse(res.trailers[t].value, &o) == SG_OK && o.index == leg) {
			out->status = o.status;
			out->latency_us = o.latency_us;
			snprintf(out->note, sizeof(out->note), "%s", o.note);
		}
	}
	for (size_t i = 0; resp != NULL && i < resp->n_hits; i++)
		out->hits_of_shard += resp->hits[i]->shard == leg;
	if (resp != NULL)
		search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
}

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

/* A shard's Search calls started so far (stats calls are not counted), and cancelled. */
static uint64_t shard_searches(sg_client *sc, uint64_t *cancelled)
{
	Scatter__ServerStats *s = stats(sc);
	uint64_t v = s->calls_started;

	if (cancelled != NULL)
		*cancelled = s->calls_cancelled;
	scatter__server_stats__free_unpacked(s, NULL);
	return v;
}

static uint64_t vm_rss_kb(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* ---- 1: a shard killed under load, then restarted on its port ----------------------------- */

#define LOAD_PERIOD_MS 10 /* ~100 calls/s */
#define LOAD_MAX_CALLS 3000

typedef struct load {
	cluster *c;
	double t0;
	atomic_bool stop;
	atomic_int n;
	atomic_int open_seen;   /* calls whose leg 1 said circuit_open */
	atomic_int ok_in_a_row; /* consecutive calls with leg 1 OK and its hits */
	double t[LOAD_MAX_CALLS];
	leg_seen seen[LOAD_MAX_CALLS];
	/* The timeline: breaker log lines as they appeared, with the time they were read. */
	char log[16384];
	size_t log_len;
} load;

/* The load thread: Search.Query every LOAD_PERIOD_MS (as long as calls keep up), leg 1 of each
 * recorded, the aggregator's new log lines stamped with the time they were read. Bounded by
 * LOAD_MAX_CALLS and the stop flag. */
static void *load_run(void *arg)
{
	load *l = arg;
	double due = l->t0;
	char buf[4096], *save = NULL;

	for (int i = 0; i < LOAD_MAX_CALLS && !atomic_load(&l->stop); i++) {
		double t = now_ms();
		leg_seen *s = &l->seen[i];

		/* On time, or at once when calls fell behind (no burst to catch up). */
		if (due > t)
			sleep_ms((int)(due - t));
		due = (due > t ? due : t) + LOAD_PERIOD_MS;
		l->t[i] = now_ms() - l->t0;
		query(l->c->client, "scatter gather", CALL_TIMEOUT_MS, 1, s);
		if (strcmp(s->note, "circuit_open") == 0)
			atomic_fetch_add(&l->open_seen, 1);
		if (s->status == GRPC_STATUS_OK && s->hits_of_shard > 0)
			atomic_fetch_add(&l->ok_in_a_row, 1);
		else
			atomic_store(&l->ok_in_a_row, 0);
		log_read(l->c, buf, sizeof(buf));
		for (char *line = strtok_r(buf, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strstr(line, "breaker") == NULL || l->log_len + 300 > sizeof(l->log))
				continue;
			l->log_len +=
			        (size_t)snprintf(l->log + l->log_len, sizeof(l->log) - l->log_len,
			                         "  t=%6.0f ms  %s\n", now_ms() - l->t0, line);
		}
		atomic_store(&l->n, i + 1);
	}
	return NULL;
}

/* What leg 1's outcome says about the breaker, in words. */
static const char *leg_phase(const leg_seen *s)
{
	if (strcmp(s->note, "circuit_open") == 0)
		return "open: refused at once (circuit_open)";
	if (s->status == GRPC_STATUS_OK)
		return "closed: answered";
	return "called, failed";
}

static void test_kill_restart(void **state)
{
	cluster *c = *state;
	load *l = calloc(1, sizeof(*l));
	char addr[64];
	double t_kill, t_open = -1, t_restart, t_back = -1;
	uint64_t before;
	int n, first_open = -1, after_restart = 0, not_refused_after = 0;
	pthread_t th;

	assert_non_null(l);
	snprintf(addr, sizeof(addr), "%s", c->shards[1].addr);
	l->c = c;
	l->t0 = now_ms();
	assert_int_equal(pthread_create(&th, NULL, load_run, l), 0);

	/* One second of steady load, then shard 1 dies mid-flight. */
	sleep_ms(1000);
	t_kill = now_ms() - l->t0;
	proc_kill(&c->shards[1]);
	print_message("t=%6.0f ms  shard 1 (%s) killed (SIGKILL)\n", t_kill, addr);
	/* Its breaker must open: bounded wait, then a little longer to show it stays open. */
	for (double t = now_ms(); atomic_load(&l->open_seen) == 0 && now_ms() - t < 5000;)
		sleep_ms(20);
	assert_true(atomic_load(&l->open_seen) > 0);
	sleep_ms(1500);
	/* Back on the same port. */
	assert_int_equal(shard_start(&c->shards[1], 1, &c->spec->shards[1], addr), 0);
	t_restart = now_ms() - l->t0;
	print_message("t=%6.0f ms  shard 1 restarted on %s\n", t_restart, c->shards[1].addr);
	sg_client_close(c->direct[1]);
	assert_int_equal(sg_client_open(c->shards[1].addr, &c->direct[1]), SG_OK);
	before = shard_searches(c->direct[1], NULL);
	/* Until 50 calls in a row have its hits again, bounded. */
	for (double t = now_ms(); atomic_load(&l->ok_in_a_row) < 50 && now_ms() - t < 15000;)
		sleep_ms(20);
	atomic_store(&l->stop, true);
	pthread_join(th, NULL);
	n = atomic_load(&l->n);

	/* The timeline: leg 1's phase each time it changed, and the breaker's log lines. */
	print_message("timeline of shard 1's breaker, from the trailers (%d calls, ~%d/s):\n", n,
	              1000 / LOAD_PERIOD_MS);
	for (int i = 0; i < n; i++) {
		const leg_seen *s = &l->seen[i];
		bool change = i == 0 || strcmp(leg_phase(s), leg_phase(&l->seen[i - 1])) != 0;

		if (change)
			print_message(
			        "  t=%6.0f ms  call %4d: leg shards/1 %-18s latency %6.1f ms  "
			        "%s\n",
			        l->t[i], i, sg_status_name(s->status), (double)s->latency_us / 1e3,
			        leg_phase(s));
		if (first_open < 0 && strcmp(s->note, "circuit_open") == 0) {
			first_open = i;
			t_open = l->t[i];
		}
		if (l->t[i] > t_restart) {
			after_restart++;
			not_refused_after += s->note[0] == '\0';
		}
		if (t_back < 0 && l->t[i] > t_restart && s->status == GRPC_STATUS_OK)
			t_back = l->t[i];
	}
	print_message("timeline from the aggregator's log:\n%s", l->log);
	print_message("opened %.0f ms after the kill; answers from shard 1 again %.0f ms after "
	              "the restart\n",
	              t_open - t_kill, t_back - t_restart);

	/* Every call answered, partially while shard 1 was away. */
	for (int i = 0; i < n; i++) {
		if (l->seen[i].call_status != GRPC_STATUS_OK)
			fail_msg("call %d at t=%.0f ms: %s", i, l->t[i],
			         sg_status_name(l->seen[i].call_status));
	}
	/* Open within about a second of the kill (at ~100 calls/s, 10 failures suffice). */
	assert_true(first_open > 0);
	assert_true(t_open - t_kill < 1500);
	/* While open, its legs fail at once, without a call. */
	for (int i = 0; i < n; i++) {
		const leg_seen *s = &l->seen[i];

		if (strcmp(s->note, "circuit_open") == 0) {
			assert_int_equal(s->status, GRPC_STATUS_UNAVAILABLE);
			assert_true(s->latency_us < 1000);
		}
	}
	/* After the restart only legs the breaker let through reached the shard. */
	uint64_t searches = shard_searches(c->direct[1], NULL) - before;
	print_message("after the restart: %d calls, %d legs to shard 1 not refused, %llu "
	              "reached it\n",
	              after_restart, not_refused_after, (unsigned long long)searches);
	assert_true(searches <= (uint64_t)not_refused_after);
	/* And it is back: closed, its hits in the answers. */
	assert_true(atomic_load(&l->ok_in_a_row) >= 50);
	assert_true(l->log_len > 0);
	assert_non_null(strstr(l->log, "breaker open: target="));
	assert_non_null(strstr(l->log, "breaker half-open"));
	assert_non_null(strstr(l->log, "breaker closed"));
	free(l);
}

/* ---- 2: a shard that hangs ---------------------------------------------------------------- */

#define HANG_BATCH 12 /* concurrent calls: more than min_calls outcomes at once */

typedef struct batch_arg {
	const char *addr;
	leg_seen seen;
} batch_arg;

static void *batch_one(void *arg)
{
	batch_arg *a = arg;
	sg_client *cl = NULL;

	if (sg_client_open(a->addr, &cl) == SG_OK)
		query(cl, "hang", CALL_TIMEOUT_MS, 2, &a->seen);
	sg_client_close(cl);
	return NULL;
}

static void test_hang(void **state)
{
	cluster *c = *state;
	batch_arg args[HANG_BATCH];
	pthread_t th[HANG_BATCH];
	uint64_t cancelled = 0;
	char buf[8192];
	leg_seen s;

	/* A batch of calls at once: each waits for the hung shard until the deadline. */
	for (int i = 0; i < HANG_BATCH; i++) {
		args[i] = (batch_arg){.addr = c->aggregator.addr};
		assert_int_equal(pthread_create(&th[i], NULL, batch_one, &args[i]), 0);
	}
	for (int i = 0; i < HANG_BATCH; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < HANG_BATCH; i++) {
		print_message("call %2d: %s after %.0f ms, leg shards/2 %s\n", i,
		              sg_status_name(args[i].seen.call_status), args[i].seen.elapsed_ms,
		              sg_status_name(args[i].seen.status));
		assert_int_equal(args[i].seen.call_status, GRPC_STATUS_OK);
		assert_int_equal(args[i].seen.status, GRPC_STATUS_DEADLINE_EXCEEDED);
		/* At the deadline (the answer is partial, with the other shards' hits). */
		assert_true(args[i].seen.elapsed_ms >= DEADLINE_MS - 100);
	}
	/* Now open: the next calls are not delayed by the hung shard. */
	for (int i = 0; i < 5; i++) {
		query(c->client, "after", CALL_TIMEOUT_MS, 2, &s);
		print_message("later call %d: %s after %.0f ms, leg shards/2 %s note=%s\n", i,
		              sg_status_name(s.call_status), s.elapsed_ms, sg_status_name(s.status),
		              s.note);
		assert_int_equal(s.call_status, GRPC_STATUS_OK);
		assert_string_equal(s.note, "circuit_open");
		assert_true(s.elapsed_ms < DEADLINE_MS / 2);
	}
	log_read(c, buf, sizeof(buf));
	print_message("aggregator log:\n%s", buf);
	assert_non_null(strstr(buf, "breaker open: target="));
	assert_non_null(strstr(buf, "slow_calls"));
	/* The shard saw every leg go away (its deadline), bounded. */
	for (double t = now_ms(); now_ms() - t < 3000 && cancelled < HANG_BATCH; sleep_ms(10))
		(void)shard_searches(c->direct[2], &cancelled);
	print_message("hung shard: calls_cancelled %llu\n", (unsigned long long)cancelled);
	assert_int_equal(cancelled, HANG_BATCH);
}

/* ---- 3: a shard answering garbage ------------------------------------------------------- */

static void test_garbage(void **state)
{
	cluster *c = *state;
	int internal = 0, refused = 0;
	char buf[8192];
	leg_seen s;

	for (int i = 0; i < 20; i++) {
		query(c->client, "garbage", CALL_TIMEOUT_MS, 1, &s);
		print_message("call %2d: %s, leg shards/1 %s %s\n", i,
		              sg_status_name(s.call_status), sg_status_name(s.status), s.note);
		assert_int_equal(s.call_status, GRPC_STATUS_OK);
		assert_int_equal(s.hits_of_shard, 0);
		if (s.status == GRPC_STATUS_INTERNAL) {
			assert_int_equal(refused, 0); /* never again once open */
			internal++;
		} else {
			assert_int_equal(s.status, GRPC_STATUS_UNAVAILABLE);
			assert_string_equal(s.note, "circuit_open");
			refused++;
		}
	}
	/* min_calls undecodable answers open it; the rest are refused. */
	assert_int_equal(internal, 10);
	assert_int_equal(refused, 10);
	log_read(c, buf, sizeof(buf));
	print_message("aggregator log:\n%s", buf);
	assert_non_null(strstr(buf, "breaker open: target="));
	assert_non_null(strstr(buf, c->shards[1].addr));
}

/* ---- 5: overload ------------------------------------------------------------------------ */

/* How much the aggregator's VmRSS may grow under overload: rejected calls allocate nothing of
 * ours, so this is gRPC's own working set. Under ASan: its quarantine (16 MB here, see
 * aggregator_start), shadow memory and allocator caches on top. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_GROWTH_KB (128 * 1024)
#else
#define RSS_GROWTH_KB (64 * 1024)
#endif
#define OVERLOAD_CLIENTS  24
#define OVERLOAD_MS       2500
#define OVERLOAD_MAX_CALL 400 /* per client */

typedef struct client_load {
	const char *addr;
	double until;
	int n, ok, exhausted, other;
	double lat[OVERLOAD_MAX_CALL]; /* of admitted (OK) calls */
} client_load;

static void *overload_client(void *arg)
{
	client_load *cl = arg;
	sg_client *client = NULL;
	leg_seen s;

	if (sg_client_open(cl->addr, &client) != SG_OK)
		return NULL;
	while (now_ms() < cl->until && cl->n < OVERLOAD_MAX_CALL) {
		query(client, "load", CALL_TIMEOUT_MS, 0, &s);
		cl->n++;
		if (s.call_status == GRPC_STATUS_OK)
			cl->lat[cl->ok++] = s.elapsed_ms;
		else if (s.call_status == GRPC_STATUS_RESOURCE_EXHAUSTED)
			cl->exhausted++;
		else
			cl->other++;
	}
	sg_client_close(client);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void test_overload(void **state)
{
	cluster *c = *state;
	client_load *cl = calloc(OVERLOAD_CLIENTS, sizeof(*cl));
	double *all = calloc(OVERLOAD_CLIENTS * OVERLOAD_MAX_CALL, sizeof(*all));
	pthread_t th[OVERLOAD_CLIENTS];
	int n = 0, ok = 0, exhausted = 0, other = 0;
	uint64_t rss_before, rss_peak = 0, rss_after;
	Scatter__ServerStats *st;
	double t0, elapsed;
	leg_seen warm;

	assert_non_null(cl);
	assert_non_null(all);
	query(c->client, "warm", CALL_TIMEOUT_MS, 0, &warm);
	rss_before = vm_rss_kb(c->aggregator.pid);
	t0 = now_ms();
	for (int i = 0; i < OVERLOAD_CLIENTS; i++) {
		cl[i] = (client_load){.addr = c->aggregator.addr, .until = t0 + OVERLOAD_MS};
		assert_int_equal(pthread_create(&th[i], NULL, overload_client, &cl[i]), 0);
	}
	/* RSS while loaded, sampled. */
	while (now_ms() < t0 + OVERLOAD_MS) {
		uint64_t r = vm_rss_kb(c->aggregator.pid);

		rss_peak = r > rss_peak ? r : rss_peak;
		sleep_ms(100);
	}
	for (int i = 0; i < OVERLOAD_CLIENTS; i++)
		pthread_join(th[i], NULL);
	elapsed = now_ms() - t0;
	rss_after = vm_rss_kb(c->aggregator.pid);
	for (int i = 0; i < OVERLOAD_CLIENTS; i++) {
		n += cl[i].n;
		exhausted += cl[i].exhausted;
		other += cl[i].other;
		for (int j = 0; j < cl[i].ok; j++)
			all[ok++] = cl[i].lat[j];
	}
	qsort(all, (size_t)ok, sizeof(*all), cmp_double);
	st = stats(c->client);
	print_message("overload: %d clients for %.0f ms, --max-calls %u, shards answering in "
	              "%u ms\n",
	              OVERLOAD_CLIENTS, elapsed, c->spec->max_calls, c->spec->shards[0].latency_ms);
	print_message("  %d calls (%.0f/s): %d OK (%.0f/s), %d RESOURCE_EXHAUSTED, %d other\n", n,
	              n * 1e3 / elapsed, ok, ok * 1e3 / elapsed, exhausted, other);
	if (ok > 0)
		print_message("  admitted latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		              all[ok / 2], all[(size_t)(ok * 0.99)], all[ok - 1]);
	print_message("  aggregator VmRSS: %llu kB before, %llu kB peak, %llu kB after; "
	              "calls_rejected %llu\n",
	              (unsigned long long)rss_before, (unsigned long long)rss_peak,
	              (unsigned long long)rss_after, (unsigned long long)st->calls_rejected);
	assert_int_equal(other, 0);
	assert_true(ok > 0);
	assert_true(exhausted > 0);
	assert_int_equal(st->calls_rejected, (uint64_t)exhausted);
	/* Loose bounds: admitted calls are never queued behind the rejected ones. */
	assert_true(all[(size_t)(ok * 0.99)] < 3 * DEADLINE_MS);
	assert_true(rss_peak < rss_before + RSS_GROWTH_KB);
	scatter__server_stats__free_unpacked(st, NULL);
	free(all);
	free(cl);
}

/* ---- cancellation ------------------------------------------------------------------------ */

/* Waits (bounded) until every shard counts `want` more cancelled calls than base[i]; returns
 * the time it took from t0. */
static double wait_cancelled(cluster *c, const uint64_t base[N_SHARDS], uint64_t want, double t0)
{
	for (double t = now_ms(); now_ms() - t < 5000; sleep_ms(10)) {
		size_t done = 0;

		for (size_t i = 0; i < N_SHARDS; i++) {
			uint64_t cancelled;

			(void)shard_searches(c->direct[i], &cancelled);
			done += cancelled >= base[i] + want;
		}
		if (done == N_SHARDS)
			break;
	}
	return now_ms() - t0;
}

static void test_cancel(void **state)
{
	cluster *c = *state;
	uint64_t base[N_SHARDS], started[N_SHARDS];
	double t0, took;
	leg_seen s;

	for (size_t i = 0; i < N_SHARDS; i++) {
		started[i] = shard_searches(c->direct[i], &base[i]);
	}
	/* 1. The client's deadline passes (300 ms; the shards would take 3 s). */
	t0 = now_ms();
	query(c->client, "deadline", 300, 0, &s);
	print_message("call with a 300 ms deadline: %s after %.0f ms\n",
	              sg_status_name(s.call_status), s.elapsed_ms);
	/* The legs' deadline is the client's less margin_ms: they time out first and the
	 * aggregator answers that every leg failed, just before the client would give up. */
	assert_true(s.call_status == GRPC_STATUS_UNAVAILABLE ||
	            s.call_status == GRPC_STATUS_DEADLINE_EXCEEDED);
	took = wait_cancelled(c, base, 1, t0);
	print_message("every shard counted its leg cancelled %.0f ms after the call began\n", took);
	assert_true(took < DEADLINE_MS);

	/* 2. The client cancels: a raw call, cancelled once every shard has its leg. */
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(c->aggregator.addr, creds, NULL);
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	uint8_t body[64];
	grpc_slice sl;
	grpc_byte_buffer *bb;
	grpc_metadata_array md, tr;
	grpc_byte_buffer *recv = NULL;
	grpc_status_code status;
	grpc_slice details;
	grpc_op ops[6];
	grpc_call *call;
	grpc_event ev;

	grpc_channel_credentials_release(creds);
	req.query = "cancel me";
	sl = grpc_slice_from_copied_buffer((const char *)body,
	                                   search__search_request__pack(&req, body));
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	grpc_metadata_array_init(&md);
	grpc_metadata_array_init(&tr);
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
	                                grpc_slice_from_static_string("/search.Search/Query"), NULL,
	                                gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = bb;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &tr;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	assert_int_equal(grpc_call_start_batch(call, ops, 6, (void *)1, NULL), GRPC_CALL_OK);
	/* Every shard has its leg (its Search calls went up), bounded. */
	for (double t = now_ms(); now_ms() - t < 5000; sleep_ms(10)) {
		size_t arrived = 0;

		for (size_t i = 0; i < N_SHARDS; i++)
			arrived += shard_searches(c->direct[i], NULL) > started[i] + 1;
		if (arrived == N_SHARDS)
			break;
	}
	t0 = now_ms();
	grpc_call_cancel(call, NULL);
	ev = grpc_completion_queue_next(
	        cq,
	        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(5, GPR_TIMESPAN)),
	        NULL);
	assert_int_equal(ev.type, GRPC_OP_COMPLETE);
	print_message("cancelled call: %s\n", sg_status_name(status));
	assert_int_equal(status, GRPC_STATUS_CANCELLED);
	took = wait_cancelled(c, base, 2, t0);
	print_message("every shard counted its leg cancelled %.0f ms after the client cancelled\n",
	              took);
	/* Long before the legs' own deadline would have cancelled them. */
	assert_true(took < DEADLINE_MS / 2);

	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md);
	grpc_metadata_array_destroy(&tr);
	if (recv != NULL)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(bb);
	grpc_call_unref(call);
	grpc_channel_destroy(ch);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN) {
	}
	grpc_completion_queue_destroy(cq);
}

int main(int argc, char **argv)
{
	static const spec kill_restart = {
	        .shards = {{.latency_ms = 2}, {.latency_ms = 2}, {.latency_ms = 2}}};
	static const spec hang = {.shards = {{.latency_ms = 5},
	                                     {.latency_ms = 5},
	                                     {.latency_ms = 0, .fault = "--hang"}}};
	static const spec garbage = {.shards = {{.latency_ms = 1},
	                                        {.latency_ms = 1, .fault = "--garbage"},
	                                        {.latency_ms = 1}}};
	static const spec overload = {
	        .shards = {{.latency_ms = 50}, {.latency_ms = 50}, {.latency_ms = 50}},
	        .max_calls = 4};
	static const spec cancel = {
	        .shards = {{.latency_ms = 3000}, {.latency_ms = 3000}, {.latency_ms = 3000}}};
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_prestate_setup_teardown(test_kill_restart, cluster_setup,
	                                                 cluster_teardown, (void *)&kill_restart),
	        cmocka_unit_test_prestate_setup_teardown(test_hang, cluster_setup, cluster_teardown,
	                                                 (void *)&hang),
	        cmocka_unit_test_prestate_setup_teardown(test_garbage, cluster_setup,
	                                                 cluster_teardown, (void *)&garbage),
	        cmocka_unit_test_prestate_setup_teardown(test_overload, cluster_setup,
	                                                 cluster_teardown, (void *)&overload),
	        cmocka_unit_test_prestate_setup_teardown(test_cancel, cluster_setup,
	                                                 cluster_teardown, (void *)&cancel),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s SEARCH_SHARD SEARCH_AGGREGATOR\n", argv[0]);
		return 2;
	}
	shard_bin = argv[1];
	aggregator_bin = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
