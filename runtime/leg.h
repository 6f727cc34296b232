/*
 * leg.h (internal): one backend call of a fan-out call.
 *
 * A leg is one or more attempts, each one grpc_call with the server call as parent (so the
 * deadline and cancellation propagate) and ONE batch: send initial metadata, the request bytes,
 * close; receive initial metadata, the answer, the status. Most legs are one attempt. A leg
 * whose route allows it (idempotent backends, hedge.h) may also send:
 *   - a hedge: once the hedge delay has passed with the first attempt unanswered, the same
 *     request to the shard's next replica; the first good answer wins, the other is cancelled;
 *   - retries: after a transient failure (retry.h), after a backoff, to the next replica.
 * At most two attempts are in flight at once, and both hedges and retries draw on the first
 * attempt's backend's token budget (budget.h). The leg ends (ctx->done) once it has its outcome
 * and no attempt or timer of its own is left, so the caller never sees an attempt outlive it.
 *
 * Legs live in an array inside their call (no allocation of their own); what they decode goes
 * into the call's arena. A leg reports its end through a (cb, arg) pair, so it does not know
 * what a call is. Everything runs on the call's worker.
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
#include "guard.h"
#include "hedge.h"
#include "op.h"
#include "scatter/error.h"
#include "stats.h"
#include "timer.h"
#include "wire.h"

typedef struct sg__leg sg__leg;

/* One leg of a method, resolved at server start (target, path, names); read-only while
 * serving, shared by every call of the method. */
typedef struct sg__leg_route {
	const char *name;           /* "<group>/<i>" or the table leg's name */
	const sg__backend *backend; /* the shard's first replica */
	sg__shard *shard;           /* its replicas (rotation: atomics) */
	grpc_slice method;          /* the backend path; a static slice */
	const ProtobufCMessageDescriptor *response;
	uint32_t deadline_ms; /* the leg's own budget; 0: the method's */
	bool optional;        /* heterogeneous: failure leaves the answer's field unset */
	bool required;        /* heterogeneous and not optional: failure fails the call */
	sg__tail_policy tail; /* hedging and retries (none unless idempotent) */
} sg__leg_route;

/* What every leg of one call shares. Borrowed by the legs for their whole life. */
typedef struct sg__leg_ctx {
	grpc_call *parent; /* the server call */
	grpc_completion_queue *cq;
	sg__arena *arena; /* where answers and messages are decoded */
	/* Non-NULL: leave OK answers encoded (sg__fanout.lazy): copied into the arena, checked
	 * and their elements scored (wire.h) into leg->scored; leg->response stays NULL. */
	const sg__wire_pick *pick;
	sg__timer_heap *timers; /* the worker's: hedge delays, retry backoffs */
	sg__stats *stats;       /* the server's: hedges and retries counted */
	/* Metadata every leg sends (the allowed incoming entries, see forward.h); may be NULL. */
	grpc_metadata *md;
	size_t n_md;
	/* Called on the worker once the leg has ended, however it ended. leg->bytes is valid
	 * during the call only. The callback may free the leg's storage. */
	void (*done)(sg__leg *leg, void *arg);
	void *arg;
} sg__leg_ctx;

/* One grpc_call of a leg. */
typedef struct sg__attempt {
	sg__op op;
	sg__leg *leg;
	sg__backend *backend;
	grpc_call *call; /* while in flight */
	grpc_byte_buffer *send;
	grpc_byte_buffer *recv;
	grpc_metadata_array initial_md;
	grpc_metadata_array trailing_md;
	grpc_slice details;
	grpc_status_code status;
	int64_t started_ns;
	bool in_flight;
	bool hedge;     /* sent as the leg's hedge */
	bool retry;     /* sent as a retry */
	bool cancelled; /* cancelled by the leg: lost the race, or the leg was cancelled */
	/* Its backend's guard let it go (guard.h): given back when it ends. */
	sg__guard_pass pass;
	bool undecodable; /* the backend said OK, its answer did not decode */
} sg__attempt;

struct sg__leg {
	const sg__leg_ctx *ctx;
	const sg__leg_route *route;
	uint32_t index;
	sg__attempt att[2];
	grpc_byte_buffer *request; /* the leg's reference, for hedges and retries */
	sg__timer timer;           /* the hedge delay or a retry's backoff */
	int64_t started_ns;
	int64_t deadline_ns;
	uint32_t first_replica; /* the shard's replica of the first attempt */
	uint32_t n_attempts;    /* started: the first, the hedge, retries */
	uint32_t n_retries;
	uint8_t timer_kind; /* what timer is for (leg.c) */
	bool in_flight;     /* started and not yet ended (ctx->done not yet called) */
	bool decided;       /* the outcome below is final (an answer won, or no attempt is left) */
	bool stopping;      /* sg__leg_cancel ran: no new attempt */
	bool cut;           /* cancelled by the gather (not by the client or its own deadline) */
	bool hedged;        /* the outcome came from the hedge */
	/* Resilience: whether the leg's deadline was the client's (then running out of time is not
	 * the backend's fault, and its breaker does not count it; set by the caller after start),
	 * and why the first attempt's guard refused the leg, for the trailers ("circuit_open",
	 * "over_max_in_flight"), or NULL. */
	bool client_bound;
	const char *note;
	/* The outcome, set when the leg ends. */
	const sg__backend *backend; /* where it came from (the route's first replica if none) */
	grpc_status_code status;
	const char *message;        /* status details or why the answer was refused; in the arena */
	ProtobufCMessage *response; /* decoded, in the arena, when status is OK (not encoded) */
	/* The raw answer, during ctx->done only (NULL if none); with ctx->pick, a checked copy
	 * in the arena, for the call's life, and its elements scored (views of it). */
	const uint8_t *bytes;
	size_t len;
	sg__wire_scored *scored;
	size_t n_scored;
	grpc_byte_buffer *answer; /* what bytes view (or NULL), until ctx->done returns */
	int64_t latency_us;
};

/* Starts leg (zeroed storage) as leg `index` along route (borrowed), sending request
 * (borrowed: the leg takes its own reference) with deadline. On SG_OK the leg is in flight and
 * ctx->done runs when it ends. On failure nothing is in flight, the outcome says why and
 * ctx->done is not called: the caller accounts for the leg itself. SG_ESTATE: the target's
 * guard refused the leg (breaker open: UNAVAILABLE "circuit open"; over max_in_flight:
 * RESOURCE_EXHAUSTED), without touching the network. */
sg_err sg__leg_start(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                     const sg__leg_route *route, grpc_byte_buffer *request, gpr_timespec deadline);

/* Records why a leg could not even be started (no time left, no request): status and message
 * (static or in the arena), without a call. */
void sg__leg_refuse(sg__leg *leg, const sg__leg_ctx *ctx, uint32_t index,
                    const sg__leg_route *route, grpc_status_code status, const char *message);

/* Asks an in-flight leg to stop: its attempts are cancelled, no new one starts; it still ends
 * through ctx->done (status CANCELLED unless an answer had already won), never from inside
 * this function. */
void sg__leg_cancel(sg__leg *leg);

#endif
