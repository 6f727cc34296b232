/*
 * budget.h (internal): the token budget that caps hedges and retries, with the semantics of
 * gRPC's retryThrottling (gRFC A6).
 *
 * Tokens start at max_tokens. Each failed attempt takes 1 token (never below 0), each successful
 * one gives token_ratio back (never above max_tokens); an extra attempt (hedge or retry) may be
 * sent only while tokens > max_tokens / 2. As in A6, tokens are kept in thousandths and
 * token_ratio is truncated to three decimals (0.1234 counts as 0.123), so the arithmetic is
 * exact integers. One budget per backend (a replica's channel), shared by every worker: one
 * atomic, no lock. Concurrent updates may overshoot the threshold by the attempts in flight, as
 * A6 allows.
 */
#ifndef SG_BUDGET_H
#define SG_BUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A6's limits: max_tokens in (0, 1000]; a ratio must give at least one thousandth. */
#define SG__BUDGET_MAX_TOKENS     1000
#define SG__BUDGET_DEFAULT_TOKENS 100
#define SG__BUDGET_DEFAULT_RATIO  0.1

typedef struct sg__budget {
	atomic_int_fast32_t milli; /* tokens, in thousandths */
	int32_t max_milli;         /* 0 until configured */
	int32_t ratio_milli;
} sg__budget;

/* Sets the budget full. max_tokens 0 means SG__BUDGET_DEFAULT_TOKENS and a token_ratio <= 0
 * (or one under a thousandth) SG__BUDGET_DEFAULT_RATIO; max_tokens over 1000 is clamped. Not
 * thread-safe: before the workers run. */
void sg__budget_init(sg__budget *b, uint32_t max_tokens, double token_ratio);

/* Whether init ran (a backend's budget is configured by the first method routed to it). */
bool sg__budget_configured(const sg__budget *b);

/* An attempt failed / succeeded. Any thread. */
void sg__budget_failure(sg__budget *b);
void sg__budget_success(sg__budget *b);

/* Whether an extra attempt may be sent now: tokens > max_tokens / 2. Any thread. */
bool sg__budget_allows(const sg__budget *b);

/* Tokens now, in thousandths (tests, metrics). */
int32_t sg__budget_milli(const sg__budget *b);

/* token_ratio in thousandths as A6 reads it: truncated to three decimals. */
int32_t sg__budget_ratio_milli(double token_ratio);

#endif
