/*
 * check.h: what the checks of a Fanout option share: the method being checked, error lines in
 * the user's words, and questions about field types.
 *
 * The checks are split by concept: options.c (the option as a whole, homogeneous legs, partial
 * results), check_legs.c (heterogeneous legs), check_gather.c and check_merge.c. Each reports every
 * problem it finds through cg_check_error and fills its part of the plan; none stops at the first
 * error.
 */
#ifndef CG_CHECK_H
#define CG_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"
#include "options.h"
#include "printer.h"
#include "scatter/options.pb-c.h"

typedef Google__Protobuf__FieldDescriptorProto__Type cg_type;

/* One method being checked, and where its errors go. Everything borrowed. */
typedef struct cg_check {
	const cg_index *idx;
	const cg_file_proto *file;
	const cg_service *svc;
	const cg_method_proto *method;
	const cg_message *request;
	const cg_message *response;
	cg_printer *errs;
	/* Put before every message, e.g. "leg \"profile\": ", while one part is checked; NULL:
	 * nothing. */
	const char *where;
	int32_t line; /* 1-based; 0 when the file has no source info */
	int32_t col;
	int n_errors;
} cg_check;

/* Appends "file.proto:LINE:COL: <where><message>\n" to c->errs. */
void cg_check_error(cg_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Out of memory: sticky on c->errs (the plugin then fails as a whole). */
void cg_check_oom(cg_check *c);

/* Reports fields of m that this plugin's options.proto does not know (set by a newer one). NULL
 * is a no-op. */
void cg_check_unknown(cg_check *c, const ProtobufCMessage *m);

/* "string", "int32", "message": the type as the .proto spells it. */
const char *cg_type_name(cg_type t);

bool cg_type_integer(cg_type t);
/* Integers, double and float. */
bool cg_type_numeric(cg_type t);
/* Not a message (or group): numbers, bool, enum, string, bytes. */
bool cg_type_scalar(cg_type t);

bool cg_field_repeated(const cg_field_proto *f);

/* f described with its article into buf (returned): "a string field", "an int32 field", "a
 * repeated message field". */
const char *cg_field_kind(const cg_field_proto *f, char *buf, size_t len);

/* The field `name` that option `what` (e.g. "top_k.by") names in m; reported and NULL if m has
 * no such field. */
const cg_field_proto *cg_check_field(cg_check *c, const char *what, const cg_message *m,
                                     const char *name);

/* The field `what` names in m, which must be a single integer field; NULL (reported) if not. */
const cg_field_proto *cg_check_integer(cg_check *c, const char *what, const cg_message *m,
                                       const char *name);

/* The field `what` names in m, which must be a single numeric field; NULL (reported) if not. */
const cg_field_proto *cg_check_numeric(cg_check *c, const char *what, const cg_message *m,
                                       const char *name);

/* The field `what` names in m, which must be a repeated message field: stores it in *ref and
 * returns its element message; NULL (reported) if it does not fit. name NULL: reported as
 * missing. */
const cg_message *cg_check_elements(cg_check *c, const char *what, const cg_message *m,
                                    const char *name, cg_field_ref *ref);

cg_field_ref cg_field_ref_of(const cg_field_proto *f);

/* Splits "pkg.Service/Method" or "pkg.Service.Method": the service is s[0, *svc_len) and the
 * method starts at s + *method_at. False if s has another shape. */
bool cg_split_method(const char *s, size_t *svc_len, size_t *method_at);

/* Resolves a method named in the option to its service and method, and checks that it can be a
 * leg's backend: visible from this file, not this method, not a fan-out method calling back
 * into this one, unary. Reports and returns false if not. */
bool cg_check_backend(cg_check *c, const char *text, const cg_service **svc,
                      const cg_method_proto **m);

/* "/pkg.Service/Method" for method m of svc, malloc'd; NULL (and c's printer failed) when out
 * of memory. */
char *cg_backend_path(cg_check *c, const cg_service *svc, const cg_method_proto *m);

/* The parts of the option, each checked on its own (check_legs.c, check_gather.c, check_merge.c).
 * Each reads fo (borrowed) and fills its part of plan; legs and merge run before gather, which
 * looks at both. */
void cg_check_hetero_legs(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan);
void cg_check_merge(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan);
void cg_check_gather(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan);
/* check_resilience.c: ranges, status names, hedges and retries only for idempotent methods. */
void cg_check_resilience(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan);

/* "UNAVAILABLE" -> 14: gRPC's canonical status names; -1 for another name. */
int cg_status_code(const char *name);
/* 14 -> "UNAVAILABLE"; NULL out of range. */
const char *cg_status_name(int code);

#endif
