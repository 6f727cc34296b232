/*
 * accept.h (internal): the calls each worker has asked the server for.
 *
 * Each worker keeps a few requested calls outstanding per registered method (fan-out and leaf)
 * on its own queue, and one generic request for every other path, which it answers
 * UNIMPLEMENTED so that no call to an unknown method hangs. A slot re-arms as soon as it
 * delivers a call; when the server shuts down, the pending requests fail and the slots retire.
 */
#ifndef SG_ACCEPT_H
#define SG_ACCEPT_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "call.h"
#include "health.h"
#include "leaf_call.h"
#include "op.h"
#include "scatter/error.h"
#include "worker.h"

/* Requested calls outstanding per method per worker: enough that a burst of new calls does not
 * wait for a worker to re-arm, few enough to cost nothing. */
#define SG_ACCEPT_DEPTH 4

typedef enum sg__accept_kind {
	SG_ACCEPT_FANOUT,
	SG_ACCEPT_LEAF,
	SG_ACCEPT_UNKNOWN,
	SG_ACCEPT_HEALTH_CHECK,
	SG_ACCEPT_HEALTH_WATCH,
} sg__accept_kind;

typedef struct sg__accept {
	sg__op op;
	sg__worker *w;
	sg__accept_kind kind;
	const sg__fanout *fanout;    /* SG_ACCEPT_FANOUT */
	const sg__leaf_method *leaf; /* SG_ACCEPT_LEAF */
	const sg__health *health;    /* SG_ACCEPT_HEALTH_* */
	/* Filled by the server when a call arrives. */
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	grpc_call_details details; /* SG_ACCEPT_UNKNOWN */
} sg__accept;

/* Ends an accepted call that will not be served (over a cap, out of memory): cancels it with
 * code and message (static), and releases what came with it. Takes ownership of call, payload
 * and md (either may be NULL). */
void sg__accept_refuse(grpc_call *call, grpc_status_code code, const char *message,
                       grpc_byte_buffer *payload, grpc_metadata_array *md);

/* Allocates w's slots for every method (borrowed for the server's life) and for health's Check
 * and Watch (health may be NULL: not served), and arms them. Call after grpc_server_start. */
sg_err sg__accept_start(sg__worker *w, sg__fanout *const *fanouts, size_t n_fanouts,
                        sg__leaf_method *const *leaves, size_t n_leaves, const sg__health *health);

/* Frees w's slots; only once w's queue has drained (every slot's request has completed). */
void sg__accept_fini(sg__worker *w);

#endif
