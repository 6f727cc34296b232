/*
 * call.h (internal): one aggregate (fan-out) call, from accept to answer.
 *
 * Accepted on a worker, a call decodes the request into its arena, starts one leg per target
 * of its group, feeds each leg's end to the gather strategy, and when the strategy is done
 * cancels the legs still in flight, merges the OK answers and sends the answer with the
 * per-leg trailers. It lives until every leg, its answer batch and its RECV_CLOSE_ON_SERVER
 * have completed (a refcount, touched only by its worker).
 */
#ifndef SG_CALL_H
#define SG_CALL_H

#include <grpc/grpc.h>

#include "backend.h"
#include "gather.h"
#include "merge.h"
#include "scatter/method.h"
#include "worker.h"

/* A served fan-out method, resolved at registration and start; read-only while serving. */
typedef struct sg__fanout {
	const sg_method_desc *m; /* borrowed (generated tables are static) */
	sg__merge_plan plan;
	const sg__gather_ops *gather;
	const sg__group *group; /* set at start */
	void *registered;       /* grpc_server_register_method's handle */
} sg__fanout;

/* Serves one call of f on w (the calling worker). Takes ownership of call and of payload (NULL
 * when the client sent no message). deadline is the client's, any clock, infinite for none. */
void sg__call_accept(sg__worker *w, const sg__fanout *f, grpc_call *call, gpr_timespec deadline,
                     grpc_byte_buffer *payload);

#endif
