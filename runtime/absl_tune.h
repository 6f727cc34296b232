/*
 * absl_tune.h (internal): the abseil settings libscatter changes before it starts the gRPC core.
 */
#ifndef SG_ABSL_TUNE_H
#define SG_ABSL_TUNE_H

#include <stdbool.h>

/* Turns abseil's mutex deadlock detection off (see absl_tune.c), once per process; call it
 * before grpc_init, before gRPC takes any lock. True if it was turned off. */
bool sg__absl_tune(void);

#endif
