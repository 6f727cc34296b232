/*
 * trailer_write.h (internal): a leg's outcome written straight from the leg's fields, for the
 * answer path (sg_leg_outcome_format, in scatter/trailer.h, takes the parsed struct).
 */
#ifndef SG_TRAILER_WRITE_H
#define SG_TRAILER_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

/* The text sg_leg_outcome_format writes for these fields (name, target and note cut to what
 * sg_leg_outcome holds; note NULL or "" for none), with snprintf's contract: returns the
 * length the whole text needs, writes at most size - 1 bytes and a NUL. */
size_t sg__leg_outcome_write(char *buf, size_t size, uint32_t index, const char *name,
                             const char *target, grpc_status_code status, int64_t latency_us,
                             const char *note);

#endif
