/*
 * worker.c: the completion-queue loop of one thread.
 */
#include "worker.h"

#include <string.h>
#include <time.h>

#include "deadline.h"
#include "log.h"
#include "op.h"

/* grpc_completion_queue_next rounds its deadline up to whole milliseconds and its poller adds
 * its own rounding: measured here it returns 0.2 to 2.2 ms after the deadline (1.2 ms on
 * average), which made every timer fire that late. So the loop blocks only until this long
 * before the earliest timer, then polls without blocking until the timer is due. */
#define WORKER_EARLY_NS INT64_C(2500000)
/* Between two such polls the thread naps this long rather than spinning: an event arriving in
 * that window waits at most a nap (plus the kernel's timer slack), a timer fires at most that
 * late, and the window costs a few dozen polls, not a core. */
#define WORKER_NAP_NS INT64_C(100000)

sg_err sg__worker_init(sg__worker *w, size_t index, grpc_server *server, sg__stats *stats)
{
	memset(w, 0, sizeof(*w));
	atomic_init(&w->routing, 0);
	w->index = index;
	w->server = server;
	w->stats = stats;
	sg__timer_heap_init(&w->timers);
	w->cq = grpc_completion_queue_create_for_next(NULL);
	return w->cq == NULL ? SG_ENOMEM : SG_OK;
}

/* Sleeps for ns nanoseconds (short: a nap inside the timer window). */
static void worker_nap(int64_t ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};

	nanosleep(&ts, NULL);
}

/* The next event, or a timeout when the earliest timer is due. */
static grpc_event worker_wait(sg__worker *w)
{
	int64_t next = sg__timer_heap_next(&w->timers);
	int64_t now;
	grpc_event ev;

	/* No timer: block until an event (the queue's shutdown is one), without reading the clock:
	 * a busy loop passes here once per event. */
	if (next == INT64_MAX)
		return grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	now = sg__now_ns();
	if (next - now > WORKER_EARLY_NS)
		return grpc_completion_queue_next(
		        w->cq, sg__timespec_from_ns(next - WORKER_EARLY_NS), NULL);
	/* Inside the window: poll, and nap while nothing is due. */
	ev = grpc_completion_queue_next(w->cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT && (now = sg__now_ns()) < next)
		worker_nap(next - now < WORKER_NAP_NS ? next - now : WORKER_NAP_NS);
	return ev;
}

static void *worker_main(void *arg)
{
	sg__worker *w = arg;

	for (;;) {
		grpc_event ev = worker_wait(w);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE) {
			sg__op *op = ev.tag;

			op->complete(op, ev.success != 0);
		}
		/* After every event too, not only on timeouts: a busy queue must not starve
		 * timers. */
		if (sg__timer_heap_next(&w->timers) != INT64_MAX)
			sg__timer_heap_run(&w->timers, sg__now_ns());
	}
	if (w->live != 0)
		sg__log(SG_LOG_ERROR, "worker %zu: %zu calls still alive after its queue drained",
		        w->index, w->live);
	return NULL;
}

sg_err sg__worker_start(sg__worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return SG_ESYS;
	w->running = true;
	return SG_OK;
}

void sg__worker_stop(sg__worker *w)
{
	if (w->cq != NULL)
		grpc_completion_queue_shutdown(w->cq);
}

void sg__worker_join(sg__worker *w)
{
	if (w->running) {
		pthread_join(w->thread, NULL);
		w->running = false;
	}
}

void sg__worker_fini(sg__worker *w)
{
	if (w->cq != NULL) {
		/* A queue must be drained to its shutdown event before it is destroyed; the thread
		 * did it if it ran. */
		grpc_completion_queue_shutdown(w->cq);
		while (grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
		               .type != GRPC_QUEUE_SHUTDOWN) {
		}
		grpc_completion_queue_destroy(w->cq);
		w->cq = NULL;
	}
	sg__timer_heap_fini(&w->timers);
}
