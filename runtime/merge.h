/*
 * merge.h (internal): turning the legs' responses into one response, by protobuf-c reflection.
 *
 * Each merge kind is a const ops table (merge_<kind>.c): `plan` resolves and checks the
 * method's settings once, at registration (field numbers -> descriptors, types checked), and
 * `run` uses the plan, read-only, from any worker. merge.c holds what every kind shares: the
 * table lookup, the answer's starting point and the outcome counts.
 */
#ifndef SG_MERGE_H
#define SG_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "scatter/error.h"
#include "scatter/method.h"
#include "scatter/trailer.h"
#include "wire.h"

#define SG_MERGE_MAX_FIELDS 16

/* One REDUCE rule, resolved. */
typedef struct sg__reduce_rule {
	const ProtobufCFieldDescriptor *field;
	sg_reduce_op op;
} sg__reduce_rule;

typedef struct sg__merge_ops sg__merge_ops;

typedef struct sg__merge_plan {
	const sg_method_desc *method;
	const sg__merge_ops *ops;
	/* CONCAT: the repeated fields; TOP_K and UNION: fields[0] is the repeated message
	 * field. */
	const ProtobufCFieldDescriptor *fields[SG_MERGE_MAX_FIELDS];
	size_t n_fields;
	const ProtobufCFieldDescriptor *score;       /* TOP_K, UNION (or NULL): in the element */
	const ProtobufCFieldDescriptor *key;         /* UNION: in the element */
	const ProtobufCFieldDescriptor *limit_field; /* TOP_K: in the request, or NULL */
	sg__reduce_rule *reduce;                     /* REDUCE: owned, n_reduce rules */
	size_t n_reduce;
	const ProtobufCFieldDescriptor **into; /* COMPOSE: owned, one per leg (NULL: none) */
	const ProtobufCFieldDescriptor *total_field, *ok_field, *failed_field; /* or NULL */
	/* TOP_K: the merge can take the legs' answers encoded and scored (sg__merge_in.encoded,
	 * sg__wire_check_scored) and decode only the winners (wire.h). */
	bool lazy;
} sg__merge_plan;

/* A leg's answer left encoded (in the call's arena) and its elements scored (wire.h); all NULL
 * and 0 for a leg without an answer. */
typedef struct sg__merge_bytes {
	const uint8_t *data;
	size_t len;
	const sg__wire_scored *scored;
	size_t n_scored;
} sg__merge_bytes;

/* What a merge reads. */
typedef struct sg__merge_in {
	const ProtobufCMessage *request; /* decoded incoming request; may be NULL in tests */
	/* Every leg in leg order; response NULL unless the leg answered OK. */
	const sg_leg_result *legs;
	size_t n_legs;
	sg__arena *arena; /* where the answer's memory comes from */
	/* With a lazy plan, NULL or one per leg (as legs): the OK legs' answers, encoded; their
	 * legs[].response may be NULL (the merge decodes what it needs). */
	const sg__merge_bytes *encoded;
} sg__merge_in;

/* Where a merge's answer starts. */
typedef enum sg__merge_start {
	SG__MERGE_FROM_FIRST_OK, /* a shallow copy of the first OK leg's response */
	SG__MERGE_FROM_INIT,     /* an initialised (empty) response */
} sg__merge_start;

struct sg__merge_ops {
	const char *name;
	sg__merge_start start;
	/* Resolves m->merge into p (method, counts already set); SG_ECONFIG with why on a table
	 * that does not fit. NULL: nothing to resolve. */
	sg_err (*plan)(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len);
	/* Fills out (started as `start` says) from in. NULL: nothing to do. */
	sg_err (*run)(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out);
};

extern const sg__merge_ops sg__merge_none, sg__merge_concat, sg__merge_top_k, sg__merge_reduce,
        sg__merge_union, sg__merge_compose, sg__merge_custom;

/* Resolves and checks m's merge and partial settings against its descriptors. On SG_ECONFIG
 * writes why (NUL-terminated, e.g. "top_k: field 3 of search.Hit is a string, not a number")
 * into why[why_len]. Release with sg__merge_plan_fini (also after a failure). */
sg_err sg__merge_plan_init(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t why_len);

void sg__merge_plan_fini(sg__merge_plan *p);

/* Merges in (borrowed) into *out, allocated in in->arena: at least one leg must be OK for the
 * kinds that start from the first OK leg (SG_EINVAL otherwise). counts (may be NULL) go into the
 * declared outcome fields (failed_field: total - ok, the legs cut short included). *out may share
 * memory with the legs' responses: it is only valid while they are. */
sg_err sg__merge_run(const sg__merge_plan *p, const sg__merge_in *in, const sg_legs_summary *counts,
                     ProtobufCMessage **out);

/* Encodes msg into the arena: *bytes, *len. */
sg_err sg__pack(const ProtobufCMessage *msg, sg__arena *a, uint8_t **bytes, size_t *len);

#endif
