/*
 * bytes.h (internal): between gRPC byte buffers and protobuf-c messages.
 *
 * The one place that knows how a grpc_byte_buffer is laid out: every decode and encode of the
 * runtime (fan-out requests, leg answers, leaf requests and replies, the client) goes through
 * here, so "does not decode" means the same everywhere.
 */
#ifndef SG_BYTES_H
#define SG_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "scatter/error.h"

/* Contiguous bytes of bb (borrowed): a view of bb's only slice when it has one and is not
 * compressed (the common case: no copy), else a copy in a. *data is valid while bb and a are.
 * SG_EDECODE if bb cannot be read, SG_ENOMEM. */
sg_err sg__bytes_flatten(grpc_byte_buffer *bb, sg__arena *a, const uint8_t **data, size_t *len);

/* Whether data, as sg__bytes_flatten gave it for bb, views bb's slice (valid only while bb is)
 * rather than a copy in the arena. */
bool sg__bytes_is_view(const grpc_byte_buffer *bb, const uint8_t *data);

/* Decodes bb (borrowed; NULL is an absent message: SG_EDECODE) as desc into *out, allocated with
 * allocator (NULL: protobuf-c's default, i.e. malloc; the caller frees). scratch (may be NULL
 * when allocator is an arena) holds the flattened bytes when a copy is needed. */
sg_err sg__bytes_decode(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                        ProtobufCAllocator *allocator, sg__arena *scratch, ProtobufCMessage **out);

/* A new byte buffer holding a copy of len bytes (borrowed). The caller destroys it
 * (grpc_byte_buffer_destroy). NULL only when out of memory. */
grpc_byte_buffer *sg__bytes_copy(const uint8_t *data, size_t len);

/* Encodes msg (borrowed) into a new byte buffer, packed straight into gRPC's slice (one copy
 * fewer than packing then copying). The caller destroys *out. */
sg_err sg__bytes_encode(const ProtobufCMessage *msg, grpc_byte_buffer **out);

/* Encodes msg (borrowed) into bytes allocated in a, wrapped without a copy in a new byte buffer
 * (no gRPC allocation for the bytes). The caller destroys *out; a must outlive every use of it
 * (for a leg: until its batch completes, which the call's arena does). */
sg_err sg__bytes_encode_arena(const ProtobufCMessage *msg, sg__arena *a, grpc_byte_buffer **out);

#endif
