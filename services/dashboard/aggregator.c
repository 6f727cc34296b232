/*
 * dashboard-aggregator: serves dashboard.Dashboard/Get, composing one view from the profile,
 * orders and recommendations services, exactly as dashboard.proto's option declares. The whole
 * program a user writes: map each leg's group to its service's address and let the generated
 * dashboard__dashboard__register do the rest.
 *
 *   dashboard-aggregator --profile HOST:PORT --orders HOST:PORT --recs HOST:PORT
 *                        [--listen 127.0.0.1:0] [--threads T]
 *
 * Prints `listening on HOST:PORT` once serving, runs until SIGTERM or SIGINT, exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.scatter.h"

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	const char *profile = NULL, *orders = NULL, *recs = NULL;
	int threads = 0;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--profile") == 0)
			profile = argv[i + 1];
		else if (strcmp(argv[i], "--orders") == 0)
			orders = argv[i + 1];
		else if (strcmp(argv[i], "--recs") == 0)
			recs = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	if (profile == NULL || orders == NULL || recs == NULL || argc % 2 == 0) {
		fprintf(stderr, "usage: dashboard-aggregator --profile HOST:PORT --orders HOST:PORT"
		                " --recs HOST:PORT [--listen HOST:PORT] [--threads T]\n");
		return 2;
	}

	/* One target per group: each leg of a composition calls exactly one service. */
	sg_server_opts opts = {.listen = listen, .threads = threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (rv = sg_server_set_group(s, "profiles", &profile, 1)) != SG_OK ||
	    (rv = sg_server_set_group(s, "orders", &orders, 1)) != SG_OK ||
	    (rv = sg_server_set_group(s, "recs", &recs, 1)) != SG_OK ||
	    (rv = dashboard__dashboard__register(s)) != SG_OK ||
	    (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "dashboard-aggregator: %s\n", sg_strerror(rv));
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
