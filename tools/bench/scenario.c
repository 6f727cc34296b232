/*
 * scenario.c: the scenarios of issue 5.
 */
#include "scenario.h"

#include <string.h>

static const uint32_t lat_0[] = {0};
static const uint32_t lat_50[] = {50};
static const uint32_t lat_100[] = {100};
static const uint32_t lat_mixed[] = {50, 100, 150, 200};
static const uint32_t lat_10[] = {10};

/* The adaptive hedge delay (each replica's live p95), never under 12 ms: a shard answers in
 * ~11 ms (its 10 ms timer fires ~1 ms late), so hedging earlier would hedge the fast calls. */
static const char *const hedge_adaptive[] = {"--hedge-ms", "0", "--hedge-min-ms", "12", NULL};

#define FANOUT(n)                                                                                  \
	{                                                                                          \
		.name = "fanout-" #n,                                                              \
		.what = #n " legs over 10 shards (latency 0), concurrency 8: CPU per leg",         \
		.n_shards = 10, .latency_ms = lat_0, .n_latency = 1, .legs = n, .concurrency = 8,  \
		.agg = SCENARIO_AGG_BENCH, .leaf = SCENARIO_LEAF_SEARCH,                           \
	}

static const scenario scenarios[] = {
        {
                .name = "table-4x100",
                .what = "4 shards x 100 ms, concurrency 8, against all 4 called directly at once",
                .n_shards = 4,
                .latency_ms = lat_100,
                .n_latency = 1,
                .concurrency = 8,
                .floor = 1,
        },
        {
                .name = "table-10x50",
                .what = "10 shards x 50 ms, concurrency 8, against all 10 called directly at once",
                .n_shards = 10,
                .latency_ms = lat_50,
                .n_latency = 1,
                .concurrency = 8,
                .floor = 1,
        },
        {
                .name = "table-mixed",
                .what = "shards at 50/100/150/200 ms, concurrency 8, against all 4 directly at "
                        "once",
                .n_shards = 4,
                .latency_ms = lat_mixed,
                .n_latency = 4,
                .concurrency = 8,
                .floor = 1,
        },
        {
                .name = "cpu10",
                .what = "10 shards answering at once, concurrency 64: the aggregator's own cost",
                .n_shards = 10,
                .latency_ms = lat_0,
                .n_latency = 1,
                .concurrency = 64,
        },
        FANOUT(10),
        FANOUT(100),
        FANOUT(1000),
        {
                .name = "tail10",
                .what = "10 shards at 10 ms, 2% of calls 200 ms; open loop 200/s",
                .n_shards = 10,
                .latency_ms = lat_10,
                .n_latency = 1,
                .rate = 200,
                .leaf = SCENARIO_LEAF_STRAGGLER,
                .straggle_permille = 20,
                .straggle_ms = 200,
        },
        {
                .name = "hedge10",
                .what = "tail10 with 2 replicas per shard, hedging off then on (adaptive p95)",
                .n_shards = 10,
                .latency_ms = lat_10,
                .n_latency = 1,
                .rate = 200,
                .agg = SCENARIO_AGG_BENCH,
                .leaf = SCENARIO_LEAF_SEARCH,
                .straggle_permille = 20,
                .straggle_ms = 200,
                .replicas = 2,
                .hedge_flags = hedge_adaptive,
        },
};

const scenario *scenario_find(const char *name)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	}
	return NULL;
}

const scenario *scenario_all(size_t *n)
{
	*n = sizeof(scenarios) / sizeof(scenarios[0]);
	return scenarios;
}
