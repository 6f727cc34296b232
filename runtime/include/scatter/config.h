/*
 * scatter/config.h: the aggregator's config file, flags and environment, and a main that runs it.
 *
 * Everything that is not in the .proto (where to listen, each backend group's targets, TLS
 * files, resilience overrides per group, forwarded metadata, message limits, the admin port,
 * threads, max_calls, drain, log level) comes from one YAML file, with flags and environment
 * variables on top:
 *
 *   built-in defaults  <  the config file  <  SCATTER_* environment  <  command-line flags
 *
 * A file that does not fit fails the load with `FILE:LINE:COL: KEY: what is wrong`, e.g.
 *   search.yaml:7:5: groups.shards.resilience.breaker.open_ms: expected an unsigned integer,
 *   got "1s"
 * and an unknown key is such an error, never ignored. README.md ("Configuration") documents
 * every key.
 *
 * Threads: everything here runs on the controlling thread (typically main).
 */
#ifndef SCATTER_CONFIG_H
#define SCATTER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "scatter/error.h"
#include "scatter/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_config sg_config;

/* A config with the built-in defaults and no groups. The caller frees it with sg_config_free. */
sg_err sg_config_new(sg_config **out);

/* Loads the YAML file at path into a new config (defaults for what the file leaves out).
 * SG_ECONFIG with the reason (`path:line:col: key: what`) in err[len] (NUL-terminated,
 * truncated; err may be NULL); SG_ESYS if the file cannot be read (the reason says why). */
sg_err sg_config_load(const char *path, sg_config **out, char *err, size_t len);

/* The same from text in memory; name (e.g. "inline") stands for the file in messages. */
sg_err sg_config_parse(const char *text, size_t text_len, const char *name, sg_config **out,
                       char *err, size_t len);

/* NULL is a no-op. */
void sg_config_free(sg_config *c);

/* Overrides one top-level setting from a flag or an environment variable: key is the file's
 * key ("listen", "admin", "threads", "max_calls", "log_level", "drain.grace_ms",
 * "drain.lame_duck_ms"), value its text, parsed as in the file. `source` names where it came
 * from in messages ("--threads", "SCATTER_THREADS"). SG_ECONFIG with the reason in err. */
sg_err sg_config_set(sg_config *c, const char *source, const char *key, const char *value,
                     char *err, size_t len);

/* Sets group's targets (creating the group if the file has none), replacing the file's:
 * `csv` is a comma-separated list ("127.0.0.1:5001,127.0.0.1:5002"), as the aggregators'
 * --shards style flags take it. */
sg_err sg_config_set_targets(sg_config *c, const char *group, const char *csv, char *err,
                             size_t len);

/* Read-only views (borrowed from c, valid until it is freed or changed). */
const char *sg_config_file(const sg_config *c); /* NULL when not loaded from a file */
const char *sg_config_listen(const sg_config *c);
const char *sg_config_admin(const sg_config *c); /* NULL: no admin port */
const char *sg_config_log_level(const sg_config *c);
uint32_t sg_config_grace_ms(const sg_config *c);
uint32_t sg_config_lame_duck_ms(const sg_config *c);
size_t sg_config_n_groups(const sg_config *c);
const char *sg_config_group_name(const sg_config *c, size_t i);
/* The targets of group (NULL and 0 when there is no such group). */
const char *const *sg_config_group_targets(const sg_config *c, const char *group, size_t *n);

/* The options sg_server_alloc takes (listen, threads, max_calls); strings borrowed from c. */
void sg_config_server_opts(const sg_config *c, sg_server_opts *out);

/* Applies the rest to s, after the service is registered and before sg_server_start: groups
 * and their targets, TLS, resilience overrides (merged over the .proto's values of the
 * methods that call each group: see README), forwarded metadata, message limits, the admin
 * port, the log level. SG_ECONFIG with the reason in err (e.g. a group no method calls). */
sg_err sg_config_apply(const sg_config *c, sg_server *s, char *err, size_t len);

/* After start (SIGHUP): applies what can change while serving: each group's targets
 * (sg_server_reload_group; calls in flight finish on the old ones) and the log level. The
 * settings that need a restart (listen, threads, TLS, ...) are compared with `old` and each
 * difference is logged once, not applied. A group added or removed is an error (SG_ECONFIG):
 * the methods' legs are bound to the groups at start. */
sg_err sg_config_reload(const sg_config *old, const sg_config *c, sg_server *s, char *err,
                        size_t len);

/* Sets the log threshold: "debug", "info", "warn" or "error" (SG_EINVAL otherwise). Overrides
 * SCATTER_LOG_LEVEL. Any thread. */
sg_err sg_log_set_level(const char *level);

/* ---- sg_main_run: an aggregator's whole main ------------------------------------------------ */

/* A flag that sets a group's targets, e.g. {"--shards", "shards"}: `--shards a,b` or
 * `--shards=a,b`. */
typedef struct sg_main_group_flag {
	const char *flag;
	const char *group;
} sg_main_group_flag;

typedef struct sg_main_opts {
	const char *name; /* the program, for messages and usage */
	/* Registers the service's methods (the generated <pkg>__<service>__register). */
	sg_err (*register_fn)(sg_server *s);
	const sg_main_group_flag *group_flags; /* may be NULL */
	size_t n_group_flags;
	const char *usage; /* the program's own flags, for --help (may be NULL) */
} sg_main_opts;

/* Parses the standard flags (--config F, --listen A, --admin A, --threads N, --max-calls N,
 * --log-level L, --grace-ms N, --help) and opts' group flags over the config file
 * ($SCATTER_CONFIG when --config is absent) and the SCATTER_* environment; allocates the
 * server, registers, applies, starts, prints `admin on HOST:PORT` (with an admin port) and
 * `listening on HOST:PORT` (the readiness line), then serves until a
 * signal: SIGHUP reloads the file (targets and log level), SIGTERM or SIGINT drains (health
 * NOT_SERVING, then lame_duck_ms still serving, then stop accepting and let calls in flight
 * finish within grace_ms) and returns 0. Returns 2 for a usage or config error (reported on
 * stderr), 1 if the server cannot start. Call from main, before any thread is created. */
int sg_main_run(int argc, char **argv, const sg_main_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
