/*
 * guard.h (internal): what stands between a leg and its backend target: the target's circuit
 * breaker and its cap on legs in flight. One per target (in sg__backend), shared by every
 * worker, lock-free.
 *
 * A leg asks sg__guard_admit before it creates its call. Refused, it fails at once without
 * touching the network, with the status and message the trailers and logs show:
 *
 *   UNAVAILABLE         "circuit open"      the breaker is open (or half-open, probes taken)
 *   RESOURCE_EXHAUSTED  "over max_in_flight" max_in_flight legs are already in flight
 *
 * Admitted, it holds a pass and gives it back exactly once when it ends (sg__guard_done).
 */
#ifndef SG_GUARD_H
#define SG_GUARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <grpc/status.h>

#include "breaker.h"
#include "scatter/method.h"

#define SG_GUARD_CIRCUIT_OPEN "circuit open"
#define SG_GUARD_OVER_CAP     "over max_in_flight"

typedef struct sg__guard {
	sg__breaker breaker;
	uint32_t max_in_flight; /* 0: no cap; read-only after init */
	_Atomic uint32_t in_flight;
	/* Legs refused so far, by reason (for metrics and tests). */
	_Atomic uint64_t refused_open;
	_Atomic uint64_t refused_cap;
} sg__guard;

/* An admitted leg's claim: give it back with sg__guard_done. Zero: nothing held. */
typedef struct sg__guard_pass {
	sg__breaker_ticket ticket;
	bool counted; /* holds one of max_in_flight */
} sg__guard_pass;

/* Initialises g (zeroed storage) from r (copied; NULL: no breaker, no cap) for target
 * (borrowed for g's life). SG_ENOMEM. */
sg_err sg__guard_init(sg__guard *g, const sg_resilience_desc *r, const char *target);

void sg__guard_fini(sg__guard *g);

/* Checks resilience settings as the generator does (breaker ranges, hedges and retries only
 * for idempotent methods); SG_ECONFIG with why. */
sg_err sg__guard_check(const sg_resilience_desc *r, char *why, size_t len);

/* Whether a leg may start now. GRPC_STATUS_OK with *pass to give back, or the status to fail
 * the leg with and *message (static) saying why; *pass is then empty. Any thread. */
grpc_status_code sg__guard_admit(sg__guard *g, int64_t now_ns, sg__guard_pass *pass,
                                 const char **message);

/* The leg ended. counts: its outcome says something about the backend (it ran its course,
 * rather than being cut short by the gather or the client, or never reaching the network);
 * then status, latency_us and slow_us (what "slow" means for this leg) go to the breaker.
 * Empties *pass; a no-op on an empty one. Any thread. */
void sg__guard_done(sg__guard *g, sg__guard_pass *pass, bool counts, grpc_status_code status,
                    int64_t latency_us, int64_t slow_us, int64_t now_ns);

#endif
