/*
 * log.h (internal): one structured line per event on stderr.
 *
 *   scatter level=warn msg="leg 2 ipv4:127.0.0.1:5003 failed to start"
 *
 * The threshold comes from the environment variable SCATTER_LOG (debug|info|warn|error; default
 * info), read once. Safe from any thread: each line is written with one write(2).
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

/* Whether level would be written: to skip building expensive messages. */
bool sg__log_enabled(sg__log_level level);

/* Writes why a method table does not fit (printf-style, NUL-terminated, truncated) into
 * why[len] (why may be NULL) and returns SG_ECONFIG: for registration-time checks that report
 * their reason to the caller, who logs it once with the method's path. */
sg_err sg__why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
