/*
 * arena.h (internal): a per-call bump allocator. Everything a call decodes, merges and encodes
 * comes from its arena and is freed at once when the call ends: no per-object free, and
 * protobuf-c messages decoded through sg__arena_allocator() need no free_unpacked.
 */
#ifndef SG_ARENA_H
#define SG_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "scatter/error.h"

typedef struct sg__arena_chunk sg__arena_chunk;

/* Embedded in its owner (init/fini); not thread-safe: one call, one thread. */
typedef struct sg__arena {
	sg__arena_chunk *head; /* newest chunk first; the last one is the first chunk */
	char *cur;             /* next free byte in head */
	size_t left;           /* bytes free in head */
	size_t first_size;     /* payload size of the first chunk, kept across resets */
	ProtobufCAllocator pb; /* adapter handed to protobuf-c; allocator_data = the arena */
} sg__arena;

/* Prepares an empty arena whose first chunk (allocated lazily) holds first_size bytes. */
void sg__arena_init(sg__arena *a, size_t first_size);

/* size bytes aligned for any type, valid until reset/fini; NULL only when out of memory.
 * size 0 returns a valid unique pointer. */
void *sg__arena_alloc(sg__arena *a, size_t size);

/* A copy of s (NUL-terminated) in the arena; NULL when out of memory. */
char *sg__arena_strdup(sg__arena *a, const char *s);

/* Frees everything allocated so far but keeps the first chunk for reuse (pooled call state). */
void sg__arena_reset(sg__arena *a);

/* Frees every chunk. The arena may be init'ed again. */
void sg__arena_fini(sg__arena *a);

/* The protobuf-c allocator view of a (its free is a no-op). Borrowed: valid while a is. */
ProtobufCAllocator *sg__arena_allocator(sg__arena *a);

#endif
