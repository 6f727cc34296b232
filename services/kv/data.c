/*
 * data.c: the example key-value store's data, a function of the key.
 */
#include "data.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t kv_version(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* 64-bit FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return 2 + h % 1000;
}

size_t kv_value(const char *key, uint64_t version, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s-v%" PRIu64, key, version);

	return n < 0 ? 0 : (size_t)n;
}
