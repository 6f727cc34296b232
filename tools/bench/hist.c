/*
 * hist.c: the log-bucket histogram.
 */
#include "hist.h"

#include <string.h>

#define HIST_SUB  (1u << HIST_SUB_BITS)
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))

void hist_init(hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned hist_index(uint64_t ns)
{
	unsigned msb, shift, idx;

	if (ns < HIST_SUB)
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	/* Keep the top HIST_SUB_BITS bits: the mantissa is in [HIST_HALF, HIST_SUB). */
	shift = msb - HIST_SUB_BITS + 1;
	idx = shift * HIST_HALF + (unsigned)(ns >> shift);
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

uint64_t hist_bucket_high(unsigned index)
{
	unsigned shift;
	uint64_t mant;

	if (index < HIST_SUB)
		return index;
	/* The inverse of hist_index: index = shift * HALF + mant, mant in [HALF, SUB). */
	shift = index / HIST_HALF - 1;
	mant = index % HIST_HALF + HIST_HALF;
	return ((mant + 1) << shift) - 1;
}

void hist_record(hist *h, uint64_t ns)
{
	h->buckets[hist_index(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
	if (ns < h->min)
		h->min = ns;
}

uint64_t hist_quantile(const hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	/* The ceil(q * count)th value, 1-based. */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t high = hist_bucket_high(i);

			return high < h->max ? high : h->max;
		}
	}
	return h->max;
}
