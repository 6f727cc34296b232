/*
 * breaker.h (internal): a circuit breaker, one per backend target, shared by every worker.
 *
 *   CLOSED --(min_calls outcomes in the window, failure or slow rate over its threshold)--> OPEN
 *   OPEN --(open_ms passed, at the next admission)--> HALF_OPEN
 *   HALF_OPEN --(half_open_probes probes all OK)--> CLOSED (the window starts afresh)
 *   HALF_OPEN --(a probe failed or was slow)--> OPEN
 *
 * Lock-free: the state, its generation and the time it was entered are one atomic word, moved
 * by compare-and-swap, so exactly one thread wins each transition and logs it (one line per
 * transition). Half-open probe permits are another word (generation, issued, ok) taken by CAS.
 * The window is either a ring of outcome bytes (count-based: each outcome exchanges one byte
 * and adjusts three counters by the difference, so the counters stay exact) or a few time
 * buckets, each one word (epoch, calls, failures, slow calls) updated by CAS.
 *
 * Time is an argument (monotonic nanoseconds) everywhere: the caller passes sg__now_ns(), the
 * unit tests a clock of their own.
 *
 * Each admitted leg gets a ticket and must give it back exactly once: sg__breaker_record with
 * its outcome, or sg__breaker_release when the outcome says nothing about the backend (the
 * gather cut the leg short, the client left, the leg never reached the network).
 */
#ifndef SG_BREAKER_H
#define SG_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "scatter/error.h"
#include "scatter/method.h"

typedef enum sg__breaker_state {
	SG_BREAKER_CLOSED = 0,
	SG_BREAKER_OPEN = 1,
	SG_BREAKER_HALF_OPEN = 2,
} sg__breaker_state;

/* What sg__breaker_admit hands out: SG_BREAKER_REJECTED, or a ticket to give back. */
typedef uint32_t sg__breaker_ticket;
#define SG_BREAKER_REJECTED 0u

/* Time buckets of a time-based window (window_ms > 0): the window spans the last
 * SG_BREAKER_BUCKETS - 1 full buckets of window_ms / SG_BREAKER_BUCKETS each, plus the
 * current one. */
#define SG_BREAKER_BUCKETS 10
/* Largest count-based window (bytes per breaker). */
#define SG_BREAKER_MAX_WINDOW 4096

/* The default failure statuses (failure_statuses 0): UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL
 * (which is also how an undecodable answer ends), RESOURCE_EXHAUSTED. */
#define SG_BREAKER_DEFAULT_FAILURES                                                                \
	((1u << GRPC_STATUS_UNAVAILABLE) | (1u << GRPC_STATUS_DEADLINE_EXCEEDED) |                 \
	 (1u << GRPC_STATUS_INTERNAL) | (1u << GRPC_STATUS_RESOURCE_EXHAUSTED))

typedef struct sg__breaker {
	sg_breaker_desc cfg;     /* resolved (failure_statuses never 0); read-only after init */
	const char *target;      /* borrowed, for the log lines */
	_Atomic uint64_t state;  /* state:2 | generation:14 | since (ms):48 */
	_Atomic uint64_t probes; /* generation:16 | issued:16 | ok:16 */
	/* Count-based window. */
	_Atomic uint8_t *ring; /* cfg.window outcome bytes; owned */
	_Atomic uint64_t head;
	_Atomic uint32_t n_calls, n_failed, n_slow;
	/* Time-based window. */
	_Atomic uint64_t buckets[SG_BREAKER_BUCKETS];
	uint32_t bucket_ms;
	/* Transitions into OPEN so far (for tests and metrics). */
	_Atomic uint64_t opened;
} sg__breaker;

/* A snapshot of the window, for tests, logs and metrics. */
typedef struct sg__breaker_window {
	uint32_t calls, failed, slow;
} sg__breaker_window;

/* Initialises b (zeroed or fini'd storage) from d (copied; NULL or !d->enabled: a breaker that
 * admits everything and tracks nothing). target is borrowed for the breaker's life. Values out
 * of range are clamped to the nearest sane one (the generator and sg_server_set_group_resilience
 * refuse them before). SG_ENOMEM. */
sg_err sg__breaker_init(sg__breaker *b, const sg_breaker_desc *d, const char *target);

void sg__breaker_fini(sg__breaker *b);

/* Whether a leg may go to the backend now. Any thread. SG_BREAKER_REJECTED: fail the leg at
 * once (the breaker is open, or half-open with every probe permit taken). */
sg__breaker_ticket sg__breaker_admit(sg__breaker *b, int64_t now_ns);

/* An answer that said OK but did not decode: always a failure, whatever failure_statuses say. */
#define SG_BREAKER_UNDECODABLE ((grpc_status_code)-1)

/* The admitted leg ended with status (or SG_BREAKER_UNDECODABLE) after latency_us; slow_us is what
 * "slow" means for it (cfg.slow_ms, or the leg's own time budget when that is 0: the caller knows
 * it). Any thread. Counts as a failure when status is in cfg.failure_statuses. */
void sg__breaker_record(sg__breaker *b, sg__breaker_ticket t, grpc_status_code status,
                        int64_t latency_us, int64_t slow_us, int64_t now_ns);

/* The admitted leg's outcome does not count (see above): a probe permit is returned. */
void sg__breaker_release(sg__breaker *b, sg__breaker_ticket t);

/* The state now (OPEN stays OPEN past open_ms until a leg is admitted). Any thread. */
sg__breaker_state sg__breaker_state_get(const sg__breaker *b);

/* The window's counts (a racy but consistent-enough snapshot). */
void sg__breaker_window_get(const sg__breaker *b, int64_t now_ns, sg__breaker_window *out);

/* "closed", "open", "half-open". */
const char *sg__breaker_state_name(sg__breaker_state s);

/* Checks a breaker setting; SG_ECONFIG with why (what the generator also refuses). */
sg_err sg__breaker_check(const sg_breaker_desc *d, char *why, size_t len);

#endif
