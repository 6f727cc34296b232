/*
 * procs.c: child server processes.
 */
#include "procs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROCS_ARGV_MAX 64
#define PROCS_LINE_MAX 512
/* procs_run: how long a child asked to stop (SIGTERM) gets before SIGKILL. */
#define PROCS_STOP_GRACE_MS 5000

typedef struct child {
	pid_t pid;
	int out_fd; /* read end of its stdout; kept open so a late write gets no SIGPIPE */
} child;

/* Written only by the main thread; read by procs_kill_all from a signal handler, which only
 * needs the pids (volatile: a handler may run between any two instructions). */
static volatile child procs_children[PROCS_MAX];
static volatile int procs_n;

static int64_t procs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Child side of fork: only async-signal-safe calls until exec. */
static void procs_exec(char *const argv[], int out_fd, pid_t parent)
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) /* the parent died before prctl */
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_IGN); /* a terminal's ^C goes to the bench, which stops us in order */
	signal(SIGPIPE, SIG_DFL);
	if (dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	close(out_fd);
	execvp(argv[0], argv);
	_exit(127);
}

/* Reads from fd until a line `listening on HOST:PORT` arrives or deadline passes. */
static int procs_wait_ready(int fd, pid_t pid, int64_t deadline, proc_info *info)
{
	char buf[PROCS_LINE_MAX];
	size_t used = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - procs_now_ms();
		char *line, *nl;
		ssize_t got;

		if (left <= 0) {
			fprintf(stderr, "scatter-bench: pid %d: no readiness line in time\n",
			        (int)pid);
			return -1;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				return -1; /* SIGINT: give up starting */
			perror("scatter-bench: poll");
			return -1;
		}
		if (p.revents == 0)
			continue;
		got = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (got <= 0) {
			fprintf(stderr, "scatter-bench: pid %d exited before it was ready\n",
			        (int)pid);
			return -1;
		}
		used += (size_t)got;
		buf[used] = '\0';
		for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
			const char *colon;

			*nl = '\0';
			if (strncmp(line, "listening on ", 13) != 0)
				continue;
			snprintf(info->addr, sizeof(info->addr), "%s", line + 13);
			colon = strrchr(info->addr, ':');
			info->port = colon != NULL ? atoi(colon + 1) : 0;
			return info->port > 0 ? 0 : -1;
		}
		/* Keep an unfinished line; drop finished ones. */
		used = strlen(line);
		memmove(buf, line, used + 1);
		if (used == sizeof(buf) - 1)
			used = 0;
	}
}

/* Forks argv[0] (through `nice -n NICE` when nice > 0, and taskset when cpu >= 0) with its
 * stdout on a pipe, and registers it. Returns its pid and the pipe's read end, or -1. */
static pid_t procs_spawn(char *const argv[], int cpu, int nice, int *out_fd)
{
	char *args[PROCS_ARGV_MAX + 7];
	char cpu_arg[16], nice_arg[16];
	size_t n = 0;
	int fds[2];
	pid_t pid, self = getpid();

	if (procs_n >= PROCS_MAX) {
		fprintf(stderr, "scatter-bench: more than %d children\n", PROCS_MAX);
		return -1;
	}
	if (nice > 0) {
		snprintf(nice_arg, sizeof(nice_arg), "%d", nice);
		args[n++] = "nice";
		args[n++] = "-n";
		args[n++] = nice_arg;
	}
	if (cpu >= 0) {
		snprintf(cpu_arg, sizeof(cpu_arg), "%d", cpu);
		args[n++] = "taskset";
		args[n++] = "-c";
		args[n++] = cpu_arg;
	}
	for (size_t i = 0; argv[i] != NULL; i++) {
		if (i == PROCS_ARGV_MAX)
			return -1;
		args[n++] = argv[i];
	}
	args[n] = NULL;
	if (pipe(fds) != 0) {
		perror("scatter-bench: pipe");
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		perror("scatter-bench: fork");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		procs_exec(args, fds[1], self);
	}
	close(fds[1]);
	procs_children[procs_n].pid = pid;
	procs_children[procs_n].out_fd = fds[0];
	procs_n++;
	*out_fd = fds[0];
	return pid;
}

int procs_start(char *const argv[], int cpu, int nice, int timeout_ms, proc_info *out)
{
	proc_info info = {0};
	int fd;
	pid_t pid;

	if ((pid = procs_spawn(argv, cpu, nice, &fd)) < 0)
		return -1;
	info.pid = pid;
	if (procs_wait_ready(fd, pid, procs_now_ms() + timeout_ms, &info) != 0) {
		fprintf(stderr, "scatter-bench: could not start %s\n", argv[0]);
		return -1; /* procs_stop_all (the caller's cleanup) reaps it */
	}
	if (out != NULL)
		*out = info;
	return 0;
}

/* Reads what fd gives into out (the first out_len - 1 bytes kept, NUL-terminated) until EOF or
 * *deadline; when *stop is set, SIGTERMs pid once and brings *deadline to PROCS_STOP_GRACE_MS
 * from then at most. Returns 0 at EOF, -1 at the deadline. */
static int procs_read_all(int fd, pid_t pid, int64_t *deadline, const volatile sig_atomic_t *stop,
                          char *out, size_t out_len)
{
	size_t used = 0;
	int termed = 0;

	out[0] = '\0';
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char drop[PROCS_LINE_MAX];
		int64_t left;
		ssize_t got;

		if (stop != NULL && *stop && !termed) {
			kill(pid, SIGTERM);
			termed = 1;
			if (*deadline > procs_now_ms() + PROCS_STOP_GRACE_MS)
				*deadline = procs_now_ms() + PROCS_STOP_GRACE_MS;
		}
		if ((left = *deadline - procs_now_ms()) <= 0)
			return -1;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue; /* a signal: *stop is looked at above */
			perror("scatter-bench: poll");
			return -1;
		}
		if (p.revents == 0)
			continue;
		if (used + 1 < out_len)
			got = read(fd, out + used, out_len - 1 - used);
		else
			got = read(fd, drop, sizeof(drop));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		if (used + 1 < out_len) {
			used += (size_t)got;
			out[used] = '\0';
		}
	}
}

/* Takes pid out of the registry (it has been reaped) and closes its pipe. */
static void procs_forget(pid_t pid)
{
	for (int i = 0; i < procs_n; i++) {
		if (procs_children[i].pid != pid)
			continue;
		close(procs_children[i].out_fd);
		for (int j = i; j + 1 < procs_n; j++) {
			procs_children[j].pid = procs_children[j + 1].pid;
			procs_children[j].out_fd = procs_children[j + 1].out_fd;
		}
		procs_n--;
		return;
	}
}

int procs_run(char *const argv[], int cpu, int timeout_ms, const volatile sig_atomic_t *stop,
              char *out, size_t out_len)
{
	int64_t deadline = procs_now_ms() + timeout_ms;
	int fd, status = 0;
	pid_t pid, got;

	if (out_len == 0 || (pid = procs_spawn(argv, cpu, 0, &fd)) < 0)
		return -1;
	if (procs_read_all(fd, pid, &deadline, stop, out, out_len) != 0)
		fprintf(stderr, "scatter-bench: pid %d (%s) did not end in time; killing it\n",
		        (int)pid, argv[0]);
	/* Its stdout is closed, so it is exiting; bounded all the same, like procs_stop_all. */
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && procs_now_ms() < deadline) {
		struct timespec nap = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};

		nanosleep(&nap, NULL);
	}
	if (got == 0) {
		kill(pid, SIGKILL);
		got = waitpid(pid, &status, 0);
	}
	procs_forget(pid);
	return got == pid ? status : -1;
}

int procs_stop_all(int timeout_ms)
{
	int64_t deadline = procs_now_ms() + timeout_ms;
	int bad = 0;

	for (int i = 0; i < procs_n; i++)
		kill(procs_children[i].pid, SIGTERM);
	for (int i = 0; i < procs_n; i++) {
		pid_t pid = procs_children[i].pid;
		int status = 0;
		pid_t got;

		/* Bounded: the children share one deadline, then SIGKILL. A short nap between
		 * polls of an exit we cannot be woken for (no pidfd on every kernel) is the
		 * one sleep here. */
		while ((got = waitpid(pid, &status, WNOHANG)) == 0 && procs_now_ms() < deadline) {
			struct timespec nap = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};

			nanosleep(&nap, NULL);
		}
		if (got == 0) {
			fprintf(stderr, "scatter-bench: pid %d ignored SIGTERM; killing it\n",
			        (int)pid);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			bad++;
		} else if (got > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			bad++;
		}
		close(procs_children[i].out_fd);
	}
	procs_n = 0;
	return bad;
}

void procs_kill_all(void)
{
	for (int i = 0; i < procs_n; i++)
		kill(procs_children[i].pid, SIGKILL);
}
