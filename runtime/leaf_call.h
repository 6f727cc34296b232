/*
 * leaf_call.h (internal): serving leaf methods (scatter/leaf.h is the handlers' side).
 */
#ifndef SG_LEAF_CALL_H
#define SG_LEAF_CALL_H

#include <grpc/grpc.h>

#include "scatter/server.h"
#include "worker.h"

/* A served leaf method; read-only while serving. */
typedef struct sg__leaf_method {
	const sg_leaf_desc *d; /* borrowed (generated tables are static) */
	sg_leaf_fn fn;
	const void *handlers;
	void *arg;
	void *registered; /* grpc_server_register_method's handle */
	/* libscatter's own method (scatter.Stats): its calls change no counter, so that reading
	 * the counters does not move them. */
	bool builtin;
} sg__leaf_method;

/* sg_server_add_leaf for a method libscatter serves itself (defined in server.c): the same
 * checks, but its calls are not counted. m and arg are borrowed for the server's life. */
sg_err sg__server_add_builtin(sg_server *s, const sg_leaf_desc *m, sg_leaf_fn fn, void *arg);

/* Serves one call of lm on w (the calling worker): decodes the request and runs the handler.
 * Takes ownership of call, payload (NULL when the client sent no message) and md, the call's
 * received metadata (moved out: *md is left empty). */
void sg__leaf_accept(sg__worker *w, const sg__leaf_method *lm, grpc_call *call,
                     grpc_byte_buffer *payload, grpc_metadata_array *md);

#endif
