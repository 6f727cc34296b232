/*
 * log.c: structured log lines on stderr, filtered by SCATTER_LOG.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const log_names[] = {"debug", "info", "warn", "error"};

/* Read once: the environment does not change under a running server, and a getenv per line
 * would cost more than the line. Written by pthread_once, read-only afterwards. */
static sg__log_level log_threshold = SG_LOG_INFO;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_init(void)
{
	const char *env = getenv("SCATTER_LOG");

	if (env == NULL)
		return;
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(env, log_names[i]) == 0) {
			log_threshold = (sg__log_level)i;
			return;
		}
	}
}

bool sg__log_enabled(sg__log_level level)
{
	pthread_once(&log_once, log_init);
	return level >= log_threshold;
}

void sg__log(sg__log_level level, const char *fmt, ...)
{
	char msg[1024];
	char line[2 * sizeof(msg) + 64];
	va_list ap;
	size_t n;

	if (!sg__log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	n = (size_t)snprintf(line, sizeof(line), "scatter level=%s msg=\"", log_names[level]);
	/* Escape so that one event stays one parseable line whatever the message holds. */
	for (const char *p = msg; *p != '\0' && n + 4 < sizeof(line); p++) {
		if (*p == '"' || *p == '\\') {
			line[n++] = '\\';
			line[n++] = *p;
		} else if (*p == '\n') {
			line[n++] = '\\';
			line[n++] = 'n';
		} else {
			line[n++] = *p;
		}
	}
	line[n++] = '"';
	line[n++] = '\n';
	/* One write: lines from several workers never interleave. Nothing to do if stderr fails. */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

sg_err sg__why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return SG_ECONFIG;
}
