/*
 * budget.c: gRFC A6 retry throttling, in thousandths of a token.
 */
#include "budget.h"

#include <math.h>

int32_t sg__budget_ratio_milli(double token_ratio)
{
	/* The epsilon keeps 0.29 (289.99999... in binary) at 290, as its decimal reads. */
	double m = floor(token_ratio * 1000.0 + 1e-6);

	if (!(m >= 1.0))
		return 0;
	return m > 1e6 ? 1000000 : (int32_t)m;
}

void sg__budget_init(sg__budget *b, uint32_t max_tokens, double token_ratio)
{
	int32_t ratio = sg__budget_ratio_milli(token_ratio);

	if (max_tokens == 0)
		max_tokens = SG__BUDGET_DEFAULT_TOKENS;
	if (max_tokens > SG__BUDGET_MAX_TOKENS)
		max_tokens = SG__BUDGET_MAX_TOKENS;
	if (ratio == 0)
		ratio = sg__budget_ratio_milli(SG__BUDGET_DEFAULT_RATIO);
	b->max_milli = (int32_t)max_tokens * 1000;
	b->ratio_milli = ratio;
	atomic_store_explicit(&b->milli, b->max_milli, memory_order_relaxed);
}

bool sg__budget_configured(const sg__budget *b)
{
	return b->max_milli > 0;
}

/* Adds delta to the tokens, kept within [0, max]. */
static void budget_add(sg__budget *b, int32_t delta)
{
	int_fast32_t old = atomic_load_explicit(&b->milli, memory_order_relaxed), next;

	do {
		next = old + delta;
		if (next < 0)
			next = 0;
		if (next > b->max_milli)
			next = b->max_milli;
		if (next == old)
			return;
	} while (!atomic_compare_exchange_weak_explicit(&b->milli, &old, next, memory_order_relaxed,
	                                                memory_order_relaxed));
}

void sg__budget_failure(sg__budget *b)
{
	if (sg__budget_configured(b))
		budget_add(b, -1000);
}

void sg__budget_success(sg__budget *b)
{
	if (sg__budget_configured(b))
		budget_add(b, b->ratio_milli);
}

bool sg__budget_allows(const sg__budget *b)
{
	/* An unconfigured budget (no method asked for hedges or retries) allows nothing. */
	return sg__budget_configured(b) &&
	       atomic_load_explicit(&b->milli, memory_order_relaxed) > b->max_milli / 2;
}

int32_t sg__budget_milli(const sg__budget *b)
{
	return (int32_t)atomic_load_explicit(&b->milli, memory_order_relaxed);
}
