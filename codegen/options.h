/*
 * options.h: reading a method's `scatter.Fanout` option and validating it against the index.
 *
 * protobuf-c has no extensions: protoc hands the option over as an unknown field of
 * MethodOptions (number 51200, length-delimited), which is decoded here as scatter.Fanout.
 * A valid option becomes a cg_plan: the resolved facts the emitters print (paths, field numbers
 * and, for readable comments, field names), with every default applied.
 */
#ifndef CG_OPTIONS_H
#define CG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"
#include "printer.h"
#include "scatter/options.pb-c.h"

/* The extension number of `scatter.fanout` on google.protobuf.MethodOptions (options.proto). */
#define CG_FANOUT_FIELD 51200

typedef enum cg_merge {
	CG_MERGE_NONE = 0,
	CG_MERGE_CONCAT,
	CG_MERGE_TOP_K,
} cg_merge;

/* A field of a message by number; name borrowed from the descriptors. number 0: none. */
typedef struct cg_field_ref {
	uint32_t number;
	const char *name;
} cg_field_ref;

typedef struct cg_plan {
	char *group;        /* owned */
	char *backend_path; /* "/pkg.Service/Method"; owned */
	uint32_t deadline_ms;
	uint32_t margin_ms;
	cg_merge merge;
	cg_field_ref *fields; /* CONCAT: the fields; TOP_K: the one repeated field; owned */
	size_t n_fields;
	cg_field_ref score; /* TOP_K */
	bool order_asc;
	uint32_t limit;
	cg_field_ref limit_field;
	bool allow_partial;
	cg_field_ref total_field;
	cg_field_ref ok_field;
	cg_field_ref failed_field;
} cg_plan;

/* Unpacks the Fanout option from a method's options. Returns 0 with *out NULL when there is no
 * option, 0 with *out set (the caller frees it with scatter__fanout__free_unpacked) when there
 * is one, and -1 when its bytes do not decode (or memory runs out). opts may be NULL. */
int cg_fanout_unpack(const Google__Protobuf__MethodOptions *opts, Scatter__Fanout **out);

/* Reads and validates the option of method `mi` of service `si` of file (borrowed; file must be
 * indexed by idx). Every problem is appended to errs as a line "file.proto:LINE:COL: what".
 * Returns 0 with *out NULL for a method without the option or with an invalid one (see errs),
 * 0 with *out a plan (the caller frees it with cg_plan_free), or -1 when memory runs out. */
int cg_plan_method(const cg_index *idx, const cg_file_proto *file, size_t si, size_t mi,
                   cg_printer *errs, cg_plan **out);

/* NULL is a no-op. */
void cg_plan_free(cg_plan *plan);

/* Whether a method is streaming in either direction (Scatter serves unary methods only). */
bool cg_method_streaming(const cg_method_proto *m);

#endif
