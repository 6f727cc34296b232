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

static void leg_init(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                     const sg__leg_route *route)
{
	memset(leg, 0, sizeof(*leg));
	leg->op.complete = leg_complete;
	leg->ctx = ctx;
	leg->route = route;
	leg->index = index;
	leg->started_ns = sg__now_ns();
	leg->status = GRPC_STATUS_UNKNOWN;
	leg->message = "";
	leg->details = grpc_empty_slice();
}

void sg__leg_refuse(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                    const sg__leg_route *route, grpc_status_code status, const char *message)
{
	leg_init(leg, ctx, index, route);
	leg->status = status;
	leg->message = message != NULL ? message : "";
	sg__metrics_leg_refused(route->metrics, status);
}

sg_err sg__leg_start(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                     const sg__leg_route *route, grpc_byte_buffer *request, gpr_timespec deadline)
{
	grpc_op ops[6];
	grpc_call_error err;

	leg_init(leg, ctx, index, route);
	grpc_metadata_array_init(&leg->initial_md);
	grpc_metadata_array_init(&leg->trailing_md);
	leg->call = grpc_channel_create_call(route->backend->channel, ctx->parent,
	                                     GRPC_PROPAGATE_DEFAULTS, ctx->cq, route->method, NULL,
	                                     deadline, NULL);
	if (leg->call == NULL) {
		leg_fail(leg, GRPC_STATUS_INTERNAL, "could not create a call to %s",
		         route->backend->target);
		grpc_metadata_array_destroy(&leg->initial_md);
		grpc_metadata_array_destroy(&leg->trailing_md);
		sg__metrics_leg_refused(route->metrics, leg->status);
		return SG_EGRPC;
	}
	/* A refcounted copy: the slices are shared, the bytes never copied or re-encoded. */
	leg->send = grpc_byte_buffer_copy(request);

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
		sg__metrics_leg_refused(route->metrics, leg->status);
		return SG_EGRPC;
	}
	leg->in_flight = true;
	sg__metrics_leg_start(route->metrics);
	return SG_OK;
}

void sg__leg_cancel(sg__leg *leg)
{
	if (leg->in_flight)
		grpc_call_cancel(leg->call, NULL);
}

/* Turns what the batch received into the outcome: an OK without a decodable answer is a failed
 * leg (INTERNAL), never a crash and never an empty success. leg->bytes views recv (or a copy
 * in the arena). */
static void leg_settle(sg__leg *leg)
{
	const sg__leg_ctx *ctx = leg->ctx;
	const ProtobufCMessageDescriptor *desc = leg->route->response;

	leg->latency_us = (sg__now_ns() - leg->started_ns) / 1000;
	leg->message = leg_strdup_slice(ctx->arena, leg->details);
	if (leg->recv != NULL &&
	    sg__bytes_flatten(leg->recv, ctx->arena, &leg->bytes, &leg->len) != SG_OK) {
		leg->bytes = NULL;
		leg->len = 0;
		if (leg->status == GRPC_STATUS_OK) {
			leg_fail(leg, GRPC_STATUS_INTERNAL, "response of %s cannot be read",
			         desc->name);
			return;
		}
	}
	if (leg->status != GRPC_STATUS_OK)
		return;
	if (leg->recv == NULL) {
		leg_fail(leg, GRPC_STATUS_INTERNAL, "OK without a %s", desc->name);
		return;
	}
	/* protobuf-c copies strings and bytes out: the message does not borrow recv. */
	leg->response = protobuf_c_message_unpack(desc, sg__arena_allocator(ctx->arena), leg->len,
	                                          leg->bytes);
	if (leg->response == NULL)
		leg_fail(leg, GRPC_STATUS_INTERNAL, "response does not decode as %s", desc->name);
}

static void leg_complete(sg__op *op, bool ok)
{
	sg__leg *leg = sg__container_of(op, sg__leg, op);
	grpc_byte_buffer *recv;

	if (!ok) {
		/* A client batch only fails when the core itself is broken; say so, keep going. */
		sg__log(SG_LOG_WARN, "leg %u %s: batch failed", leg->index,
		        leg->route->backend->target);
		leg->status = GRPC_STATUS_INTERNAL;
	}
	leg_settle(leg);
	sg__metrics_leg_end(leg->route->metrics, leg->status, leg->latency_us);
	grpc_slice_unref(leg->details);
	leg->details = grpc_empty_slice();
	grpc_byte_buffer_destroy(leg->send);
	leg->send = NULL;
	/* The answer's bytes outlive the callback (the gather may compare them) and no more:
	 * done may free the leg, so they are released from a local. */
	recv = leg->recv;
	leg->recv = NULL;
	grpc_metadata_array_destroy(&leg->initial_md);
	grpc_metadata_array_destroy(&leg->trailing_md);
	grpc_call_unref(leg->call);
	leg->call = NULL;
	leg->in_flight = false;
	if (sg__log_enabled(SG_LOG_DEBUG))
		sg__log(SG_LOG_DEBUG, "leg %u %s %s %s latency_us=%lld", leg->index,
		        leg->route->name, leg->route->backend->target, sg_status_name(leg->status),
		        (long long)leg->latency_us);
	leg->ctx->done(leg, leg->ctx->arg);
	if (recv != NULL)
		grpc_byte_buffer_destroy(recv);
}
