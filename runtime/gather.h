/*
 * gather.h (internal): when a call stops waiting for its legs. One const ops table per strategy
 * (gather_<kind>.c); the call drives every strategy through the same hooks:
 *
 *   registration   plan()        resolve and check the strategy's fields against the descriptors
 *   server start   check_legs()  the number of legs the group resolved to fits (quorum >= 2 ...)
 *   call start     on_start()    allocate per-call state in the arena, ask for a wake-up time
 *   each leg end   on_leg_end()  CONTINUE, DONE or ABORT(status, message)
 *   wake-up time   on_timer()    the same verdicts
 *
 * A strategy never sees the call itself: only a sg__gather_call view, written by the call before
 * each hook, and its own state. The call adds the rule every strategy shares: once every leg has
 * ended, the gather is done (like ALL) unless the strategy aborted.
 */
#ifndef SG_GATHER_H
#define SG_GATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "scatter/error.h"
#include "scatter/method.h"

typedef enum sg__gather_verdict {
	SG__GATHER_CONTINUE = 0, /* keep waiting */
	SG__GATHER_DONE = 1,     /* answer now with what arrived; cut the other legs short */
	SG__GATHER_ABORT = 2,    /* fail now with abort_status / abort_message */
} sg__gather_verdict;

/* A strategy's settings, resolved once at registration; read-only while serving. */
typedef struct sg__gather_plan {
	const sg_gather_desc *g;
	const ProtobufCFieldDescriptor *key;   /* QUORUM: response field agreed on; NULL: bytes */
	const ProtobufCFieldDescriptor *field; /* QUALITY: repeated message field of the response */
	const ProtobufCFieldDescriptor *by;    /* QUALITY: numeric field of its element */
} sg__gather_plan;

/* One leg's end, as a strategy sees it. */
typedef struct sg__gather_leg {
	uint32_t index; /* leg order */
	grpc_status_code status;
	const ProtobufCMessage *response; /* decoded, in the call's arena; NULL unless OK */
	const uint8_t *bytes;             /* the raw answer (NULL if none): valid during the hook */
	size_t len;                       /* only; copy what must outlive it */
} sg__gather_leg;

/* The call, as a strategy sees it. */
typedef struct sg__gather_call {
	const sg__gather_plan *plan;
	const ProtobufCMessage *request; /* decoded incoming request */
	sg__arena *arena;                /* the call's: per-call state goes here */
	int64_t started_ns;              /* when the call was accepted (monotonic) */
	uint32_t total;                  /* legs */
	uint32_t ok;                     /* ended OK so far (this leg included) */
	uint32_t failed;                 /* ended otherwise so far */
	const sg_leg_result *ended;      /* ended legs, in the order they ended */
	size_t n_ended;
	void *state; /* the strategy's own, set by on_start; NULL before */
	/* Set by the strategy. */
	int64_t wake_ns; /* on_start: run on_timer at this time (monotonic); 0: never */
	uint32_t answer; /* DONE: the leg whose response alone is the answer; UINT32_MAX: the
	                    merge of the OK legs (the default) */
	grpc_status_code abort_status; /* ABORT */
	const char *abort_message;     /* ABORT: static or in the arena */
} sg__gather_call;

typedef struct sg__gather_ops {
	const char *name;
	/* How the legs still in flight when the gather ends are reported. */
	grpc_status_code cut_status;
	/* The strategy reads the legs' decoded answers (so they cannot stay encoded, see
	 * sg__fanout.lazy). */
	bool reads_answers;
	/* Resolves the strategy's fields (p->g already set); SG_ECONFIG with why. NULL: none. */
	sg_err (*plan)(sg__gather_plan *p, const sg_method_desc *m, char *why, size_t len);
	/* Whether the strategy can work over n_legs legs; SG_ECONFIG with why. NULL: any. */
	sg_err (*check_legs)(const sg_gather_desc *g, size_t n_legs, char *why, size_t len);
	/* Before the first leg starts. SG_ENOMEM fails the call. NULL: nothing to do. */
	sg_err (*on_start)(sg__gather_call *gc);
	/* After each leg ends (gc's counts and ended list include it). */
	sg__gather_verdict (*on_leg_end)(sg__gather_call *gc, const sg__gather_leg *leg);
	/* At gc->wake_ns. NULL when the strategy never asks for a wake-up. */
	sg__gather_verdict (*on_timer)(sg__gather_call *gc);
} sg__gather_ops;

extern const sg__gather_ops sg__gather_all, sg__gather_first_n, sg__gather_quorum,
        sg__gather_best_effort, sg__gather_quality;

/* The table for kind; NULL for a kind this runtime does not know. */
const sg__gather_ops *sg__gather_ops_for(sg_gather_kind kind);

/* Resolves m's gather settings with ops (from sg__gather_ops_for). SG_ECONFIG with why. */
sg_err sg__gather_plan_init(sg__gather_plan *p, const sg__gather_ops *ops, const sg_method_desc *m,
                            char *why, size_t len);

/* Prepares gc for one call of total legs (everything borrowed for the call's life). */
void sg__gather_call_init(sg__gather_call *gc, const sg__gather_plan *plan,
                          const ProtobufCMessage *request, sg__arena *arena, int64_t started_ns,
                          uint32_t total);

/* ops->on_leg_end plus the rule every strategy shares: with every leg ended, CONTINUE becomes
 * DONE. The caller has counted the leg in gc first. */
sg__gather_verdict sg__gather_leg_end(const sg__gather_ops *ops, sg__gather_call *gc,
                                      const sg__gather_leg *leg);

#endif
