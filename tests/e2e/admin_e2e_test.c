/*
 * admin_e2e_test.c: the aggregator's admin port end to end. Real search-shard and
 * search-aggregator processes on 127.0.0.1 with OS-chosen ports, one shard killed (down), real
 * gRPC calls, then:
 *   metrics      /metrics parsed as Prometheus text (every family with HELP and TYPE, names and
 *                labels by the conventions, histograms cumulative and consistent) and its
 *                counts checked against the calls made; /status.json parsed and its shape and
 *                figures checked; the status page and the HTTP errors. Across a SIGHUP
 *                reload, a target the reload adds gets its own series.
 *   status_page  headless Chromium loads the live page while traffic flows: the dead shard's
 *                tile shows it down with its breaker open and the live ones up and closed (from
 *                the DOM after the page's script has rendered /status.json), and a screenshot is
 *                written for people to look at.
 *
 *   admin_e2e_test metrics <search-shard> <search-aggregator>
 *   admin_e2e_test status_page <search-shard> <search-aggregator> <chromium|NOTFOUND> <png> <dir>
 *
 * status_page exits 77 (ctest: skipped, and it says why) when there is no Chromium: tools/deps
 * installs Debian's `chromium`. As root Chromium needs --no-sandbox.
 */
#define _GNU_SOURCE /* pipe2, strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "minijson.h"
#include "proc.h"
#include "search.scatter.h"

#define N_SHARDS          3
#define DEAD_SHARD        2
#define N_CALLS           12 /* past the default breaker's min_calls (10): it opens */
#define BREAKER_MIN_CALLS 10
#define READY_TIMEOUT_MS  15000 /* process start under ASan on a busy 2-core machine */
#define STOP_TIMEOUT_MS   10000
#define CALL_TIMEOUT_MS   5000
#define HTTP_TIMEOUT_MS   10000
#define CHROME_TIMEOUT_MS 90000
#define HISTORY_WAIT_MS   30000 /* for the status history to have a few seconds in it */

static const char *shard_bin;
static const char *aggregator_bin;
static const char *chromium_bin;
static const char *screenshot_path;
static const char *work_dir;

typedef struct cluster {
	proc shards[N_SHARDS];
	proc aggregator;
	int admin_port;
	sg_client *client;
} cluster;

/* ---- processes ---------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cluster_stop(cluster *c)
{
	int rc = 0;

	sg_client_close(c->client);
	c->client = NULL;
	if (c->aggregator.pid > 0 && !proc_exited_ok(proc_stop(&c->aggregator, STOP_TIMEOUT_MS))) {
		fprintf(stderr, "search-aggregator did not exit cleanly\n");
		rc = -1;
	}
	for (size_t i = 0; i < N_SHARDS; i++) {
		if (c->shards[i].pid > 0 &&
		    !proc_exited_ok(proc_stop(&c->shards[i], STOP_TIMEOUT_MS))) {
			fprintf(stderr, "search-shard %zu did not exit cleanly\n", i);
			rc = -1;
		}
	}
	return rc;
}

/* Three shards and an aggregator over them with an admin port; then shard DEAD_SHARD dies. */
static int cluster_setup(void **state)
{
	cluster *c = calloc(1, sizeof(*c));
	char targets[N_SHARDS * 72] = "";
	char *agg_argv[] = {(char *)aggregator_bin, "--shards", targets, "--admin",
	                    "127.0.0.1:0",          NULL};

	if (c == NULL)
		return -1;
	for (size_t i = 0; i < N_SHARDS; i++) {
		char id[16];
		char *argv[] = {(char *)shard_bin, "--shard-id", id, "--latency-ms", "5", NULL};

		snprintf(id, sizeof(id), "%zu", i);
		if (proc_start(&c->shards[i], argv, READY_TIMEOUT_MS) != 0)
			goto fail;
		if (i > 0)
			strcat(targets, ",");
		strcat(targets, c->shards[i].addr);
	}
	if (proc_start(&c->aggregator, agg_argv, READY_TIMEOUT_MS) != 0)
		goto fail;
	if ((c->admin_port = proc_preamble_port(&c->aggregator, "admin on")) <= 0) {
		fprintf(stderr, "no `admin on HOST:PORT` line before the readiness line\n");
		goto fail;
	}
	if (sg_client_open(c->aggregator.addr, &c->client) != SG_OK)
		goto fail;
	proc_kill(&c->shards[DEAD_SHARD]);
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

/* Search.Query through client; asserts it answered OK with the dead shard's part missing. */
static void query_partial(sg_client *client)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *resp = NULL;
	sg_call_result res = {0};

	req.query = "scatter gather";
	req.k = 5;
	assert_int_equal(search__search__query_call(client, &req, CALL_TIMEOUT_MS, &resp, &res),
	                 SG_OK);
	assert_int_equal(resp->shards_total, N_SHARDS);
	assert_int_equal(resp->shards_ok, N_SHARDS - 1);
	search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
}

/* Search.Query through client; asserts it answered OK. */
static void query_ok(sg_client *client)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *resp = NULL;
	sg_call_result res = {0};

	req.query = "reload";
	req.k = 3;
	assert_int_equal(search__search__query_call(client, &req, CALL_TIMEOUT_MS, &resp, &res),
	                 SG_OK);
	search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

typedef struct http_reply {
	int status;
	char content_type[128];
	char *body; /* malloc'd, NUL-terminated */
} http_reply;

/* One HTTP/1.0 request to 127.0.0.1:port, the whole answer read until the server closes; 0 or
 * -1. */
static int http_request(int port, const char *method, const char *path, http_reply *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int64_t deadline = now_ms() + HTTP_TIMEOUT_MS;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap), *head_end, *ct;
	char req[256];
	int fd;

	memset(r, 0, sizeof(*r));
	if (buf == NULL || (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		free(buf);
		return -1;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto fail;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			goto fail;
		if (len + 1 == cap) {
			char *grown = realloc(buf, cap * 2);

			if (grown == NULL)
				goto fail;
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1 ||
	    (head_end = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return -1;
	}
	*head_end = '\0';
	if ((ct = strcasestr(buf, "\r\nContent-Type: ")) != NULL)
		sscanf(ct + 16, "%127[^\r]", r->content_type);
	r->body = strdup(head_end + 4);
	free(buf);
	return r->body != NULL ? 0 : -1;
fail:
	close(fd);
	free(buf);
	return -1;
}

static char *http_get_ok(int port, const char *path, const char *content_type)
{
	http_reply r;

	assert_int_equal(http_request(port, "GET", path, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.content_type, content_type));
	return r.body;
}

/* ---- Prometheus text format (0.0.4) ------------------------------------------------------- */

#define PROM_MAX_LABELS 4

typedef struct prom_sample {
	char name[96];
	char keys[PROM_MAX_LABELS][16];
	char values[PROM_MAX_LABELS][128];
	size_t n_labels;
	double value;
} prom_sample;

typedef struct prom_family {
	char name[96];
	char type[16];
	bool help;
} prom_family;

typedef struct prom_doc {
	prom_sample *samples;
	size_t n_samples;
	prom_family families[32];
	size_t n_families;
} prom_doc;

static bool prom_name_ok(const char *s)
{
	if (!(*s == '_' || *s == ':' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s != '\0'; s++) {
		if (!(*s == '_' || *s == ':' || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	}
	return true;
}

static prom_family *prom_family_of(prom_doc *d, const char *name)
{
	for (size_t i = 0; i < d->n_families; i++) {
		if (strcmp(d->families[i].name, name) == 0)
			return &d->families[i];
	}
	return NULL;
}

/* The family a sample belongs to: its name, or a histogram's name without _bucket, _sum or
 * _count. */
static prom_family *prom_family_for_sample(prom_doc *d, const char *name)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	prom_family *f = prom_family_of(d, name);
	char base[96];

	if (f != NULL)
		return f;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), sl = strlen(suffixes[i]);

		if (n > sl && strcmp(name + n - sl, suffixes[i]) == 0) {
			snprintf(base, sizeof(base), "%.*s", (int)(n - sl), name);
			if ((f = prom_family_of(d, base)) != NULL &&
			    strcmp(f->type, "histogram") == 0)
				return f;
		}
	}
	return NULL;
}

/* `{k="v",...}` at *p (after the name); advances *p past the brace. */
static void prom_labels(const char **p, prom_sample *s)
{
	const char *q = *p + 1;

	while (*q != '}') {
		size_t k = 0, v = 0;

		assert_true(s->n_labels < PROM_MAX_LABELS);
		while (*q != '=' && *q != '\0' && k + 1 < sizeof(s->keys[0]))
			s->keys[s->n_labels][k++] = *q++;
		s->keys[s->n_labels][k] = '\0';
		assert_true(prom_name_ok(s->keys[s->n_labels]));
		assert_int_equal(*q++, '=');
		assert_int_equal(*q++, '"');
		while (*q != '"') {
			assert_true(*q != '\0' && *q != '\n');
			if (*q == '\\') {
				q++;
				assert_non_null(strchr("\\\"n", *q));
			}
			assert_true(v + 1 < sizeof(s->values[0]));
			s->values[s->n_labels][v++] = *q++;
		}
		s->values[s->n_labels][v] = '\0';
		q++;
		s->n_labels++;
		if (*q == ',')
			q++;
		else
			assert_int_equal(*q, '}');
	}
	*p = q + 1;
}

/* Parses the exposition, asserting the format and the conventions as it goes. */
static void prom_parse(const char *text, prom_doc *d)
{
	size_t cap = 256;

	memset(d, 0, sizeof(*d));
	d->samples = calloc(cap, sizeof(*d->samples));
	assert_non_null(d->samples);
	for (const char *line = text; *line != '\0';) {
		const char *nl = strchr(line, '\n');
		char buf[512], name[96], word[16];
		int used = 0;

		assert_non_null(nl); /* every line ends in \n, the last one too */
		assert_true((size_t)(nl - line) < sizeof(buf));
		snprintf(buf, sizeof(buf), "%.*s", (int)(nl - line), line);
		line = nl + 1;
		if (strncmp(buf, "# HELP ", 7) == 0 || strncmp(buf, "# TYPE ", 7) == 0) {
			prom_family *f;

			assert_int_equal(sscanf(buf + 7, "%95s %n", name, &used), 1);
			assert_true(prom_name_ok(name));
			if ((f = prom_family_of(d, name)) == NULL) {
				assert_true(d->n_families < 32);
				f = &d->families[d->n_families++];
				snprintf(f->name, sizeof(f->name), "%s", name);
			}
			if (buf[2] == 'H') {
				assert_false(f->help);
				assert_true(strlen(buf + 7 + used) > 0);
				f->help = true;
			} else {
				assert_string_equal(f->type, "");
				assert_int_equal(sscanf(buf + 7 + used, "%15s", word), 1);
				assert_true(strcmp(word, "counter") == 0 ||
				            strcmp(word, "gauge") == 0 ||
				            strcmp(word, "histogram") == 0);
				snprintf(f->type, sizeof(f->type), "%s", word);
			}
			continue;
		}
		assert_true(buf[0] != '#' && buf[0] != '\0');
		if (d->n_samples == cap) {
			cap *= 2;
			d->samples = realloc(d->samples, cap * sizeof(*d->samples));
			assert_non_null(d->samples);
		}
		prom_sample *s = &d->samples[d->n_samples++];
		const char *p = buf;
		char *end;

		memset(s, 0, sizeof(*s));
		while (*p != '{' && *p != ' ' && *p != '\0')
			p++;
		snprintf(s->name, sizeof(s->name), "%.*s", (int)(p - buf), buf);
		assert_true(prom_name_ok(s->name));
		if (*p == '{')
			prom_labels(&p, s);
		assert_int_equal(*p++, ' ');
		s->value = strtod(p, &end);
		assert_true(end != p && *end == '\0');
		/* A sample comes after its family's HELP and TYPE. */
		prom_family *f = prom_family_for_sample(d, s->name);
		assert_non_null(f);
		assert_true(f->help);
		assert_string_not_equal(f->type, "");
	}
}

/* Whether sample s has label key=value (value NULL: any value). */
static bool prom_has(const prom_sample *s, const char *key, const char *value)
{
	for (size_t i = 0; i < s->n_labels; i++) {
		if (strcmp(s->keys[i], key) == 0)
			return value == NULL || strcmp(s->values[i], value) == 0;
	}
	return false;
}

/* The value of the one sample called name with every label of `labels` ("k", "v", ..., NULL),
 * or NAN when there is none; asserts there are not two. */
static double prom_value(const prom_doc *d, const char *name, ...)
{
	double found = NAN;
	int n = 0;

	for (size_t i = 0; i < d->n_samples; i++) {
		const prom_sample *s = &d->samples[i];
		bool match = strcmp(s->name, name) == 0;
		va_list ap;
		const char *k;

		va_start(ap, name);
		while (match && (k = va_arg(ap, const char *)) != NULL)
			match = prom_has(s, k, va_arg(ap, const char *));
		va_end(ap);
		if (match) {
			found = s->value;
			n++;
		}
	}
	assert_true(n <= 1);
	return found;
}

/* Conventions: a scatter_ prefix; counters end in _total, histograms in _seconds; only the
 * documented label names; histogram buckets ascending in `le`, cumulative, +Inf == _count. */
static void prom_check_conventions(const prom_doc *d)
{
	static const char *const labels[] = {"method", "group", "target", "code", "state", "le"};

	for (size_t i = 0; i < d->n_families; i++) {
		const prom_family *f = &d->families[i];
		size_t n = strlen(f->name);

		assert_true(f->help);
		assert_int_equal(strncmp(f->name, "scatter_", 8), 0);
		if (strcmp(f->type, "counter") == 0)
			assert_string_equal(f->name + n - 6, "_total");
		if (strcmp(f->type, "histogram") == 0)
			assert_string_equal(f->name + n - 8, "_seconds");
	}
	for (size_t i = 0; i < d->n_samples; i++) {
		const prom_sample *s = &d->samples[i];

		for (size_t j = 0; j < s->n_labels; j++) {
			bool known = false;

			for (size_t k = 0; k < sizeof(labels) / sizeof(labels[0]); k++)
				known = known || strcmp(s->keys[j], labels[k]) == 0;
			assert_true(known);
		}
		assert_true(s->value >= 0);
		/* A bucket run: every _bucket sample up to its +Inf, then _sum, then _count. */
		size_t len = strlen(s->name);
		if (len < 7 || strcmp(s->name + len - 7, "_bucket") != 0 ||
		    (i > 0 && strcmp(d->samples[i - 1].name, s->name) == 0))
			continue;
		double prev_le = -1, prev = 0;
		size_t j = i;

		for (; j < d->n_samples && strcmp(d->samples[j].name, s->name) == 0; j++) {
			const prom_sample *b = &d->samples[j];
			const char *le = NULL;

			for (size_t k = 0; k < b->n_labels; k++) {
				if (strcmp(b->keys[k], "le") == 0)
					le = b->values[k];
			}
			assert_non_null(le);
			double v = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
			assert_true(v > prev_le);
			assert_true(b->value >= prev);
			prev_le = v;
			prev = b->value;
		}
		assert_true(isinf(prev_le));
		assert_true(j + 1 < d->n_samples);
		assert_string_equal(d->samples[j + 1].name + strlen(d->samples[j + 1].name) - 6,
		                    "_count");
		assert_true(d->samples[j + 1].value == prev);
	}
}

/* ---- /status.json --------------------------------------------------------------------------- */

/* The backend whose target is `target`; asserts the keys every backend has. */
static const mj *status_backend(const mj *doc, const char *target)
{
	const mj *backends = mj_get(doc, "backends"), *found = NULL;

	assert_true(mj_is(backends, MJ_ARRAY));
	for (size_t i = 0; i < backends->n; i++) {
		const mj *b = &backends->items[i], *series = mj_get(b, "series");

		assert_true(mj_is(mj_get(b, "group"), MJ_STRING));
		assert_true(mj_is(mj_get(b, "target"), MJ_STRING));
		assert_true(mj_is(mj_get(b, "health"), MJ_STRING));
		assert_true(mj_is(mj_get(b, "legs"), MJ_NUMBER));
		assert_true(mj_is(mj_get(b, "failed"), MJ_NUMBER));
		assert_true(mj_is(mj_get(b, "in_flight"), MJ_NUMBER));
		assert_true(mj_is(mj_get(b, "rate"), MJ_NUMBER));
		assert_true(mj_is(mj_get(b, "window"), MJ_OBJECT));
		assert_true(mj_is(series, MJ_OBJECT));
		assert_true(mj_is(mj_get(series, "rate"), MJ_ARRAY));
		assert_true(mj_is(mj_get(series, "error_rate"), MJ_ARRAY));
		assert_true(mj_is(mj_get(series, "p99_ms"), MJ_ARRAY));
		assert_int_equal(mj_get(series, "rate")->n, mj_get(series, "p99_ms")->n);
		if (strcmp(mj_get(b, "target")->string, target) == 0)
			found = b;
	}
	assert_non_null(found);
	return found;
}

static void status_fetch(int port, mj *doc)
{
	char *body = http_get_ok(port, "/status.json", "application/json");
	size_t at = 0;

	if (mj_parse(body, doc, &at) != 0)
		fail_msg("/status.json does not parse at %zu: %.80s", at, body + at);
	free(body);
}

/* ---- the metrics test --------------------------------------------------------------------- */

static void test_metrics(void **state)
{
	cluster *c = *state;
	const char *q = "search.Search/Query", *dead = c->shards[DEAD_SHARD].addr;
	prom_doc d;
	http_reply r;
	mj doc;
	char *text;

	for (int i = 0; i < N_CALLS; i++)
		query_partial(c->client);

	text = http_get_ok(c->admin_port, "/metrics", "text/plain; version=0.0.4");
	prom_parse(text, &d);
	prom_check_conventions(&d);
	assert_true(prom_value(&d, "scatter_calls_total", "method", q, "code", "OK", NULL) ==
	            N_CALLS);
	assert_true(prom_value(&d, "scatter_partial_answers_total", "method", q, NULL) == N_CALLS);
	assert_true(prom_value(&d, "scatter_call_duration_seconds_count", "method", q, NULL) ==
	            N_CALLS);
	assert_true(prom_value(&d, "scatter_call_duration_seconds_sum", "method", q, NULL) > 0);
	/* Methods not called are there, at 0. */
	assert_true(prom_value(&d, "scatter_calls_total", "method", "search.Search/Count", "code",
	                       "OK", NULL) == 0);
	for (size_t i = 0; i < N_SHARDS; i++) {
		const char *t = c->shards[i].addr;
		bool up = i != DEAD_SHARD;

		assert_true(prom_value(&d, "scatter_backend_legs_total", "group", "shards",
		                       "target", t, "code", "OK", NULL) == (up ? N_CALLS : 0));
		/* The dead shard's breaker opens after min_calls failures: the legs it refuses
		 * after that are counted, but not timed (they never left). */
		double timed = prom_value(&d, "scatter_backend_leg_duration_seconds_count", "group",
		                          "shards", "target", t, NULL);
		if (up)
			assert_true(timed == N_CALLS);
		else
			assert_true(timed >= BREAKER_MIN_CALLS && timed <= N_CALLS);
		assert_true(prom_value(&d, "scatter_breaker_state", "target", t, "state",
		                       up ? "closed" : "open", NULL) == 1);
		assert_true(prom_value(&d, "scatter_breaker_state", "target", t, "state",
		                       up ? "open" : "closed", NULL) == 0);
		assert_true(prom_value(&d, "scatter_breaker_state", "target", t, "state",
		                       "half_open", NULL) == 0);
		double opened = prom_value(&d, "scatter_breaker_transitions_total", "target", t,
		                           "state", "open", NULL);
		assert_true(up ? opened == 0 : opened >= 1);
		assert_true(prom_value(&d, "scatter_backend_in_flight", "group", "shards", "target",
		                       t, NULL) == 0);
		/* search.proto's Query is not hedged or retried: real zeros, per target. */
		assert_true(prom_value(&d, "scatter_backend_hedges_sent_total", "target", t,
		                       NULL) == 0);
		assert_true(prom_value(&d, "scatter_backend_hedges_won_total", "target", t, NULL) ==
		            0);
		assert_true(prom_value(&d, "scatter_backend_retries_total", "target", t, NULL) ==
		            0);
	}
	assert_true(prom_value(&d, "scatter_backend_legs_total", "target", dead, "code",
	                       "UNAVAILABLE", NULL) == N_CALLS);
	free(d.samples);
	free(text);

	status_fetch(c->admin_port, &doc);
	assert_true(mj_is(mj_get(&doc, "now_ms"), MJ_NUMBER));
	assert_true(mj_get(&doc, "window_s")->number == 10);
	const mj *methods = mj_get(&doc, "methods"), *m = NULL;
	assert_true(mj_is(methods, MJ_ARRAY));
	for (size_t i = 0; i < methods->n; i++) {
		if (strcmp(mj_get(&methods->items[i], "method")->string, q) == 0)
			m = &methods->items[i];
	}
	assert_non_null(m);
	assert_true(mj_get(m, "calls")->number == N_CALLS);
	assert_true(mj_get(m, "partial")->number == N_CALLS);
	assert_string_equal(mj_get(m, "health")->string, "degraded");
	assert_true(mj_get(m, "p99_ms")->number > 0);
	for (size_t i = 0; i < N_SHARDS; i++) {
		const mj *b = status_backend(&doc, c->shards[i].addr);

		assert_string_equal(mj_get(b, "group")->string, "shards");
		assert_true(mj_get(b, "legs")->number == N_CALLS);
		assert_string_equal(mj_get(b, "health")->string, i == DEAD_SHARD ? "down" : "up");
		assert_true(mj_get(b, "failed")->number == (i == DEAD_SHARD ? N_CALLS : 0));
		assert_true(mj_get(b, "error_rate")->number == (i == DEAD_SHARD ? 1 : 0));
		assert_true(mj_is(mj_get(b, "breaker"), MJ_OBJECT));
		assert_string_equal(mj_get(mj_get(b, "breaker"), "state")->string,
		                    i == DEAD_SHARD ? "open" : "closed");
	}
	mj_free(&doc);

	text = http_get_ok(c->admin_port, "/", "text/html");
	assert_non_null(strstr(text, "status.json"));
	assert_null(strstr(text, "http://")); /* no external asset */
	assert_null(strstr(text, "https://"));
	free(text);
	assert_int_equal(http_request(c->admin_port, "GET", "/nowhere", &r), 0);
	assert_int_equal(r.status, 404);
	free(r.body);
	assert_int_equal(http_request(c->admin_port, "POST", "/metrics", &r), 0);
	assert_int_equal(r.status, 405);
	free(r.body);
}

/* ---- metrics across a reload ----------------------------------------------------------- */

/* The aggregator's config (written aside and renamed: a reload never reads half a file). */
static void write_config(const char *path, const proc *a, const proc *b)
{
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_non_null(f = fopen(tmp, "w"));
	fprintf(f,
	        "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nthreads: 2\n"
	        "groups:\n  shards:\n    targets:\n      - ipv4:%s\n      - ipv4:%s\n",
	        a->addr, b->addr);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

/* scatter_backend_legs_total{target=ipv4:<addr>,code=OK}, or NAN when there is no series. */
static double legs_ok(int admin_port, const proc *shard, const char **group)
{
	char target[96], *text = http_get_ok(admin_port, "/metrics", "text/plain");
	static char group_buf[sizeof(((prom_sample *)0)->values[0])]; /* a label value fits whole */
	prom_doc d;
	double v;

	snprintf(target, sizeof(target), "ipv4:%s", shard->addr);
	prom_parse(text, &d);
	v = prom_value(&d, "scatter_backend_legs_total", "target", target, "code", "OK", NULL);
	for (size_t i = 0; group != NULL && i < d.n_samples; i++) {
		if (prom_has(&d.samples[i], "target", target)) {
			for (size_t k = 0; k < d.samples[i].n_labels; k++) {
				if (strcmp(d.samples[i].keys[k], "group") == 0)
					snprintf(group_buf, sizeof(group_buf), "%s",
					         d.samples[i].values[k]);
			}
			*group = group_buf;
		}
	}
	free(d.samples);
	free(text);
	return v;
}

/* SIGHUP replaces shard 1 by shard 2: shard 2 gets a series of its own (group "shards") as
 * soon as the reload routes legs to it, and shard 1's counts stay as they were. */
static void test_metrics_after_reload(void **state)
{
	char dir[] = "/tmp/scatter-admin-XXXXXX", path[300];
	proc shards[3] = {{0}}, agg = {0};
	const char *group = NULL;
	sg_client *client = NULL;
	int admin_port;
	double s1_before;
	int64_t until;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/agg.yaml", dir);
	for (size_t i = 0; i < 3; i++) {
		char id[16];
		char *argv[] = {(char *)shard_bin, "--shard-id", id, "--latency-ms", "2", NULL};

		snprintf(id, sizeof(id), "%zu", i);
		assert_int_equal(proc_start(&shards[i], argv, READY_TIMEOUT_MS), 0);
	}
	write_config(path, &shards[0], &shards[1]);
	char *agg_argv[] = {(char *)aggregator_bin, "--config", path, NULL};
	assert_int_equal(proc_start(&agg, agg_argv, READY_TIMEOUT_MS), 0);
	assert_true((admin_port = proc_preamble_port(&agg, "admin on")) > 0);
	assert_int_equal(sg_client_open(agg.addr, &client), SG_OK);
	for (int i = 0; i < N_CALLS; i++)
		query_ok(client);
	assert_true(legs_ok(admin_port, &shards[1], NULL) == N_CALLS);
	assert_true(isnan(legs_ok(admin_port, &shards[2], NULL)));

	write_config(path, &shards[0], &shards[2]);
	assert_int_equal(kill(agg.pid, SIGHUP), 0);
	/* The readiness signal: shard 2's series counts a leg (bounded). */
	until = now_ms() + HISTORY_WAIT_MS;
	for (;;) {
		double v;

		query_ok(client);
		v = legs_ok(admin_port, &shards[2], &group);
		if (!isnan(v) && v > 0)
			break;
		if (now_ms() > until)
			fail_msg("shard 2 got no leg within %d ms of SIGHUP", HISTORY_WAIT_MS);
	}
	assert_non_null(group);
	assert_string_equal(group, "shards");
	s1_before = legs_ok(admin_port, &shards[1], NULL);
	for (int i = 0; i < N_CALLS; i++)
		query_ok(client);
	assert_true(legs_ok(admin_port, &shards[1], NULL) == s1_before);
	assert_true(s1_before >= N_CALLS);

	sg_client_close(client);
	assert_true(proc_exited_ok(proc_stop(&agg, STOP_TIMEOUT_MS)));
	for (size_t i = 0; i < 3; i++)
		assert_true(proc_exited_ok(proc_stop(&shards[i], STOP_TIMEOUT_MS)));
	unlink(path);
	rmdir(dir);
}

/* ---- the status page in Chromium ---------------------------------------------------------- */

/* Calls Search.Query every 50 ms on its own client until stop (or 2,000 calls): the page is
 * looked at while traffic flows. */
typedef struct traffic {
	const char *target;
	atomic_bool stop;
	int calls;
	pthread_t thread;
} traffic;

static void *traffic_run(void *arg)
{
	traffic *t = arg;
	sg_client *client;
	struct timespec gap = {.tv_sec = 0, .tv_nsec = 50 * 1000000};

	if (sg_client_open(t->target, &client) != SG_OK)
		return NULL;
	while (!atomic_load(&t->stop) && t->calls < 2000) {
		Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
		Search__SearchResponse *resp = NULL;
		sg_call_result res = {0};

		req.query = "live traffic";
		req.k = 3;
		if (search__search__query_call(client, &req, CALL_TIMEOUT_MS, &resp, &res) == SG_OK)
			search__search_response__free_unpacked(resp, NULL);
		sg_call_result_fini(&res);
		t->calls++;
		nanosleep(&gap, NULL); /* pacing, not synchronisation */
	}
	sg_client_close(client);
	return NULL;
}

/* Runs argv with stdout into *out (malloc'd, NUL-terminated) and stderr appended to log_path,
 * killing it after timeout_ms. Returns its wait status, or -1. */
static int run_capture(char *const argv[], const char *log_path, int timeout_ms, char **out)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	int fds[2], st = -1;
	pid_t pid;

	*out = NULL;
	if (buf == NULL || pipe2(fds, O_CLOEXEC) != 0) {
		free(buf);
		return -1;
	}
	if ((pid = fork()) == 0) {
		int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(fds[1], STDOUT_FILENO);
		if (log >= 0)
			dup2(log, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			fprintf(stderr, "%s: still running after %d ms: killed\n", argv[0],
			        timeout_ms);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (len + 1 == cap) {
			char *grown = realloc(buf, cap * 2);

			if (grown == NULL)
				break;
			buf = grown;
			cap *= 2;
		}
		n = read(fds[0], buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	buf[len] = '\0';
	*out = buf;
	return pid > 0 ? st : -1;
}

/* The value of attribute `attr` in the tag that carries data-target="target", or "". */
static void tile_attr(const char *dom, const char *target, const char *attr, char *out, size_t len)
{
	char needle[128];
	const char *tag, *end, *a;

	snprintf(out, len, "%s", "");
	snprintf(needle, sizeof(needle), "data-target=\"%s\"", target);
	if ((tag = strstr(dom, needle)) == NULL || (end = strchr(tag, '>')) == NULL)
		return;
	while (tag > dom && *tag != '<')
		tag--;
	snprintf(needle, sizeof(needle), " %s=\"", attr);
	if ((a = strstr(tag, needle)) == NULL || a > end)
		return;
	a += strlen(needle);
	snprintf(out, len, "%.*s", (int)(strcspn(a, "\"")), a);
}

/* Waits (bounded) until /status.json shows the dead shard down with a few seconds of history,
 * so that the page has something to draw: the readiness signal for looking at it. */
static void wait_for_history(cluster *c)
{
	int64_t deadline = now_ms() + HISTORY_WAIT_MS;

	for (;;) {
		mj doc;
		const mj *b;
		bool ready;

		status_fetch(c->admin_port, &doc);
		b = status_backend(&doc, c->shards[DEAD_SHARD].addr);
		ready = strcmp(mj_get(b, "health")->string, "down") == 0 &&
		        mj_is(mj_get(b, "breaker"), MJ_OBJECT) &&
		        strcmp(mj_get(mj_get(b, "breaker"), "state")->string, "open") == 0 &&
		        mj_get(mj_get(b, "series"), "p99_ms")->n >= 5;
		mj_free(&doc);
		if (ready)
			return;
		if (now_ms() > deadline)
			fail_msg("no history of the dead shard within %d ms", HISTORY_WAIT_MS);
		/* The history grows once a second: look again shortly. */
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 250 * 1000000};
		nanosleep(&ts, NULL);
	}
}

static void test_status_page(void **state)
{
	cluster *c = *state;
	traffic t = {.target = c->aggregator.addr};
	char url[64], log_path[512], profile[512], shot_arg[600], health[32];
	char *dom = NULL, *shot_out = NULL;
	struct stat sb;
	int st;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", c->admin_port);
	snprintf(log_path, sizeof(log_path), "%s/chromium.log", work_dir);
	/* A profile of its own, so no other Chromium (another build's test) shares it. */
	snprintf(profile, sizeof(profile), "--user-data-dir=%s/chromium-profile", work_dir);
	snprintf(shot_arg, sizeof(shot_arg), "--screenshot=%s", screenshot_path);
	atomic_init(&t.stop, false);
	assert_int_equal(pthread_create(&t.thread, NULL, traffic_run, &t), 0);
	wait_for_history(c);

	/* The DOM once the page's script has fetched /status.json and drawn the tiles: virtual
	 * time runs the page's timers without waiting for them in real time. */
	char *dump_argv[] = {(char *)chromium_bin,
	                     "--headless",
	                     "--no-sandbox",
	                     "--disable-gpu",
	                     "--no-first-run",
	                     "--disable-dev-shm-usage",
	                     profile,
	                     "--virtual-time-budget=3000",
	                     "--dump-dom",
	                     url,
	                     NULL};
	st = run_capture(dump_argv, log_path, CHROME_TIMEOUT_MS, &dom);
	char *shot_argv[] = {(char *)chromium_bin,
	                     "--headless",
	                     "--no-sandbox",
	                     "--disable-gpu",
	                     "--no-first-run",
	                     "--disable-dev-shm-usage",
	                     "--hide-scrollbars",
	                     profile,
	                     "--virtual-time-budget=3000",
	                     "--window-size=1280,860",
	                     shot_arg,
	                     url,
	                     NULL};
	unlink(screenshot_path);
	int shot_st = run_capture(shot_argv, log_path, CHROME_TIMEOUT_MS, &shot_out);

	atomic_store(&t.stop, true);
	pthread_join(t.thread, NULL);
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(dom, "data-loaded=\"1\""));
	tile_attr(dom, c->shards[DEAD_SHARD].addr, "data-health", health, sizeof(health));
	if (strcmp(health, "down") != 0)
		fail_msg("the dead shard's tile says \"%s\", not down; DOM:\n%s", health, dom);
	tile_attr(dom, c->shards[DEAD_SHARD].addr, "class", health, sizeof(health));
	assert_string_equal(health, "tile down");
	/* The breaker tripped: the tile says so (open, or half-open while it probes). */
	tile_attr(dom, c->shards[DEAD_SHARD].addr, "data-breaker", health, sizeof(health));
	if (strcmp(health, "open") != 0 && strcmp(health, "half_open") != 0)
		fail_msg("the dead shard's breaker shows \"%s\"", health);
	if (strcmp(health, "open") == 0)
		assert_non_null(strstr(dom, "breaker <b class=\"open\">open</b>"));
	for (size_t i = 0; i < N_SHARDS; i++) {
		if (i == DEAD_SHARD)
			continue;
		tile_attr(dom, c->shards[i].addr, "data-health", health, sizeof(health));
		assert_string_equal(health, "up");
		tile_attr(dom, c->shards[i].addr, "data-breaker", health, sizeof(health));
		assert_string_equal(health, "closed");
	}
	assert_non_null(strstr(dom, "<polyline")); /* a latency sparkline was drawn */
	free(dom);
	free(shot_out);

	assert_true(shot_st != -1 && WIFEXITED(shot_st) && WEXITSTATUS(shot_st) == 0);
	assert_int_equal(stat(screenshot_path, &sb), 0);
	assert_true(sb.st_size > 10000); /* a real picture, not an empty page */
	printf("status page screenshot: %s (%lld bytes), %d calls of live traffic\n",
	       screenshot_path, (long long)sb.st_size, t.calls);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest metrics[] = {
	        cmocka_unit_test_setup_teardown(test_metrics, cluster_setup, cluster_teardown),
	        cmocka_unit_test(test_metrics_after_reload),
	};
	const struct CMUnitTest page[] = {
	        cmocka_unit_test_setup_teardown(test_status_page, cluster_setup, cluster_teardown),
	};

	if (argc >= 4 && strcmp(argv[1], "metrics") == 0) {
		shard_bin = argv[2];
		aggregator_bin = argv[3];
		return cmocka_run_group_tests_name("admin_e2e_metrics", metrics, NULL, NULL);
	}
	if (argc >= 7 && strcmp(argv[1], "status_page") == 0) {
		shard_bin = argv[2];
		aggregator_bin = argv[3];
		chromium_bin = argv[4];
		screenshot_path = argv[5];
		work_dir = argv[6];
		if (strstr(chromium_bin, "NOTFOUND") != NULL || access(chromium_bin, X_OK) != 0) {
			printf("SKIPPED: no Chromium (tools/deps installs Debian's chromium)\n");
			return 77;
		}
		return cmocka_run_group_tests_name("admin_e2e_status_page", page, NULL, NULL);
	}
	fprintf(stderr,
	        "usage: %s metrics SHARD AGGREGATOR | status_page SHARD AGGREGATOR "
	        "CHROMIUM PNG DIR\n",
	        argv[0]);
	return 2;
}
