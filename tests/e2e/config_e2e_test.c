/*
 * config_e2e_test.c: an aggregator's operations with real processes: started from a config
 * file, grpc.health.v1 Check, SIGHUP moving traffic to a new shard under a steady load with no
 * error, SIGTERM draining slow calls (they complete OK, new calls are refused, health says
 * NOT_SERVING, the process exits 0 within its grace period), a config error failing the start
 * with file:line and key.
 *
 *   config_e2e_test <path of search-shard> <path of search-aggregator>
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"
#include "scatter/stats.pb-c.h"
#include "search.scatter.h"

#define READY_TIMEOUT_MS 15000 /* process start under ASan on a busy 2-core machine */
#define STOP_TIMEOUT_MS  10000
#define CALL_TIMEOUT_MS  5000
#define WAIT_MS          10000 /* any bounded wait for something the test caused */

static const char *shard_bin;
static const char *aggregator_bin;
static char dir[] = "/tmp/scatter_config_e2eXXXXXX";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void nap_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int shard_start(proc *p, uint32_t id, uint32_t latency_ms)
{
	char id_s[16], lat_s[16];
	char *argv[] = {(char *)shard_bin, "--shard-id", id_s, "--latency-ms", lat_s, NULL};

	snprintf(id_s, sizeof(id_s), "%u", id);
	snprintf(lat_s, sizeof(lat_s), "%u", latency_ms);
	return proc_start(p, argv, READY_TIMEOUT_MS);
}

/* Writes the aggregator's config: shards' addresses, grace and lame duck; returns its path. */
static const char *write_config(const char *name, proc *const *shards, size_t n, uint32_t grace_ms,
                                uint32_t lame_duck_ms)
{
	static char path[256];
	char tmp[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* Written aside and renamed: a reload never reads half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_non_null(f = fopen(tmp, "w"));
	fprintf(f,
	        "listen: 127.0.0.1:0\nthreads: 2\nlog_level: info\n"
	        "drain:\n  grace_ms: %u\n  lame_duck_ms: %u\n"
	        "groups:\n  shards:\n    targets:\n",
	        grace_ms, lame_duck_ms);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "      - ipv4:%s\n", shards[i]->addr);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
	return path;
}

static int aggregator_start(proc *p, const char *config)
{
	char *argv[] = {(char *)aggregator_bin, "--config", (char *)config, NULL};

	return proc_start(p, argv, READY_TIMEOUT_MS);
}

/* Search.Query once on client; the status, and whether a leg went to `addr` (may be NULL). */
static grpc_status_code query(sg_client *client, const char *addr, bool *reached)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *resp = NULL;
	sg_call_result r = {0};
	grpc_status_code code;

	req.query = "ops";
	req.k = 3;
	sg_client_call(client, "/search.Search/Query", &req.base,
	               &search__search_response__descriptor, CALL_TIMEOUT_MS,
	               (ProtobufCMessage **)&resp, &r);
	code = r.status;
	if (reached != NULL) {
		*reached = false;
		for (size_t i = 0; i < r.n_trailers && addr != NULL; i++) {
			if (strcmp(r.trailers[i].key, "scatter-leg") == 0 &&
			    strstr(r.trailers[i].value, addr) != NULL &&
			    strstr(r.trailers[i].value, "status=OK") != NULL)
				*reached = true;
		}
	}
	if (resp != NULL)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	sg_call_result_fini(&r);
	return code;
}

/* grpc.health.v1.Health/Check(service) with the C client and hand-encoded protobuf (a field 1
 * string; the answer's field 1 enum): the status code, and the serving status in *serving. */
static grpc_status_code health_check(sg_client *client, const char *service, int *serving)
{
	uint8_t req[128];
	size_t len = strlen(service), n = 0;
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	sg_call_result r = {0};
	grpc_status_code code;

	assert_true(len < 100);
	if (len > 0) {
		req[n++] = 0x0a;
		req[n++] = (uint8_t)len;
		memcpy(req + n, service, len);
		n += len;
	}
	sg_client_call_bytes(client, "/grpc.health.v1.Health/Check", req, n, CALL_TIMEOUT_MS, &resp,
	                     &resp_len, &r);
	code = r.status;
	*serving = -1;
	if (code == GRPC_STATUS_OK)
		*serving = resp_len == 0 ? 0 : (resp_len == 2 && resp[0] == 0x08 ? resp[1] : -2);
	free(resp);
	sg_call_result_fini(&r);
	return code;
}

/* ---- start from a file, health Check ---------------------------------------------------- */

static void test_start_and_health(void **state)
{
	proc s0 = {0}, s1 = {0}, agg = {0};
	proc *shards[] = {&s0, &s1};
	sg_client *client;
	int serving;

	(void)state;
	assert_int_equal(shard_start(&s0, 0, 0), 0);
	assert_int_equal(shard_start(&s1, 1, 0), 0);
	assert_int_equal(aggregator_start(&agg, write_config("start.yaml", shards, 2, 1000, 0)), 0);
	assert_int_equal(sg_client_open(agg.addr, &client), SG_OK);
	assert_int_equal(query(client, NULL, NULL), GRPC_STATUS_OK);
	assert_int_equal(health_check(client, "", &serving), GRPC_STATUS_OK);
	assert_int_equal(serving, 1); /* SERVING */
	assert_int_equal(health_check(client, "search.Search", &serving), GRPC_STATUS_OK);
	assert_int_equal(serving, 1);
	assert_int_equal(health_check(client, "no.Such", &serving), GRPC_STATUS_NOT_FOUND);
	/* The shard is a libscatter server too: health on every port. */
	{
		sg_client *sc;

		assert_int_equal(sg_client_open(s0.addr, &sc), SG_OK);
		assert_int_equal(health_check(sc, "search.Shard", &serving), GRPC_STATUS_OK);
		assert_int_equal(serving, 1);
		sg_client_close(sc);
	}
	sg_client_close(client);
	assert_true(proc_exited_ok(proc_stop(&agg, STOP_TIMEOUT_MS)));
	assert_true(proc_exited_ok(proc_stop(&s0, STOP_TIMEOUT_MS)));
	assert_true(proc_exited_ok(proc_stop(&s1, STOP_TIMEOUT_MS)));
}

/* A wrong file fails the start: exit 2 and, on stderr, the file, line, key and what is wrong. */
static void test_bad_config(void **state)
{
	char path[256], errpath[256], text[2048] = "";
	char *argv[] = {(char *)aggregator_bin, "--config", path, NULL};
	char want[512];
	FILE *f;
	pid_t pid;
	int st;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	snprintf(errpath, sizeof(errpath), "%s/bad.err", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "listen: 127.0.0.1:0\ngroups:\n  shards:\n    targets: [a]\n    tls: 3\n");
	fclose(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		execv(aggregator_bin, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_non_null(f = fopen(errpath, "r"));
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	snprintf(want, sizeof(want),
	         "search-aggregator: %s:5:10: groups.shards.tls: expected a mapping, got a value\n",
	         path);
	assert_non_null(strstr(text, want));
	/* The structured line too, one per failed start. */
	assert_non_null(strstr(text, "scatter level=error msg=\"config not loaded\" reason="));
}

/* ---- SIGHUP: traffic moves to the new shard, a steady load sees no error ---------------- */

typedef struct load {
	const char *addr;
	atomic_bool stop;
	atomic_int calls;
	atomic_int errors;
	grpc_status_code last_error;
} load;

static void *load_main(void *arg)
{
	load *l = arg;
	sg_client *client;

	if (sg_client_open(l->addr, &client) != SG_OK) {
		atomic_fetch_add(&l->errors, 1);
		return NULL;
	}
	/* Bounded: at most this many calls, whatever happens to the test. */
	for (int i = 0; i < 20000 && !atomic_load(&l->stop); i++) {
		grpc_status_code code = query(client, NULL, NULL);

		atomic_fetch_add(&l->calls, 1);
		if (code != GRPC_STATUS_OK) {
			l->last_error = code;
			atomic_fetch_add(&l->errors, 1);
		}
	}
	sg_client_close(client);
	return NULL;
}

static void test_sighup_reload(void **state)
{
	proc s0 = {0}, s1 = {0}, s2 = {0}, agg = {0};
	proc *before[] = {&s0, &s1}, *after[] = {&s0, &s2};
	load l = {0};
	pthread_t t;
	sg_client *client;
	bool reached = false;
	double until;
	int calls_at_hup;

	(void)state;
	assert_int_equal(shard_start(&s0, 0, 2), 0);
	assert_int_equal(shard_start(&s1, 1, 2), 0);
	assert_int_equal(shard_start(&s2, 2, 2), 0);
	const char *cfg = write_config("reload.yaml", before, 2, 1000, 0);
	assert_int_equal(aggregator_start(&agg, cfg), 0);
	assert_int_equal(sg_client_open(agg.addr, &client), SG_OK);
	assert_int_equal(query(client, s2.addr, &reached), GRPC_STATUS_OK);
	assert_false(reached);

	l.addr = agg.addr;
	assert_int_equal(pthread_create(&t, NULL, load_main, &l), 0);
	/* The load is running before the reload. */
	until = now_ms() + WAIT_MS;
	while (atomic_load(&l.calls) < 20 && now_ms() < until)
		nap_ms(5);
	calls_at_hup = atomic_load(&l.calls);
	assert_true(calls_at_hup >= 20);

	write_config("reload.yaml", after, 2, 1000, 0);
	assert_int_equal(kill(agg.pid, SIGHUP), 0);
	/* Traffic reaches shard 2 once the aggregator has reloaded (bounded). */
	until = now_ms() + WAIT_MS;
	while (!reached && now_ms() < until) {
		assert_int_equal(query(client, s2.addr, &reached), GRPC_STATUS_OK);
		if (!reached)
			nap_ms(10);
	}
	assert_true(reached);
	/* And no longer reaches shard 1: every call from now on goes to 0 and 2. */
	for (int i = 0; i < 20; i++) {
		assert_int_equal(query(client, s1.addr, &reached), GRPC_STATUS_OK);
		assert_false(reached);
	}
	/* Shard 1 can go: nothing needs it any more. */
	assert_true(proc_exited_ok(proc_stop(&s1, STOP_TIMEOUT_MS)));
	until = now_ms() + WAIT_MS;
	while (atomic_load(&l.calls) < calls_at_hup + 100 && now_ms() < until)
		nap_ms(5);
	atomic_store(&l.stop, true);
	pthread_join(t, NULL);
	printf("steady load: %d calls, %d errors (last %d)\n", atomic_load(&l.calls),
	       atomic_load(&l.errors), (int)l.last_error);
	assert_int_equal(atomic_load(&l.errors), 0);
	assert_true(atomic_load(&l.calls) >= calls_at_hup + 100);

	/* A reload that does not fit (an empty target list) is refused; the old targets stay. */
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/reload.yaml", dir);
		assert_non_null(f = fopen(path, "w"));
		fprintf(f, "listen: 127.0.0.1:0\ngroups:\n  shards:\n    targets: []\n");
		fclose(f);
		assert_int_equal(kill(agg.pid, SIGHUP), 0);
		for (int i = 0; i < 10; i++)
			assert_int_equal(query(client, s2.addr, &reached), GRPC_STATUS_OK);
		assert_true(reached);
	}
	sg_client_close(client);
	assert_true(proc_exited_ok(proc_stop(&agg, STOP_TIMEOUT_MS)));
	assert_true(proc_exited_ok(proc_stop(&s0, STOP_TIMEOUT_MS)));
	assert_true(proc_exited_ok(proc_stop(&s2, STOP_TIMEOUT_MS)));
}

/* ---- SIGTERM: drain ----------------------------------------------------------------------- */

#define SLOW_MS      700 /* each shard's latency (Query's deadline is 1000 ms) */
#define N_SLOW       3
#define GRACE_MS     6000
#define LAME_DUCK_MS 150

static atomic_int slow_done; /* slow calls returned */

typedef struct slow_call {
	const char *addr;
	grpc_status_code code;
} slow_call;

static void *slow_main(void *arg)
{
	slow_call *sc = arg;
	sg_client *client;

	sc->code = GRPC_STATUS_UNKNOWN;
	if (sg_client_open(sc->addr, &client) != SG_OK)
		return NULL;
	sc->code = query(client, NULL, NULL);
	atomic_fetch_add(&slow_done, 1);
	sg_client_close(client);
	return NULL;
}

/* The aggregator's counters (scatter.Stats): legs started so far. */
static uint64_t legs_started(sg_client *client)
{
	Scatter__StatsRequest req = SCATTER__STATS_REQUEST__INIT;
	Scatter__ServerStats *st = NULL;
	sg_call_result r = {0};
	uint64_t n = 0;

	sg_client_call(client, "/scatter.Stats/Get", &req.base, &scatter__server_stats__descriptor,
	               CALL_TIMEOUT_MS, (ProtobufCMessage **)&st, &r);
	if (st != NULL) {
		n = st->legs_started;
		protobuf_c_message_free_unpacked(&st->base, NULL);
	}
	sg_call_result_fini(&r);
	return n;
}

static void test_sigterm_drain(void **state)
{
	proc s0 = {0}, s1 = {0}, agg = {0};
	proc *shards[] = {&s0, &s1};
	slow_call calls[N_SLOW];
	pthread_t t[N_SLOW];
	sg_client *client;
	int serving = 0, st;
	bool saw_not_serving = false;
	double until, term_at, refused_ms;
	grpc_status_code code = GRPC_STATUS_OK;

	(void)state;
	assert_int_equal(shard_start(&s0, 0, SLOW_MS), 0);
	assert_int_equal(shard_start(&s1, 1, SLOW_MS), 0);
	assert_int_equal(aggregator_start(&agg, write_config("drain.yaml", shards, 2, GRACE_MS,
	                                                     LAME_DUCK_MS)),
	                 0);
	assert_int_equal(sg_client_open(agg.addr, &client), SG_OK);
	for (int i = 0; i < N_SLOW; i++) {
		calls[i].addr = agg.addr;
		assert_int_equal(pthread_create(&t[i], NULL, slow_main, &calls[i]), 0);
	}
	/* Every slow call is in flight (its legs started) before the signal. */
	until = now_ms() + WAIT_MS;
	while (legs_started(client) < 2 * N_SLOW && now_ms() < until)
		nap_ms(5);
	assert_true(legs_started(client) >= 2 * N_SLOW);

	term_at = now_ms();
	assert_int_equal(kill(agg.pid, SIGTERM), 0);
	/* Lame duck: still answering, but health says NOT_SERVING; then new calls are refused
	 * (health's own Check is a new call like any other), while the slow calls are in flight. */
	until = now_ms() + WAIT_MS;
	while (now_ms() < until) {
		code = health_check(client, "", &serving);
		if (code != GRPC_STATUS_OK)
			break;
		/* SERVING until the aggregator has taken the signal, NOT_SERVING from then on. */
		if (serving == 2)
			saw_not_serving = true;
		else
			assert_false(saw_not_serving);
		nap_ms(5);
	}
	/* gRPC's core refuses a new stream on an open connection once its server shuts down
	 * (CANCELLED); a new connection finds no listener (UNAVAILABLE). */
	assert_true(code == GRPC_STATUS_CANCELLED || code == GRPC_STATUS_UNAVAILABLE);
	refused_ms = now_ms() - term_at;
	assert_int_equal(atomic_load(&slow_done), 0);
	code = query(client, NULL, NULL);
	assert_true(code == GRPC_STATUS_CANCELLED || code == GRPC_STATUS_UNAVAILABLE);
	{
		sg_client *fresh;

		assert_int_equal(sg_client_open(agg.addr, &fresh), SG_OK);
		assert_int_equal(health_check(fresh, "", &serving), GRPC_STATUS_UNAVAILABLE);
		sg_client_close(fresh);
	}
	printf("drain: NOT_SERVING seen: %s; new calls refused %.0f ms after SIGTERM, with %d "
	       "calls of %d ms still in flight\n",
	       saw_not_serving ? "yes" : "no (lame duck already over)", refused_ms, N_SLOW,
	       SLOW_MS);
	for (int i = 0; i < N_SLOW; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(calls[i].code, GRPC_STATUS_OK);
	}
	/* It exits 0, within its grace period. */
	st = proc_wait(&agg, GRACE_MS + 2000);
	assert_true(st != -1);
	assert_true(proc_exited_ok(st));
	printf("drain: exited %.0f ms after SIGTERM (calls of %d ms in flight, grace %d ms)\n",
	       now_ms() - term_at, SLOW_MS, GRACE_MS);
	assert_true(now_ms() - term_at < GRACE_MS + 2000);
	sg_client_close(client);
	assert_true(proc_exited_ok(proc_stop(&s0, STOP_TIMEOUT_MS)));
	assert_true(proc_exited_ok(proc_stop(&s1, STOP_TIMEOUT_MS)));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_start_and_health),
	        cmocka_unit_test(test_bad_config),
	        cmocka_unit_test(test_sighup_reload),
	        cmocka_unit_test(test_sigterm_drain),
	};
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SHARD_BIN AGGREGATOR_BIN\n", argv[0]);
		return 2;
	}
	shard_bin = argv[1];
	aggregator_bin = argv[2];
	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return rc;
}
