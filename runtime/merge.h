/*
 * merge.h (internal): turning the OK legs' responses into one response, by protobuf-c
 * reflection. A plan is resolved once per method at registration (field numbers ->
 * descriptors, checked against the types) and then used by every call, read-only, from any
 * thread.
 */
#ifndef SG_MERGE_H
#define SG_MERGE_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "scatter/error.h"
#include "scatter/method.h"
#include "scatter/trailer.h"

#define SG_MERGE_MAX_FIELDS 16

typedef struct sg__merge_plan {
	const sg_method_desc *method;
	/* CONCAT: the repeated fields; TOP_K: fields[0] is the repeated message field. */
	const ProtobufCFieldDescriptor *fields[SG_MERGE_MAX_FIELDS];
	size_t n_fields;
	const ProtobufCFieldDescriptor *score;       /* TOP_K: in the element message */
	const ProtobufCFieldDescriptor *limit_field; /* TOP_K: in the request, or NULL */
	const ProtobufCFieldDescriptor *total_field, *ok_field, *failed_field; /* or NULL */
} sg__merge_plan;

/* Resolves and checks m's merge and partial settings against its descriptors. On SG_ECONFIG
 * writes why (NUL-terminated, e.g. "top_k: field 3 of search.Hit is a string, not a number")
 * into why[why_len]. */
sg_err sg__merge_plan_init(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t why_len);

/* Merges n responses (borrowed; the OK legs', decoded, in leg order; n >= 1) into *out,
 * allocated in a. request (borrowed, decoded) feeds limit_field. counts go into the declared
 * outcome fields. *out may share sub-messages with the inputs: it is only valid while they
 * are. */
sg_err sg__merge_run(const sg__merge_plan *p, const ProtobufCMessage *request,
                     const ProtobufCMessage *const *responses, size_t n,
                     const sg_legs_summary *counts, sg__arena *a, ProtobufCMessage **out);

/* Encodes msg into the arena: *bytes, *len. */
sg_err sg__pack(const ProtobufCMessage *msg, sg__arena *a, uint8_t **bytes, size_t *len);

#endif
