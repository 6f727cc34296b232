/*
 * leaf.c: leaf calls, and the functions their handlers end them with.
 *
 * A leaf call holds references for: the accept (while the handler runs), RECV_CLOSE_ON_SERVER
 * (to learn of cancellation), a pending delayed reply (its timer), and the reply batch. It is
 * freed when the last one goes, so neither a cancel nor a late timer ever frees it under a
 * handler or a batch.
 */
#include "scatter/leaf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "bytes.h"
#include "deadline.h"
#include "leaf_call.h"
#include "log.h"
#include "op.h"
#include "timer.h"

#define LEAF_ARENA_FIRST 2048

struct sg_leaf_call {
	sg__op close_op;
	sg__op send_op;
	sg__worker *w;
	const sg__leaf_method *lm;
	grpc_call *call;
	grpc_byte_buffer *payload;
	grpc_metadata_array md; /* received; slices are the call's */
	int cancelled;          /* written by RECV_CLOSE_ON_SERVER */
	unsigned refs;
	bool ended;     /* the handler ended the call (reply or fail) */
	bool sent;      /* the reply batch was started */
	bool delivered; /* ... and completed OK: the client had not left */
	bool closed;    /* RECV_CLOSE_ON_SERVER completed: too late to send */
	/* The reply, encoded when the handler ends the call, sent now or when the timer fires. */
	grpc_status_code status;
	char *details; /* in the arena, may be NULL */
	grpc_byte_buffer *reply;
	sg__timer timer;
	sg__arena arena;
};

static void leaf_free(sg_leaf_call *lc)
{
	/* Counted here, once every batch has completed: a call can arrive already cancelled (a
	 * gather cut its leg short on the way), with no request to decode; the handler's reply,
	 * or the INVALID_ARGUMENT, then goes nowhere, and the call still counts as cancelled. */
	if (lc->cancelled && !lc->delivered && !lc->lm->builtin)
		sg__stats_inc(&lc->w->stats->calls_cancelled);
	if (lc->payload != NULL)
		grpc_byte_buffer_destroy(lc->payload);
	if (lc->reply != NULL)
		grpc_byte_buffer_destroy(lc->reply);
	grpc_metadata_array_destroy(&lc->md);
	grpc_call_unref(lc->call);
	sg__arena_fini(&lc->arena);
	lc->w->live--;
	free(lc);
}

static void leaf_unref(sg_leaf_call *lc)
{
	if (--lc->refs == 0)
		leaf_free(lc);
}

static void leaf_send_complete(sg__op *op, bool ok)
{
	sg_leaf_call *lc = sg__container_of(op, sg_leaf_call, send_op);

	lc->delivered = ok; /* !ok: the client left first */
	leaf_unref(lc);
}

static void leaf_send(sg_leaf_call *lc)
{
	grpc_slice details = grpc_slice_from_static_string(lc->details != NULL ? lc->details : "");
	grpc_op ops[3];
	size_t n = 0;
	grpc_call_error err;

	lc->sent = true;
	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (lc->reply != NULL) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = lc->reply;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = lc->status;
	ops[n++].data.send_status_from_server.status_details =
	        lc->details != NULL ? &details : NULL;
	lc->refs++;
	err = grpc_call_start_batch(lc->call, ops, n, &lc->send_op, NULL);
	if (err != GRPC_CALL_OK) {
		sg__log(SG_LOG_WARN, "%s: could not send the reply: %s", lc->lm->d->path,
		        grpc_call_error_to_string(err));
		lc->refs--;
	}
}

static void leaf_timer_fired(void *arg)
{
	sg_leaf_call *lc = arg;

	leaf_send(lc);
	leaf_unref(lc); /* the timer's reference */
}

/* Every way a handler ends a call comes here, with the reply already encoded (taken). */
static void leaf_end(sg_leaf_call *lc, grpc_status_code status, const char *details,
                     grpc_byte_buffer *reply, uint32_t delay_ms)
{
	if (lc->ended || lc->closed) {
		/* A second end is a handler bug; an end after close cannot happen from the worker
		 * thread but is harmless: drop the reply either way. */
		if (lc->ended)
			sg__log(SG_LOG_ERROR, "%s: handler ended its call twice; reply dropped",
			        lc->lm->d->path);
		if (reply != NULL)
			grpc_byte_buffer_destroy(reply);
		return;
	}
	lc->ended = true;
	lc->status = status;
	lc->details = details != NULL ? sg__arena_strdup(&lc->arena, details) : NULL;
	lc->reply = reply;
	if (delay_ms == 0) {
		leaf_send(lc);
		return;
	}
	lc->refs++;
	if (sg__timer_start(&lc->w->timers, &lc->timer,
	                    sg__now_ns() + (int64_t)delay_ms * INT64_C(1000000), leaf_timer_fired,
	                    lc) != SG_OK) {
		/* Out of memory for the heap: answer now rather than never. */
		lc->refs--;
		leaf_send(lc);
	}
}

void sg_leaf_reply(sg_leaf_call *call, const ProtobufCMessage *msg)
{
	sg_leaf_reply_after(call, msg, 0);
}

void sg_leaf_reply_after(sg_leaf_call *call, const ProtobufCMessage *msg, uint32_t delay_ms)
{
	grpc_byte_buffer *bb;

	if (call == NULL)
		return;
	if (msg == NULL || sg__bytes_encode(msg, &bb) != SG_OK) {
		leaf_end(call, GRPC_STATUS_INTERNAL, "reply does not encode", NULL, 0);
		return;
	}
	leaf_end(call, GRPC_STATUS_OK, NULL, bb, delay_ms);
}

void sg_leaf_reply_bytes(sg_leaf_call *call, const uint8_t *bytes, size_t len, uint32_t delay_ms)
{
	grpc_byte_buffer *bb;

	if (call == NULL)
		return;
	if ((bytes == NULL && len > 0) || (bb = sg__bytes_copy(bytes, len)) == NULL) {
		leaf_end(call, GRPC_STATUS_INTERNAL, "reply bytes missing", NULL, 0);
		return;
	}
	leaf_end(call, GRPC_STATUS_OK, NULL, bb, delay_ms);
}

void sg_leaf_fail(sg_leaf_call *call, grpc_status_code code, const char *message)
{
	if (call == NULL)
		return;
	leaf_end(call, code, message, NULL, 0);
}

void *sg_leaf_alloc(sg_leaf_call *call, size_t size)
{
	return call != NULL ? sg__arena_alloc(&call->arena, size) : NULL;
}

/* A NUL-terminated copy of s in the arena, or NULL. */
static char *leaf_slice_dup(sg_leaf_call *lc, grpc_slice s)
{
	size_t len = GRPC_SLICE_LENGTH(s);
	char *p = sg__arena_alloc(&lc->arena, len + 1);

	if (p != NULL) {
		memcpy(p, GRPC_SLICE_START_PTR(s), len);
		p[len] = '\0';
	}
	return p;
}

sg_err sg_leaf_metadata(sg_leaf_call *call, const sg_metadata_entry **entries, size_t *n)
{
	sg_metadata_entry *e;
	size_t count;

	if (call == NULL || entries == NULL || n == NULL)
		return SG_EINVAL;
	*entries = NULL;
	*n = 0;
	if ((count = call->md.count) == 0)
		return SG_OK;
	if ((e = sg__arena_alloc(&call->arena, count * sizeof(*e))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const grpc_metadata *m = &call->md.metadata[i];

		e[i].key = leaf_slice_dup(call, m->key);
		e[i].value = leaf_slice_dup(call, m->value);
		e[i].value_len = GRPC_SLICE_LENGTH(m->value);
		if (e[i].key == NULL || e[i].value == NULL)
			return SG_ENOMEM;
	}
	*entries = e;
	*n = count;
	return SG_OK;
}

static void leaf_close_complete(sg__op *op, bool ok)
{
	sg_leaf_call *lc = sg__container_of(op, sg_leaf_call, close_op);

	(void)ok;
	lc->closed = true;
	if (lc->cancelled && !lc->sent) {
		/* The client left before the reply went out: drop a pending reply; a handler that
		 * never replied is released here too (it cannot end the call any more: only the
		 * timer could, and there is none). */
		if (sg__timer_cancel(&lc->w->timers, &lc->timer))
			lc->refs--;
	}
	leaf_unref(lc);
}

void sg__leaf_accept(sg__worker *w, const sg__leaf_method *lm, grpc_call *call,
                     grpc_byte_buffer *payload, grpc_metadata_array *md)
{
	sg_leaf_call *lc = calloc(1, sizeof(*lc));
	ProtobufCMessage *request;
	grpc_op op;

	if (lc == NULL) {
		sg__log(SG_LOG_ERROR, "%s: out of memory for a call", lm->d->path);
		sg__accept_refuse(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", payload,
		                  md);
		return;
	}
	lc->md = *md;
	grpc_metadata_array_init(md);
	lc->close_op.complete = leaf_close_complete;
	lc->send_op.complete = leaf_send_complete;
	lc->w = w;
	lc->lm = lm;
	lc->call = call;
	lc->payload = payload;
	lc->refs = 1; /* held while the handler runs */
	sg__timer_init(&lc->timer);
	sg__arena_init(&lc->arena, LEAF_ARENA_FIRST);
	w->live++;
	if (!lm->builtin)
		sg__stats_inc(&w->stats->calls_started);

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &lc->cancelled;
	lc->refs++;
	if (grpc_call_start_batch(call, &op, 1, &lc->close_op, NULL) != GRPC_CALL_OK) {
		sg__log(SG_LOG_WARN, "%s: could not watch for cancellation", lm->d->path);
		lc->refs--;
	}

	if (sg__bytes_decode(payload, lm->d->request, sg__arena_allocator(&lc->arena), &lc->arena,
	                     &request) != SG_OK) {
		char msg[256];

		snprintf(msg, sizeof(msg), "request does not decode as %s", lm->d->request->name);
		leaf_end(lc, GRPC_STATUS_INVALID_ARGUMENT, msg, NULL, 0);
	} else {
		lm->fn(lc, request, lm->handlers, lm->arg);
	}
	leaf_unref(lc);
}
