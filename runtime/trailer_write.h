/*
 * trailer_write.h (internal): a leg's outcome written straight from the leg's fields, for the
 * answer path (sg_leg_outcome_format, in scatter/trailer.h, takes the parsed struct).
 */
#ifndef SG_TRAILER_WRITE_H
#define SG_TRAILER_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

/* The text sg_leg_outcome_format writes for these fields (name, target and note cut to what
 * sg_leg_outcome holds; note NULL or "" for none), with snprintf's contract: returns the
 * length the whole text needs, writes at most size - 1 bytes and a NUL. */
size_t sg__leg_outcome_write(char *buf, size_t size, uint32_t index, const char *name,
                             const char *target, grpc_status_code status, int64_t latency_us,
                             const char *note);

/* Which legs keep a scatter-leg entry under an answer's trailer limit (scatter/trailer.h), in
 * gRPC's metadata accounting: cost[i] is leg i's entry (key + value + 32), summary_cost the
 * summary's, always paid. All n when they fit; else the legs not OK (ok[i] false) first, in leg
 * order, each one that still fits, then the OK ones the same way. Sets keep[0..n) and returns
 * how many are kept. */
size_t sg__trailer_select(const size_t *cost, const bool *ok, size_t n, size_t summary_cost,
                          size_t limit, bool *keep);

#endif
