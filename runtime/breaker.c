/*
 * breaker.c: the circuit breaker's state machine and its windows, on atomics.
 */
#include "breaker.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scatter/trailer.h"

/* Ticket kinds, in the ticket's low 2 bits; the generation it was issued in above them. */
#define T_PASS  1u /* admitted while closed: the outcome goes into the window */
#define T_PROBE 2u /* a half-open probe: the outcome decides the next state */
#define T_FREE  3u /* breaker disabled: nothing to record */

/* The state word. */
#define S_GEN_BITS   14
#define S_GEN_MASK   ((1u << S_GEN_BITS) - 1)
#define S_SINCE_MASK ((UINT64_C(1) << 48) - 1)

/* Outcome bytes of the count-based ring. */
#define O_RECORDED 1u
#define O_FAILED   2u
#define O_SLOW     4u

/* A time bucket: epoch:28 | calls:12 | failed:12 | slow:12. Counts saturate at 4095 calls: the
 * rates of a busier bucket are those of its first 4095 calls. */
#define B_COUNT_MAX  4095u
#define B_EPOCH_MASK ((UINT64_C(1) << 28) - 1)

static uint64_t st_pack(sg__breaker_state s, uint32_t gen, int64_t since_ms)
{
	return (uint64_t)s | ((uint64_t)(gen & S_GEN_MASK) << 2) |
	       (((uint64_t)since_ms & S_SINCE_MASK) << 16);
}

static sg__breaker_state st_state(uint64_t w)
{
	return (sg__breaker_state)(w & 3u);
}

static uint32_t st_gen(uint64_t w)
{
	return (uint32_t)(w >> 2) & S_GEN_MASK;
}

static int64_t st_since(uint64_t w)
{
	return (int64_t)((w >> 16) & S_SINCE_MASK);
}

static int64_t ms_of(int64_t now_ns)
{
	return now_ns / INT64_C(1000000);
}

static uint64_t pr_pack(uint32_t gen, uint32_t issued, uint32_t ok)
{
	return (uint64_t)(gen & 0xffffu) | ((uint64_t)(issued & 0xffffu) << 16) |
	       ((uint64_t)(ok & 0xffffu) << 32);
}

static uint32_t pr_gen(uint64_t w)
{
	return (uint32_t)w & 0xffffu;
}

static uint32_t pr_issued(uint64_t w)
{
	return (uint32_t)(w >> 16) & 0xffffu;
}

static uint32_t pr_ok(uint64_t w)
{
	return (uint32_t)(w >> 32) & 0xffffu;
}

static uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

const char *sg__breaker_state_name(sg__breaker_state s)
{
	switch (s) {
	case SG_BREAKER_CLOSED:
		return "closed";
	case SG_BREAKER_OPEN:
		return "open";
	case SG_BREAKER_HALF_OPEN:
		return "half-open";
	}
	return "?";
}

sg_err sg__breaker_check(const sg_breaker_desc *d, char *why, size_t len)
{
	if (!d->enabled)
		return SG_OK;
	if (d->failure_rate_pct < 1 || d->failure_rate_pct > 100)
		return sg__why(why, len, "breaker.failure_rate_pct %u is not in 1..100",
		               (unsigned)d->failure_rate_pct);
	if (d->slow_rate_pct < 1 || d->slow_rate_pct > 100)
		return sg__why(why, len, "breaker.slow_rate_pct %u is not in 1..100",
		               (unsigned)d->slow_rate_pct);
	if (d->min_calls < 1)
		return sg__why(why, len, "breaker.min_calls is 0; at least 1 call must count");
	if (d->window_ms == 0 && (d->window < d->min_calls || d->window > SG_BREAKER_MAX_WINDOW))
		return sg__why(why, len, "breaker.window %u is not in min_calls (%u)..%u",
		               (unsigned)d->window, (unsigned)d->min_calls,
		               (unsigned)SG_BREAKER_MAX_WINDOW);
	if (d->open_ms < 1)
		return sg__why(why, len, "breaker.open_ms is 0; an open breaker must stay open");
	if (d->half_open_probes < 1 || d->half_open_probes > 1000)
		return sg__why(why, len, "breaker.half_open_probes %u is not in 1..1000",
		               (unsigned)d->half_open_probes);
	if ((d->failure_statuses & 1u) != 0 || (d->failure_statuses >> 17) != 0)
		return sg__why(why, len, "breaker.failure_statuses holds OK or an unknown status");
	return SG_OK;
}

sg_err sg__breaker_init(sg__breaker *b, const sg_breaker_desc *d, const char *target)
{
	memset(b, 0, sizeof(*b));
	b->target = target != NULL ? target : "?";
	if (d == NULL || !d->enabled)
		return SG_OK;
	b->cfg = *d;
	b->cfg.min_calls = clamp_u32(d->min_calls, 1, UINT32_MAX);
	b->cfg.failure_rate_pct = clamp_u32(d->failure_rate_pct, 1, 100);
	b->cfg.slow_rate_pct = clamp_u32(d->slow_rate_pct, 1, 100);
	b->cfg.open_ms = clamp_u32(d->open_ms, 1, UINT32_MAX);
	b->cfg.half_open_probes = clamp_u32(d->half_open_probes, 1, 1000);
	if (b->cfg.failure_statuses == 0)
		b->cfg.failure_statuses = SG_BREAKER_DEFAULT_FAILURES;
	b->cfg.failure_statuses &= ~1u; /* OK is never a failure */
	if (b->cfg.window_ms > 0) {
		b->bucket_ms = b->cfg.window_ms / SG_BREAKER_BUCKETS;
		if (b->bucket_ms == 0)
			b->bucket_ms = 1;
	} else {
		b->cfg.window = clamp_u32(d->window, b->cfg.min_calls, SG_BREAKER_MAX_WINDOW);
		if (b->cfg.min_calls > b->cfg.window)
			b->cfg.min_calls = b->cfg.window;
		if ((b->ring = calloc(b->cfg.window, sizeof(*b->ring))) == NULL) {
			b->cfg.enabled = false;
			return SG_ENOMEM;
		}
	}
	return SG_OK;
}

void sg__breaker_fini(sg__breaker *b)
{
	free((void *)b->ring);
	b->ring = NULL;
	b->cfg.enabled = false;
}

/* ---- the window ---------------------------------------------------------------------------- */

static void ring_add(sg__breaker *b, unsigned outcome)
{
	uint64_t i = atomic_fetch_add_explicit(&b->head, 1, memory_order_relaxed);
	unsigned old = atomic_exchange_explicit(&b->ring[i % b->cfg.window], (uint8_t)outcome,
	                                        memory_order_relaxed);

	/* Unsigned wrap-around makes "+ new - old" exact whatever the order of the two. */
	atomic_fetch_add_explicit(&b->n_calls, (outcome & O_RECORDED) - (old & O_RECORDED),
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&b->n_failed,
	                          ((outcome & O_FAILED) >> 1) - ((old & O_FAILED) >> 1),
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&b->n_slow, ((outcome & O_SLOW) >> 2) - ((old & O_SLOW) >> 2),
	                          memory_order_relaxed);
}

static uint64_t bucket_pack(uint64_t epoch, uint64_t calls, uint64_t failed, uint64_t slow)
{
	return (epoch & B_EPOCH_MASK) | (calls << 28) | (failed << 40) | (slow << 52);
}

static void bucket_add(sg__breaker *b, unsigned outcome, int64_t now_ns)
{
	uint64_t epoch = ((uint64_t)ms_of(now_ns) / b->bucket_ms) & B_EPOCH_MASK;
	_Atomic uint64_t *slot = &b->buckets[epoch % SG_BREAKER_BUCKETS];
	uint64_t w = atomic_load_explicit(slot, memory_order_relaxed), next;

	do {
		uint64_t calls = 0, failed = 0, slow = 0;

		/* A word of an older epoch (or the reset value 0) starts the bucket afresh. */
		if ((w & B_EPOCH_MASK) == epoch && w != 0) {
			calls = (w >> 28) & 0xfff;
			failed = (w >> 40) & 0xfff;
			slow = (w >> 52) & 0xfff;
		}
		if (calls >= B_COUNT_MAX)
			return;
		next = bucket_pack(epoch, calls + 1, failed + ((outcome & O_FAILED) != 0),
		                   slow + ((outcome & O_SLOW) != 0));
	} while (!atomic_compare_exchange_weak_explicit(slot, &w, next, memory_order_relaxed,
	                                                memory_order_relaxed));
}

void sg__breaker_window_get(const sg__breaker *b, int64_t now_ns, sg__breaker_window *out)
{
	memset(out, 0, sizeof(*out));
	if (!b->cfg.enabled)
		return;
	if (b->cfg.window_ms == 0) {
		out->calls = atomic_load_explicit(&b->n_calls, memory_order_relaxed);
		out->failed = atomic_load_explicit(&b->n_failed, memory_order_relaxed);
		out->slow = atomic_load_explicit(&b->n_slow, memory_order_relaxed);
		return;
	}
	uint64_t epoch = ((uint64_t)ms_of(now_ns) / b->bucket_ms) & B_EPOCH_MASK;
	for (size_t i = 0; i < SG_BREAKER_BUCKETS; i++) {
		uint64_t w = atomic_load_explicit(&b->buckets[i], memory_order_relaxed);
		uint64_t age = (epoch - (w & B_EPOCH_MASK)) & B_EPOCH_MASK;

		if (w == 0 || age >= SG_BREAKER_BUCKETS)
			continue;
		out->calls += (uint32_t)((w >> 28) & 0xfff);
		out->failed += (uint32_t)((w >> 40) & 0xfff);
		out->slow += (uint32_t)((w >> 52) & 0xfff);
	}
}

/* A fresh window, when the breaker closes: the failures that opened it must not open it again.
 * Outcomes recorded concurrently may survive or not; either is fine. */
static void window_reset(sg__breaker *b)
{
	if (b->cfg.window_ms > 0) {
		for (size_t i = 0; i < SG_BREAKER_BUCKETS; i++)
			atomic_store_explicit(&b->buckets[i], 0, memory_order_relaxed);
		return;
	}
	for (uint32_t i = 0; i < b->cfg.window; i++) {
		unsigned old = atomic_exchange_explicit(&b->ring[i], 0, memory_order_relaxed);

		atomic_fetch_sub_explicit(&b->n_calls, old & O_RECORDED, memory_order_relaxed);
		atomic_fetch_sub_explicit(&b->n_failed, (old & O_FAILED) >> 1,
		                          memory_order_relaxed);
		atomic_fetch_sub_explicit(&b->n_slow, (old & O_SLOW) >> 2, memory_order_relaxed);
	}
}

/* ---- transitions --------------------------------------------------------------------------- */

/* Moves the state from exactly `from` to `to` (a new generation, since now); true for the one
 * thread that did it. */
static bool st_move(sg__breaker *b, uint64_t from, sg__breaker_state to, int64_t now_ns)
{
	uint64_t next = st_pack(to, st_gen(from) + 1, ms_of(now_ns));

	if (!atomic_compare_exchange_strong_explicit(&b->state, &from, next, memory_order_acq_rel,
	                                             memory_order_relaxed))
		return false;
	if (to == SG_BREAKER_OPEN)
		atomic_fetch_add_explicit(&b->opened, 1, memory_order_relaxed);
	return true;
}

static unsigned pct(uint32_t part, uint32_t whole)
{
	return whole > 0 ? (unsigned)((uint64_t)part * 100 / whole) : 0;
}

/* After an outcome went into the window of a closed breaker: open it if a rate is over its
 * threshold. */
static void closed_check(sg__breaker *b, int64_t now_ns)
{
	uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
	sg__breaker_window win;
	bool failing, slow;

	if (st_state(s) != SG_BREAKER_CLOSED)
		return;
	sg__breaker_window_get(b, now_ns, &win);
	if (win.calls < b->cfg.min_calls)
		return;
	failing = (uint64_t)win.failed * 100 >= (uint64_t)b->cfg.failure_rate_pct * win.calls;
	slow = (uint64_t)win.slow * 100 >= (uint64_t)b->cfg.slow_rate_pct * win.calls;
	if (!(failing || slow) || !st_move(b, s, SG_BREAKER_OPEN, now_ns))
		return;
	sg__log(SG_LOG_WARN,
	        "breaker open: target=%s reason=%s failure_rate=%u slow_rate=%u calls=%u "
	        "open_ms=%u",
	        b->target,
	        failing && slow ? "failures+slow_calls"
	        : failing       ? "failures"
	                        : "slow_calls",
	        pct(win.failed, win.calls), pct(win.slow, win.calls), win.calls,
	        (unsigned)b->cfg.open_ms);
}

sg__breaker_ticket sg__breaker_admit(sg__breaker *b, int64_t now_ns)
{
	if (!b->cfg.enabled)
		return T_FREE;
	for (;;) {
		uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
		uint32_t gen = st_gen(s);

		switch (st_state(s)) {
		case SG_BREAKER_CLOSED:
			return (gen << 2) | T_PASS;
		case SG_BREAKER_OPEN:
			if (ms_of(now_ns) - st_since(s) < (int64_t)b->cfg.open_ms)
				return SG_BREAKER_REJECTED;
			if (st_move(b, s, SG_BREAKER_HALF_OPEN, now_ns))
				sg__log(SG_LOG_INFO, "breaker half-open: target=%s probes=%u",
				        b->target, (unsigned)b->cfg.half_open_probes);
			continue; /* half-open now (or moved on by another thread) */
		case SG_BREAKER_HALF_OPEN: {
			uint64_t p = atomic_load_explicit(&b->probes, memory_order_relaxed), next;

			do {
				uint32_t issued = pr_gen(p) == (gen & 0xffffu) ? pr_issued(p) : 0;
				uint32_t ok = pr_gen(p) == (gen & 0xffffu) ? pr_ok(p) : 0;

				if (issued >= b->cfg.half_open_probes)
					return SG_BREAKER_REJECTED;
				next = pr_pack(gen, issued + 1, ok);
			} while (!atomic_compare_exchange_weak_explicit(
			        &b->probes, &p, next, memory_order_acq_rel, memory_order_relaxed));
			return (gen << 2) | T_PROBE;
		}
		}
		return SG_BREAKER_REJECTED;
	}
}

/* A probe of generation gen succeeded: count it; the last one closes the breaker. */
static void probe_ok(sg__breaker *b, uint32_t gen, int64_t now_ns)
{
	uint64_t p = atomic_load_explicit(&b->probes, memory_order_relaxed), next;
	uint64_t s;

	do {
		if (pr_gen(p) != (gen & 0xffffu))
			return; /* a probe of an earlier half-open period */
		next = pr_pack(gen, pr_issued(p), pr_ok(p) + 1);
	} while (!atomic_compare_exchange_weak_explicit(&b->probes, &p, next, memory_order_acq_rel,
	                                                memory_order_relaxed));
	if (pr_ok(next) != b->cfg.half_open_probes)
		return;
	/* Only this thread saw ok reach the target for this generation. */
	s = atomic_load_explicit(&b->state, memory_order_acquire);
	if (st_state(s) != SG_BREAKER_HALF_OPEN || st_gen(s) != gen)
		return;
	window_reset(b);
	if (st_move(b, s, SG_BREAKER_CLOSED, now_ns))
		sg__log(SG_LOG_INFO, "breaker closed: target=%s probes_ok=%u", b->target,
		        (unsigned)b->cfg.half_open_probes);
}

void sg__breaker_record(sg__breaker *b, sg__breaker_ticket t, grpc_status_code status,
                        int64_t latency_us, int64_t slow_us, int64_t now_ns)
{
	unsigned kind = t & 3u;
	uint32_t gen = t >> 2;
	bool failed, slow;

	if (t == SG_BREAKER_REJECTED || kind == T_FREE || !b->cfg.enabled)
		return;
	failed = status == SG_BREAKER_UNDECODABLE ||
	         ((unsigned)status < 32 && (b->cfg.failure_statuses & (1u << status)) != 0);
	slow = slow_us > 0 && latency_us >= slow_us;
	if (kind == T_PASS) {
		unsigned outcome = O_RECORDED | (failed ? O_FAILED : 0) | (slow ? O_SLOW : 0);

		if (b->cfg.window_ms > 0)
			bucket_add(b, outcome, now_ns);
		else
			ring_add(b, outcome);
		closed_check(b, now_ns);
		return;
	}
	/* A probe. */
	uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);

	if (st_state(s) != SG_BREAKER_HALF_OPEN || st_gen(s) != gen)
		return; /* from an earlier half-open period: its verdict was given */
	if (!failed && !slow) {
		probe_ok(b, gen, now_ns);
		return;
	}
	if (st_move(b, s, SG_BREAKER_OPEN, now_ns))
		sg__log(SG_LOG_WARN, "breaker open: target=%s reason=probe_%s status=%s open_ms=%u",
		        b->target, failed ? "failed" : "slow",
		        status == SG_BREAKER_UNDECODABLE ? "undecodable" : sg_status_name(status),
		        (unsigned)b->cfg.open_ms);
}

void sg__breaker_release(sg__breaker *b, sg__breaker_ticket t)
{
	uint32_t gen = t >> 2;
	uint64_t p, next;

	if ((t & 3u) != T_PROBE || !b->cfg.enabled)
		return;
	p = atomic_load_explicit(&b->probes, memory_order_relaxed);
	do {
		if (pr_gen(p) != (gen & 0xffffu) || pr_issued(p) == 0)
			return;
		next = pr_pack(gen, pr_issued(p) - 1, pr_ok(p));
	} while (!atomic_compare_exchange_weak_explicit(&b->probes, &p, next, memory_order_acq_rel,
	                                                memory_order_relaxed));
}

sg__breaker_state sg__breaker_state_get(const sg__breaker *b)
{
	return st_state(atomic_load_explicit(&b->state, memory_order_acquire));
}
