/*
 * status.c: per-second history of the metrics records, and the status page's JSON.
 */
#include "status.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S INT64_C(1000000000)

/* One record's cumulative counters at one time. */
typedef struct status_point {
	int64_t t_ns;
	uint64_t ok, failed, cancelled;
	uint64_t partial; /* methods only */
	sg__histogram_snap latency;
} status_point;

typedef enum status_kind {
	STATUS_METHOD,
	STATUS_TARGET,
} status_kind;

/* The history of one record: a ring of points, oldest at `first`. */
typedef struct status_series {
	status_kind kind;
	const void *record; /* sg__method_metrics or sg__target_metrics, borrowed */
	status_point ring[SG__STATUS_POINTS];
	size_t first, n;
} status_series;

struct sg__status {
	const sg__metrics *m;
	pthread_mutex_t lock; /* the sampler thread and the HTTP thread */
	status_series *series;
	size_t n_series;
	int64_t last_ns; /* the last sample's time */
	bool sampled;    /* whether there was one */
};

/* ---- points -----------------------------------------------------------------------------------
 */

static uint64_t status_load(const atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void status_point_codes(status_point *p, const atomic_uint_fast64_t *codes)
{
	uint64_t all = sg__metrics_codes_sum(codes);

	p->ok = status_load(&codes[GRPC_STATUS_OK]);
	p->cancelled = status_load(&codes[GRPC_STATUS_CANCELLED]);
	/* Read apart from `all`: clamp, never wrap. */
	p->failed = all > p->ok + p->cancelled ? all - p->ok - p->cancelled : 0;
}

static void status_point_read(const status_series *s, int64_t now_ns, status_point *p)
{
	memset(p, 0, sizeof(*p));
	p->t_ns = now_ns;
	if (s->kind == STATUS_METHOD) {
		const sg__method_metrics *mm = s->record;

		status_point_codes(p, mm->calls);
		p->partial = status_load(&mm->partial);
		sg__histogram_read(&mm->latency, &p->latency);
	} else {
		const sg__target_metrics *tm = s->record;

		status_point_codes(p, tm->legs);
		sg__histogram_read(&tm->latency, &p->latency);
	}
}

static const status_point *status_at(const status_series *s, size_t i)
{
	return &s->ring[(s->first + i) % SG__STATUS_POINTS];
}

static void status_push(status_series *s, const status_point *p)
{
	if (s->n == SG__STATUS_POINTS) {
		s->ring[s->first] = *p;
		s->first = (s->first + 1) % SG__STATUS_POINTS;
	} else {
		s->ring[(s->first + s->n) % SG__STATUS_POINTS] = *p;
		s->n++;
	}
}

/* ---- series -----------------------------------------------------------------------------------
 */

static status_series *status_find(sg__status *st, const void *record)
{
	for (size_t i = 0; i < st->n_series; i++) {
		if (st->series[i].record == record)
			return &st->series[i];
	}
	return NULL;
}

/* The series of record, made when new: with a zero point at the last sample (the record was
 * born after it, so everything it counted happened since), or empty before the first sample
 * (which follows at once). NULL when out of memory. */
static status_series *status_series_for(sg__status *st, status_kind kind, const void *record)
{
	status_series *s = status_find(st, record), *grown;

	if (s != NULL)
		return s;
	grown = realloc(st->series, (st->n_series + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	st->series = grown;
	s = &st->series[st->n_series++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->record = record;
	if (st->sampled) {
		s->ring[0].t_ns = st->last_ns;
		s->n = 1;
	}
	return s;
}

/* Every record has a series (new ones join). */
static void status_join(sg__status *st)
{
	for (const sg__method_metrics *mm = sg__metrics_methods(st->m); mm != NULL;
	     mm = sg__method_metrics_next(mm))
		(void)status_series_for(st, STATUS_METHOD, mm);
	for (const sg__target_metrics *tm = sg__metrics_targets(st->m); tm != NULL;
	     tm = sg__target_metrics_next(tm))
		(void)status_series_for(st, STATUS_TARGET, tm);
}

static void status_sample_locked(sg__status *st, int64_t now_ns)
{
	status_point p;

	status_join(st);
	for (size_t i = 0; i < st->n_series; i++) {
		status_point_read(&st->series[i], now_ns, &p);
		status_push(&st->series[i], &p);
	}
	st->last_ns = now_ns;
	st->sampled = true;
}

sg_err sg__status_alloc(const sg__metrics *m, int64_t now_ns, sg__status **out)
{
	sg__status *st;

	if (m == NULL || out == NULL)
		return SG_EINVAL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return SG_ENOMEM;
	st->m = m;
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st);
		return SG_ESYS;
	}
	status_sample_locked(st, now_ns);
	*out = st;
	return SG_OK;
}

void sg__status_sample(sg__status *st, int64_t now_ns)
{
	pthread_mutex_lock(&st->lock);
	status_sample_locked(st, now_ns);
	pthread_mutex_unlock(&st->lock);
}

void sg__status_free(sg__status *st)
{
	if (st == NULL)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st->series);
	free(st);
}

/* ---- derived figures --------------------------------------------------------------------------
 */

typedef struct status_delta {
	double seconds;
	uint64_t ok, failed, cancelled, partial;
	sg__histogram_snap latency;
} status_delta;

static uint64_t status_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void status_diff(const status_point *to, const status_point *from, status_delta *d)
{
	d->seconds = (double)(to->t_ns - from->t_ns) / (double)NS_PER_S;
	d->ok = status_sub(to->ok, from->ok);
	d->failed = status_sub(to->failed, from->failed);
	d->cancelled = status_sub(to->cancelled, from->cancelled);
	d->partial = status_sub(to->partial, from->partial);
	for (size_t i = 0; i <= SG__METRICS_N_BOUNDS; i++)
		d->latency.buckets[i] =
		        status_sub(to->latency.buckets[i], from->latency.buckets[i]);
	d->latency.sum_us = status_sub(to->latency.sum_us, from->latency.sum_us);
}

/* The newest point at least SG__STATUS_WINDOW_S before now, or the oldest one. */
static const status_point *status_window_start(const status_series *s, int64_t now_ns)
{
	int64_t since = now_ns - SG__STATUS_WINDOW_S * NS_PER_S;
	const status_point *p = status_at(s, 0);

	for (size_t i = 1; i < s->n && status_at(s, i)->t_ns <= since; i++)
		p = status_at(s, i);
	return p;
}

static void json_rate(sg__strbuf *b, uint64_t n, double seconds)
{
	sg__strbuf_printf(b, "%.3f", seconds > 0 ? (double)n / seconds : 0.0);
}

/* failed / (ok + failed), or null when nothing was decided. */
static void json_error_rate(sg__strbuf *b, uint64_t ok, uint64_t failed)
{
	if (ok + failed == 0)
		sg__strbuf_printf(b, "null");
	else
		sg__strbuf_printf(b, "%.4f", (double)failed / (double)(ok + failed));
}

/* The q-quantile in milliseconds, or null without observations. */
static void json_ms(sg__strbuf *b, const sg__histogram_snap *h, double q)
{
	if (sg__histogram_snap_count(h) == 0)
		sg__strbuf_printf(b, "null");
	else
		sg__strbuf_printf(b, "%.3f", sg__histogram_snap_quantile(h, q) * 1000.0);
}

static const char *status_health(const status_delta *d, const char *breaker)
{
	if (breaker != NULL && strcmp(breaker, "open") == 0)
		return "down";
	if (d->ok + d->failed == 0 && breaker != NULL && strcmp(breaker, "half_open") == 0)
		return "degraded";
	if (d->ok + d->failed == 0)
		return "idle";
	if (d->ok == 0)
		return "down";
	if (d->failed > 0 || d->partial > 0 ||
	    (breaker != NULL && strcmp(breaker, "half_open") == 0))
		return "degraded";
	return "up";
}

/* "series":{"rate":[...],"error_rate":[...],"p99_ms":[...]}: one value per sampled second,
 * oldest first. */
static void json_series(sg__strbuf *b, const status_series *s)
{
	static const char *const keys[] = {"rate", "error_rate", "p99_ms"};

	sg__strbuf_printf(b, ",\"series\":{");
	for (size_t k = 0; k < 3; k++) {
		sg__strbuf_printf(b, "%s\"%s\":[", k > 0 ? "," : "", keys[k]);
		for (size_t i = 1; i < s->n; i++) {
			status_delta d;

			status_diff(status_at(s, i), status_at(s, i - 1), &d);
			sg__strbuf_printf(b, "%s", i > 1 ? "," : "");
			if (k == 0)
				json_rate(b, d.ok + d.failed + d.cancelled, d.seconds);
			else if (k == 1)
				json_error_rate(b, d.ok, d.failed);
			else
				json_ms(b, &d.latency, 0.99);
		}
		sg__strbuf_printf(b, "]");
	}
	sg__strbuf_printf(b, "}");
}

/* The common figures of a record over the window, after its own leading fields. */
static void json_figures(sg__strbuf *b, const status_series *s, const status_delta *d)
{
	sg__strbuf_printf(b, ",\"rate\":");
	json_rate(b, d->ok + d->failed + d->cancelled, d->seconds);
	sg__strbuf_printf(b, ",\"error_rate\":");
	json_error_rate(b, d->ok, d->failed);
	sg__strbuf_printf(b, ",\"p50_ms\":");
	json_ms(b, &d->latency, 0.5);
	sg__strbuf_printf(b, ",\"p99_ms\":");
	json_ms(b, &d->latency, 0.99);
	sg__strbuf_printf(b,
	                  ",\"window\":{\"seconds\":%.3f,\"ok\":%llu,\"failed\":%llu,"
	                  "\"cancelled\":%llu}",
	                  d->seconds, (unsigned long long)d->ok, (unsigned long long)d->failed,
	                  (unsigned long long)d->cancelled);
	json_series(b, s);
}

static void json_method(sg__strbuf *b, const status_series *s, int64_t now_ns)
{
	const sg__method_metrics *mm = s->record;
	status_point now;
	status_delta d;

	status_point_read(s, now_ns, &now);
	status_diff(&now, status_window_start(s, now_ns), &d);
	sg__strbuf_printf(b, "{\"method\":");
	sg__strbuf_json_string(b, mm->method);
	sg__strbuf_printf(b, ",\"health\":\"%s\",\"calls\":%llu,\"failed\":%llu,\"partial\":%llu",
	                  status_health(&d, NULL),
	                  (unsigned long long)(now.ok + now.failed + now.cancelled),
	                  (unsigned long long)now.failed, (unsigned long long)now.partial);
	sg__strbuf_printf(b, ",\"partial_rate\":");
	json_rate(b, d.partial, d.seconds);
	json_figures(b, s, &d);
	sg__strbuf_printf(b, "}");
}

static void json_target(sg__strbuf *b, const status_series *s, int64_t now_ns)
{
	const sg__target_metrics *tm = s->record;
	status_point now;
	status_delta d;

	const char *breaker = NULL;
	uint64_t opened = 0;

	status_point_read(s, now_ns, &now);
	status_diff(&now, status_window_start(s, now_ns), &d);
	if (!sg__target_metrics_breaker(tm, &breaker, &opened))
		breaker = NULL;
	sg__strbuf_printf(b, "{\"group\":");
	sg__strbuf_json_string(b, tm->group);
	sg__strbuf_printf(b, ",\"target\":");
	sg__strbuf_json_string(b, tm->target);
	sg__strbuf_printf(b, ",\"health\":\"%s\",\"legs\":%llu,\"failed\":%llu,\"in_flight\":%lld",
	                  status_health(&d, breaker),
	                  (unsigned long long)(now.ok + now.failed + now.cancelled),
	                  (unsigned long long)now.failed,
	                  (long long)atomic_load_explicit(&tm->in_flight, memory_order_relaxed));
	if (breaker != NULL)
		sg__strbuf_printf(b, ",\"breaker\":{\"state\":\"%s\",\"opened\":%llu}", breaker,
		                  (unsigned long long)opened);
	if (tm->hedges_sent != NULL && tm->hedges_won != NULL && tm->retries != NULL)
		sg__strbuf_printf(b, ",\"hedges_sent\":%llu,\"hedges_won\":%llu,\"retries\":%llu",
		                  (unsigned long long)status_load(tm->hedges_sent),
		                  (unsigned long long)status_load(tm->hedges_won),
		                  (unsigned long long)status_load(tm->retries));
	json_figures(b, s, &d);
	sg__strbuf_printf(b, "}");
}

sg_err sg__status_render(sg__status *st, int64_t now_ns, sg__strbuf *out)
{
	bool first;

	pthread_mutex_lock(&st->lock);
	status_join(st);
	sg__strbuf_printf(out, "{\"now_ms\":%lld,\"window_s\":%d,\"methods\":[",
	                  (long long)(now_ns / 1000000), SG__STATUS_WINDOW_S);
	first = true;
	for (size_t i = 0; i < st->n_series; i++) {
		if (st->series[i].kind != STATUS_METHOD)
			continue;
		sg__strbuf_printf(out, "%s", first ? "" : ",");
		json_method(out, &st->series[i], now_ns);
		first = false;
	}
	sg__strbuf_printf(out, "],\"backends\":[");
	first = true;
	for (size_t i = 0; i < st->n_series; i++) {
		if (st->series[i].kind != STATUS_TARGET)
			continue;
		sg__strbuf_printf(out, "%s", first ? "" : ",");
		json_target(out, &st->series[i], now_ns);
		first = false;
	}
	sg__strbuf_printf(out, "]}\n");
	pthread_mutex_unlock(&st->lock);
	return sg__strbuf_status(out);
}
