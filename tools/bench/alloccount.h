/*
 * alloccount.h: what libscatter-alloccount.so (alloccount.c) shares with scatter-bench.
 *
 * The shim, LD_PRELOADed into the aggregator, keeps its counters in a file it maps shared
 * (ALLOCCOUNT_FILE): scatter-bench maps the same file and reads the counters around its window,
 * with no signal and no help from the aggregator. While `sampling` is set, one allocation in
 * `sample_every` is attributed to the object (executable or shared library) of its first
 * caller outside the allocator (libc, libstdc++, libgcc_s, the shim): the executable is
 * libscatter (a static library) with the aggregator's own code, libgrpc is gRPC core, and so on.
 */
#ifndef BENCH_ALLOCCOUNT_H
#define BENCH_ALLOCCOUNT_H

#include <stdatomic.h>
#include <stdint.h>

#define ALLOCCOUNT_MAGIC    0x53474143u /* "SGAC" */
#define ALLOCCOUNT_OBJS     24
#define ALLOCCOUNT_NAME_MAX 64

typedef struct alloccount_obj {
	char name[ALLOCCOUNT_NAME_MAX]; /* basename of the object; "" = free entry */
	_Atomic uint64_t samples;
} alloccount_obj;

typedef struct alloccount_shared {
	_Atomic uint32_t magic;    /* set once the shim has mapped the file */
	_Atomic uint32_t sampling; /* written by the bench: attribute allocations while set */
	uint32_t sample_every;     /* one attributed allocation in this many */
	uint32_t pad;
	_Atomic uint64_t allocs;   /* malloc, calloc, realloc(NULL), memalign family */
	_Atomic uint64_t reallocs; /* realloc of a live block (may or may not move) */
	_Atomic uint64_t frees;    /* free of a non-NULL pointer */
	_Atomic uint64_t bytes;    /* bytes requested by the allocations and reallocs above */
	_Atomic uint64_t samples;  /* attributed allocations */
	_Atomic uint32_t obj_lock;
	alloccount_obj objs[ALLOCCOUNT_OBJS];
} alloccount_shared;

#endif
