/*
 * retry.h (internal): when a failed attempt is tried again, and how long to wait first.
 *
 * Backoff is exponential with full jitter (as gRPC's A6): before retry n (1 for the first
 * retry) the leg waits a uniformly random time in [0, min(initial * multiplier^(n-1), max)).
 * A retry is only scheduled when its wait ends before the leg's deadline: a leg never outlives
 * its deadline for a retry. Randomness and time are parameters, so that this is testable.
 */
#ifndef SG_RETRY_H
#define SG_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/status.h>

#include "scatter/method.h"

/* Whether status is one r retries (r->statuses: bit (1u << code); resolved: never 0). */
bool sg__retry_status(const sg_retry_desc *r, grpc_status_code status);

/* The cap of the wait before retry n >= 1: min(initial * multiplier^(n-1), max), in ns. */
int64_t sg__retry_backoff_cap_ns(const sg_retry_desc *r, uint32_t n);

/* The wait before retry n, from a uniform random 64-bit number: in [0, cap). Returns false
 * (no retry) when now_ns + the wait is not before deadline_ns. */
bool sg__retry_backoff(const sg_retry_desc *r, uint32_t n, uint64_t random, int64_t now_ns,
                       int64_t deadline_ns, int64_t *wait_ns);

/* A uniform random 64-bit number from this thread's generator (seeded once per thread). */
uint64_t sg__retry_random(void);

#endif
