/*
 * leg.h (internal): one backend call of a fan-out call.
 *
 * A leg is one grpc_call with the server call as parent (so the deadline and cancellation
 * propagate) and ONE batch: send initial metadata, the request bytes, close; receive initial
 * metadata, the answer, the status. Legs live in an array inside their call (no allocation of
 * their own); what they decode goes into the call's arena. A leg reports its end through a
 * (cb, arg) pair, so it does not know what a call is.
 */
#ifndef SG_LEG_H
#define SG_LEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "backend.h"
#include "metrics.h"
#include "op.h"
#include "scatter/error.h"

typedef struct sg__leg sg__leg;

/* One leg of a method, resolved at server start (target, path, names); read-only while
 * serving, shared by every call of the method. */
typedef struct sg__leg_route {
	const char *name;           /* "<group>/<i>" or the table leg's name */
	const sg__backend *backend; /* the one target */
	grpc_slice method;          /* the backend path; a static slice */
	const ProtobufCMessageDescriptor *response;
	uint32_t deadline_ms;        /* the leg's own budget; 0: the method's */
	bool optional;               /* heterogeneous: failure leaves the answer's field unset */
	bool required;               /* heterogeneous and not optional: failure fails the call */
	sg__target_metrics *metrics; /* (group, target)'s counters; NULL: not counted */
} sg__leg_route;

/* What every leg of one call shares. Borrowed by the legs for their whole life. */
typedef struct sg__leg_ctx {
	grpc_call *parent; /* the server call */
	grpc_completion_queue *cq;
	sg__arena *arena; /* where answers and messages are decoded */
	/* Called on the worker once the leg has ended, however it ended. leg->bytes is valid
	 * during the call only. The callback may free the leg's storage. */
	void (*done)(sg__leg *leg, void *arg);
	void *arg;
} sg__leg_ctx;

struct sg__leg {
	sg__op op;
	const sg__leg_ctx *ctx;
	const sg__leg_route *route;
	uint32_t index;
	grpc_call *call; /* while in flight */
	grpc_byte_buffer *send;
	grpc_byte_buffer *recv;
	grpc_metadata_array initial_md;
	grpc_metadata_array trailing_md;
	grpc_slice details;
	int64_t started_ns;
	bool in_flight;
	bool cut; /* cancelled by the gather (not by the client or its own deadline) */
	/* The outcome, set when the leg ends. */
	grpc_status_code status;
	const char *message;        /* status details or why the answer was refused; in the arena */
	ProtobufCMessage *response; /* decoded, in the arena, when status is OK */
	const uint8_t *bytes;       /* the raw answer, during ctx->done only (NULL if none) */
	size_t len;
	int64_t latency_us;
};

/* Starts leg (zeroed storage) as leg `index` along route (borrowed), sending request
 * (borrowed: the leg takes its own reference) with deadline. On SG_OK the leg is in flight and
 * ctx->done runs when it ends. On failure nothing is in flight, the outcome says why and
 * ctx->done is not called: the caller accounts for the leg itself. */
sg_err sg__leg_start(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                     const sg__leg_route *route, grpc_byte_buffer *request, gpr_timespec deadline);

/* Records why a leg could not even be started (no time left, no request): status and message
 * (static or in the arena), without a call. */
void sg__leg_refuse(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                    const sg__leg_route *route, grpc_status_code status, const char *message);

/* Asks an in-flight leg to stop; it still ends through ctx->done (status CANCELLED). */
void sg__leg_cancel(sg__leg *leg);

#endif
