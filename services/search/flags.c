/*
 * flags.c: command-line helpers shared by the example's tools.
 */
#include "flags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *flag_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s needs a value\n", name);
		exit(2);
	}
	return argv[++*i];
}

int flag_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int flag_bad(const char *name, const char *value)
{
	fprintf(stderr, "bad value for %s: %s\n", name, value);
	return 2;
}

void flag_print_listening(const char *listen, int port)
{
	const char *colon = strrchr(listen, ':');
	int host_len = colon != NULL ? (int)(colon - listen) : (int)strlen(listen);

	printf("listening on %.*s:%d\n", host_len, listen, port);
	fflush(stdout);
}
