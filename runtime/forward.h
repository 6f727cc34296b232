/*
 * forward.h (internal): which incoming metadata a fan-out call passes on to its backends.
 *
 * An allow-list: nothing is forwarded unless its key is listed (sg_server_set_forward_metadata),
 * so that a client's credentials or internal headers never reach a backend by accident. The list
 * is set before start and read-only afterwards (every worker reads it, none writes it). Per call
 * the allowed entries are picked once into the call's arena, borrowing the server call's slices,
 * and every leg sends that same array: no copy of a key or value, no allocation per leg.
 */
#ifndef SG_FORWARD_H
#define SG_FORWARD_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "arena.h"
#include "scatter/error.h"

typedef struct sg__forward {
	char **keys; /* owned, lower case */
	size_t n;
} sg__forward;

/* Replaces the list with copies of keys[0..n) (borrowed). SG_EINVAL (reason logged) for a key
 * that is empty, not lower case, not a legal header name, or one gRPC owns (":path",
 * "grpc-timeout", "content-type", "te"). On failure the list is unchanged. */
sg_err sg__forward_set(sg__forward *f, const char *const *keys, size_t n);

void sg__forward_fini(sg__forward *f);

/* The entries of md (the server call's received metadata, borrowed) whose key is listed, as an
 * array in a; the slices are md's, valid while the server call is. *out is NULL and *n_out 0
 * when none is (or the list is empty). SG_ENOMEM when the arena is exhausted. */
sg_err sg__forward_pick(const sg__forward *f, const grpc_metadata_array *md, sg__arena *a,
                        grpc_metadata **out, size_t *n_out);

#endif
