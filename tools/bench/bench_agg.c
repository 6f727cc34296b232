/*
 * scatter-bench-agg: search.Search/Query served exactly as search-aggregator serves it (the
 * generated search__search__register), but with any number of legs: search-aggregator takes at
 * most 64 shards, and the fan-out scenarios need up to 1000 legs over a few shard processes.
 * It can also hedge and retry Query's legs, for the hedge10 scenario and the hedging e2e test.
 *
 *   scatter-bench-agg --shards TARGET[,TARGET...] [--legs N] [--listen HOST:PORT]
 *                     [--threads T] [--hedge-ms MS [--hedge-pct P] [--hedge-min-ms MS]]
 *                     [--retry N] [--max-tokens N] [--token-ratio R] [--deadline-ms MS]
 *                     [--margin-ms MS]
 *
 * Leg i calls shard i % n_shards (N defaults to the number of shards). A TARGET may list the
 * shard's replicas separated by '|' (see sg_server_set_group). With any of the flags after
 * --threads, only Query is served, from a copy of its generated table changed as asked:
 * --hedge-ms MS hedges each leg after MS ms (0: adaptive, the replica's live pP, at least
 * --hedge-min-ms; the flags must come after --hedge-ms), --retry N
 * retries UNAVAILABLE legs (N attempts in all), --max-tokens/--token-ratio size the A6 budget,
 * --deadline-ms/--margin-ms replace search.proto's deadline and margin.
 * Prints `listening on HOST:PORT` once serving; runs until SIGTERM or SIGINT.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.scatter.h"

#define AGG_MAX_LEGS 100000
/* What scatter-bench accepts as metadata (LOAD_MAX_METADATA in load.c). */
#define BENCH_AGG_TRAILER_LIMIT (4 * 1024 * 1024)

/* Query's table as generated, then changed by the flags; static: it must outlive the server. */
static sg_method_desc query;

/* Applies one resilience flag to query; false if f is not one. */
static bool agg_tail_flag(const char *f, const char *v)
{
	sg_resilience_desc *r = &query.resilience;

	if (strcmp(f, "--hedge-ms") == 0) {
		r->idempotent = r->has_hedge = r->hedge.enabled = true;
		r->hedge.delay_ms = (uint32_t)strtoul(v, NULL, 10);
		r->hedge.percentile = 95;
		r->hedge.min_delay_ms = 1;
	} else if (strcmp(f, "--hedge-pct") == 0) {
		r->hedge.percentile = (uint32_t)strtoul(v, NULL, 10);
	} else if (strcmp(f, "--hedge-min-ms") == 0) {
		r->hedge.min_delay_ms = (uint32_t)strtoul(v, NULL, 10);
	} else if (strcmp(f, "--retry") == 0) {
		r->idempotent = r->has_retry = true;
		r->retry.max_attempts = (uint32_t)strtoul(v, NULL, 10);
	} else if (strcmp(f, "--max-tokens") == 0) {
		r->budget.max_tokens = (uint32_t)strtoul(v, NULL, 10);
	} else if (strcmp(f, "--token-ratio") == 0) {
		r->budget.token_ratio = strtod(v, NULL);
	} else if (strcmp(f, "--deadline-ms") == 0) {
		query.deadline_ms = (uint32_t)strtoul(v, NULL, 10);
	} else if (strcmp(f, "--margin-ms") == 0) {
		query.margin_ms = (uint32_t)strtoul(v, NULL, 10);
	} else {
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	char *shards = NULL, *t, *save = NULL;
	const char **uniq = NULL, **targets = NULL;
	size_t n_uniq = 0, legs = 0;
	int threads = 0, status = 1;
	bool custom = false;
	sg_server *s = NULL;
	sg_err rv;

	query = search__search__query__fanout;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--shards") == 0)
			shards = argv[i + 1];
		else if (strcmp(argv[i], "--legs") == 0)
			legs = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
		else if (agg_tail_flag(argv[i], argv[i + 1]))
			custom = true;
	}
	if (shards == NULL || argc % 2 == 0 || legs > AGG_MAX_LEGS) {
		fprintf(stderr, "usage: scatter-bench-agg --shards TARGET[,TARGET...]"
		                " [--legs N] [--listen HOST:PORT] [--threads T] [--hedge-ms MS"
		                " [--hedge-pct P] [--hedge-min-ms MS]]"
		                " [--retry N] [--max-tokens N] [--token-ratio R] [--deadline-ms MS]"
		                " [--margin-ms MS]\n");
		return 2;
	}
	uniq = calloc(strlen(shards) / 2 + 1, sizeof(*uniq));
	for (t = strtok_r(shards, ",", &save); t != NULL && uniq != NULL;
	     t = strtok_r(NULL, ",", &save))
		uniq[n_uniq++] = t;
	if (legs == 0)
		legs = n_uniq;
	if (n_uniq == 0 || (targets = calloc(legs, sizeof(*targets))) == NULL)
		goto out;
	for (size_t i = 0; i < legs; i++)
		targets[i] = uniq[i % n_uniq];

	sg_server_opts opts = {.listen = listen, .threads = threads};
	/* Every leg's scatter-leg entry, past the 6 KiB default: scatter-bench reads them all
	 * (the slowest leg) and accepts 4 MiB of metadata (load.c). */
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (rv = sg_server_set_trailer_limit(s, BENCH_AGG_TRAILER_LIMIT)) != SG_OK ||
	    (rv = sg_server_set_group(s, "shards", targets, legs)) != SG_OK ||
	    (rv = custom ? sg_server_add_fanout(s, &query) : search__search__register(s)) !=
	            SG_OK ||
	    (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "scatter-bench-agg: %s\n", sg_strerror(rv));
		goto out;
	}
	const char *colon = strrchr(listen, ':');
	printf("listening on %.*s:%d\n", colon ? (int)(colon - listen) : 0, listen,
	       sg_server_port(s));
	fflush(stdout);
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000);
	status = 0;
out:
	sg_server_free(s);
	free(targets);
	free(uniq);
	return status;
}
