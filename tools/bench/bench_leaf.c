/*
 * scatter-bench-leaf: a search.Shard leaf for the tail scenario. It answers after --latency-ms,
 * except that each call, with probability --straggle-permille / 1000, answers after
 * --straggle-ms instead: the straggler search-shard has no flag for. Built on the generated
 * skeleton (search__shard__serve) and sg_leaf_reply_after, so a slow answer blocks no thread.
 *
 *   scatter-bench-leaf --shard-id N [--listen HOST:PORT] [--latency-ms L]
 *                      [--straggle-permille P] [--straggle-ms S] [--threads T]
 *
 * Answers k (default 10) hits with made-up scores. Prints `listening on HOST:PORT` once serving;
 * runs until SIGTERM or SIGINT.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.scatter.h"

#define LEAF_MAX_K 100

typedef struct leaf_cfg {
	uint32_t id;
	uint32_t latency_ms;
	uint32_t straggle_permille;
	uint32_t straggle_ms;
	atomic_uint_fast64_t seq; /* calls so far: the random stream's position */
} leaf_cfg;

/* splitmix64: a well-mixed 64-bit value from a counter, without shared mutable state beyond the
 * counter itself (workers may run on several threads). */
static uint64_t leaf_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void leaf_search(sg_leaf_call *call, const Search__SearchRequest *req, void *arg)
{
	leaf_cfg *cfg = arg;
	uint32_t k = req->k == 0 ? 10 : req->k > LEAF_MAX_K ? LEAF_MAX_K : req->k;
	uint64_t r = leaf_mix(atomic_fetch_add(&cfg->seq, 1) ^ ((uint64_t)cfg->id << 40));
	uint32_t delay = r % 1000 < cfg->straggle_permille ? cfg->straggle_ms : cfg->latency_ms;
	Search__Hit *hits = sg_leaf_alloc(call, k * sizeof(*hits));
	Search__Hit **ptrs = sg_leaf_alloc(call, k * sizeof(*ptrs));
	char *ids = sg_leaf_alloc(call, (size_t)k * 32);
	Search__SearchResponse resp = SEARCH__SEARCH_RESPONSE__INIT;

	if (hits == NULL || ptrs == NULL || ids == NULL) {
		sg_leaf_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "leaf: out of memory");
		return;
	}
	for (uint32_t i = 0; i < k; i++) {
		search__hit__init(&hits[i]);
		hits[i].doc_id = ids + (size_t)i * 32;
		snprintf(hits[i].doc_id, 32, "s%u-d%u", cfg->id, i);
		hits[i].title = "";
		hits[i].score = 1.0 - (double)i / (k + 1) - (double)cfg->id * 1e-6;
		hits[i].shard = cfg->id;
		ptrs[i] = &hits[i];
	}
	resp.hits = ptrs;
	resp.n_hits = k;
	resp.shards_total = 1;
	resp.shards_ok = 1;
	sg_leaf_reply_after(call, &resp.base, delay);
}

int main(int argc, char **argv)
{
	static leaf_cfg cfg;
	static const Search__Shard_Handlers handlers = {.search = leaf_search};
	const char *listen = "127.0.0.1:0";
	int threads = 0, bad = argc % 2 == 0;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i + 1 < argc; i += 2) {
		uint32_t v = (uint32_t)strtoul(argv[i + 1], NULL, 10);

		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--shard-id") == 0)
			cfg.id = v;
		else if (strcmp(argv[i], "--latency-ms") == 0)
			cfg.latency_ms = v;
		else if (strcmp(argv[i], "--straggle-permille") == 0)
			cfg.straggle_permille = v;
		else if (strcmp(argv[i], "--straggle-ms") == 0)
			cfg.straggle_ms = v;
		else if (strcmp(argv[i], "--threads") == 0)
			threads = (int)v;
		else
			bad = 1;
	}
	if (bad || cfg.straggle_permille > 1000) {
		fprintf(stderr, "usage: scatter-bench-leaf --shard-id N [--listen HOST:PORT]"
		                " [--latency-ms L] [--straggle-permille P] [--straggle-ms S]"
		                " [--threads T]\n");
		return 2;
	}
	atomic_init(&cfg.seq, 0);

	sg_server_opts opts = {.listen = listen, .threads = threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (rv = search__shard__serve(s, &handlers, &cfg)) != SG_OK ||
	    (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "scatter-bench-leaf: %s: %s\n", listen, sg_strerror(rv));
		sg_server_free(s);
		return 1;
	}
	const char *colon = strrchr(listen, ':');
	printf("listening on %.*s:%d\n", colon ? (int)(colon - listen) : 0, listen,
	       sg_server_port(s));
	fflush(stdout);
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000);
	sg_server_free(s);
	return 0;
}
