/*
 * leg.c: one backend call.
 */
#include "leg.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "deadline.h"
#include "log.h"
#include "scatter/trailer.h"

static void leg_complete(sg__op *op, bool ok);

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

sg_err sg__leg_start(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                     const sg__backend *backend)
{
	grpc_op ops[6];
	grpc_call_error err;

	memset(leg, 0, sizeof(*leg));
	leg->op.complete = leg_complete;
	leg->ctx = ctx;
	leg->index = index;
	leg->backend = backend;
	leg->started_ns = sg__now_ns();
	leg->status = GRPC_STATUS_UNKNOWN;
	leg->message = "";
	grpc_metadata_array_init(&leg->initial_md);
	grpc_metadata_array_init(&leg->trailing_md);
	leg->details = grpc_empty_slice();

	leg->call = grpc_channel_create_call(backend->channel, ctx->parent, GRPC_PROPAGATE_DEFAULTS,
	                                     ctx->cq, ctx->method, NULL, ctx->deadline, NULL);
	if (leg->call == NULL) {
		leg_fail(leg, GRPC_STATUS_INTERNAL, "could not create a call to %s",
		         backend->target);
		return SG_EGRPC;
	}
	/* A refcounted copy: the slices are shared, the bytes never copied or re-encoded. */
	leg->send = grpc_byte_buffer_copy(ctx->request);

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = leg->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &leg->initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &leg->recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &leg->trailing_md;
	ops[5].data.recv_status_on_client.status = &leg->status;
	ops[5].data.recv_status_on_client.status_details = &leg->details;
	err = grpc_call_start_batch(leg->call, ops, 6, &leg->op, NULL);
	if (err != GRPC_CALL_OK) {
		leg_fail(leg, GRPC_STATUS_INTERNAL, "could not start the call: %s",
		         grpc_call_error_to_string(err));
		grpc_byte_buffer_destroy(leg->send);
		leg->send = NULL;
		grpc_metadata_array_destroy(&leg->initial_md);
		grpc_metadata_array_destroy(&leg->trailing_md);
		grpc_call_unref(leg->call);
		leg->call = NULL;
		return SG_EGRPC;
	}
	leg->in_flight = true;
	return SG_OK;
}

void sg__leg_cancel(sg__leg *leg)
{
	if (leg->in_flight)
		grpc_call_cancel(leg->call, NULL);
}

/* Turns what the batch received into the outcome: an OK without a decodable answer is a failed
 * leg (INTERNAL), never a crash and never an empty success. */
static void leg_settle(sg__leg *leg)
{
	const sg__leg_ctx *ctx = leg->ctx;

	leg->latency_us = (sg__now_ns() - leg->started_ns) / 1000;
	leg->message = leg_strdup_slice(ctx->arena, leg->details);
	if (leg->recv != NULL)
		leg->bytes = grpc_byte_buffer_length(leg->recv);
	if (leg->status != GRPC_STATUS_OK)
		return;
	if (sg__bytes_decode(leg->recv, ctx->response, sg__arena_allocator(ctx->arena), ctx->arena,
	                     &leg->response) != SG_OK) {
		leg->response = NULL;
		leg_fail(leg, GRPC_STATUS_INTERNAL, "response does not decode as %s",
		         ctx->response->name);
	}
}

static void leg_complete(sg__op *op, bool ok)
{
	sg__leg *leg = sg__container_of(op, sg__leg, op);

	if (!ok) {
		/* A client batch only fails when the core itself is broken; say so, keep going. */
		sg__log(SG_LOG_WARN, "leg %u %s: batch failed", leg->index, leg->backend->target);
		leg->status = GRPC_STATUS_INTERNAL;
	}
	leg_settle(leg);
	grpc_slice_unref(leg->details);
	leg->details = grpc_empty_slice();
	grpc_byte_buffer_destroy(leg->send);
	leg->send = NULL;
	if (leg->recv != NULL)
		grpc_byte_buffer_destroy(leg->recv);
	leg->recv = NULL;
	grpc_metadata_array_destroy(&leg->initial_md);
	grpc_metadata_array_destroy(&leg->trailing_md);
	grpc_call_unref(leg->call);
	leg->call = NULL;
	leg->in_flight = false;
	if (sg__log_enabled(SG_LOG_DEBUG))
		sg__log(SG_LOG_DEBUG, "leg %u %s %s latency_us=%lld", leg->index,
		        leg->backend->target, sg_status_name(leg->status),
		        (long long)leg->latency_us);
	leg->ctx->done(leg, leg->ctx->arg);
}
