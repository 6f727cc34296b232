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

bool flag_tls_parse(int argc, char **argv, int *i, const char *prefix, flag_tls *t)
{
	char name[64];
	const char *v;

	snprintf(name, sizeof(name), "%stls-require-client-cert", prefix);
	if (strcmp(argv[*i], name) == 0) {
		t->opts.require_client_cert = true;
		t->set = true;
		return true;
	}
	snprintf(name, sizeof(name), "%stls-cert", prefix);
	if ((v = flag_value(argc, argv, i, name)) != NULL) {
		t->opts.cert_file = v;
		t->set = true;
		return true;
	}
	snprintf(name, sizeof(name), "%stls-key", prefix);
	if ((v = flag_value(argc, argv, i, name)) != NULL) {
		t->opts.key_file = v;
		t->set = true;
		return true;
	}
	snprintf(name, sizeof(name), "%stls-ca", prefix);
	if ((v = flag_value(argc, argv, i, name)) != NULL) {
		t->opts.ca_file = v;
		t->set = true;
		return true;
	}
	return false;
}

const char *flag_tls_usage(const char *prefix)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), " [%stls-cert FILE %stls-key FILE] [%stls-ca FILE]%s", prefix,
	         prefix, prefix, strcmp(prefix, "--") == 0 ? " [--tls-require-client-cert]" : "");
	return buf;
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
