/*
 * search_cluster.h: search-shard and search-aggregator processes for end-to-end tests, with
 * whatever extra flags a test needs (TLS, metadata, limits).
 *
 * Shard i runs `search-shard --shard-id i EXTRA...`; the aggregator runs `search-aggregator
 * --shards ADDR,ADDR... EXTRA...` over every shard started so far. Every wait is bounded (see
 * proc.h) and every process dies with the test.
 */
#ifndef SCATTER_TEST_SEARCH_CLUSTER_H
#define SCATTER_TEST_SEARCH_CLUSTER_H

#include <stddef.h>

#include "proc.h"

#define SC_MAX_SHARDS 4
#define SC_MAX_ARGS   24
#define SC_READY_MS   15000 /* process start under ASan on a busy 2-core machine */
#define SC_STOP_MS    10000

typedef struct search_cluster {
	const char *shard_bin;
	const char *aggregator_bin;
	proc shards[SC_MAX_SHARDS];
	size_t n_shards;
	proc aggregator;
} search_cluster;

/* Starts the next shard with extra (NULL-terminated, may be NULL; borrowed). 0, or -1 with
 * the reason on stderr. */
int sc_start_shard(search_cluster *c, const char *const *extra);

/* Starts the aggregator over every shard started so far, with extra (as above). */
int sc_start_aggregator(search_cluster *c, const char *const *extra);

/* Writes an aggregator config file at path: `top` (YAML lines, may be NULL), then group
 * "shards" with every shard started so far as its targets and `group` (YAML lines indented by
 * four spaces, e.g. "    tls: {ca: /x/ca.pem}\n"; may be NULL). 0, or -1 with the reason on
 * stderr. */
int sc_write_config(const search_cluster *c, const char *path, const char *top, const char *group);

/* Stops the aggregator (if running) and returns 0 if it exited 0 on SIGTERM, else -1. */
int sc_stop_aggregator(search_cluster *c);

/* Stops every process still running; 0 if each exited 0 on SIGTERM, else -1. Idempotent. */
int sc_stop(search_cluster *c);

#endif
