/*
 * procs.h: the processes a scenario starts (shards, aggregator, a measuring child), and their
 * end.
 *
 * A child is started through `taskset -c CPU` (util-linux) when a CPU is given, and `nice -n N`
 * when asked, with its stdout piped back so that its readiness line (`listening on HOST:PORT`)
 * gives the port the OS chose; no sleeping to synchronise. Every child gets PR_SET_PDEATHSIG
 * (SIGTERM), so a crashed or killed bench leaves nothing behind; procs_stop_all() ends the rest,
 * and is also registered with atexit() and callable from a signal handler's second strike
 * (procs_kill_all()).
 *
 * The registry is a fixed array owned by this module (one per process: the bench runs one
 * scenario at a time from main). Call everything here from the main thread only: a parent-death
 * signal follows the thread that forked, so forking from a thread that may exit first would kill
 * the children early.
 */
#ifndef BENCH_PROCS_H
#define BENCH_PROCS_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define PROCS_MAX 64

typedef struct proc_info {
	pid_t pid;
	int port;      /* from the readiness line */
	char addr[64]; /* "HOST:PORT" from the readiness line */
} proc_info;

/* Starts argv[0] (a path; argv borrowed) pinned to cpu (-1: not pinned), at `nice` (> 0: that
 * much lower priority, through nice(1); 0: as the bench), waits up to timeout_ms for its
 * readiness line. Returns 0 with *out filled (out may be NULL), or -1 with the reason on
 * stderr after killing and reaping the child. At most PROCS_MAX children at once. */
int procs_start(char *const argv[], int cpu, int nice, int timeout_ms, proc_info *out);

/* Runs argv[0] (a path; argv borrowed) pinned to cpu (-1: not pinned) to its end, like
 * procs_start's children (registered while it runs, PR_SET_PDEATHSIG), keeping its stdout in out
 * (NUL-terminated; what does not fit in out_len - 1 bytes is read and dropped). When *stop (may
 * be NULL) is set, it gets SIGTERM and at most 5 s more. At timeout_ms from the start it gets
 * SIGKILL. Always reaped before returning. Returns its wait status (waitpid's), or -1 if it could
 * not be started or reaped. */
int procs_run(char *const argv[], int cpu, int timeout_ms, const volatile sig_atomic_t *stop,
              char *out, size_t out_len);

/* SIGTERM to every child, up to timeout_ms in total for them to exit, then SIGKILL; reaps them
 * all. Idempotent. Returns the number of children that did not exit 0 on SIGTERM. */
int procs_stop_all(int timeout_ms);

/* SIGKILL to every child, without waiting: async-signal-safe, for a signal handler. */
void procs_kill_all(void);

#endif
