/*
 * check_resilience.c: checking Fanout.resilience (breaker, hedge, retry, budget, in-flight cap)
 * and applying options.proto's defaults to every setting left out.
 *
 * The defaults are options.proto's own: an absent message is replaced by one protobuf-c
 * initialised (its [default = ...] values), so they are written in one place only.
 */
#include "check.h"

#include <string.h>

/* The largest count-based breaker window (the runtime's SG_BREAKER_MAX_WINDOW). */
#define RS_MAX_WINDOW 4096
#define RS_MAX_PROBES 1000

static const char *const rs_status_names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
};

#define RS_N_STATUS (int)(sizeof(rs_status_names) / sizeof(rs_status_names[0]))

int cg_status_code(const char *name)
{
	for (int i = 0; i < RS_N_STATUS; i++) {
		if (strcmp(rs_status_names[i], name) == 0)
			return i;
	}
	return -1;
}

const char *cg_status_name(int code)
{
	return code >= 0 && code < RS_N_STATUS ? rs_status_names[code] : NULL;
}

/* A list of status names as a mask; each name must be a gRPC status other than OK. */
static uint32_t rs_statuses(cg_check *c, const char *what, char **names, size_t n,
                            uint32_t fallback)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < n; i++) {
		int code = cg_status_code(names[i]);

		if (code < 0)
			cg_check_error(
			        c,
			        "%s \"%s\" is not a gRPC status name (write them as gRPC does: "
			        "\"UNAVAILABLE\", \"DEADLINE_EXCEEDED\")",
			        what, names[i]);
		else if (code == 0)
			cg_check_error(c, "%s \"OK\": a call that succeeded is not a failure",
			               what);
		else
			mask |= 1u << code;
	}
	return mask != 0 ? mask : fallback;
}

static void rs_pct(cg_check *c, const char *what, uint32_t v)
{
	if (v < 1 || v > 100)
		cg_check_error(c, "%s %u is not in 1..100 (a percentage)", what, (unsigned)v);
}

static void rs_breaker(cg_check *c, const Scatter__Breaker *b, const cg_plan *plan,
                       cg_resilience *r)
{
	const uint32_t defaults = (1u << 14) | (1u << 4) | (1u << 13) | (1u << 8);

	cg_check_unknown(c, &b->base);
	r->breaker.enabled = b->enabled;
	r->breaker.window = b->window;
	r->breaker.window_ms = b->window_ms;
	r->breaker.min_calls = b->min_calls;
	r->breaker.failure_rate_pct = b->failure_rate_pct;
	r->breaker.slow_ms = b->slow_ms;
	r->breaker.slow_rate_pct = b->slow_rate_pct;
	r->breaker.open_ms = b->open_ms;
	r->breaker.half_open_probes = b->half_open_probes;
	r->breaker.failure_statuses =
	        rs_statuses(c, "resilience.breaker.failure_statuses", b->failure_statuses,
	                    b->n_failure_statuses, defaults);
	rs_pct(c, "resilience.breaker.failure_rate_pct", b->failure_rate_pct);
	rs_pct(c, "resilience.breaker.slow_rate_pct", b->slow_rate_pct);
	if (b->min_calls == 0)
		cg_check_error(c, "resilience.breaker.min_calls is 0; at least 1 call must be seen "
		                  "before a rate counts");
	else if (b->window_ms == 0 && b->window < b->min_calls)
		cg_check_error(c,
		               "resilience.breaker.window %u is less than min_calls %u; the window "
		               "could never hold enough calls to open the breaker",
		               (unsigned)b->window, (unsigned)b->min_calls);
	if (b->window_ms == 0 && b->window > RS_MAX_WINDOW)
		cg_check_error(c,
		               "resilience.breaker.window %u is over %u; use window_ms for a long "
		               "window",
		               (unsigned)b->window, (unsigned)RS_MAX_WINDOW);
	if (b->open_ms == 0)
		cg_check_error(c, "resilience.breaker.open_ms is 0; an open breaker must stay open "
		                  "for some time");
	if (b->half_open_probes < 1 || b->half_open_probes > RS_MAX_PROBES)
		cg_check_error(c, "resilience.breaker.half_open_probes %u is not in 1..%u",
		               (unsigned)b->half_open_probes, (unsigned)RS_MAX_PROBES);
	if (b->slow_ms > 0 && plan->deadline_ms > 0 && b->slow_ms >= plan->deadline_ms)
		cg_check_error(c,
		               "resilience.breaker.slow_ms %u is not less than deadline_ms %u; no "
		               "leg could ever be slow",
		               (unsigned)b->slow_ms, (unsigned)plan->deadline_ms);
}

static void rs_hedge(cg_check *c, const Scatter__Hedge *h, cg_resilience *r, bool given)
{
	cg_check_unknown(c, &h->base);
	r->has_hedge = given;
	r->hedge.enabled = h->enabled;
	r->hedge.delay_ms = h->delay_ms;
	r->hedge.percentile = h->percentile;
	r->hedge.min_delay_ms = h->min_delay_ms;
	if (!given)
		return;
	if (!r->idempotent)
		cg_check_error(c, "resilience.hedge needs idempotent: true; a hedged leg is sent "
		                  "twice, which only a method safe to call twice allows");
	rs_pct(c, "resilience.hedge.percentile", h->percentile);
}

static void rs_retry(cg_check *c, const Scatter__Retry *rt, cg_resilience *r, bool given)
{
	cg_check_unknown(c, &rt->base);
	r->has_retry = given;
	r->retry.max_attempts = rt->max_attempts;
	r->retry.initial_backoff_ms = rt->initial_backoff_ms;
	r->retry.max_backoff_ms = rt->max_backoff_ms;
	r->retry.multiplier = rt->multiplier;
	r->retry.statuses =
	        rs_statuses(c, "resilience.retry.statuses", rt->statuses, rt->n_statuses, 1u << 14);
	if (!given)
		return;
	if (!r->idempotent)
		cg_check_error(c, "resilience.retry needs idempotent: true; a retried leg is sent "
		                  "twice, which only a method safe to call twice allows");
	if (rt->max_attempts == 0)
		cg_check_error(c, "resilience.retry.max_attempts is 0; it counts the first attempt "
		                  "(1: no retry)");
	if (!(rt->multiplier >= 1.0))
		cg_check_error(c,
		               "resilience.retry.multiplier %g is less than 1; backoff must not "
		               "shrink",
		               rt->multiplier);
	if (rt->initial_backoff_ms > rt->max_backoff_ms)
		cg_check_error(c,
		               "resilience.retry.initial_backoff_ms %u is over max_backoff_ms %u",
		               (unsigned)rt->initial_backoff_ms, (unsigned)rt->max_backoff_ms);
}

static void rs_budget(cg_check *c, const Scatter__Budget *b, cg_resilience *r)
{
	cg_check_unknown(c, &b->base);
	r->budget.max_tokens = b->max_tokens;
	r->budget.token_ratio = b->token_ratio;
	if (b->max_tokens == 0)
		cg_check_error(c, "resilience.budget.max_tokens is 0; hedges and retries need "
		                  "tokens");
	if (!(b->token_ratio > 0))
		cg_check_error(c, "resilience.budget.token_ratio %g must be more than 0",
		               b->token_ratio);
}

void cg_check_resilience(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__Resilience *rs = fo->resilience;
	Scatter__Breaker breaker = SCATTER__BREAKER__INIT;
	Scatter__Hedge hedge = SCATTER__HEDGE__INIT;
	Scatter__Retry retry = SCATTER__RETRY__INIT;
	Scatter__Budget budget = SCATTER__BUDGET__INIT;
	cg_resilience *r = &plan->resilience;

	memset(r, 0, sizeof(*r));
	if (rs != NULL)
		cg_check_unknown(c, &rs->base);
	r->idempotent = rs != NULL && rs->idempotent;
	r->max_in_flight = rs != NULL ? rs->max_in_flight : 0;
	rs_breaker(c, rs != NULL && rs->breaker != NULL ? rs->breaker : &breaker, plan, r);
	rs_hedge(c, rs != NULL && rs->hedge != NULL ? rs->hedge : &hedge, r,
	         rs != NULL && rs->hedge != NULL);
	rs_retry(c, rs != NULL && rs->retry != NULL ? rs->retry : &retry, r,
	         rs != NULL && rs->retry != NULL);
	rs_budget(c, rs != NULL && rs->budget != NULL ? rs->budget : &budget, r);
}
