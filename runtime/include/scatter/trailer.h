/*
 * scatter/trailer.h: the per-leg outcome every fan-out answer carries in trailing metadata.
 *
 * Any gRPC client can read it; the format is plain text so that curl-like tools and logs show
 * it as is:
 *
 *   scatter-legs: total=4 ok=2 failed=1 cut=1
 *   scatter-leg:  index=0 name=shards/0 target=ipv4:127.0.0.1:5001 status=OK latency_us=50211
 *   scatter-leg:  index=3 name=shards/3 target=ipv4:127.0.0.1:5004 status=DEADLINE_EXCEEDED
 *                 latency_us=300102                                      (one line on the wire)
 *
 * The summary counts every leg once: ok answered OK; failed ended on its own with another
 * status (an error, a dead backend, its own deadline); cut was still running when the call
 * ended and was cancelled on purpose: the gather had what it needed (first_n, quorum, quality,
 * best_effort's soft deadline) or a required leg had failed. total = ok + failed + cut.
 *
 * One scatter-leg entry per leg, in leg order, as long as the entries fit the answer's trailer
 * limit (sg_server_set_trailer_limit; by default SG_TRAILER_LIMIT_DEFAULT bytes, as gRPC counts
 * metadata: key + value + 32 per entry, so that a client with gRPC's default 8 KiB limit on
 * received metadata still gets the answer: a 100-leg answer would not fit otherwise). Past it,
 * the legs that did not answer OK keep their entries first, then the OK ones while they fit,
 * still in leg order, and the summary counts the legs left without one:
 *
 *   scatter-legs: total=120 ok=119 failed=1 cut=0 omitted=68
 *
 * `omitted` appears only when it is not 0; the counts always cover every leg. A leg's name is
 * "<group>/<i>" for the legs of a backend group and the table's Leg.name for heterogeneous legs.
 * Status names are gRPC's canonical code names. A leg cut short reports CANCELLED
 * (DEADLINE_EXCEEDED for a best-effort gather's soft deadline): tell it from a leg that failed with
 * the same status by the summary's counts.
 *
 * A leg the aggregator failed itself, without calling its backend, ends with a `note`:
 *
 *   scatter-leg:  index=1 name=shards/1 target=ipv4:127.0.0.1:5002 status=UNAVAILABLE
 *                 latency_us=0 note=circuit_open           (the target's breaker is open)
 *   ... status=RESOURCE_EXHAUSTED latency_us=0 note=over_max_in_flight (its in-flight cap)
 */
#ifndef SCATTER_TRAILER_H
#define SCATTER_TRAILER_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

#include "scatter/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SG_TRAILER_SUMMARY "scatter-legs"
#define SG_TRAILER_LEG     "scatter-leg"

/* The default limit on an answer's scatter-* trailers, in gRPC's metadata accounting (key +
 * value + 32 bytes per entry): 2 KiB under gRPC's default 8 KiB limit on received metadata,
 * for grpc-status and grpc-message. */
#define SG_TRAILER_LIMIT_DEFAULT 6144
/* What gRPC counts for one metadata entry besides its key and value (HPACK's entry size). */
#define SG_TRAILER_ENTRY_OVERHEAD 32

typedef struct sg_legs_summary {
	uint32_t total;
	uint32_t ok;      /* answered OK */
	uint32_t failed;  /* ended on their own with a non-OK status */
	uint32_t cut;     /* cut short on purpose when the call ended (see above) */
	uint32_t omitted; /* legs without a scatter-leg entry: past the trailer limit */
} sg_legs_summary;

typedef struct sg_leg_outcome {
	uint32_t index;
	char name[128]; /* "" when parsed from a peer that does not send names */
	char target[256];
	grpc_status_code status;
	int64_t latency_us;
	char note[32]; /* "" or one word: "circuit_open", "over_max_in_flight" */
} sg_leg_outcome;

/* "OK", "CANCELLED", ..., "UNAUTHENTICATED"; "UNKNOWN" for a value out of range. */
const char *sg_status_name(grpc_status_code code);

/* The inverse; SG_EINVAL for an unknown name. */
sg_err sg_status_from_name(const char *name, grpc_status_code *out);

/* Formats into buf (NUL-terminated, truncated to size); returns the length it needed, like
 * snprintf. */
size_t sg_legs_summary_format(const sg_legs_summary *s, char *buf, size_t size);
size_t sg_leg_outcome_format(const sg_leg_outcome *o, char *buf, size_t size);

/* Parses one trailer value (borrowed); SG_EINVAL if it is not in the format above. Older peers
 * may leave fields out: a summary without cut (then 0, and failed counts the legs cut short
 * too) or without omitted (then 0), an outcome without name (then "") and an outcome without note
 * (then ""). Names, targets and notes longer than their arrays are refused. */
sg_err sg_legs_summary_parse(const char *value, sg_legs_summary *out);
sg_err sg_leg_outcome_parse(const char *value, sg_leg_outcome *out);

#ifdef __cplusplus
}
#endif

#endif
