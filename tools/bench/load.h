/*
 * load.h: the load generator, on the gRPC C core's async API.
 *
 * One channel, one completion queue, one thread (the caller's). Each call is one
 * grpc_channel_create_call and one batch of six ops, so C calls in flight cost C slots and no
 * thread each. Two disciplines:
 *   closed loop: `concurrency` calls always in flight; a call starts when one ends. Latency is
 *     from the call's start.
 *   open loop: calls scheduled every 1/rate seconds from the start, whatever the server does.
 *     Latency is from the *scheduled* send time, so a stall of the server (or of this loop) is
 *     counted in full instead of being hidden by sending less (no coordinated omission). At
 *     most max_in_flight calls are outstanding; a call due while all slots are busy starts
 *     late, its latency still counted from its schedule.
 * Everything is bounded: warm-up and the measured window in time (or a count, itself bounded by
 * max_window_s), the drain by the call deadline plus a second, after which calls are cancelled.
 *
 * Direct fan-out (n_fanout > 0, closed loop only): each "call" of the loop is a group of
 * n_fanout calls to `method`, one per target (a channel each), started together on the one
 * completion queue. A group ends with its last call: its latency is from its start to that last
 * completion (the slowest of its calls), and it is an error if any of its calls is. This is what
 * an aggregator with no cost of its own would see: the floor of the table scenarios.
 */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <grpc/status.h>

#include "alloccount.h"
#include "hist.h"

typedef struct load_opts {
	const char *target; /* a gRPC target, e.g. "127.0.0.1:5000"; borrowed */
	/* n_fanout > 0: direct fan-out to these targets instead of target (array and strings
	 * borrowed). */
	const char *const *fanout_targets;
	size_t n_fanout;
	const char *method;     /* e.g. "/search.Search/Query"; borrowed */
	const char *query;      /* SearchRequest.query */
	uint32_t k;             /* SearchRequest.k */
	uint32_t concurrency;   /* closed loop when rate == 0; fan-out: groups in flight */
	double rate;            /* calls per second; > 0: open loop */
	uint32_t max_in_flight; /* open loop only */
	double warmup_s;
	double duration_s;    /* the measured window */
	uint64_t count;       /* > 0: the window ends after this many calls (or duration_s) */
	uint32_t deadline_ms; /* per call */
	pid_t cpu_pid;        /* > 0: its CPU time and RSS are sampled around the window */
	int busy_cpu; /* >= 0: that CPU's busy share over the window is read from /proc/stat */
	const volatile sig_atomic_t *stop; /* set asynchronously (SIGINT): end the run early */
	alloccount_shared
	        *allocs; /* non-NULL: the aggregator's allocation counters (--count-allocs),
	                    read around the window, attribution sampled during it */
} load_opts;

/* With n_fanout > 0 every "call" below is a group: calls, errors, partial, done_in_window and
 * lat count groups, and legs is n_fanout. */
typedef struct load_result {
	hist lat; /* calls scheduled (or started) inside the window, whatever their status */
	/* OK calls of the window with per-leg trailers: the slowest leg's latency as the
	 * aggregator measured it, and the call's latency beyond it (from its actual send): the
	 * aggregator's own time plus the client <-> aggregator hops. */
	hist slowest_leg;
	hist beyond_leg;
	uint64_t calls;          /* lat.count + calls that could not be sent */
	uint64_t errors;         /* status != OK */
	uint64_t partial;        /* OK, but a leg failed (scatter-legs trailer or shards_failed) */
	uint64_t late;           /* open loop: calls sent over 1 ms after their scheduled time */
	int64_t lag_max_us;      /* open loop: the largest delay of a send behind its schedule */
	uint64_t done_in_window; /* completions inside the window: the denominator of CPU/call */
	double window_s;
	double qps;          /* done_in_window / window_s */
	uint32_t legs;       /* legs per call, from the scatter-legs trailer (0: none seen) */
	int64_t cpu_us;      /* cpu_pid's CPU time over the window (all threads, from its process
	                        CPU clock, ns precision); -1 if not sampled */
	int64_t cpu_stat_us; /* the same from /proc/PID/stat utime + stime (clock ticks, 10 ms) */
	int64_t self_cpu_us; /* this process over the window */
	double busy_cpu;     /* o->busy_cpu's busy share (0..1) over the window; -1 unknown */
	long rss_idle_kb;    /* cpu_pid's RSS after the first call, before the load; -1 unknown */
	long rss_peak_kb;    /* its largest RSS seen during the window */
	/* With o->allocs: the aggregator's heap calls over the window (-1: not counted), and the
	 * attributed samples per object (indices of alloccount_shared.objs). */
	int64_t allocs, reallocs, frees, alloc_bytes;
	uint64_t alloc_samples[ALLOCCOUNT_OBJS];
	grpc_status_code first_error;
	char first_error_msg[256];
	int interrupted; /* the stop flag ended the run */
} load_result;

/* Runs the load. gRPC must be initialised (grpc_init) by the caller. First sends one probe
 * call (fan-out: one group, every target must answer OK) and returns -1 (reason on stderr) if it
 * fails, so that a broken endpoint is reported once and plainly rather than as a run of errors;
 * otherwise fills *r and returns 0. Returns -1 for fan-out with an open loop (rate > 0). */
int load_run(const load_opts *o, load_result *r);

#endif
