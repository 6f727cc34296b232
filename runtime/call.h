/*
 * call.h (internal): one aggregate (fan-out) call, from accept to answer.
 *
 * Accepted on a worker, a call decodes the request into its arena, starts one leg per route of
 * its method (per target of the group, or per heterogeneous leg), feeds each leg's end (and the
 * strategy's timer) to the gather strategy, and when the strategy is done (or a required
 * heterogeneous leg failed: that failure is the answer) cuts the legs still in flight short,
 * merges and sends the answer with the per-leg trailers. It lives until every
 * leg, its answer batch and its RECV_CLOSE_ON_SERVER have completed (a refcount, touched only
 * by its worker).
 */
#ifndef SG_CALL_H
#define SG_CALL_H

#include <grpc/grpc.h>

#include "fanout.h"
#include "worker.h"

/* Serves one call of f on w (the calling worker). Takes ownership of call, of payload (NULL
 * when the client sent no message) and of md, the call's received metadata (moved out: *md is
 * left empty). deadline is the client's, any clock, infinite for none. */
void sg__call_accept(sg__worker *w, const sg__fanout *f, grpc_call *call, gpr_timespec deadline,
                     grpc_byte_buffer *payload, grpc_metadata_array *md);

#endif
