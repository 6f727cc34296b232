/*
 * data.h: the example key-value store's data, derived from the key alone, so replicas, tests and
 * tools compute the same answers without sharing any state.
 */
#ifndef KV_DATA_H
#define KV_DATA_H

#include <stddef.h>
#include <stdint.h>

/* The current version of key (borrowed, NUL-terminated): >= 2, so a stale replica's
 * version - 1 is still a real version. */
uint64_t kv_version(const char *key);

/* Writes the value key held at version into buf (NUL-terminated, truncated to size) and returns
 * the length it needed, like snprintf: "<key>-v<version>". */
size_t kv_value(const char *key, uint64_t version, char *buf, size_t size);

#endif
