/*
 * log.c: structured log lines on stderr, filtered by a level.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scatter/config.h"

static const char *const log_names[] = {"debug", "info", "warn", "error"};

/* The environment is read once (a getenv per line would cost more than the line); afterwards
 * sg_log_set_level may change the threshold from the controlling thread while workers log, so
 * it is an atomic, read relaxed: a line logged at the old level around a change is harmless. */
static atomic_int log_threshold = SG_LOG_INFO;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static int log_parse(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(name, log_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

static void log_init(void)
{
	/* SCATTER_LOG_LEVEL is the documented name; SCATTER_LOG is the older one, kept. */
	int level = log_parse(getenv("SCATTER_LOG_LEVEL"));

	if (level < 0)
		level = log_parse(getenv("SCATTER_LOG"));
	if (level >= 0)
		atomic_store_explicit(&log_threshold, level, memory_order_relaxed);
}

sg_err sg_log_set_level(const char *level)
{
	int l = log_parse(level);

	if (l < 0)
		return SG_EINVAL;
	pthread_once(&log_once, log_init);
	atomic_store_explicit(&log_threshold, l, memory_order_relaxed);
	return SG_OK;
}

bool sg__log_enabled(sg__log_level level)
{
	pthread_once(&log_once, log_init);
	return (int)level >= atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/* Writes `scatter level=L msg="<msg escaped>"[ <kv>]\n` with one write(2): lines from several
 * threads never interleave. */
static void log_write(sg__log_level level, const char *msg, const char *kv)
{
	char line[2 * 1024 + 1024 + 64];
	size_t n, cap = sizeof(line) - 2; /* room for the closing '"' or the '\n' */

	n = (size_t)snprintf(line, sizeof(line), "scatter level=%s msg=\"", log_names[level]);
	/* Escape so that one event stays one parseable line whatever the message holds. */
	for (const char *p = msg; *p != '\0' && n + 4 < cap; p++) {
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
	for (const char *p = kv; p != NULL && *p != '\0' && n + 2 < cap; p++) {
		if (p == kv)
			line[n++] = ' ';
		line[n++] = *p == '\n' ? ' ' : *p;
	}
	line[n++] = '\n';
	/* Nothing to do if stderr fails. */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

void sg__log(sg__log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!sg__log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(level, msg, NULL);
}

void sg__log_kv(sg__log_level level, const char *msg, const char *kv_fmt, ...)
{
	char kv[1024];
	va_list ap;

	if (!sg__log_enabled(level))
		return;
	va_start(ap, kv_fmt);
	vsnprintf(kv, sizeof(kv), kv_fmt, ap);
	va_end(ap);
	log_write(level, msg, kv);
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
