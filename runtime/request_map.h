/*
 * request_map.h (internal): a heterogeneous leg's request, built from fields of the incoming
 * request (Leg.request field maps). Resolved once at registration, applied per call: init the
 * leg's request message in the call's arena, copy each mapped field (shallow: strings, bytes,
 * sub-messages and arrays are shared with the decoded incoming request), encode once.
 */
#ifndef SG_REQUEST_MAP_H
#define SG_REQUEST_MAP_H

#include <stddef.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "scatter/error.h"
#include "scatter/method.h"

typedef struct sg__field_pair {
	const ProtobufCFieldDescriptor *from; /* in the incoming request */
	const ProtobufCFieldDescriptor *to;   /* in the leg's request */
} sg__field_pair;

typedef struct sg__request_map {
	const ProtobufCMessageDescriptor *desc; /* the leg's request type */
	sg__field_pair *pairs;                  /* owned; NULL when n == 0 (forward the bytes) */
	size_t n;
} sg__request_map;

/* Resolves leg's field maps against m->request and leg->request: every field must exist, and
 * each pair have the same type and label (and message or enum type). With no map, the leg's
 * request type must be m's (the incoming bytes are forwarded). SG_ECONFIG with why. Release
 * with sg__request_map_fini (also after a failure). */
sg_err sg__request_map_init(sg__request_map *map, const sg_method_desc *m, const sg_leg_desc *leg,
                            char *why, size_t len);

void sg__request_map_fini(sg__request_map *map);

/* Whether the incoming bytes go out unchanged. */
static inline bool sg__request_map_forwards(const sg__request_map *map)
{
	return map->n == 0;
}

/* The leg's request (allocated and initialised in a) with every mapped field copied from
 * incoming (borrowed). NULL when out of memory. */
ProtobufCMessage *sg__request_map_apply(const sg__request_map *map,
                                        const ProtobufCMessage *incoming, sg__arena *a);

/* sg__request_map_apply, encoded into a byte buffer whose bytes live in a (the caller destroys
 * the buffer, and a must outlive every use of it). */
sg_err sg__request_map_build(const sg__request_map *map, const ProtobufCMessage *incoming,
                             sg__arena *a, grpc_byte_buffer **out);

#endif
