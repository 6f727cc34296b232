/*
 * timer.h (internal): a worker's timers, as a binary min-heap keyed by deadline.
 *
 * The gRPC C core has no public alarm, so each worker keeps its own heap and polls it through
 * grpc_completion_queue_next's deadline. Timers are embedded in their owner (a call) and the
 * heap holds pointers to them, so arming never allocates once the heap has grown, and a timer is
 * cancelled by its handle in O(log n). One heap, one thread: no lock.
 */
#ifndef SG_TIMER_H
#define SG_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scatter/error.h"

typedef void (*sg__timer_fn)(void *arg);

/* Embedded in its owner; sg__timer_init before first use. Not armed: index == SIZE_MAX. */
typedef struct sg__timer {
	int64_t deadline_ns; /* monotonic, as sg__now_ns */
	uint64_t seq;        /* arming order: timers with one deadline fire first-armed first */
	sg__timer_fn cb;
	void *arg;
	size_t index; /* position in the heap, SIZE_MAX when not armed */
} sg__timer;

typedef struct sg__timer_heap {
	sg__timer **items; /* borrowed timers; the array is owned */
	size_t len;
	size_t cap;
	uint64_t next_seq;
} sg__timer_heap;

void sg__timer_init(sg__timer *t);

/* Whether t is armed (started and neither fired nor cancelled). */
bool sg__timer_pending(const sg__timer *t);

void sg__timer_heap_init(sg__timer_heap *h);

/* Frees the heap's array. Timers still armed are dropped unfired (their owners own them). */
void sg__timer_heap_fini(sg__timer_heap *h);

/* Arms t (borrowed until it fires or is cancelled) to call cb(arg) once at deadline_ns.
 * SG_ESTATE if t is already armed, SG_ENOMEM if the heap cannot grow. */
sg_err sg__timer_start(sg__timer_heap *h, sg__timer *t, int64_t deadline_ns, sg__timer_fn cb,
                       void *arg);

/* Disarms t; true if it was armed (its callback will not run), false if it had already fired
 * or was never started. */
bool sg__timer_cancel(sg__timer_heap *h, sg__timer *t);

/* The earliest deadline armed, or INT64_MAX when none. */
int64_t sg__timer_heap_next(const sg__timer_heap *h);

/* Fires, in deadline order, every timer due at now_ns; returns how many ran. A callback may arm
 * or cancel timers (itself included): each is disarmed before its callback runs, and timers it
 * arms for now_ns or earlier run in this same pass. */
size_t sg__timer_heap_run(sg__timer_heap *h, int64_t now_ns);

size_t sg__timer_heap_len(const sg__timer_heap *h);

#endif
