/*
 * log.h (internal): one structured line per event on stderr.
 *
 *   scatter level=warn msg="leg 2 ipv4:127.0.0.1:5003 failed to start"
 *
 * State changes carry their facts as key=value pairs after the message (sg__log_kv):
 *
 *   scatter level=info msg="group reloaded" group=shards targets=3 added=1 removed=1
 *
 * The threshold (debug|info|warn|error; default info) comes from SCATTER_LOG_LEVEL (or the older
 * SCATTER_LOG), read once, and sg_log_set_level (scatter/config.h) overrides it. Safe from any
 * thread: each line is written with one write(2).
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "scatter/error.h"

typedef enum sg__log_level {
	SG_LOG_DEBUG = 0,
	SG_LOG_INFO = 1,
	SG_LOG_WARN = 2,
	SG_LOG_ERROR = 3,
} sg__log_level;

/* printf-style; the message is quoted and escaped. Lines longer than 1 KiB are truncated. */
void sg__log(sg__log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line with a fixed message and key=value pairs (kv_fmt, printf-style, written as given:
 * values with spaces must be quoted by the caller). */
void sg__log_kv(sg__log_level level, const char *msg, const char *kv_fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Whether level would be written: to skip building expensive messages. */
bool sg__log_enabled(sg__log_level level);

/* Writes why a method table does not fit (printf-style, NUL-terminated, truncated) into
 * why[len] (why may be NULL) and returns SG_ECONFIG: for registration-time checks that report
 * their reason to the caller, who logs it once with the method's path. */
sg_err sg__why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
