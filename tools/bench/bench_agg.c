/*
 * scatter-bench-agg: search.Search/Query served exactly as search-aggregator serves it (the
 * generated search__search__register), but with any number of legs: search-aggregator takes at
 * most 64 shards, and the fan-out scenarios need up to 1000 legs over a few shard processes.
 *
 *   scatter-bench-agg --shards HOST:PORT[,HOST:PORT...] [--legs N] [--listen HOST:PORT]
 *                     [--threads T]
 *
 * Leg i calls shard i % n_shards (N defaults to the number of shards). Prints `listening on
 * HOST:PORT` once serving; runs until SIGTERM or SIGINT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.scatter.h"

#define AGG_MAX_LEGS 100000

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	char *shards = NULL, *t, *save = NULL;
	const char **uniq = NULL, **targets = NULL;
	size_t n_uniq = 0, legs = 0;
	int threads = 0, status = 1;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--shards") == 0)
			shards = argv[i + 1];
		else if (strcmp(argv[i], "--legs") == 0)
			legs = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	if (shards == NULL || argc % 2 == 0 || legs > AGG_MAX_LEGS) {
		fprintf(stderr, "usage: scatter-bench-agg --shards HOST:PORT[,HOST:PORT...]"
		                " [--legs N] [--listen HOST:PORT] [--threads T]\n");
		return 2;
	}
	uniq = calloc(strlen(shards) / 2 + 1, sizeof(*uniq));
	for (t = strtok_r(shards, ",", &save); t != NULL && uniq != NULL;
	     t = strtok_r(NULL, ",", &save))
		uniq[n_uniq++] = t;
	if (legs == 0)
		legs = n_uniq;
	if (n_uniq == 0 || (targets = calloc(legs, sizeof(*targets))) == NULL)
		goto out;
	for (size_t i = 0; i < legs; i++)
		targets[i] = uniq[i % n_uniq];

	sg_server_opts opts = {.listen = listen, .threads = threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (rv = sg_server_set_group(s, "shards", targets, legs)) != SG_OK ||
	    (rv = search__search__register(s)) != SG_OK || (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "scatter-bench-agg: %s\n", sg_strerror(rv));
		goto out;
	}
	const char *colon = strrchr(listen, ':');
	printf("listening on %.*s:%d\n", colon ? (int)(colon - listen) : 0, listen,
	       sg_server_port(s));
	fflush(stdout);
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000);
	status = 0;
out:
	sg_server_free(s);
	free(targets);
	free(uniq);
	return status;
}
