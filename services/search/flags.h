/*
 * flags.h: the few command-line helpers the example's tools share (search-shard, search-client).
 *
 * Flags are `--name value` or `--name=value`. Errors go to stderr; the helpers never allocate.
 */
#ifndef SEARCH_FLAGS_H
#define SEARCH_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "scatter/server.h"

/* If argv[*i] is `name` or `name=...`, returns its value (borrowed from argv) and, for the
 * two-word form, advances *i past the value. Returns NULL when argv[*i] is another flag. A
 * `name` with no value following prints an error and exits with status 2. */
const char *flag_value(int argc, char **argv, int *i, const char *name);

/* Parses a decimal integer in [min, max] into *out; returns 0, or -1 (then *out is untouched). */
int flag_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Prints "bad value for <name>: <value>" to stderr and returns 2, the exit status for usage
 * errors. */
int flag_bad(const char *name, const char *value);

/* TLS flags, for a listening side (prefix "--") or a backend group ("--shards-"):
 *   <prefix>tls-cert FILE  <prefix>tls-key FILE  <prefix>tls-ca FILE
 *   <prefix>tls-require-client-cert   (listening side: mutual TLS)
 * `set` says whether any was given; opts borrows argv's strings. */
typedef struct flag_tls {
	sg_tls_opts opts;
	bool set;
} flag_tls;

/* If argv[*i] is one of prefix's TLS flags, records it in t (advancing *i past its value) and
 * returns true; false for any other flag. */
bool flag_tls_parse(int argc, char **argv, int *i, const char *prefix, flag_tls *t);

/* The usage text of prefix's TLS flags, e.g. " [--tls-cert F --tls-key F] [--tls-ca F]". */
const char *flag_tls_usage(const char *prefix);

/* Prints the readiness line `listening on HOST:PORT` (HOST taken from listen, "host:port") to
 * stdout and flushes it: process supervisors and tests wait for exactly this line. */
void flag_print_listening(const char *listen, int port);

#endif
