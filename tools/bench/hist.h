/*
 * hist.h: a log-bucket latency histogram, in the manner of HdrHistogram but small.
 *
 * Values are nanoseconds. Below 2^HIST_SUB_BITS a bucket holds one value; above, each power of
 * two is split into 2^(HIST_SUB_BITS-1) equal buckets, so a bucket's width is at most 1/2048 of
 * its values at 12 sub-bits: 0.1 ms at 200 ms. That precision is needed, not luxury: the table
 * scenarios subtract two ~100 ms percentiles to get an overhead whose target is 0.5 ms. The
 * exact min and max are kept beside the buckets. Fixed size (about 256 KiB: allocate it, do not
 * put it on a stack), no allocation: recording is an index computation and an increment.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 12
/* Values up to 2^HIST_MAX_BITS ns (about 18 minutes); larger ones land in the last bucket. */
#define HIST_MAX_BITS 40
#define HIST_BUCKETS  ((HIST_MAX_BITS - HIST_SUB_BITS + 2) * (1 << (HIST_SUB_BITS - 1)))

typedef struct hist {
	uint64_t count;
	uint64_t max; /* exact, ns */
	uint64_t min; /* exact, ns; UINT64_MAX while empty */
	uint64_t buckets[HIST_BUCKETS];
} hist;

/* Empties h (caller-allocated). */
void hist_init(hist *h);

/* Records one value of ns nanoseconds. */
void hist_record(hist *h, uint64_t ns);

/* The value at quantile q in [0, 1]: the upper bound of the bucket holding the ceil(q * count)th
 * smallest value, clamped to the exact max (so q = 1 is the max). 0 for an empty histogram. */
uint64_t hist_quantile(const hist *h, double q);

/* The bucket a value lands in, and the largest value of a bucket (for tests and the above). */
unsigned hist_index(uint64_t ns);
uint64_t hist_bucket_high(unsigned index);

#endif
