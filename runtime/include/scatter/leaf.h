/*
 * scatter/leaf.h: ending a leaf call from its handler.
 *
 * A handler (sg_leaf_fn) runs on the worker that accepted the call and must end it exactly once
 * with one of these, either before it returns or later from a timer on that worker. The call
 * object stays valid until then, even if the client cancels: a cancelled call is ended by the
 * runtime only once the handler's reply (or its pending timer) is dropped, never under it.
 */
#ifndef SCATTER_LEAF_H
#define SCATTER_LEAF_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "scatter/client.h"
#include "scatter/error.h"
#include "scatter/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Encodes msg (borrowed) and sends it with status OK now. */
void sg_leaf_reply(sg_leaf_call *call, const ProtobufCMessage *msg);

/* Encodes msg (borrowed) now and sends it after delay_ms, from the worker's timer heap: the
 * thread is not blocked and serves other calls meanwhile. If the client cancels first, the
 * reply is dropped and the call counted as cancelled. */
void sg_leaf_reply_after(sg_leaf_call *call, const ProtobufCMessage *msg, uint32_t delay_ms);

/* Sends len raw bytes (borrowed) as the response after delay_ms (0: now). For tests and fault
 * injection: the bytes need not be a valid message. */
void sg_leaf_reply_bytes(sg_leaf_call *call, const uint8_t *bytes, size_t len, uint32_t delay_ms);

/* Ends the call with a non-OK status and message (borrowed, may be NULL). */
void sg_leaf_fail(sg_leaf_call *call, grpc_status_code code, const char *message);

/* Memory that lives until the call ends (its arena); for building the response. NULL only
 * when out of memory. */
void *sg_leaf_alloc(sg_leaf_call *call, size_t size);

/* The metadata the client sent (application keys, lower case, in the order received; not
 * gRPC's own such as :path or grpc-timeout), as NUL-terminated copies in the call's arena:
 * *entries (*n of them; NULL when 0) stay valid until the call ends. SG_ENOMEM when out of
 * memory. */
sg_err sg_leaf_metadata(sg_leaf_call *call, const sg_metadata_entry **entries, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
