/*
 * proc.c: child processes for end-to-end tests (see proc.h).
 */
#define _GNU_SOURCE /* pipe2, prctl */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_PREFIX "listening on "

static int64_t proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs in the forked child: only async-signal-safe calls until exec (the parent may have gRPC
 * threads). The child dies with the parent, starts with default signal handling and an empty
 * mask whatever the test set, and writes stdout into the pipe. */
static void proc_exec_child(pid_t parent, int out_fd, char *const argv[])
{
	sigset_t none;
	struct sigaction dfl;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

/* Reads the child's stdout until the readiness line or the deadline. Returns 0 with p->addr and
 * p->port set, -1 on timeout, EOF (the child died) or a malformed line. */
static int proc_read_ready(proc *p, int timeout_ms)
{
	char buf[512];
	size_t len = 0;
	int64_t deadline = proc_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
		int64_t left = deadline - proc_now_ms();
		char *nl;
		ssize_t n;
		int r;

		if (left <= 0) {
			fprintf(stderr, "proc: %s: no readiness line within %d ms\n", p->name,
			        timeout_ms);
			return -1;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		n = read(p->out_fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "proc: %s: exited before it was ready\n", p->name);
			return -1;
		}
		len += (size_t)n;
		buf[len] = '\0';
		/* Skip whole lines that are not the readiness line. */
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			if (strncmp(buf, READY_PREFIX, strlen(READY_PREFIX)) == 0) {
				const char *addr = buf + strlen(READY_PREFIX);
				const char *colon = strrchr(addr, ':');

				if (colon == NULL || strlen(addr) >= sizeof(p->addr) ||
				    (p->port = atoi(colon + 1)) <= 0) {
					fprintf(stderr, "proc: %s: bad readiness line: %s\n",
					        p->name, buf);
					return -1;
				}
				strcpy(p->addr, addr);
				return 0;
			}
			if (strlen(p->preamble) + strlen(buf) + 2 <= sizeof(p->preamble)) {
				strcat(p->preamble, buf);
				strcat(p->preamble, "\n");
			}
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1) {
			fprintf(stderr, "proc: %s: stdout line too long\n", p->name);
			return -1;
		}
	}
}

static void proc_reset(proc *p)
{
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->out_fd = -1;
	p->pid = 0;
}

int proc_start(proc *p, char *const argv[], int timeout_ms)
{
	const char *base = strrchr(argv[0], '/');
	pid_t parent = getpid();
	int fds[2];

	memset(p, 0, sizeof(*p));
	p->out_fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", base != NULL ? base + 1 : argv[0]);
	if (pipe2(fds, O_CLOEXEC) != 0) {
		perror("proc: pipe2");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	p->pid = fork();
	if (p->pid < 0) {
		perror("proc: fork");
		close(fds[0]);
		close(fds[1]);
		p->pid = 0;
		return -1;
	}
	if (p->pid == 0)
		proc_exec_child(parent, fds[1], argv);
	close(fds[1]);
	p->out_fd = fds[0];
	if (proc_read_ready(p, timeout_ms) != 0) {
		proc_kill(p);
		return -1;
	}
	return 0;
}

int proc_wait(proc *p, int timeout_ms)
{
	int64_t deadline = proc_now_ms() + timeout_ms;
	int pidfd, st;

	if (p->pid <= 0)
		return -1;
	/* A pidfd becomes readable when the child exits: a bounded wait without polling. */
	pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	for (;;) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		int64_t left = deadline - proc_now_ms();

		if (r == p->pid) {
			if (pidfd >= 0)
				close(pidfd);
			proc_reset(p);
			return st;
		}
		if ((r < 0 && errno != EINTR) || left <= 0)
			break;
		if (pidfd >= 0) {
			struct pollfd pfd = {.fd = pidfd, .events = POLLIN};

			poll(&pfd, 1, (int)left);
		} else {
			/* Kernels before 5.3: no pidfd, so look again shortly. */
			struct timespec ts = {.tv_sec = 0, .tv_nsec = 5 * 1000000};

			nanosleep(&ts, NULL);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return -1;
}

int proc_kill(proc *p)
{
	int st = -1;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
		;
	proc_reset(p);
	return st;
}

int proc_stop(proc *p, int timeout_ms)
{
	int st;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	if ((st = proc_wait(p, timeout_ms)) != -1)
		return st;
	fprintf(stderr, "proc: %s (pid %d) did not stop within %d ms of SIGTERM; killing it\n",
	        p->name, (int)p->pid, timeout_ms);
	return proc_kill(p);
}

int proc_exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int proc_preamble_port(const proc *p, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (const char *line = p->preamble; *line != '\0';) {
		const char *end = strchr(line, '\n');

		if (end == NULL)
			break;
		if (strncmp(line, prefix, plen) == 0 && line[plen] == ' ') {
			const char *colon = memrchr(line, ':', (size_t)(end - line));

			return colon != NULL ? atoi(colon + 1) : -1;
		}
		line = end + 1;
	}
	return -1;
}
