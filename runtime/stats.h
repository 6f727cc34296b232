/*
 * stats.h (internal): a server's counters. Owned by the server, written by its workers with
 * relaxed atomics (they are counters, not synchronisation), read by sg_server_stats_get.
 */
#ifndef SG_STATS_H
#define SG_STATS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct sg__stats {
	atomic_uint_fast64_t calls_started;
	atomic_uint_fast64_t calls_cancelled;
	atomic_uint_fast64_t legs_started;
	atomic_uint_fast64_t legs_failed;
	atomic_uint_fast64_t legs_cancelled;
	atomic_uint_fast64_t hedges_sent;
	atomic_uint_fast64_t hedges_won;
	atomic_uint_fast64_t retries;
	atomic_uint_fast64_t calls_rejected; /* over max_calls */
	atomic_uint_fast64_t legs_refused;   /* by a target's guard: breaker open, over its cap */
} sg__stats;

static inline void sg__stats_inc(atomic_uint_fast64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

#endif
