/*
 * metrics.c: per-method and per-backend counters, and their Prometheus text exposition.
 *
 * Names follow Prometheus' conventions: a `scatter_` prefix, `_total` on counters, base units
 * (`_seconds`), one metric per meaning with labels for the dimensions (method; group, target;
 * code: the gRPC status name).
 */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "scatter/trailer.h"

const double sg__metrics_bounds[SG__METRICS_N_BOUNDS] = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* The same bounds in microseconds: the hot path compares integers. */
static const int64_t metrics_bounds_us[SG__METRICS_N_BOUNDS] = {
        500,    1000,   2500,   5000,    10000,   25000,   50000,
        100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void sg__metrics_init(sg__metrics *m)
{
	memset(m, 0, sizeof(*m));
	atomic_init(&m->methods, NULL);
	atomic_init(&m->targets, NULL);
}

void sg__metrics_fini(sg__metrics *m)
{
	sg__method_metrics *mm = atomic_load(&m->methods);
	sg__target_metrics *tm = atomic_load(&m->targets);

	while (mm != NULL) {
		sg__method_metrics *next = atomic_load(&mm->next);

		free(mm->method);
		free(mm);
		mm = next;
	}
	while (tm != NULL) {
		sg__target_metrics *next = atomic_load(&tm->next);

		free(tm->group);
		free(tm->target);
		free(tm);
		tm = next;
	}
	sg__metrics_init(m);
}

sg__method_metrics *sg__metrics_method(sg__metrics *m, const char *method)
{
	sg__method_metrics *mm;

	for (mm = atomic_load(&m->methods); mm != NULL; mm = atomic_load(&mm->next)) {
		if (strcmp(mm->method, method) == 0)
			return mm;
	}
	/* calloc: every atomic starts at 0, as a zero bit pattern is a valid zero for them. */
	if ((mm = calloc(1, sizeof(*mm))) == NULL)
		return NULL;
	if ((mm->method = strdup(method)) == NULL) {
		free(mm);
		return NULL;
	}
	/* Published whole: a reader that sees the pointer sees the record's fields. */
	if (m->methods_tail == NULL)
		atomic_store_explicit(&m->methods, mm, memory_order_release);
	else
		atomic_store_explicit(&m->methods_tail->next, mm, memory_order_release);
	m->methods_tail = mm;
	return mm;
}

sg__target_metrics *sg__metrics_target(sg__metrics *m, const char *group, const char *target)
{
	sg__target_metrics *tm;

	for (tm = atomic_load(&m->targets); tm != NULL; tm = atomic_load(&tm->next)) {
		if (strcmp(tm->group, group) == 0 && strcmp(tm->target, target) == 0)
			return tm;
	}
	if ((tm = calloc(1, sizeof(*tm))) == NULL)
		return NULL;
	tm->group = strdup(group);
	tm->target = strdup(target);
	if (tm->group == NULL || tm->target == NULL) {
		free(tm->group);
		free(tm->target);
		free(tm);
		return NULL;
	}
	if (m->targets_tail == NULL)
		atomic_store_explicit(&m->targets, tm, memory_order_release);
	else
		atomic_store_explicit(&m->targets_tail->next, tm, memory_order_release);
	m->targets_tail = tm;
	return tm;
}

const sg__method_metrics *sg__metrics_methods(const sg__metrics *m)
{
	return atomic_load_explicit(&m->methods, memory_order_acquire);
}

const sg__method_metrics *sg__method_metrics_next(const sg__method_metrics *mm)
{
	return atomic_load_explicit(&mm->next, memory_order_acquire);
}

const sg__target_metrics *sg__metrics_targets(const sg__metrics *m)
{
	return atomic_load_explicit(&m->targets, memory_order_acquire);
}

const sg__target_metrics *sg__target_metrics_next(const sg__target_metrics *tm)
{
	return atomic_load_explicit(&tm->next, memory_order_acquire);
}

/* ---- hooks ------------------------------------------------------------------------------------
 */

static inline void metrics_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void histogram_observe(sg__histogram *h, int64_t us)
{
	size_t i = 0;

	if (us < 0)
		us = 0;
	while (i < SG__METRICS_N_BOUNDS && us > metrics_bounds_us[i])
		i++;
	metrics_add(&h->buckets[i], 1);
	metrics_add(&h->sum_us, (uint64_t)us);
}

/* Codes outside gRPC's 0..16 count as UNKNOWN (2). */
static size_t metrics_code(grpc_status_code code)
{
	return (unsigned)code < SG__METRICS_N_CODES ? (size_t)code : (size_t)GRPC_STATUS_UNKNOWN;
}

void sg__metrics_call_end(sg__method_metrics *mm, grpc_status_code code, int64_t latency_us,
                          bool partial)
{
	if (mm == NULL)
		return;
	metrics_add(&mm->calls[metrics_code(code)], 1);
	if (partial)
		metrics_add(&mm->partial, 1);
	histogram_observe(&mm->latency, latency_us);
}

void sg__metrics_attempt_start(sg__target_metrics *tm)
{
	if (tm != NULL)
		atomic_fetch_add_explicit(&tm->in_flight, 1, memory_order_relaxed);
}

void sg__metrics_attempt_end(sg__target_metrics *tm)
{
	if (tm != NULL)
		atomic_fetch_sub_explicit(&tm->in_flight, 1, memory_order_relaxed);
}

void sg__metrics_leg_end(sg__target_metrics *tm, grpc_status_code code, int64_t latency_us)
{
	if (tm == NULL)
		return;
	metrics_add(&tm->legs[metrics_code(code)], 1);
	histogram_observe(&tm->latency, latency_us);
}

void sg__metrics_leg_refused(sg__target_metrics *tm, grpc_status_code code)
{
	if (tm != NULL)
		metrics_add(&tm->legs[metrics_code(code)], 1);
}

/* ---- readers ----------------------------------------------------------------------------------
 */

void sg__histogram_read(const sg__histogram *h, sg__histogram_snap *out)
{
	for (size_t i = 0; i <= SG__METRICS_N_BOUNDS; i++)
		out->buckets[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
	out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

uint64_t sg__histogram_snap_count(const sg__histogram_snap *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i <= SG__METRICS_N_BOUNDS; i++)
		n += s->buckets[i];
	return n;
}

double sg__histogram_snap_quantile(const sg__histogram_snap *s, double q)
{
	uint64_t total = sg__histogram_snap_count(s), seen = 0;
	double rank;

	if (total == 0)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (size_t i = 0; i <= SG__METRICS_N_BOUNDS; i++) {
		double lo = i == 0 ? 0 : sg__metrics_bounds[i - 1];

		if (s->buckets[i] == 0 || (double)(seen + s->buckets[i]) < rank) {
			seen += s->buckets[i];
			continue;
		}
		if (i == SG__METRICS_N_BOUNDS)
			return lo;
		return lo +
		       (sg__metrics_bounds[i] - lo) * (rank - (double)seen) / (double)s->buckets[i];
	}
	return sg__metrics_bounds[SG__METRICS_N_BOUNDS - 1];
}

/* Label values (Prometheus, JSON): snake case, as label values usually are. */
static const char *const metrics_breaker_states[] = {
        [SG_BREAKER_CLOSED] = "closed",
        [SG_BREAKER_OPEN] = "open",
        [SG_BREAKER_HALF_OPEN] = "half_open",
};

bool sg__target_metrics_breaker(const sg__target_metrics *tm, const char **state, uint64_t *opened)
{
	sg__breaker_state st;

	if (tm->breaker == NULL || !tm->breaker->cfg.enabled)
		return false;
	st = sg__breaker_state_get(tm->breaker);
	*state = (unsigned)st < 3 ? metrics_breaker_states[st] : "closed";
	*opened = atomic_load_explicit(&tm->breaker->opened, memory_order_relaxed);
	return true;
}

uint64_t sg__metrics_codes_sum(const atomic_uint_fast64_t *codes)
{
	uint64_t n = 0;

	for (size_t i = 0; i < SG__METRICS_N_CODES; i++)
		n += atomic_load_explicit(&codes[i], memory_order_relaxed);
	return n;
}

/* ---- exposition -------------------------------------------------------------------------------
 */

static void render_head(sg__strbuf *b, const char *name, const char *type, const char *help)
{
	sg__strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `method="..."` or `group="...",target="..."`: a record's labels, escaped, into l (reset). */
static const char *render_method_labels(sg__strbuf *l, const sg__method_metrics *mm)
{
	sg__strbuf_reset(l);
	sg__strbuf_printf(l, "method=");
	sg__strbuf_label_value(l, mm->method);
	return l->data != NULL ? l->data : "";
}

static const char *render_target_labels(sg__strbuf *l, const sg__target_metrics *tm)
{
	sg__strbuf_reset(l);
	sg__strbuf_printf(l, "group=");
	sg__strbuf_label_value(l, tm->group);
	sg__strbuf_printf(l, ",target=");
	sg__strbuf_label_value(l, tm->target);
	return l->data != NULL ? l->data : "";
}

/* One sample per code: OK always (the series exists from the start), the others once they
 * have happened. */
static void render_codes(sg__strbuf *b, const char *name, const char *labels,
                         const atomic_uint_fast64_t *codes)
{
	for (size_t i = 0; i < SG__METRICS_N_CODES; i++) {
		uint64_t n = atomic_load_explicit(&codes[i], memory_order_relaxed);

		if (n == 0 && i != GRPC_STATUS_OK)
			continue;
		sg__strbuf_printf(b, "%s{%s,code=\"%s\"} %llu\n", name, labels,
		                  sg_status_name((grpc_status_code)i), (unsigned long long)n);
	}
}

static void render_histogram(sg__strbuf *b, const char *name, const char *labels,
                             const sg__histogram *h)
{
	sg__histogram_snap s;
	uint64_t cum = 0;

	sg__histogram_read(h, &s);
	for (size_t i = 0; i < SG__METRICS_N_BOUNDS; i++) {
		cum += s.buckets[i];
		sg__strbuf_printf(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
		                  sg__metrics_bounds[i], (unsigned long long)cum);
	}
	cum += s.buckets[SG__METRICS_N_BOUNDS];
	sg__strbuf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
	                  (unsigned long long)cum);
	sg__strbuf_printf(b, "%s_sum{%s} %.6f\n", name, labels, (double)s.sum_us / 1e6);
	sg__strbuf_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

static void render_methods(const sg__metrics *m, sg__strbuf *b, sg__strbuf *l)
{
	const sg__method_metrics *mm;

	render_head(b, "scatter_calls_total", "counter",
	            "Fan-out calls answered, by gRPC status code (CANCELLED: the client left).");
	for (mm = sg__metrics_methods(m); mm != NULL; mm = sg__method_metrics_next(mm))
		render_codes(b, "scatter_calls_total", render_method_labels(l, mm), mm->calls);
	render_head(b, "scatter_partial_answers_total", "counter",
	            "Fan-out calls answered OK without every leg's part (legs failed or timed "
	            "out).");
	for (mm = sg__metrics_methods(m); mm != NULL; mm = sg__method_metrics_next(mm))
		sg__strbuf_printf(b, "scatter_partial_answers_total{%s} %llu\n",
		                  render_method_labels(l, mm),
		                  (unsigned long long)atomic_load_explicit(&mm->partial,
		                                                           memory_order_relaxed));
	render_head(b, "scatter_call_duration_seconds", "histogram",
	            "Fan-out call latency, from accepting the call to sending its answer.");
	for (mm = sg__metrics_methods(m); mm != NULL; mm = sg__method_metrics_next(mm))
		render_histogram(b, "scatter_call_duration_seconds", render_method_labels(l, mm),
		                 &mm->latency);
}

typedef const atomic_uint_fast64_t *(*borrowed_fn)(const sg__target_metrics *tm);

static const atomic_uint_fast64_t *borrowed_hedges_sent(const sg__target_metrics *tm)
{
	return tm->hedges_sent;
}

static const atomic_uint_fast64_t *borrowed_hedges_won(const sg__target_metrics *tm)
{
	return tm->hedges_won;
}

static const atomic_uint_fast64_t *borrowed_retries(const sg__target_metrics *tm)
{
	return tm->retries;
}

/* A counter family read from counters kept elsewhere: only the records that have one, and no
 * HELP/TYPE when none has. */
static void render_borrowed(const sg__metrics *m, sg__strbuf *b, sg__strbuf *l, borrowed_fn get,
                            const char *name, const char *help)
{
	bool head = false;

	for (const sg__target_metrics *tm = sg__metrics_targets(m); tm != NULL;
	     tm = sg__target_metrics_next(tm)) {
		const atomic_uint_fast64_t *c = get(tm);

		if (c == NULL)
			continue;
		if (!head)
			render_head(b, name, "counter", help);
		head = true;
		sg__strbuf_printf(
		        b, "%s{%s} %llu\n", name, render_target_labels(l, tm),
		        (unsigned long long)atomic_load_explicit(c, memory_order_relaxed));
	}
}

/* The breakers' state (one sample per state, 1 for the current one) and their transitions into
 * open, for the targets whose breaker is enabled. */
static void render_breakers(const sg__metrics *m, sg__strbuf *b, sg__strbuf *l)
{
	const sg__target_metrics *tm;
	const char *state;
	uint64_t opened;
	bool head = false;

	for (tm = sg__metrics_targets(m); tm != NULL; tm = sg__target_metrics_next(tm)) {
		if (!sg__target_metrics_breaker(tm, &state, &opened))
			continue;
		if (!head)
			render_head(b, "scatter_breaker_state", "gauge",
			            "The circuit breaker of a backend target: 1 for its state "
			            "(closed, open, half_open), 0 for the others.");
		head = true;
		for (size_t i = 0; i < 3; i++)
			sg__strbuf_printf(b, "scatter_breaker_state{%s,state=\"%s\"} %d\n",
			                  render_target_labels(l, tm), metrics_breaker_states[i],
			                  strcmp(state, metrics_breaker_states[i]) == 0);
	}
	head = false;
	for (tm = sg__metrics_targets(m); tm != NULL; tm = sg__target_metrics_next(tm)) {
		if (!sg__target_metrics_breaker(tm, &state, &opened))
			continue;
		if (!head)
			render_head(
			        b, "scatter_breaker_transitions_total", "counter",
			        "Transitions of a backend target's circuit breaker into a state "
			        "(the breaker counts those into open).");
		head = true;
		sg__strbuf_printf(b, "scatter_breaker_transitions_total{%s,state=\"open\"} %llu\n",
		                  render_target_labels(l, tm), (unsigned long long)opened);
	}
}

static void render_targets(const sg__metrics *m, sg__strbuf *b, sg__strbuf *l)
{
	const sg__target_metrics *tm;

	render_head(b, "scatter_backend_legs_total", "counter",
	            "Legs whose outcome came from a backend target, by gRPC status code "
	            "(CANCELLED includes legs a gather cut short).");
	for (tm = sg__metrics_targets(m); tm != NULL; tm = sg__target_metrics_next(tm))
		render_codes(b, "scatter_backend_legs_total", render_target_labels(l, tm),
		             tm->legs);
	render_head(b, "scatter_backend_leg_duration_seconds", "histogram",
	            "Latency of legs whose outcome came from a backend target, from the leg's "
	            "start to its end.");
	for (tm = sg__metrics_targets(m); tm != NULL; tm = sg__target_metrics_next(tm))
		render_histogram(b, "scatter_backend_leg_duration_seconds",
		                 render_target_labels(l, tm), &tm->latency);
	render_head(b, "scatter_backend_in_flight", "gauge",
	            "Calls to a backend target (legs' attempts: the first, a hedge, a retry) sent "
	            "and not yet ended.");
	for (tm = sg__metrics_targets(m); tm != NULL; tm = sg__target_metrics_next(tm))
		sg__strbuf_printf(
		        b, "scatter_backend_in_flight{%s} %lld\n", render_target_labels(l, tm),
		        (long long)atomic_load_explicit(&tm->in_flight, memory_order_relaxed));
	render_borrowed(m, b, l, borrowed_hedges_sent, "scatter_backend_hedges_sent_total",
	                "Hedges sent to a backend target: a leg's request again, to another "
	                "replica, after the hedge delay.");
	render_borrowed(m, b, l, borrowed_hedges_won, "scatter_backend_hedges_won_total",
	                "Hedges to a backend target whose answer was the leg's.");
	render_borrowed(m, b, l, borrowed_retries, "scatter_backend_retries_total",
	                "Retries sent to a backend target after a transient failure.");
	render_breakers(m, b, l);
}

sg_err sg__metrics_render(const sg__metrics *m, sg__strbuf *out)
{
	sg__strbuf labels;
	sg_err rv;

	sg__strbuf_init(&labels);
	render_methods(m, out, &labels);
	render_targets(m, out, &labels);
	rv = labels.failed ? SG_ENOMEM : sg__strbuf_status(out);
	sg__strbuf_fini(&labels);
	return rv;
}
