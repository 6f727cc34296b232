/*
 * metrics.h (internal): a server's per-method and per-backend counters, and their Prometheus
 * text exposition.
 *
 * Records are made by the controlling thread (at start, one per fan-out method and one per
 * (group, target) pair a route uses) and pushed onto lock-free lists that only ever grow until
 * sg__metrics_fini. The workers update a record through the pointer their method or route
 * holds, with relaxed atomic adds only (no lock, no allocation: one-line hooks in call.c and
 * leg.c). Any thread may read: the admin port's HTTP thread renders them, the status sampler
 * snapshots them. A reader sees each counter exactly; counters of one record are not read as
 * one snapshot (a histogram's _count is the sum of its buckets as read, so it is consistent with
 * them, and its _sum may be a few observations ahead or behind).
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

#include "scatter/error.h"
#include "strbuf.h"

/* Latency histogram bucket upper bounds, in seconds (Prometheus `le`); +Inf is implied. From
 * half a millisecond (a leaf on loopback) to 10 s (past any sane deadline). */
#define SG__METRICS_N_BOUNDS 14
extern const double sg__metrics_bounds[SG__METRICS_N_BOUNDS];
/* gRPC status codes 0..16, one counter each. */
#define SG__METRICS_N_CODES 17

typedef struct sg__histogram {
	/* buckets[i]: observations in (bounds[i-1], bounds[i]]; the last one past every bound
	 * (+Inf). Not cumulative: the exposition adds them up. */
	atomic_uint_fast64_t buckets[SG__METRICS_N_BOUNDS + 1];
	atomic_uint_fast64_t sum_us; /* total of observations, in microseconds */
} sg__histogram;

/* A plain copy of a histogram, for arithmetic (deltas, quantiles). */
typedef struct sg__histogram_snap {
	uint64_t buckets[SG__METRICS_N_BOUNDS + 1];
	uint64_t sum_us;
} sg__histogram_snap;

typedef struct sg__method_metrics {
	_Atomic(struct sg__method_metrics *) next;
	char *method;                                    /* "search.Search/Query"; owned */
	atomic_uint_fast64_t calls[SG__METRICS_N_CODES]; /* answered, by status code */
	atomic_uint_fast64_t partial; /* answered OK with some legs failed or timed out */
	sg__histogram latency;        /* accept to answer */
} sg__method_metrics;

/* One backend target (one replica: one channel). A leg counts where its outcome came from; its
 * attempts (the first, a hedge, retries) count in flight where each went. */
typedef struct sg__target_metrics {
	_Atomic(struct sg__target_metrics *) next;
	char *group;  /* owned; the first group naming the target */
	char *target; /* owned */
	atomic_uint_fast64_t legs[SG__METRICS_N_CODES]; /* legs ended, by status code */
	atomic_int_fast64_t in_flight;                  /* attempts sent, not yet ended */
	sg__histogram latency;                          /* leg started to leg ended */
	/* Counters kept elsewhere (the backend's hedge stats), read as they are. Set before
	 * start; NULL: not exported. */
	const atomic_uint_fast64_t *hedges_sent;
	const atomic_uint_fast64_t *hedges_won;
	const atomic_uint_fast64_t *retries;
	/* The target's circuit breaker (its guard's), read with sg__breaker_state_get and its
	 * `opened` counter; NULL or not enabled: not exported. */
	const struct sg__breaker *breaker;
} sg__target_metrics;

/* The registry; embedded in the server. Lists in creation order: the controlling thread
 * appends (release), readers walk them (acquire). */
typedef struct sg__metrics {
	_Atomic(sg__method_metrics *) methods;
	_Atomic(sg__target_metrics *) targets;
	sg__method_metrics *methods_tail; /* controlling thread only */
	sg__target_metrics *targets_tail; /* controlling thread only */
} sg__metrics;

void sg__metrics_init(sg__metrics *m);

/* Frees every record. No thread may use them any more (workers joined, admin stopped). */
void sg__metrics_fini(sg__metrics *m);

/* The record of `method` (borrowed, copied), made on first use. Controlling thread only. NULL
 * when out of memory (the hooks take NULL: nothing is counted). */
sg__method_metrics *sg__metrics_method(sg__metrics *m, const char *method);

/* The record of (group, target) (borrowed, copied), made on first use. Controlling thread
 * only. NULL when out of memory. */
sg__target_metrics *sg__metrics_target(sg__metrics *m, const char *group, const char *target);

/* ---- hooks: any worker, lock-free; a NULL record is a no-op --------------------------------- */

void sg__metrics_call_end(sg__method_metrics *mm, grpc_status_code code, int64_t latency_us,
                          bool partial);
/* A call to the target (a leg's attempt) was sent / ended: the in-flight gauge. */
void sg__metrics_attempt_start(sg__target_metrics *tm);
void sg__metrics_attempt_end(sg__target_metrics *tm);
/* A leg that was sent ended, its outcome from this target. */
void sg__metrics_leg_end(sg__target_metrics *tm, grpc_status_code code, int64_t latency_us);
/* A leg that never left (refused before sending) ended: counted by status, not in flight or
 * in the latency histogram. */
void sg__metrics_leg_refused(sg__target_metrics *tm, grpc_status_code code);

/* ---- readers: any thread ----------------------------------------------------------------------
 */

/* The records in creation order: the first, then each one's successor (NULL at the end). */
const sg__method_metrics *sg__metrics_methods(const sg__metrics *m);
const sg__method_metrics *sg__method_metrics_next(const sg__method_metrics *mm);
const sg__target_metrics *sg__metrics_targets(const sg__metrics *m);
const sg__target_metrics *sg__target_metrics_next(const sg__target_metrics *tm);

void sg__histogram_read(const sg__histogram *h, sg__histogram_snap *out);
uint64_t sg__histogram_snap_count(const sg__histogram_snap *s);

/* The q-quantile (0..1) of the observations in s, in seconds, interpolated linearly inside
 * the bucket it falls in as Prometheus' histogram_quantile does (the +Inf bucket answers its
 * lower bound). 0 when s is empty. */
double sg__histogram_snap_quantile(const sg__histogram_snap *s, double q);

/* Whether tm has a breaker that is enabled; its state and transitions into open then. */
bool sg__target_metrics_breaker(const sg__target_metrics *tm, const char **state, uint64_t *opened);

/* Sum of a per-code counter array. */
uint64_t sg__metrics_codes_sum(const atomic_uint_fast64_t *codes);

/* Appends the Prometheus text exposition (format 0.0.4) of every record to out: HELP and TYPE
 * lines, then the samples. SG_ENOMEM if out cannot grow. */
sg_err sg__metrics_render(const sg__metrics *m, sg__strbuf *out);

#endif
