/*
 * scatter/method.h: the tables protoc-gen-scatter emits, one per fan-out method.
 *
 * A table is plain const data: names, message descriptors and field numbers. The runtime checks
 * it again at registration (sg_server_add_fanout) against the protobuf-c descriptors, so a table
 * written by hand gets the same guarantees as a generated one. Field numbers, not offsets: the
 * runtime resolves them once, at registration, to protobuf-c field descriptors.
 */
#ifndef SCATTER_METHOD_H
#define SCATTER_METHOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* When a call stops waiting for its legs. Values are stable; new kinds are appended. */
typedef enum sg_gather_kind {
	SG_GATHER_ALL = 0, /* every leg succeeded or failed, bounded by the deadline */
} sg_gather_kind;

typedef struct sg_gather_desc {
	sg_gather_kind kind;
} sg_gather_desc;

/* How leg responses become one response. Values are stable; new kinds are appended. */
typedef enum sg_merge_kind {
	SG_MERGE_NONE = 0,   /* the first OK leg's response, unchanged */
	SG_MERGE_CONCAT = 1, /* append repeated fields, in leg order */
	SG_MERGE_TOP_K = 2,  /* best `limit` elements of a repeated message field by a score */
} sg_merge_kind;

typedef enum sg_order {
	SG_ORDER_DESC = 0,
	SG_ORDER_ASC = 1,
} sg_order;

typedef struct sg_merge_desc {
	sg_merge_kind kind;
	/* CONCAT: the response's repeated fields to append (n_fields >= 1).
	 * TOP_K: fields[0] is the repeated message field (n_fields == 1). */
	const uint32_t *fields;
	size_t n_fields;
	/* TOP_K only. */
	uint32_t score_field; /* numeric field of the element message */
	sg_order order;
	uint32_t limit;	      /* 0: no fixed limit (then limit_field must be set) */
	uint32_t limit_field; /* integer field of the request, 0: none */
} sg_merge_desc;

typedef struct sg_partial_desc {
	bool allow; /* false: any failed leg fails the call */
	/* Integer fields of the response receiving the outcome counts; 0: none. */
	uint32_t total_field;
	uint32_t ok_field;
	uint32_t failed_field;
} sg_partial_desc;

/* One fan-out method. Everything it points to must outlive the server (generated tables are
 * static). */
typedef struct sg_method_desc {
	const char *path; /* "/package.Service/Method", the gRPC path served */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *response;
	/* Homogeneous legs: every target of `group` is called at `backend_path`. */
	const char *group;
	const char *backend_path; /* "/package.Service/Method" */
	uint32_t deadline_ms;	  /* > 0 */
	uint32_t margin_ms;
	sg_gather_desc gather;
	sg_merge_desc merge;
	sg_partial_desc partial;
} sg_method_desc;

/* A method a leaf service implements (the generated server skeletons use it). */
typedef struct sg_leaf_desc {
	const char *path; /* "/package.Service/Method" */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *response;
} sg_leaf_desc;

#ifdef __cplusplus
}
#endif

#endif
