/*
 * scenario.h: the named scenarios: which servers to start, how to load them.
 *
 * A scenario is a const table entry; adding one is adding an entry to scenario.c. Shard i gets
 * latency latency_ms[i % n_latency]. The aggregate call has `legs` legs spread over the shard
 * processes in turn (target i % n_shards), so more legs than processes repeat targets: the
 * runtime makes one channel per distinct target, so repeated legs share a connection.
 */
#ifndef BENCH_SCENARIO_H
#define BENCH_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

typedef enum scenario_agg {
	/* services/search's search-aggregator, as shipped (it takes at most 64 shards) */
	SCENARIO_AGG_SEARCH,
	/* scatter-bench-agg: the same generated service, any number of legs */
	SCENARIO_AGG_BENCH,
} scenario_agg;

typedef enum scenario_leaf {
	SCENARIO_LEAF_SEARCH,    /* services/search's search-shard */
	SCENARIO_LEAF_STRAGGLER, /* scatter-bench-leaf: a fixed latency, sometimes a longer one */
} scenario_leaf;

typedef struct scenario {
	const char *name;
	const char *what;  /* one line for --list and the README */
	uint32_t n_shards; /* shard processes */
	const uint32_t *latency_ms;
	size_t n_latency;
	uint32_t legs;        /* 0: one per shard */
	uint32_t concurrency; /* closed loop, unless rate > 0 */
	double rate;          /* open loop, calls per second */
	int floor;            /* also the floors: every shard directly at once, the slowest alone */
	scenario_agg agg;
	scenario_leaf leaf;
	uint32_t straggle_permille; /* STRAGGLER (or SEARCH, in whole %): how often a call is
	                               slow ... */
	uint32_t straggle_ms;       /* ... and how slow */
	/* Replicas per shard: that many processes per shard, one target "a|b|..." each (0: 1). */
	uint32_t replicas;
	/* Hedging off, then on: the same load on two scatter-bench-agg processes, the second
	 * started with hedge_flags; two JSON lines (<name>-off, <name>-on) and a comparison. */
	const char *const *hedge_flags;
} scenario;

/* The scenario called name, or NULL. */
const scenario *scenario_find(const char *name);

/* All of them, in the order run-all runs them. */
const scenario *scenario_all(size_t *n);

#endif
