/*
 * config.c: the config file (YAML), its schema, and applying it to a server.
 *
 * Parsed with libyaml's document API, not by hand and not with libcyaml: every node carries its
 * start mark (line, column), so every error says `file:line:col: key.path: what`, for a value
 * as for an unknown key, and the schema below decides what a key may hold. libcyaml maps YAML
 * into structs from a schema too, but reports errors through a log callback without a stable
 * line for the caller to show, is not in Debian's default install (libyaml is, as PyYAML's
 * parser), and cannot express our merge rules (a key given vs a key left out, per field).
 *
 * The schema is data: one table of keys per mapping, each a kind (string, unsigned, ...) and
 * where the value goes (an offset into the section's struct). Every key the file sets also
 * sets a bit in its section's `set` mask, with the line it came from: that is how a resilience
 * override knows which .proto values it replaces, and how an apply-time error finds its line.
 */
#include "scatter/config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "log.h"
#include "scatter/trailer.h"

/* ---- The model --------------------------------------------------------------------------- */

typedef struct cfg_list {
	char **v;
	size_t n;
} cfg_list;

typedef struct cfg_tls {
	char *cert_file;
	char *key_file;
	char *ca_file;
	bool require_client_cert;
} cfg_tls;

/* Bits of a group's `set` mask beyond the resilience fields (RES_* below). */
enum {
	GROUP_TARGETS = 40,
	GROUP_TLS,
	GROUP_TLS_CERT,
	GROUP_TLS_KEY,
	GROUP_TLS_CA,
	GROUP_BITS,
};

typedef struct cfg_group {
	char *name;
	int line; /* of its key in the file; 0 when set by a flag */
	cfg_list targets;
	cfg_tls tls;
	sg_resilience_desc res; /* the values the file gives; the others are unused */
	uint64_t set;
	int lines[GROUP_BITS];
} cfg_group;

enum {
	TOP_LISTEN,
	TOP_ADMIN,
	TOP_THREADS,
	TOP_MAX_CALLS,
	TOP_LOG_LEVEL,
	TOP_TLS,
	TOP_TLS_CERT,
	TOP_TLS_KEY,
	TOP_TLS_CA,
	TOP_TLS_REQUIRE,
	TOP_FORWARD,
	TOP_LIMITS,
	TOP_MAX_RECV,
	TOP_MAX_SEND,
	TOP_MAX_TRAILER,
	TOP_DRAIN,
	TOP_GRACE,
	TOP_LAME_DUCK,
	TOP_GROUPS,
	TOP_BITS,
};

struct sg_config {
	char *file;
	char *listen;
	char *admin;
	char *log_level;
	uint32_t threads;
	uint32_t max_calls;
	cfg_tls tls;
	cfg_list forward;
	uint32_t max_recv;
	uint32_t max_send;
	uint32_t max_trailer;
	uint32_t grace_ms;
	uint32_t lame_duck_ms;
	cfg_group *groups;
	size_t n_groups;
	uint64_t set;
	int lines[TOP_BITS];
};

#define CFG_DEFAULT_LISTEN   "127.0.0.1:0"
#define CFG_DEFAULT_LOG      "info"
#define CFG_DEFAULT_GRACE_MS 5000

/* ---- The schema -------------------------------------------------------------------------- */

typedef enum cfg_kind {
	K_STR,      /* char *, non-empty */
	K_U32,      /* uint32_t in [min, max] */
	K_F64,      /* double >= 0 */
	K_BOOL,     /* bool: true or false */
	K_LEVEL,    /* char *: debug|info|warn|error */
	K_STATUSES, /* uint32_t: a bit per gRPC status name in a list */
	K_STRLIST,  /* cfg_list of non-empty strings */
	K_HEADERS,  /* cfg_list of lower-case metadata keys */
	K_SECTION,  /* a mapping: sub's keys, at base + off */
	K_GROUPS,   /* the groups mapping (top level only) */
} cfg_kind;

typedef struct cfg_section cfg_section;

typedef struct cfg_key {
	const char *name;
	cfg_kind kind;
	size_t off;
	int bit;
	uint32_t min, max; /* K_U32 */
	const cfg_section *sub;
} cfg_key;

struct cfg_section {
	const cfg_key *keys;
	size_t n;
};

#define KEYS(a)                                                                                    \
	{                                                                                          \
		a, sizeof(a) / sizeof(a[0])                                                        \
	}

/* Resilience bits: one per field, in the group's `set` mask. */
enum {
	RES_BREAKER,
	RES_B_ENABLED,
	RES_B_WINDOW,
	RES_B_WINDOW_MS,
	RES_B_MIN_CALLS,
	RES_B_FAILURE_RATE,
	RES_B_SLOW_MS,
	RES_B_SLOW_RATE,
	RES_B_OPEN_MS,
	RES_B_PROBES,
	RES_B_STATUSES,
	RES_HEDGE,
	RES_H_ENABLED,
	RES_H_DELAY,
	RES_H_PERCENTILE,
	RES_H_MIN_DELAY,
	RES_RETRY,
	RES_R_ATTEMPTS,
	RES_R_INITIAL,
	RES_R_MAX,
	RES_R_MULTIPLIER,
	RES_R_STATUSES,
	RES_BUDGET,
	RES_BU_TOKENS,
	RES_BU_RATIO,
	RES_MAX_IN_FLIGHT,
	RES_BITS, /* < GROUP_TARGETS */
};

#define BOFF(f) offsetof(sg_breaker_desc, f)
static const cfg_key breaker_keys[] = {
        {"enabled", K_BOOL, BOFF(enabled), RES_B_ENABLED, 0, 0, NULL},
        {"window", K_U32, BOFF(window), RES_B_WINDOW, 1, 100000, NULL},
        {"window_ms", K_U32, BOFF(window_ms), RES_B_WINDOW_MS, 0, 3600000, NULL},
        {"min_calls", K_U32, BOFF(min_calls), RES_B_MIN_CALLS, 1, 100000, NULL},
        {"failure_rate_pct", K_U32, BOFF(failure_rate_pct), RES_B_FAILURE_RATE, 1, 100, NULL},
        {"slow_ms", K_U32, BOFF(slow_ms), RES_B_SLOW_MS, 0, 3600000, NULL},
        {"slow_rate_pct", K_U32, BOFF(slow_rate_pct), RES_B_SLOW_RATE, 1, 100, NULL},
        {"open_ms", K_U32, BOFF(open_ms), RES_B_OPEN_MS, 1, 3600000, NULL},
        {"half_open_probes", K_U32, BOFF(half_open_probes), RES_B_PROBES, 1, 1000, NULL},
        {"failure_statuses", K_STATUSES, BOFF(failure_statuses), RES_B_STATUSES, 0, 0, NULL},
};
#define HOFF(f) offsetof(sg_hedge_desc, f)
static const cfg_key hedge_keys[] = {
        {"enabled", K_BOOL, HOFF(enabled), RES_H_ENABLED, 0, 0, NULL},
        {"delay_ms", K_U32, HOFF(delay_ms), RES_H_DELAY, 0, 3600000, NULL},
        {"percentile", K_U32, HOFF(percentile), RES_H_PERCENTILE, 1, 99, NULL},
        {"min_delay_ms", K_U32, HOFF(min_delay_ms), RES_H_MIN_DELAY, 0, 3600000, NULL},
};
#define ROFF(f) offsetof(sg_retry_desc, f)
static const cfg_key retry_keys[] = {
        {"max_attempts", K_U32, ROFF(max_attempts), RES_R_ATTEMPTS, 1, 10, NULL},
        {"initial_backoff_ms", K_U32, ROFF(initial_backoff_ms), RES_R_INITIAL, 0, 3600000, NULL},
        {"max_backoff_ms", K_U32, ROFF(max_backoff_ms), RES_R_MAX, 0, 3600000, NULL},
        {"multiplier", K_F64, ROFF(multiplier), RES_R_MULTIPLIER, 0, 0, NULL},
        {"statuses", K_STATUSES, ROFF(statuses), RES_R_STATUSES, 0, 0, NULL},
};
#define BUOFF(f) offsetof(sg_budget_desc, f)
static const cfg_key budget_keys[] = {
        {"max_tokens", K_U32, BUOFF(max_tokens), RES_BU_TOKENS, 1, 1000000, NULL},
        {"token_ratio", K_F64, BUOFF(token_ratio), RES_BU_RATIO, 0, 0, NULL},
};
static const cfg_section breaker_section = KEYS(breaker_keys);
static const cfg_section hedge_section = KEYS(hedge_keys);
static const cfg_section retry_section = KEYS(retry_keys);
static const cfg_section budget_section = KEYS(budget_keys);

#define RSOFF(f) offsetof(sg_resilience_desc, f)
static const cfg_key resilience_keys[] = {
        {"breaker", K_SECTION, RSOFF(breaker), RES_BREAKER, 0, 0, &breaker_section},
        {"hedge", K_SECTION, RSOFF(hedge), RES_HEDGE, 0, 0, &hedge_section},
        {"retry", K_SECTION, RSOFF(retry), RES_RETRY, 0, 0, &retry_section},
        {"budget", K_SECTION, RSOFF(budget), RES_BUDGET, 0, 0, &budget_section},
        {"max_in_flight", K_U32, RSOFF(max_in_flight), RES_MAX_IN_FLIGHT, 0, 1000000, NULL},
};
static const cfg_section resilience_section = KEYS(resilience_keys);

#define TOFF(f) offsetof(cfg_tls, f)
static const cfg_key group_tls_keys[] = {
        {"cert", K_STR, TOFF(cert_file), GROUP_TLS_CERT, 0, 0, NULL},
        {"key", K_STR, TOFF(key_file), GROUP_TLS_KEY, 0, 0, NULL},
        {"ca", K_STR, TOFF(ca_file), GROUP_TLS_CA, 0, 0, NULL},
};
static const cfg_section group_tls_section = KEYS(group_tls_keys);

#define GOFF(f) offsetof(cfg_group, f)
static const cfg_key group_keys[] = {
        {"targets", K_STRLIST, GOFF(targets), GROUP_TARGETS, 0, 0, NULL},
        {"tls", K_SECTION, GOFF(tls), GROUP_TLS, 0, 0, &group_tls_section},
        {"resilience", K_SECTION, GOFF(res), -1, 0, 0, &resilience_section},
};
static const cfg_section group_section = KEYS(group_keys);

static const cfg_key listen_tls_keys[] = {
        {"cert", K_STR, TOFF(cert_file), TOP_TLS_CERT, 0, 0, NULL},
        {"key", K_STR, TOFF(key_file), TOP_TLS_KEY, 0, 0, NULL},
        {"ca", K_STR, TOFF(ca_file), TOP_TLS_CA, 0, 0, NULL},
        {"require_client_cert", K_BOOL, TOFF(require_client_cert), TOP_TLS_REQUIRE, 0, 0, NULL},
};
static const cfg_section listen_tls_section = KEYS(listen_tls_keys);

#define COFF(f) offsetof(sg_config, f)
/* limits and drain hold plain fields of sg_config: their sections sit at offset 0. */
static const cfg_key limits_keys[] = {
        {"max_recv_bytes", K_U32, COFF(max_recv), TOP_MAX_RECV, 0, INT32_MAX, NULL},
        {"max_send_bytes", K_U32, COFF(max_send), TOP_MAX_SEND, 0, INT32_MAX, NULL},
        {"max_trailer_bytes", K_U32, COFF(max_trailer), TOP_MAX_TRAILER, 0, INT32_MAX, NULL},
};
static const cfg_key drain_keys[] = {
        {"grace_ms", K_U32, COFF(grace_ms), TOP_GRACE, 0, 3600000, NULL},
        {"lame_duck_ms", K_U32, COFF(lame_duck_ms), TOP_LAME_DUCK, 0, 3600000, NULL},
};
static const cfg_section limits_section = KEYS(limits_keys);
static const cfg_section drain_section = KEYS(drain_keys);

static const cfg_key top_keys[] = {
        {"listen", K_STR, COFF(listen), TOP_LISTEN, 0, 0, NULL},
        {"admin", K_STR, COFF(admin), TOP_ADMIN, 0, 0, NULL},
        {"threads", K_U32, COFF(threads), TOP_THREADS, 0, 1024, NULL},
        {"max_calls", K_U32, COFF(max_calls), TOP_MAX_CALLS, 0, 10000000, NULL},
        {"log_level", K_LEVEL, COFF(log_level), TOP_LOG_LEVEL, 0, 0, NULL},
        {"tls", K_SECTION, COFF(tls), TOP_TLS, 0, 0, &listen_tls_section},
        {"forward_metadata", K_HEADERS, COFF(forward), TOP_FORWARD, 0, 0, NULL},
        {"limits", K_SECTION, 0, TOP_LIMITS, 0, 0, &limits_section},
        {"drain", K_SECTION, 0, TOP_DRAIN, 0, 0, &drain_section},
        {"groups", K_GROUPS, 0, TOP_GROUPS, 0, 0, NULL},
};
static const cfg_section top_section = KEYS(top_keys);

/* ---- Parsing ------------------------------------------------------------------------------ */

typedef struct cfg_parse {
	const char *name; /* the file, for messages */
	yaml_document_t *doc;
	sg_config *c;
	char *err;
	size_t len;
	char path[256]; /* the dotted key being parsed */
} cfg_parse;

/* Where a section's values go and what it records: base of its struct, its set mask. */
typedef struct cfg_dest {
	char *base;
	uint64_t *set;
	int *lines;
} cfg_dest;

/* "file:line:col: key.path: what" (line 0: "file: key.path: what") into p->err; SG_ECONFIG. */
static sg_err cfg_failv(cfg_parse *p, size_t line, size_t col, const char *fmt, va_list ap)
{
	char what[512], pos[48] = "";

	vsnprintf(what, sizeof(what), fmt, ap);
	if (line > 0 && col > 0)
		snprintf(pos, sizeof(pos), ":%zu:%zu", line, col);
	else if (line > 0)
		snprintf(pos, sizeof(pos), ":%zu", line);
	if (p->err != NULL && p->len > 0)
		snprintf(p->err, p->len, "%s%s: %s: %s", p->name, pos,
		         p->path[0] != '\0' ? p->path : "(top)", what);
	return SG_ECONFIG;
}

static sg_err cfg_fail(cfg_parse *p, const yaml_node_t *at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static sg_err cfg_fail_at(cfg_parse *p, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* At node `at` (NULL: no position, for flags and environment). */
static sg_err cfg_fail(cfg_parse *p, const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;
	sg_err rv;

	va_start(ap, fmt);
	rv = cfg_failv(p, at != NULL ? at->start_mark.line + 1 : 0,
	               at != NULL ? at->start_mark.column + 1 : 0, fmt, ap);
	va_end(ap);
	return rv;
}

/* At a key's line, for checks made after the walk. */
static sg_err cfg_fail_at(cfg_parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	sg_err rv;

	va_start(ap, fmt);
	rv = cfg_failv(p, line > 0 ? (size_t)line : 0, 0, fmt, ap);
	va_end(ap);
	return rv;
}

static const char *cfg_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a value";
	}
}

/* The scalar text of n, or NULL (with the error set) when n is not a scalar or is empty. */
static const char *cfg_scalar(cfg_parse *p, const yaml_node_t *n, const char *expected)
{
	if (n->type != YAML_SCALAR_NODE) {
		cfg_fail(p, n, "expected %s, got %s", expected, cfg_node_kind(n));
		return NULL;
	}
	if (n->data.scalar.length == 0) {
		cfg_fail(p, n, "expected %s, got nothing", expected);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static sg_err cfg_strdup(char **dst, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return SG_ENOMEM;
	free(*dst);
	*dst = copy;
	return SG_OK;
}

static void cfg_list_free(cfg_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Parses text as key's kind into dst. The text-only kinds (for flags and environment too). */
static sg_err cfg_value_text(cfg_parse *p, const yaml_node_t *at, const cfg_key *k, const char *v,
                             char *dst)
{
	switch (k->kind) {
	case K_STR:
		return cfg_strdup((char **)(void *)dst, v);
	case K_LEVEL:
		if (strcmp(v, "debug") != 0 && strcmp(v, "info") != 0 && strcmp(v, "warn") != 0 &&
		    strcmp(v, "error") != 0)
			return cfg_fail(p, at, "expected debug, info, warn or error, got \"%s\"",
			                v);
		return cfg_strdup((char **)(void *)dst, v);
	case K_U32: {
		uint32_t max = k->max != 0 ? k->max : UINT32_MAX;
		unsigned long long u;
		char *end;

		errno = 0;
		u = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
		if (v[0] < '0' || v[0] > '9' || errno != 0 || *end != '\0')
			return cfg_fail(p, at, "expected an unsigned integer, got \"%s\"", v);
		if (u < k->min || u > max)
			return cfg_fail(p, at, "%llu is out of range [%u, %u]", u, (unsigned)k->min,
			                (unsigned)max);
		memcpy(dst, &(uint32_t){(uint32_t)u}, sizeof(uint32_t));
		return SG_OK;
	}
	case K_F64: {
		char *end;
		double d;

		errno = 0;
		d = strtod(v, &end);
		if (errno != 0 || *end != '\0' || end == v || !isfinite(d) || d < 0)
			return cfg_fail(p, at, "expected a number >= 0, got \"%s\"", v);
		memcpy(dst, &d, sizeof(d));
		return SG_OK;
	}
	case K_BOOL:
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return cfg_fail(p, at, "expected true or false, got \"%s\"", v);
		memcpy(dst, &(bool){strcmp(v, "true") == 0}, sizeof(bool));
		return SG_OK;
	default:
		return cfg_fail(p, at, "cannot be set from text");
	}
}

/* A list of strings (K_STRLIST, K_HEADERS) or of status names (K_STATUSES). */
static sg_err cfg_value_list(cfg_parse *p, const yaml_node_t *n, const cfg_key *k, char *dst)
{
	yaml_node_item_t *it;
	cfg_list l = {0};
	uint32_t bits = 0;
	sg_err rv = SG_OK;

	if (n->type != YAML_SEQUENCE_NODE)
		return cfg_fail(p, n, "expected a list, got %s", cfg_node_kind(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top && rv == SG_OK;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(p->doc, *it);
		const char *v = cfg_scalar(p, item, "a string");
		grpc_status_code code;
		char **grown;

		if (v == NULL) {
			rv = SG_ECONFIG;
			break;
		}
		if (k->kind == K_STATUSES) {
			if (sg_status_from_name(v, &code) != SG_OK)
				rv = cfg_fail(p, item,
				              "\"%s\" is not a gRPC status name (e.g. UNAVAILABLE)",
				              v);
			else
				bits |= 1u << code;
			continue;
		}
		if (k->kind == K_HEADERS) {
			for (const char *c = v; *c != '\0' && rv == SG_OK; c++) {
				if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
				      *c == '-' || *c == '_' || *c == '.'))
					rv = cfg_fail(p, item,
					              "\"%s\" is not a metadata key (lower case "
					              "a-z, 0-9, "
					              "-, _, .)",
					              v);
			}
			if (rv == SG_OK && v[0] == ':')
				rv = cfg_fail(p, item, "\"%s\": pseudo-headers are not forwarded",
				              v);
			if (rv != SG_OK)
				break;
		}
		if ((grown = realloc(l.v, (l.n + 1) * sizeof(*grown))) == NULL ||
		    (grown[l.n] = strdup(v)) == NULL) {
			if (grown != NULL)
				l.v = grown;
			rv = SG_ENOMEM;
			break;
		}
		l.v = grown;
		l.n++;
	}
	if (rv == SG_OK && k->kind == K_STRLIST && l.n == 0)
		rv = cfg_fail(p, n, "the list is empty");
	if (rv != SG_OK) {
		cfg_list_free(&l);
		return rv;
	}
	if (k->kind == K_STATUSES) {
		memcpy(dst, &bits, sizeof(bits));
		return SG_OK;
	}
	cfg_list_free((cfg_list *)(void *)dst);
	memcpy(dst, &l, sizeof(l));
	return SG_OK;
}

static sg_err cfg_section_parse(cfg_parse *p, const yaml_node_t *map, const cfg_section *sec,
                                cfg_dest d);
static sg_err cfg_groups_parse(cfg_parse *p, const yaml_node_t *map);

/* "listen, admin, threads, ..." for an unknown key's message. */
static void cfg_key_names(const cfg_section *sec, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sec->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "",
		                         sec->keys[i].name);
}

static sg_err cfg_key_parse(cfg_parse *p, const yaml_node_t *val, const cfg_key *k, cfg_dest d)
{
	char *dst = d.base + k->off;
	const char *v;
	sg_err rv;

	switch (k->kind) {
	case K_SECTION:
		if (val->type != YAML_MAPPING_NODE)
			return cfg_fail(p, val, "expected a mapping, got %s", cfg_node_kind(val));
		return cfg_section_parse(p, val, k->sub,
		                         (cfg_dest){.base = dst, .set = d.set, .lines = d.lines});
	case K_GROUPS:
		return cfg_groups_parse(p, val);
	case K_STRLIST:
	case K_HEADERS:
	case K_STATUSES:
		return cfg_value_list(p, val, k, dst);
	default:
		if ((v = cfg_scalar(p, val,
		                    k->kind == K_U32    ? "an unsigned integer"
		                    : k->kind == K_F64  ? "a number"
		                    : k->kind == K_BOOL ? "true or false"
		                                        : "a string")) == NULL)
			return SG_ECONFIG;
		rv = cfg_value_text(p, val, k, v, dst);
		return rv;
	}
}

static sg_err cfg_section_parse(cfg_parse *p, const yaml_node_t *map, const cfg_section *sec,
                                cfg_dest d)
{
	size_t path_len = strlen(p->path);
	uint64_t seen = 0;
	yaml_node_pair_t *pair;
	sg_err rv;

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *val = yaml_document_get_node(p->doc, pair->value);
		const cfg_key *k = NULL;
		const char *name;
		size_t i;

		if (key->type != YAML_SCALAR_NODE)
			return cfg_fail(p, key, "a key must be a plain name, not %s",
			                cfg_node_kind(key));
		name = (const char *)key->data.scalar.value;
		for (i = 0; i < sec->n && k == NULL; i++) {
			if (strcmp(sec->keys[i].name, name) == 0)
				k = &sec->keys[i];
		}
		snprintf(p->path + path_len, sizeof(p->path) - path_len, "%s%s",
		         path_len > 0 ? "." : "", name);
		if (k == NULL) {
			char names[512];

			cfg_key_names(sec, names, sizeof(names));
			return cfg_fail(p, key, "unknown key (expected one of: %s)", names);
		}
		i = (size_t)(k - sec->keys);
		if (seen & (UINT64_C(1) << i))
			return cfg_fail(p, key, "given twice");
		seen |= UINT64_C(1) << i;
		if ((rv = cfg_key_parse(p, val, k, d)) != SG_OK)
			return rv;
		if (k->bit >= 0) {
			*d.set |= UINT64_C(1) << k->bit;
			d.lines[k->bit] = (int)key->start_mark.line + 1;
		}
		p->path[path_len] = '\0';
	}
	return SG_OK;
}

static void cfg_group_fini(cfg_group *g)
{
	free(g->name);
	cfg_list_free(&g->targets);
	free(g->tls.cert_file);
	free(g->tls.key_file);
	free(g->tls.ca_file);
}

static cfg_group *cfg_group_find(const sg_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_groups; i++) {
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	}
	return NULL;
}

/* A new, empty group called name at the end of c's groups. */
static sg_err cfg_group_add(sg_config *c, const char *name, cfg_group **out)
{
	cfg_group *grown = realloc(c->groups, (c->n_groups + 1) * sizeof(*grown));

	if (grown == NULL)
		return SG_ENOMEM;
	c->groups = grown;
	memset(&grown[c->n_groups], 0, sizeof(grown[0]));
	if ((grown[c->n_groups].name = strdup(name)) == NULL)
		return SG_ENOMEM;
	*out = &grown[c->n_groups++];
	return SG_OK;
}

static sg_err cfg_groups_parse(cfg_parse *p, const yaml_node_t *map)
{
	size_t path_len = strlen(p->path);
	yaml_node_pair_t *pair;
	sg_err rv;

	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail(p, map, "expected a mapping of group names, got %s",
		                cfg_node_kind(map));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *val = yaml_document_get_node(p->doc, pair->value);
		const char *name;
		cfg_group *g;

		if (key->type != YAML_SCALAR_NODE || key->data.scalar.length == 0)
			return cfg_fail(p, key, "a group name must be a plain name");
		name = (const char *)key->data.scalar.value;
		snprintf(p->path + path_len, sizeof(p->path) - path_len, ".%s", name);
		if (cfg_group_find(p->c, name) != NULL)
			return cfg_fail(p, key, "given twice");
		if (val->type != YAML_MAPPING_NODE)
			return cfg_fail(p, val,
			                "expected a mapping (targets, tls, resilience), got %s",
			                cfg_node_kind(val));
		if ((rv = cfg_group_add(p->c, name, &g)) != SG_OK)
			return rv;
		g->line = (int)key->start_mark.line + 1;
		if ((rv = cfg_section_parse(
		             p, val, &group_section,
		             (cfg_dest){.base = (char *)g, .set = &g->set, .lines = g->lines})) !=
		    SG_OK)
			return rv;
		if (!(g->set & (UINT64_C(1) << GROUP_TARGETS)))
			return cfg_fail(p, key, "targets is required");
		p->path[path_len] = '\0';
	}
	return SG_OK;
}

/* Checks what one key cannot check alone. */
static sg_err cfg_check(cfg_parse *p)
{
	sg_config *c = p->c;

	if ((c->set & (UINT64_C(1) << TOP_TLS)) &&
	    (c->tls.cert_file == NULL || c->tls.key_file == NULL)) {
		snprintf(p->path, sizeof(p->path), "tls");
		return cfg_fail_at(p, c->lines[TOP_TLS], "cert and key are both required");
	}
	if (c->tls.require_client_cert && c->tls.ca_file == NULL) {
		snprintf(p->path, sizeof(p->path), "tls.require_client_cert");
		return cfg_fail_at(p, c->lines[TOP_TLS_REQUIRE],
		                   "needs tls.ca to verify the clients' certificates");
	}
	for (size_t i = 0; i < c->n_groups; i++) {
		cfg_group *g = &c->groups[i];

		if ((g->tls.cert_file == NULL) != (g->tls.key_file == NULL)) {
			snprintf(p->path, sizeof(p->path), "groups.%s.tls", g->name);
			return cfg_fail_at(p, g->lines[GROUP_TLS],
			                   "cert and key go together (the client certificate)");
		}
	}
	return SG_OK;
}

static void cfg_defaults(sg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->grace_ms = CFG_DEFAULT_GRACE_MS;
}

sg_err sg_config_new(sg_config **out)
{
	sg_config *c;

	if (out == NULL)
		return SG_EINVAL;
	if ((c = malloc(sizeof(*c))) == NULL)
		return SG_ENOMEM;
	cfg_defaults(c);
	*out = c;
	return SG_OK;
}

sg_err sg_config_parse(const char *text, size_t text_len, const char *name, sg_config **out,
                       char *err, size_t len)
{
	cfg_parse p = {.name = name != NULL ? name : "config", .err = err, .len = len};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	sg_config *c;
	sg_err rv;

	if (err != NULL && len > 0)
		err[0] = '\0';
	if (text == NULL || out == NULL)
		return SG_EINVAL;
	if ((rv = sg_config_new(&c)) != SG_OK)
		return rv;
	if (name != NULL && (c->file = strdup(name)) == NULL) {
		sg_config_free(c);
		return SG_ENOMEM;
	}
	if (!yaml_parser_initialize(&parser)) {
		sg_config_free(c);
		return SG_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, text_len);
	if (!yaml_parser_load(&parser, &doc)) {
		if (err != NULL && len > 0)
			snprintf(err, len, "%s:%zu:%zu: YAML: %s%s%s", p.name,
			         parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			         parser.problem != NULL ? parser.problem : "syntax error",
			         parser.context != NULL ? " " : "",
			         parser.context != NULL ? parser.context : "");
		yaml_parser_delete(&parser);
		sg_config_free(c);
		return SG_ECONFIG;
	}
	p.doc = &doc;
	p.c = c;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		rv = SG_OK; /* an empty file: every default */
	} else if (root->type != YAML_MAPPING_NODE) {
		rv = cfg_fail(&p, root, "the file must be a mapping of keys, got %s",
		              cfg_node_kind(root));
	} else {
		rv = cfg_section_parse(
		        &p, root, &top_section,
		        (cfg_dest){.base = (char *)c, .set = &c->set, .lines = c->lines});
		if (rv == SG_OK)
			rv = cfg_check(&p);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rv != SG_OK) {
		sg_config_free(c);
		return rv;
	}
	*out = c;
	return SG_OK;
}

sg_err sg_config_load(const char *path, sg_config **out, char *err, size_t len)
{
	FILE *f;
	char *text = NULL;
	size_t n = 0, cap = 0;
	sg_err rv;

	if (err != NULL && len > 0)
		err[0] = '\0';
	if (path == NULL || out == NULL)
		return SG_EINVAL;
	if ((f = fopen(path, "r")) == NULL) {
		if (err != NULL && len > 0)
			snprintf(err, len, "%s: cannot open: %s", path, strerror(errno));
		return SG_ESYS;
	}
	for (;;) {
		if (n == cap) {
			char *grown = realloc(text, cap = cap > 0 ? 2 * cap : 4096);

			if (grown == NULL) {
				free(text);
				fclose(f);
				return SG_ENOMEM;
			}
			text = grown;
		}
		size_t got = fread(text + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		if (err != NULL && len > 0)
			snprintf(err, len, "%s: cannot read: %s", path, strerror(errno));
		free(text);
		fclose(f);
		return SG_ESYS;
	}
	fclose(f);
	rv = sg_config_parse(text, n, path, out, err, len);
	free(text);
	return rv;
}

void sg_config_free(sg_config *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->listen);
	free(c->admin);
	free(c->log_level);
	free(c->tls.cert_file);
	free(c->tls.key_file);
	free(c->tls.ca_file);
	cfg_list_free(&c->forward);
	for (size_t i = 0; i < c->n_groups; i++)
		cfg_group_fini(&c->groups[i]);
	free(c->groups);
	free(c);
}

/* ---- Flags and environment ------------------------------------------------------------------ */

/* The top-level key at dotted `key` ("drain.grace_ms"), with the destination's base and the
 * section's own key (NULL at the top). */
static const cfg_key *cfg_lookup(sg_config *c, const char *key, char **base, const cfg_key **parent)
{
	const cfg_section *sec = &top_section;
	const char *dot = strchr(key, '.');
	size_t head = dot != NULL ? (size_t)(dot - key) : strlen(key);

	*base = (char *)c;
	for (size_t i = 0; i < sec->n; i++) {
		const cfg_key *k = &sec->keys[i];

		if (strlen(k->name) != head || strncmp(k->name, key, head) != 0)
			continue;
		if (dot == NULL)
			return k->kind == K_SECTION || k->kind == K_GROUPS ? NULL : k;
		if (k->kind != K_SECTION)
			return NULL;
		*base += k->off;
		*parent = k;
		for (size_t j = 0; j < k->sub->n; j++) {
			if (strcmp(k->sub->keys[j].name, dot + 1) == 0 &&
			    k->sub->keys[j].kind != K_SECTION)
				return &k->sub->keys[j];
		}
	}
	return NULL;
}

sg_err sg_config_set(sg_config *c, const char *source, const char *key, const char *value,
                     char *err, size_t len)
{
	cfg_parse p = {.name = source != NULL ? source : "flag", .c = c, .err = err, .len = len};
	const cfg_key *k, *parent = NULL;
	char *base;
	sg_err rv;

	if (c == NULL || key == NULL || value == NULL)
		return SG_EINVAL;
	snprintf(p.path, sizeof(p.path), "%s", key);
	if ((k = cfg_lookup(c, key, &base, &parent)) == NULL) {
		if (err != NULL && len > 0)
			snprintf(err, len, "%s: %s: not a setting", p.name, key);
		return SG_ECONFIG;
	}
	if ((rv = cfg_value_text(&p, NULL, k, value, base + k->off)) != SG_OK)
		return rv;
	if (k->bit >= 0)
		c->set |= UINT64_C(1) << k->bit;
	if (parent != NULL && parent->bit >= 0)
		c->set |= UINT64_C(1) << parent->bit;
	return SG_OK;
}

sg_err sg_config_set_targets(sg_config *c, const char *group, const char *csv, char *err,
                             size_t len)
{
	cfg_list l = {0};
	cfg_group *g;
	char *copy, *save = NULL;
	sg_err rv = SG_OK;

	if (c == NULL || group == NULL || csv == NULL)
		return SG_EINVAL;
	if ((copy = strdup(csv)) == NULL)
		return SG_ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t != NULL && rv == SG_OK;
	     t = strtok_r(NULL, ",", &save)) {
		char **grown = realloc(l.v, (l.n + 1) * sizeof(*grown));

		if (grown == NULL || (grown[l.n] = strdup(t)) == NULL) {
			if (grown != NULL)
				l.v = grown;
			rv = SG_ENOMEM;
			break;
		}
		l.v = grown;
		l.n++;
	}
	free(copy);
	if (rv == SG_OK && l.n == 0) {
		if (err != NULL && len > 0)
			snprintf(err, len, "group %s: no targets in \"%s\"", group, csv);
		rv = SG_ECONFIG;
	}
	if (rv == SG_OK && (g = cfg_group_find(c, group)) == NULL)
		rv = cfg_group_add(c, group, &g);
	if (rv != SG_OK) {
		cfg_list_free(&l);
		return rv;
	}
	cfg_list_free(&g->targets);
	g->targets = l;
	g->set |= UINT64_C(1) << GROUP_TARGETS;
	return SG_OK;
}

/* ---- Views ------------------------------------------------------------------------------ */

const char *sg_config_file(const sg_config *c)
{
	return c != NULL ? c->file : NULL;
}

const char *sg_config_listen(const sg_config *c)
{
	return c != NULL && c->listen != NULL ? c->listen : CFG_DEFAULT_LISTEN;
}

const char *sg_config_admin(const sg_config *c)
{
	return c != NULL ? c->admin : NULL;
}

const char *sg_config_log_level(const sg_config *c)
{
	return c != NULL && c->log_level != NULL ? c->log_level : CFG_DEFAULT_LOG;
}

uint32_t sg_config_grace_ms(const sg_config *c)
{
	return c != NULL ? c->grace_ms : CFG_DEFAULT_GRACE_MS;
}

uint32_t sg_config_lame_duck_ms(const sg_config *c)
{
	return c != NULL ? c->lame_duck_ms : 0;
}

size_t sg_config_n_groups(const sg_config *c)
{
	return c != NULL ? c->n_groups : 0;
}

const char *sg_config_group_name(const sg_config *c, size_t i)
{
	return c != NULL && i < c->n_groups ? c->groups[i].name : NULL;
}

const char *const *sg_config_group_targets(const sg_config *c, const char *group, size_t *n)
{
	const cfg_group *g = c != NULL && group != NULL ? cfg_group_find(c, group) : NULL;

	if (n != NULL)
		*n = g != NULL ? g->targets.n : 0;
	return g != NULL ? (const char *const *)g->targets.v : NULL;
}

void sg_config_server_opts(const sg_config *c, sg_server_opts *out)
{
	memset(out, 0, sizeof(*out));
	out->listen = sg_config_listen(c);
	out->threads = c != NULL ? (int)c->threads : 0;
	out->max_calls = c != NULL ? c->max_calls : 0;
}

/* ---- Applying --------------------------------------------------------------------------- */

/* "file:line: key: what" into err; SG_ECONFIG. */
static sg_err cfg_apply_fail(const sg_config *c, int line, char *err, size_t len, const char *fmt,
                             ...) __attribute__((format(printf, 5, 6)));

static sg_err cfg_apply_fail(const sg_config *c, int line, char *err, size_t len, const char *fmt,
                             ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err != NULL && len > 0) {
		if (c->file != NULL && line > 0)
			snprintf(err, len, "%s:%d: %s", c->file, line, what);
		else
			snprintf(err, len, "%s", what);
	}
	return SG_ECONFIG;
}

/* Copies every field of sec that o's mask sets from src into dst (both of sec's struct). */
static void cfg_merge(const cfg_section *sec, char *dst, const char *src, uint64_t set)
{
	for (size_t i = 0; i < sec->n; i++) {
		const cfg_key *k = &sec->keys[i];
		size_t size = 0;

		if (k->kind == K_SECTION) {
			cfg_merge(k->sub, dst + k->off, src + k->off, set);
			continue;
		}
		if (k->bit < 0 || !(set & (UINT64_C(1) << k->bit)))
			continue;
		switch (k->kind) {
		case K_U32:
		case K_STATUSES:
			size = sizeof(uint32_t);
			break;
		case K_F64:
			size = sizeof(double);
			break;
		case K_BOOL:
			size = sizeof(bool);
			break;
		default:
			break;
		}
		memcpy(dst + k->off, src + k->off, size);
	}
}

/* The group's resilience: the .proto's (of the first method calling it) with every field the
 * file sets replacing that one value. */
static sg_err cfg_apply_resilience(const sg_config *c, const cfg_group *g, sg_server *s, char *err,
                                   size_t len)
{
	sg_resilience_desc r;
	const char *method = NULL;
	sg_err rv;

	if ((g->set & ((UINT64_C(1) << RES_BITS) - 1)) == 0)
		return SG_OK;
	if (sg__server_group_resilience(s, g->name, &r, &method) != SG_OK)
		return cfg_apply_fail(c, g->line, err, len,
		                      "groups.%s: no method of this server calls the group",
		                      g->name);
	cfg_merge(&resilience_section, (char *)&r, (const char *)&g->res, g->set);
	if (g->set & (UINT64_C(1) << RES_HEDGE)) {
		if (!r.idempotent)
			return cfg_apply_fail(
			        c, g->lines[RES_HEDGE], err, len,
			        "groups.%s.resilience.hedge: %s is not idempotent "
			        "(its .proto must say resilience { idempotent: true })",
			        g->name, method);
		r.has_hedge = true;
	}
	if (g->set & (UINT64_C(1) << RES_RETRY)) {
		if (!r.idempotent)
			return cfg_apply_fail(
			        c, g->lines[RES_RETRY], err, len,
			        "groups.%s.resilience.retry: %s is not idempotent "
			        "(its .proto must say resilience { idempotent: true })",
			        g->name, method);
		r.has_retry = true;
	}
	if (r.retry.max_backoff_ms < r.retry.initial_backoff_ms)
		return cfg_apply_fail(c, g->lines[RES_RETRY], err, len,
		                      "groups.%s.resilience.retry: max_backoff_ms %u is under "
		                      "initial_backoff_ms %u",
		                      g->name, (unsigned)r.retry.max_backoff_ms,
		                      (unsigned)r.retry.initial_backoff_ms);
	if ((rv = sg_server_set_group_resilience(s, g->name, &r)) != SG_OK)
		return cfg_apply_fail(c, g->line, err, len, "groups.%s.resilience: %s", g->name,
		                      sg_strerror(rv));
	return SG_OK;
}

static sg_tls_opts cfg_tls_opts(const cfg_tls *t)
{
	return (sg_tls_opts){
	        .cert_file = t->cert_file,
	        .key_file = t->key_file,
	        .ca_file = t->ca_file,
	        .require_client_cert = t->require_client_cert,
	};
}

sg_err sg_config_apply(const sg_config *c, sg_server *s, char *err, size_t len)
{
	sg_tls_opts tls;
	sg_err rv;

	if (err != NULL && len > 0)
		err[0] = '\0';
	if (c == NULL || s == NULL)
		return SG_EINVAL;
	for (size_t i = 0; i < c->n_groups; i++) {
		const cfg_group *g = &c->groups[i];

		if (!sg__server_group_used(s, g->name))
			return cfg_apply_fail(c, g->line, err, len,
			                      "groups.%s: no method of this server calls the group",
			                      g->name);
		if ((rv = sg_server_set_group(s, g->name, (const char *const *)g->targets.v,
		                              g->targets.n)) != SG_OK)
			return cfg_apply_fail(c, g->line, err, len, "groups.%s: %s", g->name,
			                      sg_strerror(rv));
		if (g->set & (UINT64_C(1) << GROUP_TLS)) {
			tls = cfg_tls_opts(&g->tls);
			if ((rv = sg_server_set_group_tls(s, g->name, &tls)) != SG_OK)
				return cfg_apply_fail(c, g->lines[GROUP_TLS], err, len,
				                      "groups.%s.tls: %s", g->name,
				                      sg_strerror(rv));
		}
		if ((rv = cfg_apply_resilience(c, g, s, err, len)) != SG_OK)
			return rv;
	}
	if (c->set & (UINT64_C(1) << TOP_TLS)) {
		tls = cfg_tls_opts(&c->tls);
		if ((rv = sg_server_set_listen_tls(s, &tls)) != SG_OK)
			return cfg_apply_fail(c, c->lines[TOP_TLS], err, len, "tls: %s",
			                      sg_strerror(rv));
	}
	if ((c->set & (UINT64_C(1) << TOP_FORWARD)) &&
	    (rv = sg_server_set_forward_metadata(s, (const char *const *)c->forward.v,
	                                         c->forward.n)) != SG_OK)
		return cfg_apply_fail(c, c->lines[TOP_FORWARD], err, len, "forward_metadata: %s",
		                      sg_strerror(rv));
	if ((c->set & (UINT64_C(1) << TOP_LIMITS)) &&
	    ((rv = sg_server_set_message_limits(s, c->max_recv, c->max_send)) != SG_OK ||
	     (rv = sg_server_set_trailer_limit(s, c->max_trailer)) != SG_OK))
		return cfg_apply_fail(c, c->lines[TOP_LIMITS], err, len, "limits: %s",
		                      sg_strerror(rv));
	if (c->admin != NULL && (rv = sg_server_set_admin(s, c->admin)) != SG_OK)
		return cfg_apply_fail(c, c->lines[TOP_ADMIN], err, len, "admin: %s",
		                      sg_strerror(rv));
	/* Unset: the environment's (SCATTER_LOG_LEVEL) stays. */
	if ((c->set & (UINT64_C(1) << TOP_LOG_LEVEL)) &&
	    (rv = sg_log_set_level(sg_config_log_level(c))) != SG_OK)
		return cfg_apply_fail(c, c->lines[TOP_LOG_LEVEL], err, len, "log_level: %s",
		                      sg_strerror(rv));
	return SG_OK;
}

/* ---- Reloading -------------------------------------------------------------------------- */

static bool cfg_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool cfg_list_eq(const cfg_list *a, const cfg_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	}
	return true;
}

static bool cfg_tls_eq(const cfg_tls *a, const cfg_tls *b)
{
	return cfg_str_eq(a->cert_file, b->cert_file) && cfg_str_eq(a->key_file, b->key_file) &&
	       cfg_str_eq(a->ca_file, b->ca_file) &&
	       a->require_client_cert == b->require_client_cert;
}

/* Logs, once each, the settings that differ and need a restart. */
static void cfg_restart_notes(const sg_config *old, const sg_config *c)
{
	const char *needs[16];
	size_t n = 0;

	if (!cfg_str_eq(sg_config_listen(old), sg_config_listen(c)))
		needs[n++] = "listen";
	if (!cfg_str_eq(old->admin, c->admin))
		needs[n++] = "admin";
	if (old->threads != c->threads)
		needs[n++] = "threads";
	if (old->max_calls != c->max_calls)
		needs[n++] = "max_calls";
	if (!cfg_tls_eq(&old->tls, &c->tls))
		needs[n++] = "tls";
	if (!cfg_list_eq(&old->forward, &c->forward))
		needs[n++] = "forward_metadata";
	if (old->max_recv != c->max_recv || old->max_send != c->max_send ||
	    old->max_trailer != c->max_trailer)
		needs[n++] = "limits";
	for (size_t i = 0; i < c->n_groups; i++) {
		const cfg_group *g = &c->groups[i], *og = cfg_group_find(old, g->name);

		if (og == NULL)
			continue;
		if (!cfg_tls_eq(&og->tls, &g->tls))
			sg__log_kv(SG_LOG_WARN, "config change needs a restart",
			           "key=groups.%s.tls", g->name);
		if ((og->set & ((UINT64_C(1) << RES_BITS) - 1)) !=
		            (g->set & ((UINT64_C(1) << RES_BITS) - 1)) ||
		    memcmp(&og->res, &g->res, sizeof(g->res)) != 0)
			sg__log_kv(SG_LOG_WARN, "config change needs a restart",
			           "key=groups.%s.resilience", g->name);
	}
	for (size_t i = 0; i < n; i++)
		sg__log_kv(SG_LOG_WARN, "config change needs a restart", "key=%s", needs[i]);
}

sg_err sg_config_reload(const sg_config *old, const sg_config *c, sg_server *s, char *err,
                        size_t len)
{
	sg_err rv;

	if (err != NULL && len > 0)
		err[0] = '\0';
	if (old == NULL || c == NULL || s == NULL)
		return SG_EINVAL;
	for (size_t i = 0; i < old->n_groups; i++) {
		if (cfg_group_find(c, old->groups[i].name) == NULL)
			return cfg_apply_fail(
			        c, 0, err, len,
			        "%s: groups.%s: removed; groups can only change their "
			        "targets while serving",
			        c->file != NULL ? c->file : "config", old->groups[i].name);
	}
	for (size_t i = 0; i < c->n_groups; i++) {
		if (cfg_group_find(old, c->groups[i].name) == NULL)
			return cfg_apply_fail(
			        c, c->groups[i].line, err, len,
			        "groups.%s: added; groups can only change their targets "
			        "while serving",
			        c->groups[i].name);
	}
	/* Every group checked against the methods first would need a dry run of each; a group
	 * that does not fit is refused by the server (it keeps its old targets) and the others
	 * still move: each group stands alone. */
	for (size_t i = 0; i < c->n_groups; i++) {
		const cfg_group *g = &c->groups[i], *og = cfg_group_find(old, g->name);

		if (cfg_list_eq(&og->targets, &g->targets))
			continue;
		if ((rv = sg_server_reload_group(s, g->name, (const char *const *)g->targets.v,
		                                 g->targets.n)) != SG_OK)
			return cfg_apply_fail(c, g->lines[GROUP_TARGETS], err, len,
			                      "groups.%s.targets: not reloaded: %s (see the log)",
			                      g->name, sg_strerror(rv));
	}
	if (!cfg_str_eq(sg_config_log_level(old), sg_config_log_level(c))) {
		sg_log_set_level(sg_config_log_level(c));
		sg__log_kv(SG_LOG_INFO, "log level changed", "level=%s", sg_config_log_level(c));
	}
	cfg_restart_notes(old, c);
	return SG_OK;
}
