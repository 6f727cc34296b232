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

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "scatter/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One leg's outcome as user code (custom merges, quality predicates) sees it. A leg the gather
 * cut short shows as CANCELLED (DEADLINE_EXCEEDED at a best-effort soft deadline). */
typedef struct sg_leg_result {
	const char *name;                 /* "<group>/<i>" or the table leg's name */
	grpc_status_code status;          /* GRPC_STATUS_OK or why it failed */
	const ProtobufCMessage *response; /* decoded; NULL unless status is OK */
} sg_leg_result;

/* A quality predicate (Quality { predicate: true }): called on the worker after each leg ends,
 * with the legs that have ended so far, in the order they ended; true stops the gather (the
 * legs still in flight are cancelled). Must not block. */
typedef bool (*sg_quality_fn)(const ProtobufCMessage *request, const sg_leg_result *legs,
                              size_t n_legs);

/* When a call stops waiting for its legs. Values are stable; new kinds are appended. */
typedef enum sg_gather_kind {
	SG_GATHER_ALL = 0,         /* every leg succeeded or failed, bounded by the deadline */
	SG_GATHER_FIRST_N = 1,     /* n legs answered OK */
	SG_GATHER_QUORUM = 2,      /* a majority agrees (or can no longer) */
	SG_GATHER_BEST_EFFORT = 3, /* the soft deadline passed, or every leg ended */
	SG_GATHER_QUALITY = 4,     /* the answers so far meet a threshold or a predicate */
} sg_gather_kind;

typedef struct sg_gather_desc {
	sg_gather_kind kind;
	uint32_t n;         /* FIRST_N: >= 1 */
	uint32_t key_field; /* QUORUM: field of the response to agree on; 0: the whole bytes */
	uint32_t soft_ms;   /* BEST_EFFORT: > 0 and < the method's deadline_ms */
	/* QUALITY threshold: >= min_count elements of repeated message field `field` of the
	 * response whose numeric `by` (a field of the element) is >= min_score. */
	uint32_t field;
	uint32_t by;
	uint32_t min_count;
	double min_score;
	sg_quality_fn predicate; /* QUALITY: when set, used instead of the threshold */
} sg_gather_desc;

/* How leg responses become one response. Values are stable; new kinds are appended. */
typedef enum sg_merge_kind {
	SG_MERGE_NONE = 0,    /* the first OK leg's response, unchanged */
	SG_MERGE_CONCAT = 1,  /* append repeated fields, in leg order */
	SG_MERGE_TOP_K = 2,   /* best `limit` elements of a repeated message field by a score */
	SG_MERGE_REDUCE = 3,  /* sum / min / max / first / last per scalar field */
	SG_MERGE_UNION = 4,   /* a repeated message field deduplicated by a key field */
	SG_MERGE_COMPOSE = 5, /* heterogeneous legs, each into its own response field */
	SG_MERGE_CUSTOM = 6,  /* a C function the user writes */
} sg_merge_kind;

typedef enum sg_reduce_op {
	SG_REDUCE_SUM = 0,
	SG_REDUCE_MIN = 1,
	SG_REDUCE_MAX = 2,
	SG_REDUCE_FIRST = 3, /* first OK leg's non-empty value */
	SG_REDUCE_LAST = 4,  /* last OK leg's non-empty value */
} sg_reduce_op;

typedef struct sg_reduce_field {
	uint32_t field; /* scalar field of the response */
	sg_reduce_op op;
} sg_reduce_field;

/* A custom merge's view of the call: memory for the answer. Opaque. */
typedef struct sg_merge_ctx sg_merge_ctx;

/* Memory that lives until the answer is sent (the call's arena); NULL when out of memory. For
 * strings and arrays a custom merge puts in its answer (which may also point into the legs'
 * responses: they live as long). */
void *sg_merge_alloc(sg_merge_ctx *ctx, size_t size);

/* A custom merge (the generated trampoline around the user's typed <method>_merge()): fill
 * `out` (initialised, of the method's response type) from the legs (every leg, in leg order;
 * failed ones with a NULL response). Runs on the worker; must not block. A non-OK return fails
 * the call with INTERNAL. */
typedef sg_err (*sg_merge_fn)(sg_merge_ctx *ctx, const ProtobufCMessage *request,
                              const sg_leg_result *legs, size_t n_legs, ProtobufCMessage *out);

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
	uint32_t limit;       /* 0: no fixed limit (then limit_field must be set) */
	uint32_t limit_field; /* integer field of the request, 0: none */
	/* UNION: fields[0] is the repeated message field; key_field a string or integer field of
	 * its element; score_field (0: keep the first copy) and order pick the copy kept. */
	uint32_t key_field;
	/* REDUCE: one rule per scalar field of the response. */
	const sg_reduce_field *reduce;
	size_t n_reduce;
	/* CUSTOM. */
	sg_merge_fn custom;
} sg_merge_desc;

typedef struct sg_partial_desc {
	bool allow; /* false: any failed leg fails the call */
	/* Integer fields of the response receiving the outcome counts; 0: none. failed_field
	 * gets total - ok: the legs that failed and those the gather cut short (the scatter-legs
	 * trailer counts the two apart). */
	uint32_t total_field;
	uint32_t ok_field;
	uint32_t failed_field;
} sg_partial_desc;

/* Resilience settings (options.proto's Resilience, defaults applied by the generator). A
 * runtime config may override them per backend group. */
typedef struct sg_breaker_desc {
	bool enabled;
	uint32_t window;    /* count-based window of recent outcomes */
	uint32_t window_ms; /* > 0: time-based window instead */
	uint32_t min_calls;
	uint32_t failure_rate_pct;
	uint32_t slow_ms; /* 0: the leg's deadline */
	uint32_t slow_rate_pct;
	uint32_t open_ms;
	uint32_t half_open_probes;
	uint32_t failure_statuses; /* bit (1u << code) per grpc_status_code; 0: the default set */
} sg_breaker_desc;

typedef struct sg_hedge_desc {
	bool enabled;
	uint32_t delay_ms; /* 0: adaptive */
	uint32_t percentile;
	uint32_t min_delay_ms;
} sg_hedge_desc;

typedef struct sg_retry_desc {
	uint32_t max_attempts; /* including the first; 1: no retry */
	uint32_t initial_backoff_ms;
	uint32_t max_backoff_ms;
	double multiplier;
	uint32_t statuses; /* bit (1u << code); 0: UNAVAILABLE */
} sg_retry_desc;

typedef struct sg_budget_desc {
	uint32_t max_tokens;
	double token_ratio;
} sg_budget_desc;

typedef struct sg_resilience_desc {
	bool idempotent; /* hedges and retries only when true */
	bool has_hedge;  /* Hedge given (with idempotent) */
	bool has_retry;  /* Retry given (with idempotent) */
	sg_breaker_desc breaker;
	sg_hedge_desc hedge;
	sg_retry_desc retry;
	sg_budget_desc budget;
	uint32_t max_in_flight; /* per backend target; 0: no cap */
} sg_resilience_desc;

/* Copies field `from` of the incoming request into field `to` of a leg's request. */
typedef struct sg_field_map {
	uint32_t from;
	uint32_t to;
} sg_field_map;

/* One heterogeneous leg (API composition). */
typedef struct sg_leg_desc {
	const char *name;  /* unique in the method */
	const char *group; /* backend group with exactly one target */
	const char *path;  /* "/package.Service/Method" */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *response;
	/* n_map == 0: the incoming request bytes are forwarded (same request type). */
	const sg_field_map *map;
	size_t n_map;
	uint32_t into;        /* message field of the aggregate response; 0: none (custom merge) */
	bool optional;        /* failure leaves `into` unset and the call succeeds */
	uint32_t deadline_ms; /* 0: the method's */
} sg_leg_desc;

/* One fan-out method. Everything it points to must outlive the server (generated tables are
 * static). Legs are either homogeneous (group + backend_path: one leg per target of the group)
 * or heterogeneous (legs[n_legs], group and backend_path NULL). */
typedef struct sg_method_desc {
	const char *path; /* "/package.Service/Method", the gRPC path served */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *response;
	/* Homogeneous legs: every target of `group` is called at `backend_path`. */
	const char *group;
	const char *backend_path; /* "/package.Service/Method" */
	uint32_t group_size;      /* 0: any; else the group must have exactly this many targets */
	const sg_leg_desc *legs;
	size_t n_legs;
	uint32_t deadline_ms; /* > 0 */
	uint32_t margin_ms;
	sg_gather_desc gather;
	sg_merge_desc merge;
	sg_partial_desc partial;
	sg_resilience_desc resilience;
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
