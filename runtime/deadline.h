/*
 * deadline.h (internal): deadline arithmetic, on monotonic nanoseconds so that it is pure and
 * unit-testable. SG_NO_DEADLINE stands for "none" (gpr_inf_future).
 */
#ifndef SG_DEADLINE_H
#define SG_DEADLINE_H

#include <stdint.h>

#include <grpc/support/time.h>

#define SG_NO_DEADLINE INT64_MAX

/* The deadline of each leg: min(now + method_ms, incoming - margin_ms). Saturates instead of
 * overflowing. A result <= now means there is no time left for any leg. */
int64_t sg__leg_deadline(int64_t now_ns, uint32_t method_ms, int64_t incoming_ns,
                         uint32_t margin_ms);

/* Monotonic now, in nanoseconds. */
int64_t sg__now_ns(void);

/* Conversions to and from gRPC's clock (any clock type in; GPR_CLOCK_MONOTONIC out). An
 * infinite gpr_timespec maps to SG_NO_DEADLINE and back. */
int64_t sg__ns_from_timespec(gpr_timespec t);
gpr_timespec sg__timespec_from_ns(int64_t ns);

#endif
