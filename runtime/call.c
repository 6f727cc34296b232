/*
 * call.c: one aggregate call.
 */
#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "admission.h"
#include "bytes.h"
#include "deadline.h"
#include "forward.h"
#include "leg.h"
#include "log.h"
#include "op.h"
#include "scatter/trailer.h"
#include "timer.h"
#include "trailer_write.h"

/* Most calls (a request, n answers, the merge) fit the first chunk: one malloc per call. */
#define CALL_ARENA_FIRST 8192
/* Bounds a status message naming every failed leg. */
#define CALL_MESSAGE_MAX 4096

typedef struct sg__call {
	sg__op close_op; /* RECV_CLOSE_ON_SERVER: learns of the client's cancellation */
	sg__op send_op;  /* the answer */
	sg__worker *w;
	const sg__fanout *f;
	sg__routes *rs; /* the legs' routes, taken at accept: a reload does not move this call */
	grpc_call *call;
	grpc_byte_buffer *payload;
	grpc_metadata_array md; /* received; its slices are the call's (forwarded ones too) */
	int cancelled;          /* written by RECV_CLOSE_ON_SERVER */
	unsigned refs;          /* accept + close + each leg in flight + the answer batch */
	bool answered;          /* the answer is sent or the client is gone: answer no more */
	bool delivered;         /* the answer batch completed OK: the client had not left */
	bool partial;           /* answered OK without some legs' parts (metrics) */
	uint32_t n_legs;
	uint32_t legs_started; /* legs whose start was attempted (a prefix of legs) */
	int64_t started_ns;
	/* How the legs still in flight when the call finished are reported: the gather's
	 * cut_status, or CANCELLED when a required leg's failure ended the call. */
	grpc_status_code cut_status;
	sg__timer timer;      /* the gather's wake-up, when it asks for one */
	sg__gather_call gc;   /* the gather's view of this call */
	sg_leg_result *ended; /* legs in the order they ended (the arena; gc.ended) */
	ProtobufCMessage *request;
	grpc_byte_buffer *response;
	sg__leg_ctx leg_ctx;
	sg__arena arena;
	sg__leg legs[]; /* n_legs */
} sg__call;

static void call_free(sg__call *c)
{
	/* Counted once every batch has completed: a call can arrive already cancelled, with no
	 * request to decode, and its INVALID_ARGUMENT go nowhere; it still counts. */
	if (c->cancelled && !c->delivered)
		sg__stats_inc(&c->w->stats->calls_cancelled);
	/* A call freed before its gather's timer fired (rejected, or the client left). */
	sg__timer_cancel(&c->w->timers, &c->timer);
	if (c->payload != NULL)
		grpc_byte_buffer_destroy(c->payload);
	if (c->response != NULL)
		grpc_byte_buffer_destroy(c->response);
	grpc_metadata_array_destroy(&c->md);
	/* Legs are unref'd as they end, so the parent goes last. */
	grpc_call_unref(c->call);
	/* After the unref: trailers and messages were handed to gRPC as static slices into the
	 * arena, and the answer batch has completed. */
	sg__arena_fini(&c->arena);
	sg__routes_release(c->rs);
	c->w->live--;
	sg__admission_leave(c->w->admission);
	free(c);
}

static void call_unref(sg__call *c)
{
	if (--c->refs == 0)
		call_free(c);
}

static void call_close_complete(sg__op *op, bool ok)
{
	sg__call *c = sg__container_of(op, sg__call, close_op);

	(void)ok;
	if (c->cancelled && !c->answered) {
		/* The client left (cancel or deadline): stop the legs now rather than when
		 * propagation reaches them, and answer nobody. */
		c->answered = true;
		sg__timer_cancel(&c->w->timers, &c->timer);
		sg__metrics_call_end(c->f->metrics, GRPC_STATUS_CANCELLED,
		                     (sg__now_ns() - c->started_ns) / 1000, false);
		for (uint32_t i = 0; i < c->legs_started; i++)
			sg__leg_cancel(&c->legs[i]);
	}
	call_unref(c);
}

static void call_send_complete(sg__op *op, bool ok)
{
	sg__call *c = sg__container_of(op, sg__call, send_op);

	/* !ok: the client was gone before the answer left; RECV_CLOSE tells the rest. */
	c->delivered = ok;
	call_unref(c);
}

/* Sends the answer: status code, message (in the arena or static; may be NULL), the body
 * c->response (may be NULL) and trailers (in the arena). */
static void call_send(sg__call *c, grpc_status_code code, const char *message,
                      grpc_metadata *trailers, size_t n_trailers)
{
	grpc_slice details = grpc_slice_from_static_string(message != NULL ? message : "");
	grpc_op ops[3];
	size_t n = 0;
	grpc_call_error err;

	c->answered = true;
	sg__metrics_call_end(c->f->metrics, code, (sg__now_ns() - c->started_ns) / 1000,
	                     c->partial && code == GRPC_STATUS_OK);
	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (c->response != NULL) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = c->response;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n].data.send_status_from_server.status_details = message != NULL ? &details : NULL;
	ops[n].data.send_status_from_server.trailing_metadata = trailers;
	ops[n++].data.send_status_from_server.trailing_metadata_count = n_trailers;
	c->refs++;
	err = grpc_call_start_batch(c->call, ops, n, &c->send_op, NULL);
	if (err != GRPC_CALL_OK) {
		sg__log(SG_LOG_WARN, "%s: could not send the answer: %s", c->f->m->path,
		        grpc_call_error_to_string(err));
		c->refs--;
	}
}

/* An answer without legs behind it (bad request, no time left). */
static void call_reject(sg__call *c, grpc_status_code code, const char *fmt, ...)
{
	char *msg = sg__arena_alloc(&c->arena, CALL_MESSAGE_MAX);
	va_list ap;

	if (msg != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, CALL_MESSAGE_MAX, fmt, ap);
		va_end(ap);
	}
	sg__log(SG_LOG_DEBUG, "%s: %s %s", c->f->m->path, sg_status_name(code),
	        msg != NULL ? msg : "");
	call_send(c, code, msg != NULL ? msg : "out of memory", NULL, 0);
}

/* A leg's status as reported: a leg still in flight when the gather ended was cut short. */
static grpc_status_code call_leg_status(const sg__call *c, const sg__leg *leg)
{
	return leg->in_flight ? c->cut_status : leg->status;
}

/* Whether leg, just ended, is a required (heterogeneous, not optional) leg that failed: the
 * call's answer is then that failure, whatever the other legs do. */
static bool call_required_failed(const sg__leg *leg)
{
	return leg->route->required && leg->status != GRPC_STATUS_OK;
}

/* A string formatted into the arena, or NULL when out of memory. */
static char *call_format_leg(sg__call *c, const sg__leg *leg, int64_t now, size_t *len)
{
	grpc_status_code status = call_leg_status(c, leg);
	int64_t latency_us = leg->in_flight ? (now - leg->started_ns) / 1000 : leg->latency_us;
	size_t need = sg__leg_outcome_write(NULL, 0, leg->index, leg->route->name,
	                                    leg->backend->target, status, latency_us, leg->note) +
	              1;
	char *buf = sg__arena_alloc(&c->arena, need);

	if (buf == NULL)
		return NULL;
	*len = sg__leg_outcome_write(buf, need, leg->index, leg->route->name, leg->backend->target,
	                             status, latency_us, leg->note);
	return buf;
}

/* gRPC's accounting of one metadata entry (HPACK's entry size). */
static size_t call_md_cost(const grpc_metadata *md)
{
	return GRPC_SLICE_LENGTH(md->key) + GRPC_SLICE_LENGTH(md->value) +
	       SG_TRAILER_ENTRY_OVERHEAD;
}

/* The fan-out's trailer limit; 0 (not set) is the default. */
static size_t call_trailer_limit(const sg__call *c)
{
	return c->f->max_trailer > 0 ? c->f->max_trailer : SG_TRAILER_LIMIT_DEFAULT;
}

/* Keeps the leg entries md[1..n_legs] that fit the fan-out's trailer limit (trailer.h),
 * failures first, in leg order, and writes the summary into md[0] with the count of the legs
 * left out. Returns the number of entries kept, summary included; 0 when out of memory. */
static size_t call_trailers_fit(sg__call *c, grpc_metadata *md, const sg_legs_summary *sum)
{
	size_t n_legs = c->n_legs, limit = call_trailer_limit(c), kept, at = 1, len, cost = 0;
	sg_legs_summary s = *sum;
	size_t *costs = sg__arena_alloc(&c->arena, n_legs * sizeof(*costs));
	bool *ok = sg__arena_alloc(&c->arena, n_legs * 2 * sizeof(*ok)), *keep = ok + n_legs;
	char *buf;

	if (costs == NULL || ok == NULL)
		return 0;
	for (size_t i = 0; i < n_legs; i++) {
		costs[i] = call_md_cost(&md[i + 1]);
		ok[i] = call_leg_status(c, &c->legs[i]) == GRPC_STATUS_OK;
	}
	/* The summary's cost as if every leg were left out: an upper bound. */
	s.omitted = (uint32_t)n_legs;
	cost = sizeof(SG_TRAILER_SUMMARY) - 1 + sg_legs_summary_format(&s, NULL, 0) +
	       SG_TRAILER_ENTRY_OVERHEAD;
	kept = sg__trailer_select(costs, ok, n_legs, cost, limit, keep);
	s.omitted = (uint32_t)(n_legs - kept);
	len = sg_legs_summary_format(&s, NULL, 0) + 1;
	if ((buf = sg__arena_alloc(&c->arena, len)) == NULL)
		return 0;
	len = sg_legs_summary_format(&s, buf, len);
	md[0].key = grpc_slice_from_static_string(SG_TRAILER_SUMMARY);
	md[0].value = grpc_slice_from_static_buffer(buf, len);
	for (size_t i = 0; i < n_legs; i++) {
		if (keep[i])
			md[at++] = md[i + 1];
	}
	return at;
}

/* The trailers of trailer.h: one summary entry, then one entry per leg in leg order, as many
 * as the fan-out's trailer limit holds. Static slices into the arena: they outlive the answer
 * batch. NULL when out of memory. */
static grpc_metadata *call_trailers(sg__call *c, const sg_legs_summary *sum, size_t *n_out)
{
	size_t n_legs = c->n_legs, len, cost;
	grpc_metadata *md = sg__arena_alloc(&c->arena, (n_legs + 1) * sizeof(*md));
	int64_t now = sg__now_ns();
	char *buf;

	if (md == NULL)
		return NULL;
	len = sg_legs_summary_format(sum, NULL, 0) + 1;
	if ((buf = sg__arena_alloc(&c->arena, len)) == NULL)
		return NULL;
	len = sg_legs_summary_format(sum, buf, len);
	memset(md, 0, (n_legs + 1) * sizeof(*md));
	md[0].key = grpc_slice_from_static_string(SG_TRAILER_SUMMARY);
	md[0].value = grpc_slice_from_static_buffer(buf, len);
	cost = call_md_cost(&md[0]);
	for (size_t i = 0; i < n_legs; i++) {
		if ((buf = call_format_leg(c, &c->legs[i], now, &len)) == NULL)
			return NULL;
		md[i + 1].key = grpc_slice_from_static_string(SG_TRAILER_LEG);
		md[i + 1].value = grpc_slice_from_static_buffer(buf, len);
		cost += call_md_cost(&md[i + 1]);
	}
	*n_out = n_legs + 1;
	if (cost > call_trailer_limit(c) && (*n_out = call_trailers_fit(c, md, sum)) == 0)
		return NULL;
	return md;
}

/* "leg shards/2 (ipv4:127.0.0.1:5003): UNAVAILABLE failed to connect" at buf + used. */
static size_t call_describe_leg(const sg__call *c, const sg__leg *leg, char *buf, size_t used)
{
	int n;

	if (used >= CALL_MESSAGE_MAX)
		return used;
	n = snprintf(buf + used, CALL_MESSAGE_MAX - used, "leg %s (%s): %s %s", leg->route->name,
	             leg->backend->target, sg_status_name(call_leg_status(c, leg)),
	             leg->in_flight ? "cut short" : leg->message);
	return n < 0 ? used : used + (size_t)n;
}

/* "all 4 legs failed: leg shards/0 (ipv4:...): UNAVAILABLE failed to connect; leg ..." naming
 * the legs that did not answer OK, truncated to CALL_MESSAGE_MAX. */
static const char *call_failure_message(sg__call *c, const char *head)
{
	char *msg = sg__arena_alloc(&c->arena, CALL_MESSAGE_MAX);
	const char *sep = ": ";
	size_t used;

	if (msg == NULL)
		return "legs failed";
	used = (size_t)snprintf(msg, CALL_MESSAGE_MAX, "%s", head);
	for (size_t i = 0; i < c->n_legs && used < CALL_MESSAGE_MAX; i++) {
		const sg__leg *leg = &c->legs[i];

		if (call_leg_status(c, leg) == GRPC_STATUS_OK)
			continue;
		used += (size_t)snprintf(msg + used, CALL_MESSAGE_MAX - used, "%s", sep);
		used = call_describe_leg(c, leg, msg, used);
		sep = "; ";
	}
	return msg;
}

/* The first required (heterogeneous, not optional) leg that failed by itself, or NULL. */
static const sg__leg *call_failed_required(const sg__call *c)
{
	for (size_t i = 0; i < c->n_legs; i++) {
		const sg__leg *leg = &c->legs[i];

		if (!leg->in_flight && call_required_failed(leg))
			return leg;
	}
	return NULL;
}

/* A lazy fan-out's merge input: every OK leg's answer as its checked bytes and scored elements
 * (sg__merge_in.encoded); the merge decodes what it needs of them. */
static sg_err call_merge_encoded(sg__call *c, sg__merge_in *in)
{
	sg__merge_bytes *enc = sg__arena_alloc(&c->arena, c->n_legs * sizeof(*enc));

	if (enc == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < c->n_legs; i++) {
		const sg__leg *leg = &c->legs[i];

		enc[i] = (sg__merge_bytes){NULL, 0, NULL, 0};
		if (!leg->in_flight && leg->status == GRPC_STATUS_OK)
			enc[i] =
			        (sg__merge_bytes){leg->bytes, leg->len, leg->scored, leg->n_scored};
	}
	in->encoded = enc;
	return SG_OK;
}

/* The merge's input (every leg in leg order, or the one the gather chose) merged and encoded
 * into c->response. */
static sg_err call_merge(sg__call *c, const sg_legs_summary *sum)
{
	sg_leg_result *legs = sg__arena_alloc(&c->arena, c->n_legs * sizeof(*legs));
	sg__merge_in in = {.request = c->request, .arena = &c->arena};
	ProtobufCMessage *out;
	sg_err rv;

	if (legs == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < c->n_legs; i++) {
		const sg__leg *leg = &c->legs[i];

		legs[i] = (sg_leg_result){
		        .name = leg->route->name,
		        .status = call_leg_status(c, leg),
		        .response = leg->in_flight ? NULL : leg->response,
		};
	}
	in.legs = legs;
	in.n_legs = c->n_legs;
	if (c->f->lazy && (rv = call_merge_encoded(c, &in)) != SG_OK)
		return rv;
	if (c->gc.answer < c->n_legs) {
		in.legs = &legs[c->gc.answer];
		in.n_legs = 1;
		if (in.encoded != NULL)
			in.encoded = &in.encoded[c->gc.answer];
	}
	if ((rv = sg__merge_run(&c->f->plan, &in, sum, &out)) != SG_OK)
		return rv;
	/* Packed straight into gRPC's slice: the bytes are copied once, not twice. */
	return sg__bytes_encode(out, &c->response);
}

/* Whether the encoded answer is over the configured limit; if so it is dropped and *message
 * says why. Checked here rather than left to gRPC, so that the client gets a reason and the
 * per-leg trailers. */
static bool call_over_limit(sg__call *c, const char **message)
{
	size_t len = grpc_byte_buffer_length(c->response), max = c->f->max_send;
	char *msg;

	if (max == 0 || len <= max)
		return false;
	grpc_byte_buffer_destroy(c->response);
	c->response = NULL;
	if ((msg = sg__arena_alloc(&c->arena, 128)) != NULL)
		snprintf(msg, 128, "merged answer of %zu bytes exceeds the limit of %zu bytes", len,
		         max);
	*message = msg != NULL ? msg : "merged answer exceeds the size limit";
	sg__log(SG_LOG_WARN, "%s: %s", c->f->m->path, *message);
	return true;
}

/* The gather is done (or aborted), or a required leg failed: cut the other legs short and
 * answer with what there is. */
static void call_finish(sg__call *c, sg__gather_verdict verdict)
{
	const sg_partial_desc *partial = &c->f->m->partial;
	sg_legs_summary sum = {.total = c->n_legs, .ok = c->gc.ok};
	grpc_status_code code = GRPC_STATUS_OK;
	const char *message = NULL;
	const sg__leg *required;
	grpc_metadata *trailers;
	size_t n_trailers = 0;
	char head[96];
	sg_err rv;

	required = call_failed_required(c);
	if (required != NULL)
		c->cut_status = GRPC_STATUS_CANCELLED;
	sg__timer_cancel(&c->w->timers, &c->timer);
	for (uint32_t i = 0; i < c->legs_started; i++) {
		sg__leg *leg = &c->legs[i];

		if (leg->in_flight) {
			leg->cut = true;
			sg__leg_cancel(leg);
			sg__stats_inc(&c->w->stats->legs_cancelled);
			sum.cut++;
		}
	}
	/* Every leg not OK and not cut ended by itself: refused, failed or past its deadline. */
	sum.failed = sum.total - sum.ok - sum.cut;
	trailers = call_trailers(c, &sum, &n_trailers);
	if (verdict == SG__GATHER_ABORT) {
		code = c->gc.abort_status;
		message = c->gc.abort_message;
	} else if (required != NULL) {
		char *msg = sg__arena_alloc(&c->arena, CALL_MESSAGE_MAX);

		code = required->status;
		if (msg != NULL)
			call_describe_leg(c, required, msg, 0);
		message = msg != NULL ? msg : "a required leg failed";
	} else if (sum.ok == 0) {
		snprintf(head, sizeof(head), "all %u legs failed", sum.total);
		code = GRPC_STATUS_UNAVAILABLE;
		message = call_failure_message(c, head);
	} else if (c->gc.failed > 0 && !partial->allow) {
		/* Legs the gather cut short are its choice, not failures. */
		snprintf(head, sizeof(head), "%u of %u legs failed", c->gc.failed, sum.total);
		code = GRPC_STATUS_UNAVAILABLE;
		message = call_failure_message(c, head);
	} else if ((rv = call_merge(c, &sum)) != SG_OK) {
		char *msg = sg__arena_alloc(&c->arena, 128);

		code = GRPC_STATUS_INTERNAL;
		if (msg != NULL)
			snprintf(msg, 128, "%s merge failed: %s", c->f->plan.ops->name,
			         sg_strerror(rv));
		message = msg != NULL ? msg : "merge failed";
		sg__log(SG_LOG_ERROR, "%s: %s", c->f->m->path, message);
	} else if (call_over_limit(c, &message)) {
		code = GRPC_STATUS_RESOURCE_EXHAUSTED;
	}
	/* Partial: a leg failed, or the gather cut legs short for time (best effort), not because
	 * it had what it needed. */
	c->partial = sum.ok < sum.total &&
	             (c->gc.failed > 0 || c->f->gather->cut_status != GRPC_STATUS_CANCELLED);
	call_send(c, code, message, trailers, trailers != NULL ? n_trailers : 0);
}

static void call_leg_done(sg__leg *leg, void *arg)
{
	sg__call *c = arg;
	sg__gather_verdict v;

	/* A leg the gather cut short was accounted for when it was cut. */
	if (leg->cut) {
		call_unref(c);
		return;
	}
	if (leg->status == GRPC_STATUS_OK)
		c->gc.ok++;
	else
		c->gc.failed++;
	if (leg->status != GRPC_STATUS_OK)
		sg__stats_inc(&c->w->stats->legs_failed);
	if (!c->answered) {
		c->ended[c->gc.n_ended++] = (sg_leg_result){
		        .name = leg->route->name,
		        .status = leg->status,
		        .response = leg->response,
		};
		/* A required leg's failure is the answer, known now: like quorum's ABORTED, it does
		 * not wait for the other legs (nor ask the strategy). */
		if (call_required_failed(leg))
			v = SG__GATHER_DONE;
		else
			v = sg__gather_leg_end(c->f->gather, &c->gc,
			                       &(sg__gather_leg){
			                               .index = leg->index,
			                               .status = leg->status,
			                               .response = leg->response,
			                               .bytes = leg->bytes,
			                               .len = leg->len,
			                       });
		if (v != SG__GATHER_CONTINUE)
			call_finish(c, v);
	}
	call_unref(c);
}

static void call_timer_fired(void *arg)
{
	sg__call *c = arg;
	sg__gather_verdict v;

	if (c->answered || c->f->gather->on_timer == NULL)
		return;
	v = c->f->gather->on_timer(&c->gc);
	if (v != SG__GATHER_CONTINUE)
		call_finish(c, v);
}

/* The request a leg sends: the incoming bytes, or (heterogeneous legs with field maps) one
 * built from the decoded request; *built is set when the buffer is the caller's to destroy. */
static grpc_byte_buffer *call_leg_request(sg__call *c, size_t i, bool *built, const char **why)
{
	grpc_byte_buffer *bb = NULL;
	sg_err rv;

	*built = false;
	if (c->f->maps == NULL || sg__request_map_forwards(&c->f->maps[i]))
		return c->payload;
	if ((rv = sg__request_map_build(&c->f->maps[i], c->request, &c->arena, &bb)) != SG_OK) {
		*why = rv == SG_ENOMEM ? "out of memory for the leg's request"
		                       : "the leg's request does not encode";
		return NULL;
	}
	*built = true;
	return bb;
}

static void call_start_legs(sg__call *c, int64_t now, int64_t incoming_ns)
{
	const sg_method_desc *m = c->f->m;
	sg__leg_ctx *ctx = &c->leg_ctx;

	ctx->parent = c->call;
	ctx->cq = c->w->cq;
	ctx->arena = &c->arena;
	ctx->pick = c->f->lazy ? &c->f->pick : NULL;
	ctx->timers = &c->w->timers;
	ctx->stats = c->w->stats;
	ctx->done = call_leg_done;
	ctx->arg = c;
	for (uint32_t i = 0; i < c->n_legs; i++) {
		const sg__leg_route *route = &c->rs->r[i];
		uint32_t ms = route->deadline_ms != 0 ? route->deadline_ms : m->deadline_ms;
		int64_t deadline = sg__leg_deadline(now, ms, incoming_ns, m->margin_ms);
		const char *why = "";
		bool built;
		grpc_byte_buffer *request = call_leg_request(c, i, &built, &why);

		/* Each leg holds a reference until it ends, started or not. */
		c->refs++;
		sg__stats_inc(&c->w->stats->legs_started);
		if (request == NULL) {
			sg__leg_refuse(&c->legs[i], ctx, i, route, GRPC_STATUS_INTERNAL, why);
		} else {
			(void)sg__leg_start(&c->legs[i], ctx, i, route, request,
			                    sg__timespec_from_ns(deadline));
			/* The client's deadline, not the leg's own, bounds it. */
			c->legs[i].client_bound = deadline < now + (int64_t)ms * INT64_C(1000000);
			if (built)
				grpc_byte_buffer_destroy(request);
		}
		c->legs_started++;
	}
	/* Legs that could not start end here, after every leg has started, so that the gather
	 * never finishes in the middle of the loop. No leg completes from inside this function
	 * (completions come from the queue), so "not in flight" means "did not start". */
	for (uint32_t i = 0; i < c->n_legs; i++) {
		if (!c->legs[i].in_flight) {
			if (c->legs[i].note != NULL)
				sg__stats_inc(&c->w->stats->legs_refused);
			/* A guard's refusal is the expected, cheap path while a breaker is open:
			 * its transitions are logged, not each leg. */
			sg__log(c->legs[i].note != NULL ? SG_LOG_DEBUG : SG_LOG_WARN,
			        "leg %s %s: %s", c->rs->r[i].name, c->rs->r[i].backend->target,
			        c->legs[i].message);
			call_leg_done(&c->legs[i], c);
		}
	}
}

static void call_post_close(sg__call *c)
{
	grpc_op op;
	grpc_call_error err;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->cancelled;
	c->refs++;
	err = grpc_call_start_batch(c->call, &op, 1, &c->close_op, NULL);
	if (err != GRPC_CALL_OK) {
		sg__log(SG_LOG_WARN, "%s: could not watch for cancellation: %s", c->f->m->path,
		        grpc_call_error_to_string(err));
		c->refs--;
	}
}

/* Prepares the gather's view and lets the strategy start (state, wake-up). false when the call
 * was answered instead. */
static bool call_start_gather(sg__call *c)
{
	const sg__gather_ops *ops = c->f->gather;

	sg__gather_call_init(&c->gc, &c->f->gather_plan, c->request, &c->arena, c->started_ns,
	                     c->n_legs);
	c->ended = sg__arena_alloc(&c->arena, c->n_legs * sizeof(*c->ended));
	c->gc.ended = c->ended;
	if (c->ended == NULL || (ops->on_start != NULL && ops->on_start(&c->gc) != SG_OK)) {
		call_reject(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory for the gather");
		return false;
	}
	if (c->gc.wake_ns != 0 &&
	    sg__timer_start(&c->w->timers, &c->timer, c->gc.wake_ns, call_timer_fired, c) != SG_OK)
		sg__log(SG_LOG_WARN, "%s: no timer for the %s gather: waiting for every leg",
		        c->f->m->path, ops->name);
	return true;
}

void sg__call_accept(sg__worker *w, const sg__fanout *f, grpc_call *call, gpr_timespec deadline,
                     grpc_byte_buffer *payload, grpc_metadata_array *md)
{
	int64_t now = sg__now_ns(), incoming, leg_deadline;
	sg__routes *rs;
	size_t n;
	sg__call *c;

	/* Over max_calls: answered at once, nothing allocated, nothing queued. */
	if (!sg__admission_enter(w->admission)) {
		sg__stats_inc(&w->stats->calls_rejected);
		sg__accept_refuse(call, GRPC_STATUS_RESOURCE_EXHAUSTED, SG_ADMISSION_BUSY, payload,
		                  md);
		return;
	}
	rs = sg__fanout_acquire(f, &w->routing);
	n = rs->n;
	if ((c = calloc(1, sizeof(*c) + n * sizeof(sg__leg))) == NULL) {
		sg__admission_leave(w->admission);
		sg__routes_release(rs);
		sg__log(SG_LOG_ERROR, "%s: out of memory for a call", f->m->path);
		sg__accept_refuse(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", payload,
		                  md);
		return;
	}
	c->md = *md;
	grpc_metadata_array_init(md);
	c->close_op.complete = call_close_complete;
	c->send_op.complete = call_send_complete;
	c->w = w;
	c->f = f;
	c->rs = rs;
	c->call = call;
	c->payload = payload;
	c->n_legs = (uint32_t)n;
	c->started_ns = now;
	c->cut_status = f->gather->cut_status;
	c->refs = 1; /* held until this function returns */
	sg__timer_init(&c->timer);
	sg__arena_init(&c->arena, CALL_ARENA_FIRST);
	w->live++;
	sg__stats_inc(&w->stats->calls_started);
	call_post_close(c);

	if (sg__bytes_decode(payload, f->m->request, sg__arena_allocator(&c->arena), &c->arena,
	                     &c->request) != SG_OK) {
		call_reject(c, GRPC_STATUS_INVALID_ARGUMENT, "request does not decode as %s",
		            f->m->request->name);
		goto out;
	}
	incoming = sg__ns_from_timespec(deadline);
	leg_deadline = sg__leg_deadline(now, f->m->deadline_ms, incoming, f->m->margin_ms);
	if (leg_deadline <= now) {
		call_reject(c, GRPC_STATUS_DEADLINE_EXCEEDED,
		            "no time left for legs (deadline margin %u ms)", f->m->margin_ms);
		goto out;
	}
	if (sg__forward_pick(f->forward, &c->md, &c->arena, &c->leg_ctx.md, &c->leg_ctx.n_md) !=
	    SG_OK) {
		call_reject(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory for the metadata");
		goto out;
	}
	if (call_start_gather(c))
		call_start_legs(c, now, incoming);
out:
	call_unref(c);
}
