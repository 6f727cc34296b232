/*
 * gather_all.c: ALL waits for every leg to succeed or fail (bounded by the legs' deadline). It
 * has nothing of its own to decide: the shared rule (every leg ended: done) is the whole
 * strategy.
 */
#include "gather.h"

const sg__gather_ops sg__gather_all = {
        .name = "all",
        .cut_status = GRPC_STATUS_CANCELLED,
};
