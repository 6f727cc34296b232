/*
 * leg.c: one backend call: its attempts (the first, a hedge, retries) and its outcome.
 */
#include "leg.h"

#include <stdio.h>
#include <string.h>

#include "breaker.h"
#include "budget.h"
#include "bytes.h"
#include "deadline.h"
#include "log.h"
#include "retry.h"
#include "scatter/trailer.h"
#include "wire.h"

/* What the leg's one timer is armed for. */
enum {
	LEG_TIMER_HEDGE = 1, /* the hedge delay has passed */
	LEG_TIMER_RETRY = 2, /* a retry's backoff has passed */
	LEG_TIMER_END = 3,   /* cancelled while waiting for a retry: end from the loop */
};

static void attempt_complete(sg__op *op, bool ok);

/* A copy of the slice in the arena, as a C string ("" when out of memory: a lost message must
 * not lose the outcome). */
static const char *leg_strdup_slice(sg__arena *a, grpc_slice s)
{
	size_t len = GRPC_SLICE_LENGTH(s);
	char *p = sg__arena_alloc(a, len + 1);

	if (p == NULL)
		return "";
	memcpy(p, GRPC_SLICE_START_PTR(s), len);
	p[len] = '\0';
	return p;
}

static void leg_fail(sg__leg *leg, grpc_status_code status, const char *fmt, const char *what)
{
	size_t len = strlen(fmt) + strlen(what) + 1;
	char *msg = sg__arena_alloc(leg->ctx->arena, len);

	leg->status = status;
	if (msg != NULL)
		snprintf(msg, len, fmt, what);
	leg->message = msg != NULL ? msg : "";
}

static void leg_init(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                     const sg__leg_route *route)
{
	memset(leg, 0, sizeof(*leg));
	leg->ctx = ctx;
	leg->route = route;
	leg->index = index;
	leg->started_ns = sg__now_ns();
	leg->deadline_ns = SG_NO_DEADLINE;
	leg->backend = route->backend;
	leg->status = GRPC_STATUS_UNKNOWN;
	leg->message = "";
	sg__timer_init(&leg->timer);
}

void sg__leg_refuse(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                    const sg__leg_route *route, grpc_status_code status, const char *message)
{
	leg_init(leg, ctx, index, route);
	leg->status = status;
	leg->message = message != NULL ? message : "";
	sg__metrics_leg_refused(route->backend->metrics, status);
}

/* Counts a hedge or retry event for the server and for the backend. */
static void leg_count(atomic_uint_fast64_t *server, atomic_uint_fast64_t *be)
{
	sg__stats_inc(server);
	sg__stats_inc(be);
}

/* The backend of the leg's nth attempt: the shard's replicas in turn from the first one. */
static sg__backend *leg_replica(const sg__leg *leg, uint32_t nth)
{
	const sg__shard *sh = leg->route->shard;

	if (sh == NULL || sh->n == 0)
		return (sg__backend *)leg->route->backend;
	return sh->replicas[(leg->first_replica + nth) % sh->n];
}

/* ---- attempts ------------------------------------------------------------------------------ */

/* Releases what a finished (or never started) attempt holds, except recv when kept. */
static void attempt_release(sg__attempt *a)
{
	grpc_slice_unref(a->details);
	a->details = grpc_empty_slice();
	if (a->send != NULL)
		grpc_byte_buffer_destroy(a->send);
	a->send = NULL;
	if (a->recv != NULL)
		grpc_byte_buffer_destroy(a->recv);
	a->recv = NULL;
	grpc_metadata_array_destroy(&a->initial_md);
	grpc_metadata_array_destroy(&a->trailing_md);
	if (a->call != NULL)
		grpc_call_unref(a->call);
	a->call = NULL;
}

/* Asks be's guard (breaker, in-flight cap) whether attempt a may go. Refused, nothing touches
 * the network; a first attempt's refusal is the leg's outcome (a hedge or a retry refused
 * leaves the outcome so far as it is). */
static sg_err attempt_admit(sg__leg *leg, sg__attempt *a, sg__backend *be, bool extra)
{
	const char *why = "";
	grpc_status_code code = sg__guard_admit(&be->guard, a->started_ns, &a->pass, &why);

	if (code == GRPC_STATUS_OK)
		return SG_OK;
	if (!extra) {
		leg->backend = be;
		leg->status = code;
		leg->message = why;
		leg->note = code == GRPC_STATUS_UNAVAILABLE ? "circuit_open" : "over_max_in_flight";
	}
	return SG_ESTATE;
}

/* Gives attempt a's guard pass back once it has ended. What the leg cancelled itself (the
 * gather or the client was done, or a hedge race was lost) and a deadline that was the
 * client's say nothing about the backend, unless the attempt had already been slow. Slow:
 * over breaker.slow_ms, or (0) having used the leg's whole time. */
static void attempt_guard_done(const sg__leg *leg, sg__attempt *a, int64_t now)
{
	sg__guard *g = &a->backend->guard;
	int64_t latency_us = (now - a->started_ns) / 1000;
	int64_t slow_us = g->breaker.cfg.slow_ms > 0 ? (int64_t)g->breaker.cfg.slow_ms * 1000
	                                             : (leg->deadline_ns - a->started_ns) / 1000;
	grpc_status_code status = a->undecodable ? SG_BREAKER_UNDECODABLE : a->status;
	bool counts = true;

	if (a->cancelled || a->status == GRPC_STATUS_CANCELLED ||
	    (a->status == GRPC_STATUS_DEADLINE_EXCEEDED && leg->client_bound)) {
		counts = !leg->client_bound && latency_us >= slow_us;
		status = GRPC_STATUS_OK;
	}
	sg__guard_done(g, &a->pass, counts, status, latency_us, slow_us, now);
}

/* Starts attempt a of leg to backend be. On failure nothing is in flight and the leg's outcome
 * says why; SG_ESTATE: be's guard refused it (attempt_admit). */
static sg_err attempt_start(sg__leg *leg, sg__attempt *a, sg__backend *be, bool hedge, bool retry)
{
	const sg__leg_ctx *ctx = leg->ctx;
	grpc_op ops[6];
	grpc_call_error err;

	memset(a, 0, sizeof(*a));
	a->op.complete = attempt_complete;
	a->leg = leg;
	a->backend = be;
	a->hedge = hedge;
	a->retry = retry;
	a->status = GRPC_STATUS_UNKNOWN;
	a->details = grpc_empty_slice();
	a->started_ns = sg__now_ns();
	if (attempt_admit(leg, a, be, hedge || retry) != SG_OK)
		return SG_ESTATE;
	grpc_metadata_array_init(&a->initial_md);
	grpc_metadata_array_init(&a->trailing_md);
	a->call = grpc_channel_create_call(be->channel, ctx->parent, GRPC_PROPAGATE_DEFAULTS,
	                                   ctx->cq, leg->route->method, NULL,
	                                   sg__timespec_from_ns(leg->deadline_ns), NULL);
	if (a->call == NULL) {
		leg->backend = be;
		leg_fail(leg, GRPC_STATUS_INTERNAL, "could not create a call to %s", be->target);
		sg__guard_done(&be->guard, &a->pass, false, a->status, 0, 0, 0);
		attempt_release(a);
		return SG_EGRPC;
	}
	/* A refcounted copy: the slices are shared, the bytes never copied or re-encoded. */
	a->send = grpc_byte_buffer_copy(leg->request);

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = ctx->n_md;
	ops[0].data.send_initial_metadata.metadata = ctx->md;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = a->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &a->initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &a->recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &a->trailing_md;
	ops[5].data.recv_status_on_client.status = &a->status;
	ops[5].data.recv_status_on_client.status_details = &a->details;
	err = grpc_call_start_batch(a->call, ops, 6, &a->op, NULL);
	if (err != GRPC_CALL_OK) {
		leg->backend = be;
		leg_fail(leg, GRPC_STATUS_INTERNAL, "could not start the call: %s",
		         grpc_call_error_to_string(err));
		sg__guard_done(&be->guard, &a->pass, false, a->status, 0, 0, 0);
		attempt_release(a);
		return SG_EGRPC;
	}
	a->in_flight = true;
	leg->n_attempts++;
	sg__metrics_attempt_start(be->metrics);
	return SG_OK;
}

static void attempt_cancel(sg__attempt *a)
{
	if (a->in_flight && !a->cancelled) {
		a->cancelled = true;
		grpc_call_cancel(a->call, NULL);
	}
}

/* A free attempt slot, or NULL when two are in flight. */
static sg__attempt *leg_free_slot(sg__leg *leg)
{
	for (int i = 0; i < 2; i++) {
		if (!leg->att[i].in_flight)
			return &leg->att[i];
	}
	return NULL;
}

static bool leg_attempts_in_flight(const sg__leg *leg)
{
	return leg->att[0].in_flight || leg->att[1].in_flight;
}

/* ---- the outcome --------------------------------------------------------------------------- */

/* A failure that spends the backend's budget (gRFC A6): the statuses retried, or a timeout
 * (a backend too slow to answer is what hedging pays for). */
static bool leg_transient(const sg__leg_route *route, grpc_status_code status)
{
	sg_retry_desc unavailable = {.statuses = 1u << GRPC_STATUS_UNAVAILABLE};
	const sg_retry_desc *r = route->tail.r.statuses != 0 ? &route->tail.r : &unavailable;

	return status == GRPC_STATUS_DEADLINE_EXCEEDED || sg__retry_status(r, status);
}

/* What an attempt that ended by itself tells its backend: latency, budget. */
static void attempt_account(const sg__leg *leg, const sg__attempt *a, int64_t now)
{
	sg__backend *be = a->backend;

	if (a->cancelled || a->status == GRPC_STATUS_CANCELLED)
		return;
	sg__latency_record(&be->latency, now, now - a->started_ns);
	if (a->status == GRPC_STATUS_OK)
		sg__budget_success(&be->budget);
	else if (leg_transient(leg->route, a->status))
		sg__budget_failure(&be->budget);
}

/* leg_settle's end for an answer left encoded (ctx->pick): copied into the arena unless it is
 * there already, so that recv can go, then checked as protobuf-c would decode it, its elements
 * scored on the way (leg->scored views the copy). */
static void leg_keep_encoded(sg__leg *leg, sg__attempt *a)
{
	const sg__leg_ctx *ctx = leg->ctx;
	const ProtobufCMessageDescriptor *desc = leg->route->response;
	uint8_t *copy;
	sg_err rv = SG_OK;

	/* A view of recv's slice (sg__bytes_flatten's common case); else already a copy. */
	if (leg->len > 0 && sg__bytes_is_view(a->recv, leg->bytes)) {
		if ((copy = sg__arena_alloc(ctx->arena, leg->len)) == NULL) {
			rv = SG_ENOMEM;
		} else {
			memcpy(copy, leg->bytes, leg->len);
			leg->bytes = copy;
		}
	}
	if (rv == SG_OK)
		rv = sg__wire_check_scored(desc, leg->bytes, leg->len, ctx->pick, ctx->arena,
		                           &leg->scored, &leg->n_scored);
	if (rv == SG_OK)
		return;
	leg->bytes = NULL;
	leg->len = 0;
	leg->scored = NULL;
	leg->n_scored = 0;
	if (rv == SG_ENOMEM) {
		leg_fail(leg, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory for a %s", desc->name);
		return;
	}
	a->undecodable = true;
	leg_fail(leg, GRPC_STATUS_INTERNAL, "response does not decode as %s", desc->name);
}

/* Takes attempt a's answer as the leg's outcome: an OK without a decodable answer is a failed
 * leg (INTERNAL), never a crash and never an empty success. leg->bytes views the answer (kept
 * in leg->answer until ctx->done returns) or a copy in the arena. */
static void leg_settle(sg__leg *leg, sg__attempt *a)
{
	const sg__leg_ctx *ctx = leg->ctx;
	const ProtobufCMessageDescriptor *desc = leg->route->response;

	leg->backend = a->backend;
	leg->status = a->status;
	leg->message = leg_strdup_slice(ctx->arena, a->details);
	leg->response = NULL;
	leg->bytes = NULL;
	leg->len = 0;
	leg->scored = NULL;
	leg->n_scored = 0;
	if (leg->status != GRPC_STATUS_OK)
		return;
	if (a->recv == NULL) {
		a->undecodable = true;
		leg_fail(leg, GRPC_STATUS_INTERNAL, "OK without a %s", desc->name);
		return;
	}
	if (sg__bytes_flatten(a->recv, ctx->arena, &leg->bytes, &leg->len) != SG_OK) {
		leg->bytes = NULL;
		leg->len = 0;
		a->undecodable = true;
		leg_fail(leg, GRPC_STATUS_INTERNAL, "response of %s cannot be read", desc->name);
		return;
	}
	if (ctx->pick != NULL) {
		/* The merge reads it on the wire (fanout.lazy): the same verdict as decoding, and
		 * a copy that outlives recv. */
		leg_keep_encoded(leg, a);
		return;
	}
	/* protobuf-c copies strings and bytes out: the message does not borrow recv. */
	leg->response = protobuf_c_message_unpack(desc, sg__arena_allocator(ctx->arena), leg->len,
	                                          leg->bytes);
	if (leg->response == NULL) {
		leg->bytes = NULL;
		leg->len = 0;
		a->undecodable = true;
		leg_fail(leg, GRPC_STATUS_INTERNAL, "response does not decode as %s", desc->name);
		return;
	}
	/* bytes may view recv: keep it until the leg has reported. */
	leg->answer = a->recv;
	a->recv = NULL;
}

static void leg_decide(sg__leg *leg)
{
	leg->decided = true;
	leg->latency_us = (sg__now_ns() - leg->started_ns) / 1000;
	sg__timer_cancel(leg->ctx->timers, &leg->timer);
}

/* Arms the leg's timer; false when it cannot be (then the caller goes without). */
static bool leg_arm(sg__leg *leg, uint8_t kind, int64_t at_ns);

/* After a failed attempt with nothing else in flight: a retry if the route, the status, the
 * attempts so far, the budget and the deadline all allow one. */
static bool leg_schedule_retry(sg__leg *leg, grpc_status_code status)
{
	const sg__tail_policy *t = &leg->route->tail;
	const sg__backend *primary = leg_replica(leg, 0);
	int64_t now = sg__now_ns(), wait;

	if (!t->retry || leg->stopping || !sg__retry_status(&t->r, status) ||
	    leg->n_retries + 1 >= t->r.max_attempts)
		return false;
	if (!sg__budget_allows(&primary->budget)) {
		sg__log(SG_LOG_DEBUG, "leg %s: no retry: %s's budget is spent", leg->route->name,
		        primary->target);
		return false;
	}
	if (!sg__retry_backoff(&t->r, leg->n_retries + 1, sg__retry_random(), now, leg->deadline_ns,
	                       &wait))
		return false;
	return leg_arm(leg, LEG_TIMER_RETRY, now + wait);
}

/* Attempt a has ended and the leg has no final outcome yet. */
static void leg_consider(sg__leg *leg, sg__attempt *a)
{
	sg__attempt *other = a == &leg->att[0] ? &leg->att[1] : &leg->att[0];

	leg_settle(leg, a);
	if (leg->status == GRPC_STATUS_OK) {
		leg->hedged = a->hedge;
		if (a->hedge)
			leg_count(&leg->ctx->stats->hedges_won, &a->backend->hedge.hedges_won);
		attempt_cancel(other);
		leg_decide(leg);
		return;
	}
	/* A failure: the other attempt may still answer. */
	if (other->in_flight)
		return;
	sg__timer_cancel(leg->ctx->timers, &leg->timer); /* a hedge no longer pending */
	if (!leg_schedule_retry(leg, leg->status))
		leg_decide(leg);
}

/* Reports the leg's end once nothing of its own is left in flight. */
static void leg_maybe_end(sg__leg *leg)
{
	grpc_byte_buffer *answer;

	if (!leg->in_flight || leg_attempts_in_flight(leg) || sg__timer_pending(&leg->timer))
		return;
	if (!leg->decided)
		leg_decide(leg);
	leg->in_flight = false;
	grpc_byte_buffer_destroy(leg->request);
	leg->request = NULL;
	if (sg__log_enabled(SG_LOG_DEBUG))
		sg__log(SG_LOG_DEBUG, "leg %u %s %s %s latency_us=%lld attempts=%u%s", leg->index,
		        leg->route->name, leg->backend->target, sg_status_name(leg->status),
		        (long long)leg->latency_us, leg->n_attempts,
		        leg->hedged ? " hedge won" : "");
	sg__metrics_leg_end(leg->backend->metrics, leg->status, leg->latency_us);
	/* done may free the leg: the answer bytes are released from a local. */
	answer = leg->answer;
	leg->answer = NULL;
	leg->ctx->done(leg, leg->ctx->arg);
	if (answer != NULL)
		grpc_byte_buffer_destroy(answer);
}

static void attempt_complete(sg__op *op, bool ok)
{
	sg__attempt *a = sg__container_of(op, sg__attempt, op);
	sg__leg *leg = a->leg;
	int64_t now;

	if (!ok) {
		/* A client batch only fails when the core itself is broken; say so, keep going. */
		sg__log(SG_LOG_WARN, "leg %u %s: batch failed", leg->index, a->backend->target);
		a->status = GRPC_STATUS_INTERNAL;
	}
	a->in_flight = false;
	sg__metrics_attempt_end(a->backend->metrics);
	now = sg__now_ns();
	attempt_account(leg, a, now);
	if (!leg->decided)
		leg_consider(leg, a);
	attempt_guard_done(leg, a, now);
	attempt_release(a);
	leg_maybe_end(leg);
}

/* ---- hedges and retries -------------------------------------------------------------------- */

/* The hedge delay has passed with the first attempt unanswered: the same request to the next
 * replica, if the first attempt's backend's budget allows. */
static void leg_hedge(sg__leg *leg)
{
	const sg__backend *primary = leg_replica(leg, 0);
	sg__attempt *a = leg_free_slot(leg);
	sg__backend *be;
	sg_err rv;

	if (leg->decided || leg->stopping || a == NULL || sg__now_ns() >= leg->deadline_ns)
		return;
	if (!sg__budget_allows(&primary->budget)) {
		sg__log(SG_LOG_DEBUG, "leg %s: no hedge: %s's budget is spent", leg->route->name,
		        primary->target);
		return;
	}
	be = leg_replica(leg, leg->n_attempts);
	rv = attempt_start(leg, a, be, true, false);
	if (rv == SG_OK)
		leg_count(&leg->ctx->stats->hedges_sent, &be->hedge.hedges_sent);
	else if (rv == SG_ESTATE) /* its breaker is open or its cap reached: no hedge */
		sg__log(SG_LOG_DEBUG, "leg %s: no hedge to %s: refused by its guard",
		        leg->route->name, be->target);
	else
		sg__log(SG_LOG_WARN, "leg %s: hedge to %s: %s", leg->route->name, be->target,
		        leg->message);
}

/* A retry's backoff has passed. */
static void leg_retry(sg__leg *leg)
{
	sg__attempt *a = leg_free_slot(leg);
	sg__backend *be = leg_replica(leg, leg->n_attempts);

	if (leg->stopping || a == NULL) {
		leg_decide(leg);
		return;
	}
	leg->n_retries++;
	if (attempt_start(leg, a, be, false, true) == SG_OK)
		leg_count(&leg->ctx->stats->retries, &be->hedge.retries);
	else
		leg_decide(leg);
}

static void leg_timer_fired(void *arg)
{
	sg__leg *leg = arg;

	if (leg->timer_kind == LEG_TIMER_HEDGE)
		leg_hedge(leg);
	else if (leg->timer_kind == LEG_TIMER_RETRY)
		leg_retry(leg);
	leg_maybe_end(leg);
}

static bool leg_arm(sg__leg *leg, uint8_t kind, int64_t at_ns)
{
	sg__timer_cancel(leg->ctx->timers, &leg->timer);
	leg->timer_kind = kind;
	if (sg__timer_start(leg->ctx->timers, &leg->timer, at_ns, leg_timer_fired, leg) != SG_OK) {
		sg__log(SG_LOG_WARN, "leg %s: no timer for a hedge or retry", leg->route->name);
		return false;
	}
	return true;
}

/* ---- the leg ------------------------------------------------------------------------------- */

sg_err sg__leg_start(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                     const sg__leg_route *route, grpc_byte_buffer *request, gpr_timespec deadline)
{
	const sg__tail_policy *t = &route->tail;
	sg__backend *be;
	int64_t delay;
	sg_err rv;

	leg_init(leg, ctx, index, route);
	leg->deadline_ns = sg__ns_from_timespec(deadline);
	if (route->shard != NULL && route->shard->n > 1)
		leg->first_replica =
		        atomic_fetch_add_explicit(&route->shard->next, 1, memory_order_relaxed) %
		        route->shard->n;
	leg->request = grpc_byte_buffer_copy(request);
	be = leg_replica(leg, 0);
	leg->backend = be;
	if ((rv = attempt_start(leg, &leg->att[0], be, false, false)) != SG_OK) {
		grpc_byte_buffer_destroy(leg->request);
		leg->request = NULL;
		sg__metrics_leg_refused(leg->backend->metrics, leg->status);
		return rv;
	}
	leg->in_flight = true;
	if (t->hedge) {
		delay = sg__hedge_delay_ns(&t->h, &be->latency, leg->started_ns,
		                           leg->deadline_ns - leg->started_ns);
		if (delay < leg->deadline_ns - leg->started_ns)
			(void)leg_arm(leg, LEG_TIMER_HEDGE, leg->started_ns + delay);
	}
	return SG_OK;
}

void sg__leg_cancel(sg__leg *leg)
{
	if (!leg->in_flight)
		return;
	leg->stopping = true;
	attempt_cancel(&leg->att[0]);
	attempt_cancel(&leg->att[1]);
	if (sg__timer_pending(&leg->timer) && !leg_attempts_in_flight(leg)) {
		/* Waiting for a retry: end from the loop, never from inside this call. */
		(void)leg_arm(leg, LEG_TIMER_END, sg__now_ns());
	} else {
		sg__timer_cancel(leg->ctx->timers, &leg->timer);
	}
}
