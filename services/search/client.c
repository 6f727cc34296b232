/*
 * search-client: calls the example's search over real gRPC with the generated C client stubs
 * and shows what came back: the hits, the shard header, the status and, from the trailers
 * (scatter-legs / scatter-leg), how each backend fared.
 *
 *   search-client --target HOST:PORT [--method NAME] [--query Q] [--k K] [--timeout-ms T]
 *                 [--direct] [--format=table|lines] [--compare HOST:PORT,HOST:PORT...]
 *
 * --method calls search.Search/NAME (Query by default; QueryFast, QueryWithin, QueryGoodEnough,
 * QueryJudged, QueryAll, QueryUnique, Count, QueryDiverse: search.proto says how each gathers
 * and merges). Every one takes a SearchRequest and answers a SearchResponse.
 * --direct calls search.Shard/Search on the target (a shard) instead.
 * --format=lines prints only the canonical hit lines, `rank doc_id score shard title` with the
 * score as %.6f: other clients (tests/e2e/python_client_test.py) print the same lines, so
 * answers compare as text.
 * --compare runs the same query on each listed shard directly, one after another, and prints
 * the measured sequential total against the scatter-gather call's time.
 *
 * Exits 0 when every call answered OK, 1 when one did not (its status name and message are
 * printed), 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search.scatter.h"

#include "flags.h"

#define CLIENT_MAX_SHARDS 64

typedef struct client_opts {
	const char *target;
	const char *method; /* a method of search.Search */
	const char *query;
	uint32_t k;
	uint32_t timeout_ms;
	int direct;
	int lines;
	char *compare; /* comma-separated shard targets, or NULL */
} client_opts;

/* Monotonic milliseconds, for timing whole calls the way a caller experiences them. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The canonical hit lines (or an aligned table of the same fields). */
static void print_hits(const Search__SearchResponse *r, int lines)
{
	if (!lines)
		printf("%4s  %-12s %-8s  %5s  %s\n", "rank", "doc_id", "score", "shard", "title");
	for (size_t i = 0; i < r->n_hits; i++) {
		const Search__Hit *h = r->hits[i];

		if (lines)
			printf("%zu %s %.6f %u %s\n", i + 1, h->doc_id, h->score, h->shard,
			       h->title);
		else
			printf("%4zu  %-12s %.6f  %5u  %s\n", i + 1, h->doc_id, h->score, h->shard,
			       h->title);
	}
}

/* The per-leg table from the scatter-legs / scatter-leg trailers of an aggregate answer. */
static void print_legs(const sg_call_result *res)
{
	const char *v = sg_call_result_trailer(res, SG_TRAILER_SUMMARY);
	sg_legs_summary sum;

	if (v == NULL) {
		printf("(no %s trailer)\n", SG_TRAILER_SUMMARY);
		return;
	}
	if (sg_legs_summary_parse(v, &sum) == SG_OK) {
		printf("legs: total %u, ok %u, failed %u, cut short %u", sum.total, sum.ok,
		       sum.failed, sum.cut);
		/* Past the aggregator's trailer limit: failures are listed first. */
		if (sum.omitted > 0)
			printf(" (%u not listed: the trailer limit)", sum.omitted);
		printf("\n");
	} else
		printf("legs: unparsable %s trailer: %s\n", SG_TRAILER_SUMMARY, v);
	printf("  %-4s %-12s %-28s %-20s %10s\n", "leg", "name", "target", "status", "latency");
	for (size_t i = 0; i < res->n_trailers; i++) {
		sg_leg_outcome o;

		if (strcmp(res->trailers[i].key, SG_TRAILER_LEG) != 0)
			continue;
		if (sg_leg_outcome_parse(res->trailers[i].value, &o) != SG_OK) {
			printf("  unparsable %s trailer: %s\n", SG_TRAILER_LEG,
			       res->trailers[i].value);
			continue;
		}
		printf("  %-4u %-12s %-28s %-20s %7.1f ms%s%s\n", o.index, o.name[0] ? o.name : "-",
		       o.target, sg_status_name(o.status), (double)o.latency_us / 1e3,
		       o.note[0] != '\0' ? "  " : "", o.note);
	}
}

/* One call to target: Search.Query, or Shard.Search when direct. Prints what the format asks
 * for; stores the call's wall time in *elapsed_ms. Returns 0 when the status was OK. */
static int run_query(const client_opts *o, const char *target, int direct, int quiet,
                     double *elapsed_ms)
{
	Search__SearchRequest req = SEARCH__SEARCH_REQUEST__INIT;
	Search__SearchResponse *resp = NULL;
	sg_call_result res = {0};
	sg_client *c = NULL;
	char path[128];
	sg_err rv;
	double t0;

	req.query = (char *)o->query;
	req.k = o->k;
	if ((rv = sg_client_open(target, &c)) != SG_OK) {
		fprintf(stderr, "search-client: %s: %s\n", target, sg_strerror(rv));
		return -1;
	}
	snprintf(path, sizeof(path), "/search.Search/%s", o->method);
	t0 = now_ms();
	if (direct)
		rv = search__shard__search_call(c, &req, o->timeout_ms, &resp, &res);
	else
		rv = sg_client_call(c, path, &req.base, &search__search_response__descriptor,
		                    o->timeout_ms, (ProtobufCMessage **)&resp, &res);
	*elapsed_ms = now_ms() - t0;

	if (rv == SG_OK && !quiet) {
		print_hits(resp, o->lines);
		if (!o->lines) {
			printf("\nhits %zu; shards total %u, ok %u, failed %u\n", resp->n_hits,
			       resp->shards_total, resp->shards_ok, resp->shards_failed);
			/* Only Count merges these; elsewhere they are one shard's values. */
			if (strcmp(o->method, "Count") == 0)
				printf("total matches %llu, best score %.6f\n",
				       (unsigned long long)resp->total_matches, resp->best_score);
			printf("status OK in %.1f ms\n", *elapsed_ms);
		}
	} else if (rv != SG_OK) {
		fprintf(o->lines ? stderr : stdout, "status %s: %s (%s)\n",
		        sg_status_name(res.status), res.message ? res.message : "",
		        sg_strerror(rv));
	}
	/* A call that never reached the aggregator has no legs to show. */
	if (!direct && !quiet && !o->lines && (rv == SG_OK || res.n_trailers > 0)) {
		printf("\n");
		print_legs(&res);
	}
	if (resp != NULL)
		search__search_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
	sg_client_close(c);
	return rv == SG_OK ? 0 : -1;
}

/* The same query on each shard in turn, timed as a whole, against the scatter-gather time. */
static int run_compare(const client_opts *o, double scatter_ms)
{
	const char *targets[CLIENT_MAX_SHARDS];
	size_t n = 0;
	double total = 0;
	int failed = 0;

	for (char *t = strtok(o->compare, ","); t != NULL && n < CLIENT_MAX_SHARDS;
	     t = strtok(NULL, ","))
		targets[n++] = t;
	printf("\nthe same query, sequentially (Shard.Search on each shard, one after another):\n");
	for (size_t i = 0; i < n; i++) {
		double ms = 0;

		if (run_query(o, targets[i], 1, 1, &ms) != 0)
			failed = 1;
		printf("  %-28s %7.1f ms\n", targets[i], ms);
		total += ms;
	}
	printf("\nsequential %.0f ms, scatter-gather %.0f ms, %.2fx\n", total, scatter_ms,
	       scatter_ms > 0 ? total / scatter_ms : 0.0);
	return failed ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: search-client --target HOST:PORT [--method NAME] [--query Q] [--k K]"
	        " [--timeout-ms T] [--direct] [--format=table|lines] [--compare HOST:PORT,...]\n");
}

int main(int argc, char **argv)
{
	client_opts o = {.method = "Query", .query = "scatter gather", .k = 10, .timeout_ms = 5000};
	double ms = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if ((v = flag_value(argc, argv, &i, "--target")) != NULL) {
			o.target = v;
		} else if ((v = flag_value(argc, argv, &i, "--method")) != NULL) {
			if (v[0] == '\0' || strchr(v, '/') != NULL || strlen(v) > 64)
				return flag_bad("--method", v);
			o.method = v;
		} else if ((v = flag_value(argc, argv, &i, "--query")) != NULL) {
			o.query = v;
		} else if ((v = flag_value(argc, argv, &i, "--k")) != NULL) {
			if (flag_u32(v, 0, UINT32_MAX, &o.k) != 0)
				return flag_bad("--k", v);
		} else if ((v = flag_value(argc, argv, &i, "--timeout-ms")) != NULL) {
			if (flag_u32(v, 1, 3600 * 1000, &o.timeout_ms) != 0)
				return flag_bad("--timeout-ms", v);
		} else if ((v = flag_value(argc, argv, &i, "--format")) != NULL) {
			if (strcmp(v, "lines") != 0 && strcmp(v, "table") != 0)
				return flag_bad("--format", v);
			o.lines = strcmp(v, "lines") == 0;
		} else if ((v = flag_value(argc, argv, &i, "--compare")) != NULL) {
			o.compare = (char *)v;
		} else if (strcmp(argv[i], "--direct") == 0) {
			o.direct = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "search-client: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (o.target == NULL) {
		usage(stderr);
		return 2;
	}
	if (!o.lines && o.direct)
		printf("search.Shard/Search \"%s\" k=%u on %s\n\n", o.query, o.k, o.target);
	else if (!o.lines)
		printf("search.Search/%s \"%s\" k=%u on %s\n\n", o.method, o.query, o.k, o.target);
	rc = run_query(&o, o.target, o.direct, 0, &ms);
	if (o.compare != NULL && run_compare(&o, ms) != 0)
		rc = -1;
	return rc == 0 ? 0 : 1;
}
