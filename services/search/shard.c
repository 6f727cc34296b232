/*
 * search-shard: one shard of the example sharded search, a leaf service in C built on the
 * generated server skeleton (search__shard__serve).
 *
 * Each shard "holds" --hits documents, s<shard>-d<i>. A document's score for a query is a hash
 * of (query, doc id) mapped to [0, 1): deterministic, so tests can recompute answers, and
 * uncorrelated across shards, so a global top k draws from several shards. The simulated
 * latency is a timer on the worker (sg_leaf_reply_after): a slow shard blocks no thread.
 *
 * Besides its hits, an answer carries total_matches (how many of the shard's documents score
 * at least SHARD_MATCH_SCORE for the query) and best_score, for merges that reduce scalars.
 *
 * Faults and shapes for the gather strategies' tests and benchmarks:
 *   --overlap N          documents 0..N-1 are common-d<i> on every shard (scored per shard), so
 *                        a union across shards has duplicates to remove
 *   --straggler-pct P    each call is, with probability P %, a straggler answering after
 *   --straggler-ms S     S ms instead of --latency-ms: the tail of issue 4/5. The draw is a
 *                        PRNG seeded by the shard id, so a run repeats exactly
 *   --straggler-seed N   seed the draw with N instead: replicas of one shard (same
 *                        --shard-id) then straggle independently, as real replicas do
 *   --fail               every call fails at once with UNAVAILABLE
 *   --garbage            every call answers OK with bytes that are not a SearchResponse
 *                        (sg_leaf_reply_bytes): the aggregator must count a failure, not crash
 *   --hang               every call is accepted and never answered (until the client cancels
 *                        or its deadline passes, which the shard counts as calls_cancelled)
 *   --echo-metadata      every hit's title is the metadata the call came with, "key=value;..."
 *                        (text values; "-bin" keys by name only): what an aggregator forwards
 *
 * Security: --tls-cert F --tls-key F serve TLS; --tls-ca F verifies client certificates, and
 * --tls-require-client-cert requires one (mutual TLS).
 *
 * --listen 127.0.0.1:PORT with a fixed port restarts a shard where its aggregator expects it.
 *
 *   search-shard --shard-id N [--listen 127.0.0.1:0] [--latency-ms L] [--hits H] [--threads T]
 *                [--overlap N] [--straggler-pct P --straggler-ms S [--straggler-seed N]]
 *                [--fail] [--garbage] [--hang] [--echo-metadata]
 *                [--tls-cert F --tls-key F [--tls-ca F [--tls-require-client-cert]]]
 *
 * Prints `listening on HOST:PORT` once serving, runs until SIGTERM or SIGINT, exits 0.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.scatter.h"

#include "flags.h"

#define SHARD_DEFAULT_K 10
#define SHARD_MAX_HITS  100000
/* A document "matches" a query when it scores at least this much (total_matches). */
#define SHARD_MATCH_SCORE 0.5

typedef struct shard_cfg {
	uint32_t id;
	uint32_t latency_ms;
	uint32_t hits;
	uint32_t overlap;       /* documents 0..overlap-1 are common to every shard */
	uint32_t straggler_pct; /* 0..100 */
	uint32_t straggler_ms;
	uint32_t straggler_seed; /* the draw's seed: --straggler-seed, else the shard id */
	bool has_seed;
	bool fail;
	bool garbage;
	bool hang;
	bool echo_metadata;
	/* Calls so far: the straggler draw of call n is a hash of (shard id, n). Any worker
	 * thread takes the next n without a lock. */
	atomic_uint_fast64_t calls;
} shard_cfg;

/* 64-bit FNV-1a over len bytes of p, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The score of doc_id for query, in [0, 1), exactly representable (53 bits): the same value
 * prints the same in every language. A final avalanche step spreads FNV's low-entropy tail. */
static double shard_score(const char *query, const char *doc_id)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv1a(h, query, strlen(query));
	h = fnv1a(h, "", 1);
	h = fnv1a(h, doc_id, strlen(doc_id));
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* splitmix64's finaliser: a well-mixed 64-bit value from any counter. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* This call's simulated latency: --straggler-ms for a P % draw, else --latency-ms. The draws
 * form a fixed sequence per shard id, whichever thread serves the call. */
static uint32_t shard_latency(shard_cfg *cfg)
{
	uint64_t n;

	if (cfg->straggler_pct == 0)
		return cfg->latency_ms;
	n = atomic_fetch_add_explicit(&cfg->calls, 1, memory_order_relaxed);
	if (mix64(((uint64_t)cfg->straggler_seed << 32) ^ mix64(n)) % 100 < cfg->straggler_pct)
		return cfg->straggler_ms;
	return cfg->latency_ms;
}

/* "key=value;key=value" of the call's metadata, in the call's arena; NULL when out of memory. */
static char *shard_echo_metadata(sg_leaf_call *call)
{
	const sg_metadata_entry *md;
	size_t n, len = 1, used = 0;
	char *s;

	if (sg_leaf_metadata(call, &md, &n) != SG_OK)
		return NULL;
	for (size_t i = 0; i < n; i++)
		len += strlen(md[i].key) + strlen(md[i].value) + 2;
	if ((s = sg_leaf_alloc(call, len)) == NULL)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(md[i].key);
		bool bin = klen > 4 && strcmp(md[i].key + klen - 4, "-bin") == 0;

		used += (size_t)snprintf(s + used, len - used, "%s%s%s%s", i > 0 ? ";" : "",
		                         md[i].key, bin ? "" : "=", bin ? "" : md[i].value);
	}
	return s;
}

/* qsort order: score descending, then doc id ascending, so equal scores still sort the same. */
static int hit_cmp(const void *a, const void *b)
{
	const Search__Hit *x = *(Search__Hit *const *)a;
	const Search__Hit *y = *(Search__Hit *const *)b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->doc_id, y->doc_id);
}

/* Shard.Search: this shard's min(k, hits) best documents for the query, best first, answered
 * after the configured latency. Hit memory comes from the call's arena; the reply is encoded
 * when sg_leaf_reply_after is called. */
static void shard_search(sg_leaf_call *call, const Search__SearchRequest *req, void *arg)
{
	shard_cfg *cfg = arg;
	uint32_t n = cfg->hits;
	uint32_t k = req->k != 0 ? req->k : SHARD_DEFAULT_K;
	Search__Hit *hits = sg_leaf_alloc(call, n * sizeof(*hits) + 1);
	Search__Hit **order = sg_leaf_alloc(call, n * sizeof(*order) + 1);
	char *ids = sg_leaf_alloc(call, (size_t)n * 32 + 1);
	char *titles = sg_leaf_alloc(call, (size_t)n * 64 + 1);
	Search__SearchResponse resp = SEARCH__SEARCH_RESPONSE__INIT;
	char *echo;

	if (cfg->fail) {
		sg_leaf_fail(call, GRPC_STATUS_UNAVAILABLE, "shard: failing on purpose (--fail)");
		return;
	}
	if (cfg->garbage) {
		/* Field 1, length-delimited, with a length far past the end: no decoder takes it.
		 */
		static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0xde, 0xad};

		sg_leaf_reply_bytes(call, junk, sizeof(junk), shard_latency(cfg));
		return;
	}
	if (cfg->hang) {
		/* Never answered: the runtime releases the call when the client cancels it or its
		 * deadline passes (leaf.c), and counts it as cancelled. */
		return;
	}
	echo = cfg->echo_metadata ? shard_echo_metadata(call) : NULL;
	if (hits == NULL || order == NULL || ids == NULL || titles == NULL ||
	    (cfg->echo_metadata && echo == NULL)) {
		sg_leaf_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "shard: out of memory");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		Search__Hit *h = &hits[i];

		search__hit__init(h);
		h->doc_id = ids + (size_t)i * 32;
		h->title = titles + (size_t)i * 64;
		if (i < cfg->overlap) {
			char salted[48];

			/* Same id on every shard, a different score on each: which copy a union
			 * keeps is then visible. */
			snprintf(h->doc_id, 32, "common-d%" PRIu32, i);
			snprintf(salted, sizeof(salted), "%s@s%" PRIu32, h->doc_id, cfg->id);
			snprintf(h->title, 64, "Common document %" PRIu32 " (shard %" PRIu32 ")", i,
			         cfg->id);
			h->score = shard_score(req->query, salted);
		} else {
			snprintf(h->doc_id, 32, "s%" PRIu32 "-d%" PRIu32, cfg->id, i);
			snprintf(h->title, 64, "Document %" PRIu32 " of shard %" PRIu32, i,
			         cfg->id);
			h->score = shard_score(req->query, h->doc_id);
		}
		h->shard = cfg->id;
		if (echo != NULL)
			h->title = echo;
		resp.total_matches += h->score >= SHARD_MATCH_SCORE;
		order[i] = h;
	}
	qsort(order, n, sizeof(*order), hit_cmp);
	resp.hits = order;
	resp.n_hits = k < n ? k : n;
	resp.best_score = n > 0 ? order[0]->score : 0;
	resp.shards_total = 1;
	resp.shards_ok = 1;
	sg_leaf_reply_after(call, &resp.base, shard_latency(cfg));
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: search-shard --shard-id N [--listen HOST:PORT] [--latency-ms L]"
	        " [--hits H] [--threads T] [--overlap N] [--straggler-pct P --straggler-ms S"
	        " [--straggler-seed N]] [--fail] [--garbage] [--hang] [--echo-metadata]%s\n",
	        flag_tls_usage("--"));
}

int main(int argc, char **argv)
{
	shard_cfg cfg = {.id = 0, .latency_ms = 0, .hits = 20};
	const char *listen = "127.0.0.1:0";
	flag_tls tls = {0};
	uint32_t threads = 0;
	static const Search__Shard_Handlers handlers = {.search = shard_search};
	sg_server_opts opts;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if ((v = flag_value(argc, argv, &i, "--shard-id")) != NULL) {
			if (flag_u32(v, 0, UINT32_MAX, &cfg.id) != 0)
				return flag_bad("--shard-id", v);
		} else if ((v = flag_value(argc, argv, &i, "--listen")) != NULL) {
			listen = v;
		} else if ((v = flag_value(argc, argv, &i, "--latency-ms")) != NULL) {
			if (flag_u32(v, 0, 3600 * 1000, &cfg.latency_ms) != 0)
				return flag_bad("--latency-ms", v);
		} else if ((v = flag_value(argc, argv, &i, "--hits")) != NULL) {
			if (flag_u32(v, 0, SHARD_MAX_HITS, &cfg.hits) != 0)
				return flag_bad("--hits", v);
		} else if ((v = flag_value(argc, argv, &i, "--overlap")) != NULL) {
			if (flag_u32(v, 0, SHARD_MAX_HITS, &cfg.overlap) != 0)
				return flag_bad("--overlap", v);
		} else if ((v = flag_value(argc, argv, &i, "--straggler-pct")) != NULL) {
			if (flag_u32(v, 0, 100, &cfg.straggler_pct) != 0)
				return flag_bad("--straggler-pct", v);
		} else if ((v = flag_value(argc, argv, &i, "--straggler-ms")) != NULL) {
			if (flag_u32(v, 0, 3600 * 1000, &cfg.straggler_ms) != 0)
				return flag_bad("--straggler-ms", v);
		} else if ((v = flag_value(argc, argv, &i, "--straggler-seed")) != NULL) {
			if (flag_u32(v, 0, UINT32_MAX, &cfg.straggler_seed) != 0)
				return flag_bad("--straggler-seed", v);
			cfg.has_seed = true;
		} else if (strcmp(argv[i], "--fail") == 0) {
			cfg.fail = true;
		} else if (strcmp(argv[i], "--garbage") == 0) {
			cfg.garbage = true;
		} else if (strcmp(argv[i], "--hang") == 0) {
			cfg.hang = true;
		} else if (strcmp(argv[i], "--echo-metadata") == 0) {
			cfg.echo_metadata = true;
		} else if (flag_tls_parse(argc, argv, &i, "--", &tls)) {
			/* recorded in tls */
		} else if ((v = flag_value(argc, argv, &i, "--threads")) != NULL) {
			if (flag_u32(v, 0, 1024, &threads) != 0)
				return flag_bad("--threads", v);
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "search-shard: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}

	if (!cfg.has_seed)
		cfg.straggler_seed = cfg.id;
	if (cfg.overlap > cfg.hits) {
		fprintf(stderr, "search-shard: --overlap %" PRIu32 " exceeds --hits %" PRIu32 "\n",
		        cfg.overlap, cfg.hits);
		return 2;
	}
	opts = (sg_server_opts){.listen = listen, .threads = (int)threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (tls.set && (rv = sg_server_set_listen_tls(s, &tls.opts)) != SG_OK) ||
	    (rv = search__shard__serve(s, &handlers, &cfg)) != SG_OK ||
	    (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "search-shard: %s: %s\n", listen, sg_strerror(rv));
		sg_server_free(s);
		return 1;
	}
	flag_print_listening(listen, sg_server_port(s));
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000);
	sg_server_free(s);
	return 0;
}
