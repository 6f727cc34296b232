/*
 * worker.h (internal): one thread, one completion queue, one timer heap.
 *
 * A call and all of its legs live on the worker that accepted it: every batch of the call is
 * bound to this worker's queue and every timer is on its heap, so per-call state is only ever
 * touched by this thread and needs no lock. The loop waits on the queue until the earliest
 * timer (see worker.c for how it gets there on time), runs each event's op->complete, then the
 * timers that are due.
 */
#ifndef SG_WORKER_H
#define SG_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <grpc/grpc.h>

#include "scatter/error.h"
#include "stats.h"
#include "timer.h"

struct sg__accept;

typedef struct sg__worker {
	size_t index;
	grpc_completion_queue *cq; /* owned; for next, registered with the server */
	grpc_server *server;       /* borrowed: where accept slots re-arm */
	sg__stats *stats;          /* borrowed: the server's counters */
	sg__timer_heap timers;     /* this thread only */
	/* Borrowed: the server's cap on fan-out calls in flight (admission.h). */
	struct sg__admission *admission;
	/* 1 while the worker takes a reference on a method's route set (sg__fanout_acquire): a
	 * reload waits for it to be 0 before releasing the set it replaced. */
	atomic_int routing;
	/* Calls alive on this worker (this thread only): must be 0 when the queue has drained. */
	size_t live;
	struct sg__accept *slots; /* owned by accept.c: outstanding requested calls */
	size_t n_slots;
	pthread_t thread;
	bool running;
} sg__worker;

/* Creates the queue; the caller registers it with the server before grpc_server_start. */
sg_err sg__worker_init(sg__worker *w, size_t index, grpc_server *server, sg__stats *stats);

/* Starts the thread. SG_ESYS if it cannot be created. */
sg_err sg__worker_start(sg__worker *w);

/* Asks the loop to end once every operation on its queue has completed (thread-safe: it shuts
 * the queue down). No batch may be started on the queue afterwards. */
void sg__worker_stop(sg__worker *w);

/* Waits for the thread, if started. */
void sg__worker_join(sg__worker *w);

/* Drains the queue if the thread never ran it, destroys it, frees the timers. Accept slots must
 * have been freed (sg__accept_fini). */
void sg__worker_fini(sg__worker *w);

#endif
