/*
 * hedge.h (internal): what hedging needs to know about a backend, and when to hedge.
 *
 * Each backend (one replica's channel) keeps a rolling latency histogram of the attempts it
 * answered: lock-free (one atomic per bucket, any worker records), log-linear buckets (8 per
 * power of two of microseconds: a value is known within 12.5%), in two time slots of
 * SG__LATENCY_SLOT_NS each. A sample goes to the slot of its time; a slot whose period has
 * passed is cleared by the first writer of the new period, and readers sum the current and the
 * previous slot only: the histogram forgets what is older than two periods. Clearing races
 * with concurrent writers and may lose a few samples: a latency estimate, not an account.
 *
 * The hedge delay of a leg is fixed (Hedge.delay_ms) or adaptive: the first attempt's backend's
 * live pNN (Hedge.percentile, default 95), at least Hedge.min_delay_ms. Until the backend has
 * SG__LATENCY_MIN_SAMPLES samples in its window, the adaptive delay is half the leg's time
 * budget (deadline - start): a cold backend is hedged late, never early.
 *
 * Clocks are parameters (monotonic ns), so that every function here is testable without time.
 */
#ifndef SG_HEDGE_H
#define SG_HEDGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "scatter/method.h"

#define SG__LATENCY_SUB         8  /* buckets per power of two */
#define SG__LATENCY_OCTAVES     25 /* 8 us .. 2^28 us (~268 s); beyond: the last bucket */
#define SG__LATENCY_BUCKETS     (SG__LATENCY_SUB * (SG__LATENCY_OCTAVES + 1))
#define SG__LATENCY_SLOT_NS     INT64_C(5000000000) /* 5 s per slot: a 5-10 s window */
#define SG__LATENCY_MIN_SAMPLES 32

typedef struct sg__latency_slot {
	atomic_int_fast64_t period; /* now / SG__LATENCY_SLOT_NS of its samples; -1: empty */
	atomic_uint_fast32_t count;
	atomic_uint_fast32_t buckets[SG__LATENCY_BUCKETS];
} sg__latency_slot;

typedef struct sg__latency {
	sg__latency_slot slots[2];
} sg__latency;

/* Hedging and retry counters of one backend, written by any worker (relaxed atomics), read by
 * the server's stats and /metrics. */
typedef struct sg__hedge_stats {
	atomic_uint_fast64_t hedges_sent; /* hedge attempts sent to this backend */
	atomic_uint_fast64_t hedges_won;  /* ... whose answer was the leg's */
	atomic_uint_fast64_t retries;     /* retry attempts sent to this backend */
} sg__hedge_stats;

/* Hedging and retries of one leg route, with the defaults of options.proto filled in for the
 * fields a hand-written table left at 0 (see sg__tail_policy_resolve). */
typedef struct sg__tail_policy {
	bool hedge; /* idempotent, Hedge given and enabled */
	bool retry; /* idempotent, Retry given and max_attempts > 1 */
	sg_hedge_desc h;
	sg_retry_desc r;
} sg__tail_policy;

void sg__latency_init(sg__latency *l);

/* Records one attempt's latency at now_ns. Any thread. */
void sg__latency_record(sg__latency *l, int64_t now_ns, int64_t latency_ns);

/* Samples in the window at now_ns. */
uint32_t sg__latency_count(const sg__latency *l, int64_t now_ns);

/* The pct-th percentile (1..100) of the window at now_ns, in ns: the upper bound of the bucket
 * holding the sample of rank ceil(pct * n / 100). -1 when the window is empty. */
int64_t sg__latency_percentile(const sg__latency *l, int64_t now_ns, uint32_t pct);

/* The bucket of a latency in microseconds, and the exclusive upper bound of a bucket (us). */
uint32_t sg__latency_bucket(uint64_t us);
uint64_t sg__latency_bucket_upper_us(uint32_t bucket);

/* r's hedging and retries as the runtime applies them: hedges and retries only when
 * r->idempotent; 0 in max_attempts, initial_backoff_ms, max_backoff_ms, multiplier (< 1),
 * percentile (or > 100) mean options.proto's defaults; statuses 0 means UNAVAILABLE. */
void sg__tail_policy_resolve(const sg_resilience_desc *r, sg__tail_policy *out);

/* How long after its start a leg's first attempt is hedged (ns), given the first attempt's
 * backend's latency l and the leg's time budget budget_ns (its deadline - its start). */
int64_t sg__hedge_delay_ns(const sg_hedge_desc *h, const sg__latency *l, int64_t now_ns,
                           int64_t budget_ns);

#endif
