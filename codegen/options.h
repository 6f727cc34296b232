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

/* Values follow sg_merge_kind (scatter/method.h). */
typedef enum cg_merge {
	CG_MERGE_NONE = 0,
	CG_MERGE_CONCAT,
	CG_MERGE_TOP_K,
	CG_MERGE_REDUCE,
	CG_MERGE_UNION,
	CG_MERGE_COMPOSE,
	CG_MERGE_CUSTOM,
} cg_merge;

/* Values follow sg_gather_kind (scatter/method.h). */
typedef enum cg_gather {
	CG_GATHER_ALL = 0,
	CG_GATHER_FIRST_N,
	CG_GATHER_QUORUM,
	CG_GATHER_BEST_EFFORT,
	CG_GATHER_QUALITY,
} cg_gather;

/* A field of a message by number; name borrowed from the descriptors. number 0: none. */
typedef struct cg_field_ref {
	uint32_t number;
	const char *name;
} cg_field_ref;

/* One reduce rule: a scalar field of the response and its op. */
typedef struct cg_reduce_rule {
	cg_field_ref field;
	Scatter__ReduceOp op;
} cg_reduce_rule;

/* One request mapping of a heterogeneous leg: incoming request field -> leg request field. */
typedef struct cg_map_rule {
	cg_field_ref from;
	cg_field_ref to;
} cg_map_rule;

/* One heterogeneous leg (Fanout.legs), resolved. */
typedef struct cg_leg_plan {
	char *name;                /* owned */
	char *group;               /* owned */
	char *path;                /* "/pkg.Service/Method"; owned */
	const cg_message *request; /* the leg method's types; borrowed from the index */
	const cg_message *response;
	cg_map_rule *map; /* owned; n_map == 0: the incoming request is forwarded */
	size_t n_map;
	cg_field_ref into; /* 0: none (custom merge) */
	bool optional;
	uint32_t deadline_ms; /* 0: the method's */
} cg_leg_plan;

/* Fanout.resilience with every default of options.proto applied; the fields mirror
 * sg_resilience_desc (scatter/method.h). Status sets are bit masks, bit (1 << code). */
typedef struct cg_resilience {
	bool idempotent;
	bool has_hedge; /* Hedge given (idempotent methods only) */
	bool has_retry; /* Retry given (idempotent methods only) */
	struct {
		bool enabled;
		uint32_t window, window_ms, min_calls, failure_rate_pct, slow_ms, slow_rate_pct;
		uint32_t open_ms, half_open_probes;
		uint32_t failure_statuses; /* never 0: the default set is spelled out */
	} breaker;
	struct {
		bool enabled;
		uint32_t delay_ms, percentile, min_delay_ms;
	} hedge;
	struct {
		uint32_t max_attempts, initial_backoff_ms, max_backoff_ms;
		double multiplier;
		uint32_t statuses; /* never 0 */
	} retry;
	struct {
		uint32_t max_tokens;
		double token_ratio;
	} budget;
	uint32_t max_in_flight;
} cg_resilience;

typedef struct cg_plan {
	/* Homogeneous legs (group + method), or heterogeneous ones (legs): never both. */
	char *group;         /* owned; NULL with heterogeneous legs */
	char *backend_path;  /* "/pkg.Service/Method"; owned; NULL with heterogeneous legs */
	uint32_t group_size; /* 0: not given */
	cg_leg_plan *legs;   /* owned */
	size_t n_legs;
	uint32_t deadline_ms;
	uint32_t margin_ms;
	/* Gather. */
	cg_gather gather;
	uint32_t first_n;           /* FIRST_N */
	cg_field_ref quorum_key;    /* QUORUM; 0: the whole response */
	uint32_t soft_ms;           /* BEST_EFFORT */
	cg_field_ref quality_field; /* QUALITY threshold */
	cg_field_ref quality_by;
	uint32_t min_count;
	double min_score;
	bool quality_predicate; /* QUALITY: the user's <prefix>_quality() */
	/* Merge. */
	cg_merge merge;
	cg_field_ref *fields; /* CONCAT: the fields; TOP_K, UNION: the one repeated field; owned */
	size_t n_fields;
	cg_field_ref score; /* TOP_K, UNION (0: keep the first copy) */
	bool order_asc;
	uint32_t limit;
	cg_field_ref limit_field;
	cg_field_ref key;       /* UNION */
	cg_reduce_rule *reduce; /* REDUCE; owned */
	size_t n_reduce;
	/* Partial results. */
	bool allow_partial;
	cg_field_ref total_field;
	cg_field_ref ok_field;
	cg_field_ref failed_field;
	/* Resilience (defaults applied). */
	cg_resilience resilience;
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
