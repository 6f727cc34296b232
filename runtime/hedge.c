/*
 * hedge.c: the rolling latency histogram and the hedge delay.
 */
#include "hedge.h"

#include <string.h>

#define NS_PER_US INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)

void sg__latency_init(sg__latency *l)
{
	for (int s = 0; s < 2; s++) {
		atomic_init(&l->slots[s].period, -1);
		atomic_init(&l->slots[s].count, 0);
		for (uint32_t b = 0; b < SG__LATENCY_BUCKETS; b++)
			atomic_init(&l->slots[s].buckets[b], 0);
	}
}

uint32_t sg__latency_bucket(uint64_t us)
{
	uint32_t e;

	if (us < SG__LATENCY_SUB)
		return (uint32_t)us;
	e = 63u - (uint32_t)__builtin_clzll(us); /* us in [2^e, 2^(e+1)), e >= 3 */
	if (e - 3 >= SG__LATENCY_OCTAVES)
		return SG__LATENCY_BUCKETS - 1;
	return SG__LATENCY_SUB * (e - 2) + (uint32_t)((us >> (e - 3)) & (SG__LATENCY_SUB - 1));
}

uint64_t sg__latency_bucket_upper_us(uint32_t bucket)
{
	uint32_t e, sub;

	if (bucket < SG__LATENCY_SUB)
		return bucket + 1;
	e = bucket / SG__LATENCY_SUB + 2;
	sub = bucket % SG__LATENCY_SUB;
	return (UINT64_C(1) << e) + ((uint64_t)(sub + 1) << (e - 3));
}

static int64_t latency_period(int64_t now_ns)
{
	return now_ns / SG__LATENCY_SLOT_NS;
}

void sg__latency_record(sg__latency *l, int64_t now_ns, int64_t latency_ns)
{
	int64_t period = latency_period(now_ns);
	sg__latency_slot *s = &l->slots[period & 1];
	int_fast64_t seen = atomic_load_explicit(&s->period, memory_order_acquire);
	uint64_t us = latency_ns > 0 ? (uint64_t)(latency_ns / NS_PER_US) : 0;

	if (seen < period &&
	    atomic_compare_exchange_strong_explicit(&s->period, &seen, period, memory_order_acq_rel,
	                                            memory_order_acquire)) {
		/* This writer moved the slot to a new period: it clears it. */
		for (uint32_t b = 0; b < SG__LATENCY_BUCKETS; b++)
			atomic_store_explicit(&s->buckets[b], 0, memory_order_relaxed);
		atomic_store_explicit(&s->count, 0, memory_order_relaxed);
	} else if (seen > period) {
		return; /* a sample older than the slot's period: too old to keep */
	}
	atomic_fetch_add_explicit(&s->buckets[sg__latency_bucket(us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

/* Whether slot s holds samples of the window at period (this one or the one before). */
static bool latency_slot_live(const sg__latency_slot *s, int64_t period)
{
	int64_t p = atomic_load_explicit(&s->period, memory_order_acquire);

	return p >= 0 && (p == period || p == period - 1);
}

uint32_t sg__latency_count(const sg__latency *l, int64_t now_ns)
{
	int64_t period = latency_period(now_ns);
	uint32_t n = 0;

	for (int i = 0; i < 2; i++) {
		if (latency_slot_live(&l->slots[i], period))
			n += (uint32_t)atomic_load_explicit(&l->slots[i].count,
			                                    memory_order_relaxed);
	}
	return n;
}

int64_t sg__latency_percentile(const sg__latency *l, int64_t now_ns, uint32_t pct)
{
	int64_t period = latency_period(now_ns);
	uint32_t sum[SG__LATENCY_BUCKETS];
	uint64_t n = 0, rank, seen = 0;

	memset(sum, 0, sizeof(sum));
	for (int i = 0; i < 2; i++) {
		if (!latency_slot_live(&l->slots[i], period))
			continue;
		for (uint32_t b = 0; b < SG__LATENCY_BUCKETS; b++) {
			sum[b] += (uint32_t)atomic_load_explicit(&l->slots[i].buckets[b],
			                                         memory_order_relaxed);
		}
	}
	for (uint32_t b = 0; b < SG__LATENCY_BUCKETS; b++)
		n += sum[b];
	if (n == 0)
		return -1;
	if (pct == 0)
		pct = 1;
	if (pct > 100)
		pct = 100;
	rank = (pct * n + 99) / 100; /* ceil, >= 1 */
	for (uint32_t b = 0; b < SG__LATENCY_BUCKETS; b++) {
		seen += sum[b];
		if (seen >= rank)
			return (int64_t)sg__latency_bucket_upper_us(b) * NS_PER_US;
	}
	return (int64_t)sg__latency_bucket_upper_us(SG__LATENCY_BUCKETS - 1) * NS_PER_US;
}

void sg__tail_policy_resolve(const sg_resilience_desc *r, sg__tail_policy *out)
{
	memset(out, 0, sizeof(*out));
	if (r == NULL || !r->idempotent)
		return;
	out->h = r->hedge;
	out->r = r->retry;
	if (out->h.percentile == 0 || out->h.percentile > 100)
		out->h.percentile = 95;
	if (out->r.max_attempts == 0)
		out->r.max_attempts = 2;
	if (out->r.initial_backoff_ms == 0)
		out->r.initial_backoff_ms = 10;
	if (out->r.max_backoff_ms == 0)
		out->r.max_backoff_ms = 200;
	if (!(out->r.multiplier >= 1.0))
		out->r.multiplier = 2.0;
	if (out->r.statuses == 0)
		out->r.statuses = 1u << GRPC_STATUS_UNAVAILABLE;
	out->hedge = r->has_hedge && r->hedge.enabled;
	out->retry = r->has_retry && out->r.max_attempts > 1;
}

int64_t sg__hedge_delay_ns(const sg_hedge_desc *h, const sg__latency *l, int64_t now_ns,
                           int64_t budget_ns)
{
	int64_t floor_ns = (int64_t)h->min_delay_ms * NS_PER_MS, d;

	if (h->delay_ms > 0)
		return (int64_t)h->delay_ms * NS_PER_MS;
	if (l != NULL && sg__latency_count(l, now_ns) >= SG__LATENCY_MIN_SAMPLES)
		d = sg__latency_percentile(l, now_ns, h->percentile);
	else
		d = budget_ns / 2;
	return d > floor_ns ? d : floor_ns;
}
