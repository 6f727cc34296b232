/*
 * backend.h (internal): backend groups, their targets, and one gRPC channel per distinct target.
 *
 * Groups are set before start (strings copied); sg__backends_connect then creates one channel
 * per distinct target, shared by every worker (gRPC channels are thread-safe) and by every group
 * naming that target. After connect the whole structure is read-only until fini.
 */
#ifndef SG_BACKEND_H
#define SG_BACKEND_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "scatter/error.h"

/* One distinct target and its channel. */
typedef struct sg__backend {
	char *target; /* owned */
	grpc_channel *channel;
} sg__backend;

typedef struct sg__group {
	char *name;     /* owned */
	char **targets; /* owned copies, one leg each */
	size_t n;
	sg__backend *
	        *legs; /* after connect: legs[i] serves targets[i]; owned array, borrowed items */
} sg__group;

typedef struct sg__backends {
	sg__group *groups; /* owned */
	size_t n_groups;
	sg__backend *backends; /* after connect; owned */
	size_t n_backends;
} sg__backends;

void sg__backends_init(sg__backends *b);

/* Copies name and targets (borrowed). SG_EEXIST if name is set, SG_EINVAL for an empty or
 * NULL target list, SG_ESTATE after connect. */
sg_err sg__backends_set_group(sg__backends *b, const char *name, const char *const *targets,
                              size_t n);

/* The group called name, or NULL. Borrowed: valid until fini. */
const sg__group *sg__backends_group(const sg__backends *b, const char *name);

/* Creates the channels (plaintext; gRPC's own retries off: Scatter decides about retrying). */
sg_err sg__backends_connect(sg__backends *b);

/* Destroys the channels (no call may still use them) and frees everything. */
void sg__backends_fini(sg__backends *b);

#endif
