/*
 * emit_resilience.c: the `.resilience` member of a fan-out table, every default spelled out so
 * that a reader of the generated code sees what the method runs with.
 */
#include "check.h"
#include "emit.h"

#include <stdio.h>
#include <stdlib.h>

static const char *er_bool(bool b)
{
	return b ? "true" : "false";
}

/* A double as the shortest literal that reads back as the same value ("0.1", "2"). */
static void er_double(cg_printer *out, const char *member, double v)
{
	char buf[40];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	cg_print(out, ".%s = %s,\n", member, buf);
}

/* A status mask as `(1u << GRPC_STATUS_X) | ...`, one status a line, in code order. */
static void er_statuses(cg_printer *out, const char *member, uint32_t mask)
{
	bool first = true;

	cg_print(out, ".%s =", member);
	cg_indent(out);
	for (int code = 1; code < 32; code++) {
		if ((mask & (1u << code)) == 0 || cg_status_name(code) == NULL)
			continue;
		cg_print(out, "%s\n(1u << GRPC_STATUS_%s)", first ? "" : " |",
		         cg_status_name(code));
		first = false;
	}
	cg_print(out, ",\n");
	cg_outdent(out);
}

static void er_breaker(const cg_resilience *r, cg_printer *out)
{
	cg_print(out, ".breaker = {\n");
	cg_indent(out);
	cg_print(out, ".enabled = %s,\n", er_bool(r->breaker.enabled));
	cg_print(out, ".window = %u,\n", (unsigned)r->breaker.window);
	if (r->breaker.window_ms == 0)
		cg_print(out, ".window_ms = 0, /* count-based */\n");
	else
		cg_print(out, ".window_ms = %u,\n", (unsigned)r->breaker.window_ms);
	cg_print(out, ".min_calls = %u,\n", (unsigned)r->breaker.min_calls);
	cg_print(out, ".failure_rate_pct = %u,\n", (unsigned)r->breaker.failure_rate_pct);
	if (r->breaker.slow_ms == 0)
		cg_print(out, ".slow_ms = 0, /* the leg's deadline */\n");
	else
		cg_print(out, ".slow_ms = %u,\n", (unsigned)r->breaker.slow_ms);
	cg_print(out, ".slow_rate_pct = %u,\n", (unsigned)r->breaker.slow_rate_pct);
	cg_print(out, ".open_ms = %u,\n", (unsigned)r->breaker.open_ms);
	cg_print(out, ".half_open_probes = %u,\n", (unsigned)r->breaker.half_open_probes);
	er_statuses(out, "failure_statuses", r->breaker.failure_statuses);
	cg_outdent(out);
	cg_print(out, "},\n");
}

void cg_emit_resilience(const cg_plan *plan, cg_printer *out)
{
	const cg_resilience *r = &plan->resilience;

	cg_print(out, ".resilience = {\n");
	cg_indent(out);
	cg_print(out, ".idempotent = %s,\n", er_bool(r->idempotent));
	er_breaker(r, out);
	if (r->has_hedge) {
		cg_print(out, ".has_hedge = true,\n");
		cg_print(out, ".hedge = {\n");
		cg_indent(out);
		cg_print(out, ".enabled = %s,\n", er_bool(r->hedge.enabled));
		if (r->hedge.delay_ms == 0)
			cg_print(out, ".delay_ms = 0, /* adaptive: the percentile below */\n");
		else
			cg_print(out, ".delay_ms = %u,\n", (unsigned)r->hedge.delay_ms);
		cg_print(out, ".percentile = %u,\n", (unsigned)r->hedge.percentile);
		cg_print(out, ".min_delay_ms = %u,\n", (unsigned)r->hedge.min_delay_ms);
		cg_outdent(out);
		cg_print(out, "},\n");
	}
	if (r->has_retry) {
		cg_print(out, ".has_retry = true,\n");
		cg_print(out, ".retry = {\n");
		cg_indent(out);
		cg_print(out, ".max_attempts = %u,\n", (unsigned)r->retry.max_attempts);
		cg_print(out, ".initial_backoff_ms = %u,\n", (unsigned)r->retry.initial_backoff_ms);
		cg_print(out, ".max_backoff_ms = %u,\n", (unsigned)r->retry.max_backoff_ms);
		er_double(out, "multiplier", r->retry.multiplier);
		er_statuses(out, "statuses", r->retry.statuses);
		cg_outdent(out);
		cg_print(out, "},\n");
	}
	cg_print(out, ".budget = {\n");
	cg_indent(out);
	cg_print(out, ".max_tokens = %u,\n", (unsigned)r->budget.max_tokens);
	er_double(out, "token_ratio", r->budget.token_ratio);
	cg_outdent(out);
	cg_print(out, "},\n");
	if (r->max_in_flight == 0)
		cg_print(out, ".max_in_flight = 0, /* no cap */\n");
	else
		cg_print(out, ".max_in_flight = %u,\n", (unsigned)r->max_in_flight);
	cg_outdent(out);
	cg_print(out, "},\n");
}
