/*
 * kv-aggregator: serves kv.KV/Get and kv.KV/GetValue, quorum reads over the replicas, exactly
 * as kv.proto's options declare. The whole program a user writes: the generated
 * kv__kv__register does the rest.
 *
 *   kv-aggregator --replicas HOST:PORT,HOST:PORT,HOST:PORT [--listen 127.0.0.1:0] [--threads T]
 *
 * kv.proto declares group_size 3: the server refuses to start with another number of replicas.
 * Prints `listening on HOST:PORT` once serving, runs until SIGTERM or SIGINT, exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.scatter.h"

#define MAX_REPLICAS 16

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	char *replicas = NULL;
	const char *targets[MAX_REPLICAS];
	size_t n = 0;
	int threads = 0;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--replicas") == 0)
			replicas = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	for (char *t = replicas ? strtok(replicas, ",") : NULL; t && n < MAX_REPLICAS;
	     t = strtok(NULL, ","))
		targets[n++] = t;
	if (n == 0 || argc % 2 == 0) {
		fprintf(stderr, "usage: kv-aggregator --replicas HOST:PORT,HOST:PORT,HOST:PORT"
		                " [--listen HOST:PORT] [--threads T]\n");
		return 2;
	}

	sg_server_opts opts = {.listen = listen, .threads = threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (rv = sg_server_set_group(s, "replicas", targets, n)) != SG_OK ||
	    (rv = kv__kv__register(s)) != SG_OK || (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "kv-aggregator: %s\n", sg_strerror(rv));
		sg_server_free(s);
		return 1;
	}
	const char *colon = strrchr(listen, ':'); /* the readiness line: host as given, real port */
	printf("listening on %.*s:%d\n", colon ? (int)(colon - listen) : 0, listen,
	       sg_server_port(s));
	fflush(stdout);
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000); /* calls in flight get a second to finish */
	sg_server_free(s);
	return 0;
}
