/*
 * flags.h: the few command-line helpers the example's tools share (search-shard, search-client).
 *
 * Flags are `--name value` or `--name=value`. Errors go to stderr; the helpers never allocate.
 */
#ifndef SEARCH_FLAGS_H
#define SEARCH_FLAGS_H

#include <stdint.h>

/* If argv[*i] is `name` or `name=...`, returns its value (borrowed from argv) and, for the
 * two-word form, advances *i past the value. Returns NULL when argv[*i] is another flag. A
 * `name` with no value following prints an error and exits with status 2. */
const char *flag_value(int argc, char **argv, int *i, const char *name);

/* Parses a decimal integer in [min, max] into *out; returns 0, or -1 (then *out is untouched). */
int flag_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Prints "bad value for <name>: <value>" to stderr and returns 2, the exit status for usage
 * errors. */
int flag_bad(const char *name, const char *value);

/* Prints the readiness line `listening on HOST:PORT` (HOST taken from listen, "host:port") to
 * stdout and flushes it: process supervisors and tests wait for exactly this line. */
void flag_print_listening(const char *listen, int port);

#endif
