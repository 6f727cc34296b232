/*
 * guard.c: a target's breaker and in-flight cap, in front of every leg to it.
 */
#include "guard.h"

#include <string.h>

#include "log.h"

sg_err sg__guard_init(sg__guard *g, const sg_resilience_desc *r, const char *target)
{
	memset(g, 0, sizeof(*g));
	g->max_in_flight = r != NULL ? r->max_in_flight : 0;
	return sg__breaker_init(&g->breaker, r != NULL ? &r->breaker : NULL, target);
}

sg_err sg__guard_check(const sg_resilience_desc *r, char *why, size_t len)
{
	if ((r->has_hedge || r->has_retry) && !r->idempotent)
		return sg__why(why, len,
		               "%s without idempotent: a leg may only be sent twice when "
		               "its backend method is safe to call twice",
		               r->has_hedge ? "hedge" : "retry");
	return sg__breaker_check(&r->breaker, why, len);
}

void sg__guard_fini(sg__guard *g)
{
	sg__breaker_fini(&g->breaker);
}

grpc_status_code sg__guard_admit(sg__guard *g, int64_t now_ns, sg__guard_pass *pass,
                                 const char **message)
{
	memset(pass, 0, sizeof(*pass));
	/* The cap first: a leg refused by it must not take a half-open probe permit. */
	if (g->max_in_flight > 0) {
		uint32_t n = atomic_fetch_add_explicit(&g->in_flight, 1, memory_order_relaxed);

		if (n >= g->max_in_flight) {
			atomic_fetch_sub_explicit(&g->in_flight, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&g->refused_cap, 1, memory_order_relaxed);
			*message = SG_GUARD_OVER_CAP;
			return GRPC_STATUS_RESOURCE_EXHAUSTED;
		}
		pass->counted = true;
	}
	pass->ticket = sg__breaker_admit(&g->breaker, now_ns);
	if (pass->ticket == SG_BREAKER_REJECTED) {
		if (pass->counted)
			atomic_fetch_sub_explicit(&g->in_flight, 1, memory_order_relaxed);
		pass->counted = false;
		atomic_fetch_add_explicit(&g->refused_open, 1, memory_order_relaxed);
		*message = SG_GUARD_CIRCUIT_OPEN;
		return GRPC_STATUS_UNAVAILABLE;
	}
	return GRPC_STATUS_OK;
}

void sg__guard_done(sg__guard *g, sg__guard_pass *pass, bool counts, grpc_status_code status,
                    int64_t latency_us, int64_t slow_us, int64_t now_ns)
{
	if (pass->counted)
		atomic_fetch_sub_explicit(&g->in_flight, 1, memory_order_relaxed);
	if (pass->ticket != SG_BREAKER_REJECTED) {
		if (counts)
			sg__breaker_record(&g->breaker, pass->ticket, status, latency_us, slow_us,
			                   now_ns);
		else
			sg__breaker_release(&g->breaker, pass->ticket);
	}
	memset(pass, 0, sizeof(*pass));
}
