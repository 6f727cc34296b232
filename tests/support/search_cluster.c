/*
 * search_cluster.c: start and stop the example's processes for end-to-end tests.
 */
#include "search_cluster.h"

#include <stdio.h>
#include <string.h>

/* argv = fixed[0..n_fixed) + extra + NULL into out[SC_MAX_ARGS]; -1 when too many. */
static int sc_argv(char **out, char *const *fixed, size_t n_fixed, const char *const *extra)
{
	size_t n = 0;

	for (size_t i = 0; i < n_fixed; i++)
		out[n++] = fixed[i];
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (n + 1 >= SC_MAX_ARGS)
			return -1;
		out[n++] = (char *)extra[i];
	}
	out[n] = NULL;
	return 0;
}

int sc_start_shard(search_cluster *c, const char *const *extra)
{
	char id[16];
	char *fixed[] = {(char *)c->shard_bin, "--shard-id", id};
	char *argv[SC_MAX_ARGS];

	if (c->n_shards >= SC_MAX_SHARDS || sc_argv(argv, fixed, 3, extra) != 0)
		return -1;
	snprintf(id, sizeof(id), "%zu", c->n_shards);
	if (proc_start(&c->shards[c->n_shards], argv, SC_READY_MS) != 0)
		return -1;
	c->n_shards++;
	return 0;
}

int sc_start_aggregator(search_cluster *c, const char *const *extra)
{
	char targets[SC_MAX_SHARDS * 72] = "";
	char *fixed[] = {(char *)c->aggregator_bin, "--shards", targets};
	char *argv[SC_MAX_ARGS];

	for (size_t i = 0; i < c->n_shards; i++) {
		if (i > 0)
			strcat(targets, ",");
		strcat(targets, c->shards[i].addr);
	}
	if (sc_argv(argv, fixed, 3, extra) != 0)
		return -1;
	return proc_start(&c->aggregator, argv, SC_READY_MS);
}

int sc_write_config(const search_cluster *c, const char *path, const char *top, const char *group)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	fprintf(f, "%sgroups:\n  shards:\n    targets:\n", top != NULL ? top : "");
	for (size_t i = 0; i < c->n_shards; i++)
		fprintf(f, "      - %s\n", c->shards[i].addr);
	fprintf(f, "%s", group != NULL ? group : "");
	rc = ferror(f) ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int sc_stop_aggregator(search_cluster *c)
{
	if (c->aggregator.pid <= 0)
		return 0;
	if (!proc_exited_ok(proc_stop(&c->aggregator, SC_STOP_MS))) {
		fprintf(stderr, "search-aggregator did not exit cleanly\n");
		return -1;
	}
	return 0;
}

int sc_stop(search_cluster *c)
{
	int rc = sc_stop_aggregator(c);

	for (size_t i = 0; i < c->n_shards; i++) {
		if (c->shards[i].pid > 0 && !proc_exited_ok(proc_stop(&c->shards[i], SC_STOP_MS))) {
			fprintf(stderr, "search-shard %zu did not exit cleanly\n", i);
			rc = -1;
		}
	}
	c->n_shards = 0;
	return rc;
}
