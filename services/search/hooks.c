/*
 * hooks.c: the C functions search.proto's options name, which the generated header declares
 * ("implement this") and the generated tables call through their trampolines. Both run on the
 * aggregator's worker thread, inside a call: they must not block.
 *
 *   Search.QueryJudged   quality { predicate: true }  search__search__query_judged_quality
 *   Search.QueryDiverse  custom {}                    search__search__query_diverse_merge
 */
#include <stdbool.h>
#include <stddef.h>

#include "search.scatter.h"

/* QueryJudged stops once this many shards answered OK ... */
#define JUDGED_MIN_SHARDS 2
/* ... and one of them holds a hit scoring at least this much. */
#define JUDGED_MIN_BEST 0.95

/* QueryDiverse: k when the request leaves it 0, and the cap on a larger k (as Query's top_k). */
#define DIVERSE_DEFAULT_K 10

/* Good enough for QueryJudged: at least JUDGED_MIN_SHARDS shards answered and the best hit so
 * far scores JUDGED_MIN_BEST or more. legs are the legs ended so far (borrowed), failed ones
 * with a NULL response. */
bool search__search__query_judged_quality(const Search__SearchRequest *request,
                                          const sg_leg_result *legs, size_t n_legs)
{
	size_t ok = 0;
	double best = 0;

	(void)request;
	for (size_t i = 0; i < n_legs; i++) {
		const Search__SearchResponse *r = (const Search__SearchResponse *)legs[i].response;

		if (legs[i].status != GRPC_STATUS_OK || r == NULL)
			continue;
		ok++;
		for (size_t j = 0; j < r->n_hits; j++) {
			if (r->hits[j]->score > best)
				best = r->hits[j]->score;
		}
	}
	return ok >= JUDGED_MIN_SHARDS && best >= JUDGED_MIN_BEST;
}

/* QueryDiverse's merge: every shard's best hit in leg order, then every shard's second best,
 * and so on, until k hits (the request's k, DIVERSE_DEFAULT_K when 0, capped by it), so each
 * shard that answered contributes even when another holds all the top scores. The hits are
 * the legs' own (they live until the answer is sent); only the array comes from the call's
 * memory. legs: every leg in leg order (borrowed); out: initialised by the runtime. */
sg_err search__search__query_diverse_merge(sg_merge_ctx *ctx, const Search__SearchRequest *request,
                                           const sg_leg_result *legs, size_t n_legs,
                                           Search__SearchResponse *out)
{
	size_t k =
	        request->k != 0 && request->k < DIVERSE_DEFAULT_K ? request->k : DIVERSE_DEFAULT_K;
	size_t available = 0;

	for (size_t i = 0; i < n_legs; i++) {
		const Search__SearchResponse *r = (const Search__SearchResponse *)legs[i].response;

		if (legs[i].status == GRPC_STATUS_OK && r != NULL)
			available += r->n_hits;
	}
	if (k > available)
		k = available;
	out->hits = sg_merge_alloc(ctx, k * sizeof(*out->hits) + 1);
	if (out->hits == NULL)
		return SG_ENOMEM;
	/* Terminates: every round takes at least one hit while fewer than `available` are
	 * taken. */
	for (size_t round = 0; out->n_hits < k; round++) {
		for (size_t i = 0; i < n_legs && out->n_hits < k; i++) {
			const Search__SearchResponse *r =
			        (const Search__SearchResponse *)legs[i].response;

			if (legs[i].status == GRPC_STATUS_OK && r != NULL && round < r->n_hits)
				out->hits[out->n_hits++] = r->hits[round];
		}
	}
	return SG_OK;
}
