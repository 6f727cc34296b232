/*
 * proc.h: child processes for end-to-end tests.
 *
 * A test starts a server binary, waits for its readiness line (`listening on HOST:PORT` on
 * stdout) and gets the port the OS chose; it never sleeps to synchronise. Children die with the
 * test (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves no server behind. Every wait
 * is bounded.
 */
#ifndef SCATTER_TEST_PROC_H
#define SCATTER_TEST_PROC_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct proc {
	pid_t pid;     /* 0 when not running */
	int out_fd;    /* read end of the child's stdout, -1 when closed */
	int port;      /* from the readiness line */
	char addr[64]; /* "HOST:PORT" from the readiness line */
	char name[64]; /* for messages: the binary's base name */
	/* The lines the child printed before its readiness line, each ending in '\n' (those that
	 * fit), e.g. "admin on 127.0.0.1:40321". */
	char preamble[512];
} proc;

/* Starts argv[0] (a path) with argv, stdout piped to the caller and stderr inherited, and
 * waits up to timeout_ms for its `listening on HOST:PORT` line. argv is borrowed. Returns 0
 * with p filled, or -1 (reason on stderr) after killing and reaping the child. */
int proc_start(proc *p, char *const argv[], int timeout_ms);

/* Waits up to timeout_ms for the child to exit on its own, reaping it. Returns its wait status
 * (as waitpid), or -1 if it is still running (then p is unchanged). */
int proc_wait(proc *p, int timeout_ms);

/* Stops the child: SIGTERM, up to timeout_ms for it to exit, then SIGKILL. Returns the wait
 * status of the child (see proc_exited_ok), or -1 if p was not running. Idempotent: p is reset
 * so a second stop returns -1. */
int proc_stop(proc *p, int timeout_ms);

/* SIGKILL and reap now, like a crash. Returns the wait status, or -1 if p was not running. */
int proc_kill(proc *p);

/* The port of the preamble line "<prefix> HOST:PORT" (e.g. prefix "admin on"), or -1. */
int proc_preamble_port(const proc *p, const char *prefix);

/* Whether a wait status says "exited with status 0". */
int proc_exited_ok(int status);

#ifdef __cplusplus
}
#endif

#endif
