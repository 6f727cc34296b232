/*
 * search-aggregator: serves every method of search.Search (Query, QueryFast, QueryWithin, ...),
 * each fanning out to every shard and gathering and merging exactly as its option in
 * search.proto declares. This is the whole program a user writes, with the hooks the options
 * name (hooks.c): the generated search__search__register does the rest.
 *
 *   search-aggregator --shards 127.0.0.1:5001,127.0.0.1:5002 [--listen 127.0.0.1:0] [--threads T]
 *                     [--admin 127.0.0.1:0]
 *
 * --admin serves /metrics (Prometheus) and the live status page at / on its own HTTP port.
 * Prints `admin on HOST:PORT` (with --admin) and then `listening on HOST:PORT` once serving,
 * runs until SIGTERM or SIGINT, exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.scatter.h"

#define MAX_SHARDS 64

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	const char *admin = NULL;
	char *shards = NULL;
	const char *targets[MAX_SHARDS];
	size_t n = 0;
	int threads = 0;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--shards") == 0)
			shards = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--admin") == 0)
			admin = argv[i + 1];
	}
	for (char *t = shards ? strtok(shards, ",") : NULL; t && n < MAX_SHARDS;
	     t = strtok(NULL, ","))
		targets[n++] = t;
	if (n == 0 || argc % 2 == 0) {
		fprintf(stderr, "usage: search-aggregator --shards HOST:PORT[,HOST:PORT...]"
		                " [--listen HOST:PORT] [--threads T] [--admin HOST:PORT]\n");
		return 2;
	}

	sg_server_opts opts = {.listen = listen, .threads = threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (rv = sg_server_set_group(s, "shards", targets, n)) != SG_OK ||
	    (admin != NULL && (rv = sg_server_set_admin(s, admin)) != SG_OK) ||
	    (rv = search__search__register(s)) != SG_OK || (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "search-aggregator: %s\n", sg_strerror(rv));
		sg_server_free(s);
		return 1;
	}
	const char *colon = admin != NULL ? strrchr(admin, ':') : NULL;
	if (colon != NULL) /* before the readiness line, so it has been read when that comes */
		printf("admin on %.*s:%d\n", (int)(colon - admin), admin, sg_server_admin_port(s));
	colon = strrchr(listen, ':'); /* the readiness line: host as given, real port */
	printf("listening on %.*s:%d\n", colon ? (int)(colon - listen) : 0, listen,
	       sg_server_port(s));
	fflush(stdout);
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000); /* calls in flight get a second to finish */
	sg_server_free(s);
	return 0;
}
