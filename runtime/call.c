/*
 * call.c: one aggregate call.
 */
#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "deadline.h"
#include "leg.h"
#include "log.h"
#include "op.h"
#include "scatter/trailer.h"

/* Most calls (a request, n answers, the merge) fit the first chunk: one malloc per call. */
#define CALL_ARENA_FIRST 8192
/* Bounds a status message naming every failed leg. */
#define CALL_MESSAGE_MAX 4096

typedef struct sg__call {
	sg__op close_op; /* RECV_CLOSE_ON_SERVER: learns of the client's cancellation */
	sg__op send_op;  /* the answer */
	sg__worker *w;
	const sg__fanout *f;
	grpc_call *call;
	grpc_byte_buffer *payload;
	int cancelled; /* written by RECV_CLOSE_ON_SERVER */
	unsigned refs; /* accept + close + each leg in flight + the answer batch */
	bool answered; /* the answer is sent or the client is gone: answer no more */
	uint32_t legs_started;
	sg__gather_state gather;
	ProtobufCMessage *request;
	grpc_byte_buffer *response;
	sg__leg_ctx leg_ctx;
	sg__arena arena;
	sg__leg legs[]; /* f->group->n */
} sg__call;

static void call_free(sg__call *c)
{
	if (c->payload != NULL)
		grpc_byte_buffer_destroy(c->payload);
	if (c->response != NULL)
		grpc_byte_buffer_destroy(c->response);
	/* Legs are unref'd as they end, so the parent goes last. */
	grpc_call_unref(c->call);
	/* After the unref: trailers and messages were handed to gRPC as static slices into the
	 * arena, and the answer batch has completed. */
	sg__arena_fini(&c->arena);
	c->w->live--;
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
		sg__stats_inc(&c->w->stats->calls_cancelled);
		for (uint32_t i = 0; i < c->legs_started; i++)
			sg__leg_cancel(&c->legs[i]);
	}
	call_unref(c);
}

static void call_send_complete(sg__op *op, bool ok)
{
	sg__call *c = sg__container_of(op, sg__call, send_op);

	/* !ok: the client was gone before the answer left; RECV_CLOSE tells the rest. */
	(void)ok;
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

/* A string formatted into the arena, or NULL when out of memory. */
static char *call_format_leg(sg__call *c, const sg__leg *leg, bool in_flight, int64_t now,
                             size_t *len)
{
	sg_leg_outcome o = {.index = leg->index};
	char *buf;
	size_t need;

	snprintf(o.target, sizeof(o.target), "%s", leg->backend->target);
	/* A leg cut short by the gather (or never started) counts as cancelled. */
	o.status = in_flight ? GRPC_STATUS_CANCELLED : leg->status;
	o.latency_us = in_flight ? (now - leg->started_ns) / 1000 : leg->latency_us;
	need = sg_leg_outcome_format(&o, NULL, 0) + 1;
	if ((buf = sg__arena_alloc(&c->arena, need)) == NULL)
		return NULL;
	*len = sg_leg_outcome_format(&o, buf, need);
	return buf;
}

/* The trailers of trailer.h: one summary entry, then one entry per leg in leg order. Static
 * slices into the arena: they outlive the answer batch. NULL when out of memory. */
static grpc_metadata *call_trailers(sg__call *c, const sg_legs_summary *sum, size_t *n_out)
{
	size_t n_legs = c->f->group->n, len;
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
	for (size_t i = 0; i < n_legs; i++) {
		const sg__leg *leg = &c->legs[i];

		if ((buf = call_format_leg(c, leg, leg->in_flight, now, &len)) == NULL)
			return NULL;
		md[i + 1].key = grpc_slice_from_static_string(SG_TRAILER_LEG);
		md[i + 1].value = grpc_slice_from_static_buffer(buf, len);
	}
	*n_out = n_legs + 1;
	return md;
}

/* "all 4 legs failed: leg 0 ipv4:... UNAVAILABLE (failed to connect); leg 1 ..." naming the legs
 * that did not answer OK, truncated to CALL_MESSAGE_MAX. */
static const char *call_failure_message(sg__call *c, const char *head)
{
	char *msg = sg__arena_alloc(&c->arena, CALL_MESSAGE_MAX);
	size_t used, n_legs = c->f->group->n;
	const char *sep = ": ";

	if (msg == NULL)
		return "legs failed";
	used = (size_t)snprintf(msg, CALL_MESSAGE_MAX, "%s", head);
	for (size_t i = 0; i < n_legs && used < CALL_MESSAGE_MAX; i++) {
		const sg__leg *leg = &c->legs[i];
		grpc_status_code st = leg->in_flight ? GRPC_STATUS_CANCELLED : leg->status;

		if (st == GRPC_STATUS_OK)
			continue;
		used += (size_t)snprintf(msg + used, CALL_MESSAGE_MAX - used,
		                         "%sleg %zu %s %s (%s)", sep, i, leg->backend->target,
		                         sg_status_name(st),
		                         leg->in_flight ? "cut short" : leg->message);
		sep = "; ";
	}
	return msg;
}

/* The OK legs' answers merged and encoded into c->response. */
static sg_err call_merge(sg__call *c, const sg_legs_summary *sum)
{
	const ProtobufCMessage **in;
	ProtobufCMessage *out;
	size_t n = 0;
	sg_err rv;

	if ((in = sg__arena_alloc(&c->arena, sum->ok * sizeof(*in))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < c->f->group->n; i++) {
		if (!c->legs[i].in_flight && c->legs[i].response != NULL)
			in[n++] = c->legs[i].response;
	}
	rv = sg__merge_run(&c->f->plan, c->request, in, n, sum, &c->arena, &out);
	if (rv != SG_OK)
		return rv;
	/* Packed straight into gRPC's slice: the bytes are copied once, not twice. */
	return sg__bytes_encode(out, &c->response);
}

/* The gather is done: cut the other legs short and answer with what there is. */
static void call_finish(sg__call *c)
{
	const sg_partial_desc *partial = &c->f->m->partial;
	sg_legs_summary sum = {.total = (uint32_t)c->f->group->n, .ok = c->gather.ok};
	grpc_status_code code = GRPC_STATUS_OK;
	const char *message = NULL;
	grpc_metadata *trailers;
	size_t n_trailers = 0;
	char head[96];
	sg_err rv;

	sum.failed = sum.total - sum.ok;
	for (uint32_t i = 0; i < c->legs_started; i++)
		sg__leg_cancel(&c->legs[i]);
	trailers = call_trailers(c, &sum, &n_trailers);
	if (sum.ok == 0) {
		snprintf(head, sizeof(head), "all %u legs failed", sum.total);
		code = GRPC_STATUS_UNAVAILABLE;
		message = call_failure_message(c, head);
	} else if (sum.failed > 0 && !partial->allow) {
		snprintf(head, sizeof(head), "%u of %u legs failed", sum.failed, sum.total);
		code = GRPC_STATUS_UNAVAILABLE;
		message = call_failure_message(c, head);
	} else if ((rv = call_merge(c, &sum)) != SG_OK) {
		code = GRPC_STATUS_INTERNAL;
		message = rv == SG_ENOMEM ? "merge: out of memory" : "merge failed";
		sg__log(SG_LOG_ERROR, "%s: merge failed: %s", c->f->m->path, sg_strerror(rv));
	}
	call_send(c, code, message, trailers, trailers != NULL ? n_trailers : 0);
}

static void call_leg_done(sg__leg *leg, void *arg)
{
	sg__call *c = arg;

	if (leg->status == GRPC_STATUS_OK) {
		c->gather.ok++;
	} else {
		c->gather.failed++;
		sg__stats_inc(&c->w->stats->legs_failed);
	}
	if (!c->answered && c->f->gather->done(&c->f->m->gather, &c->gather))
		call_finish(c);
	call_unref(c);
}

static void call_start_legs(sg__call *c, int64_t deadline_ns)
{
	const sg__group *g = c->f->group;
	sg__leg_ctx *ctx = &c->leg_ctx;

	ctx->parent = c->call;
	ctx->cq = c->w->cq;
	ctx->method = grpc_slice_from_static_string(c->f->m->backend_path);
	ctx->deadline = sg__timespec_from_ns(deadline_ns);
	ctx->request = c->payload;
	ctx->response = c->f->m->response;
	ctx->arena = &c->arena;
	ctx->done = call_leg_done;
	ctx->arg = c;
	c->gather.total = (uint32_t)g->n;
	for (uint32_t i = 0; i < g->n; i++) {
		/* Each leg holds a reference until it ends, started or not. */
		c->refs++;
		sg__stats_inc(&c->w->stats->legs_started);
		(void)sg__leg_start(&c->legs[i], ctx, i, g->legs[i]);
		c->legs_started++;
	}
	/* Legs that could not start end here, after every leg has started, so that the gather
	 * never finishes in the middle of the loop. No leg completes from inside this function
	 * (completions come from the queue), so "not in flight" means "did not start". */
	for (uint32_t i = 0; i < g->n; i++) {
		if (!c->legs[i].in_flight) {
			sg__log(SG_LOG_WARN, "leg %u %s: %s", i, g->legs[i]->target,
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

void sg__call_accept(sg__worker *w, const sg__fanout *f, grpc_call *call, gpr_timespec deadline,
                     grpc_byte_buffer *payload)
{
	size_t n = f->group->n;
	sg__call *c = calloc(1, sizeof(*c) + n * sizeof(sg__leg));
	int64_t now, leg_deadline;

	if (c == NULL) {
		sg__log(SG_LOG_ERROR, "%s: out of memory for a call", f->m->path);
		grpc_call_cancel_with_status(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory",
		                             NULL);
		grpc_call_unref(call);
		if (payload != NULL)
			grpc_byte_buffer_destroy(payload);
		return;
	}
	c->close_op.complete = call_close_complete;
	c->send_op.complete = call_send_complete;
	c->w = w;
	c->f = f;
	c->call = call;
	c->payload = payload;
	c->refs = 1; /* held until this function returns */
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
	now = sg__now_ns();
	leg_deadline = sg__leg_deadline(now, f->m->deadline_ms, sg__ns_from_timespec(deadline),
	                                f->m->margin_ms);
	if (leg_deadline <= now) {
		call_reject(c, GRPC_STATUS_DEADLINE_EXCEEDED,
		            "no time left for legs (deadline margin %u ms)", f->m->margin_ms);
		goto out;
	}
	call_start_legs(c, leg_deadline);
out:
	call_unref(c);
}
