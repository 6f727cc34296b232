/*
 * main_run.c: sg_main_run, an aggregator's whole life: flags and environment over the config
 * file, start, SIGHUP reloads, SIGTERM drains.
 *
 * Precedence, lowest first: built-in defaults, the config file, SCATTER_* environment
 * variables, command-line flags. A reload re-reads the file and lays the same environment and
 * flags over it again, so a flag keeps winning after a SIGHUP.
 */
#include "scatter/config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* A standard flag, the config key it sets and its environment variable. */
typedef struct main_setting {
	const char *flag;
	const char *key;
	const char *env;
} main_setting;

static const main_setting main_settings[] = {
        {"--listen", "listen", "SCATTER_LISTEN"},
        {"--admin", "admin", "SCATTER_ADMIN"},
        {"--threads", "threads", "SCATTER_THREADS"},
        {"--max-calls", "max_calls", "SCATTER_MAX_CALLS"},
        {"--log-level", "log_level", "SCATTER_LOG_LEVEL"},
        {"--grace-ms", "drain.grace_ms", "SCATTER_GRACE_MS"},
        {"--lame-duck-ms", "drain.lame_duck_ms", "SCATTER_LAME_DUCK_MS"},
        /* Security (README "Security"); forward_metadata and a group's TLS: the file only. */
        {"--tls-cert", "tls.cert", "SCATTER_TLS_CERT"},
        {"--tls-key", "tls.key", "SCATTER_TLS_KEY"},
        {"--tls-ca", "tls.ca", "SCATTER_TLS_CA"},
        {"--tls-require-client-cert", "tls.require_client_cert", "SCATTER_TLS_REQUIRE_CLIENT_CERT"},
        {"--max-recv-bytes", "limits.max_recv_bytes", "SCATTER_MAX_RECV_BYTES"},
        {"--max-send-bytes", "limits.max_send_bytes", "SCATTER_MAX_SEND_BYTES"},
        {"--max-trailer-bytes", "limits.max_trailer_bytes", "SCATTER_MAX_TRAILER_BYTES"},
};
#define MAIN_N_SETTINGS (sizeof(main_settings) / sizeof(main_settings[0]))

/* What the command line said; values borrowed from argv. */
typedef struct main_args {
	const char *config;
	const char *values[MAIN_N_SETTINGS]; /* by main_settings index; NULL: not given */
	const char **group_values;           /* by opts->group_flags index */
	bool help;
} main_args;

static void main_usage(const sg_main_opts *o, FILE *to)
{
	fprintf(to,
	        "usage: %s [--config FILE] [--listen HOST:PORT] [--admin HOST:PORT] [--threads N]\n"
	        "       [--max-calls N] [--log-level debug|info|warn|error] [--grace-ms N]\n"
	        "       [--lame-duck-ms N] [--tls-cert F --tls-key F [--tls-ca F]]\n"
	        "       [--tls-require-client-cert true] [--max-recv-bytes N] [--max-send-bytes "
	        "N]\n"
	        "       [--max-trailer-bytes N]%s%s\n"
	        "Flags override SCATTER_* environment variables, which override the config file\n"
	        "(--config, or SCATTER_CONFIG). SIGHUP reloads the file's backend targets; "
	        "SIGTERM\n"
	        "drains and exits 0.\n",
	        o->name, o->usage != NULL ? "\n       " : "", o->usage != NULL ? o->usage : "");
}

/* If argv[*i] is `flag` or `flag=v`, its value (advancing *i past a separate one); NULL when
 * it is another flag; *missing when the value is missing. */
static const char *main_flag(int argc, char **argv, int *i, const char *flag, bool *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(flag);

	if (strncmp(a, flag, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* 0, or 2 after printing why (usage errors). */
static int main_parse(int argc, char **argv, const sg_main_opts *o, main_args *a)
{
	for (int i = 1; i < argc; i++) {
		bool missing = false, matched = false;
		const char *v;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			a->help = true;
			return 0;
		}
		if ((v = main_flag(argc, argv, &i, "--config", &missing)) != NULL) {
			a->config = v;
			continue;
		}
		for (size_t k = 0; k < MAIN_N_SETTINGS && !matched && !missing; k++) {
			if ((v = main_flag(argc, argv, &i, main_settings[k].flag, &missing)) !=
			    NULL) {
				a->values[k] = v;
				matched = true;
			}
		}
		for (size_t k = 0; k < o->n_group_flags && !matched && !missing; k++) {
			if ((v = main_flag(argc, argv, &i, o->group_flags[k].flag, &missing)) !=
			    NULL) {
				a->group_values[k] = v;
				matched = true;
			}
		}
		if (missing) {
			fprintf(stderr, "%s: %s needs a value\n", o->name, argv[i]);
			return 2;
		}
		if (!matched) {
			fprintf(stderr, "%s: unknown argument %s\n", o->name, argv[i]);
			main_usage(o, stderr);
			return 2;
		}
	}
	return 0;
}

/* The config: the file (if any), then the environment, then the flags. NULL after printing
 * why. */
static sg_config *main_config(const sg_main_opts *o, const main_args *a)
{
	const char *file = a->config != NULL ? a->config : getenv("SCATTER_CONFIG");
	char err[1024];
	sg_config *c = NULL;
	sg_err rv = file != NULL && file[0] != '\0' ? sg_config_load(file, &c, err, sizeof(err))
	                                            : sg_config_new(&c);

	if (rv != SG_OK) {
		if (c == NULL && rv == SG_ENOMEM)
			snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (size_t k = 0; k < MAIN_N_SETTINGS; k++) {
		const char *env = getenv(main_settings[k].env);

		if (env != NULL && env[0] != '\0' &&
		    (rv = sg_config_set(c, main_settings[k].env, main_settings[k].key, env, err,
		                        sizeof(err))) != SG_OK)
			goto fail;
	}
	for (size_t k = 0; k < MAIN_N_SETTINGS; k++) {
		if (a->values[k] != NULL &&
		    (rv = sg_config_set(c, main_settings[k].flag, main_settings[k].key,
		                        a->values[k], err, sizeof(err))) != SG_OK)
			goto fail;
	}
	for (size_t k = 0; k < o->n_group_flags; k++) {
		if (a->group_values[k] != NULL &&
		    (rv = sg_config_set_targets(c, o->group_flags[k].group, a->group_values[k], err,
		                                sizeof(err))) != SG_OK)
			goto fail;
	}
	return c;
fail:
	sg__log_kv(SG_LOG_ERROR, "config not loaded", "reason=\"%s\"", err);
	fprintf(stderr, "%s: %s\n", o->name, err);
	sg_config_free(c);
	return NULL;
}

/* `<what> HOST:PORT`: host as configured, the real port. */
static void main_print_addr(const char *what, const char *addr, int port)
{
	const char *colon = strrchr(addr, ':');

	printf("%s %.*s:%d\n", what, colon != NULL ? (int)(colon - addr) : (int)strlen(addr), addr,
	       port);
}

/* SIGHUP: the file again, the same environment and flags over it, what changed applied. The
 * old config stays in force when the new one does not load or apply. */
static void main_reload(const sg_main_opts *o, const main_args *a, sg_config **cur, sg_server *s)
{
	char err[1024];
	sg_config *next;

	sg__log_kv(SG_LOG_INFO, "reloading", "signal=SIGHUP file=%s",
	           sg_config_file(*cur) != NULL ? sg_config_file(*cur) : "-");
	if ((next = main_config(o, a)) == NULL)
		return;
	if (sg_config_reload(*cur, next, s, err, sizeof(err)) != SG_OK) {
		sg__log_kv(SG_LOG_ERROR, "config not reloaded", "reason=\"%s\"", err);
		sg_config_free(next);
		return;
	}
	sg_config_free(*cur);
	*cur = next;
	sg__log_kv(SG_LOG_INFO, "config reloaded", "groups=%zu", sg_config_n_groups(next));
}

/* Waits for one of set's signals for at most ms (forever when ms < 0); the signal, or 0. */
static int main_wait(const sigset_t *set, int64_t ms)
{
	struct timespec ts;
	int sig;

	if (ms < 0) {
		while (sigwait(set, &sig) != 0) {
		}
		return sig;
	}
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

/* SIGTERM or SIGINT: leave the rotation (health NOT_SERVING), keep serving for lame_duck_ms
 * so that balancers notice (a second signal cuts it short), then drain within grace_ms. */
static void main_drain(const sigset_t *set, int sig, const sg_config *c, sg_server *s)
{
	uint32_t lame = sg_config_lame_duck_ms(c);

	sg__log_kv(SG_LOG_INFO, "stopping", "signal=%s lame_duck_ms=%u grace_ms=%u",
	           sig == SIGINT ? "SIGINT" : "SIGTERM", lame, sg_config_grace_ms(c));
	sg_server_set_serving(s, false);
	if (lame > 0)
		(void)main_wait(set, lame);
	sg_server_shutdown(s, sg_config_grace_ms(c));
}

int sg_main_run(int argc, char **argv, const sg_main_opts *o)
{
	main_args a = {0};
	sg_server_opts opts;
	sg_config *c = NULL;
	sg_server *s = NULL;
	sigset_t set;
	char err[1024];
	int rc = 0, sig;
	sg_err rv;

	if (o == NULL || o->name == NULL || o->register_fn == NULL)
		return 2;
	if ((a.group_values = calloc(o->n_group_flags + 1, sizeof(*a.group_values))) == NULL)
		return 1;
	if ((rc = main_parse(argc, argv, o, &a)) != 0 || a.help) {
		if (a.help)
			main_usage(o, stdout);
		goto out;
	}
	if ((c = main_config(o, &a)) == NULL) {
		rc = 2;
		goto out;
	}
	if (sg_config_log_level(c) != NULL)
		(void)sg_log_set_level(sg_config_log_level(c));
	/* SIGHUP joins SIGINT and SIGTERM (which sg_server_alloc blocks): blocked here, in the
	 * main thread before any other exists, so every thread inherits the mask and sigwait
	 * below takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	sg_config_server_opts(c, &opts);
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK || (rv = o->register_fn(s)) != SG_OK) {
		snprintf(err, sizeof(err), "%s", sg_strerror(rv));
		rc = 1;
	} else if ((rv = sg_config_apply(c, s, err, sizeof(err))) != SG_OK) {
		rc = 2;
	} else if ((rv = sg_server_start(s)) != SG_OK) {
		/* The server logged the details (which group, which address). */
		snprintf(err, sizeof(err), "cannot start: %s", sg_strerror(rv));
		rc = 1;
	}
	if (rc != 0) {
		sg__log_kv(SG_LOG_ERROR, "start failed", "reason=\"%s\" config=%s", err,
		           sg_config_file(c) != NULL ? sg_config_file(c) : "-");
		fprintf(stderr, "%s: %s\n", o->name, err);
		goto out;
	}
	/* The admin port first: whoever waits for the readiness line has read it by then. */
	if (sg_config_admin(c) != NULL)
		main_print_addr("admin on", sg_config_admin(c), sg_server_admin_port(s));
	main_print_addr("listening on", sg_config_listen(c), sg_server_port(s));
	fflush(stdout);
	for (;;) {
		sig = main_wait(&set, -1);
		if (sig == SIGHUP) {
			main_reload(o, &a, &c, s);
			continue;
		}
		main_drain(&set, sig, c, s);
		break;
	}
out:
	sg_server_free(s);
	sg_config_free(c);
	free(a.group_values);
	return rc;
}
