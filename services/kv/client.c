/*
 * kv-client: reads a key through the example's quorum read over real gRPC with the generated C
 * client stubs, and shows what came back: the value and version, the replica counts, the
 * status and, from the trailers (scatter-legs / scatter-leg), how each replica fared.
 *
 *   kv-client --target HOST:PORT [--key K] [--method Get|GetValue] [--timeout-ms T]
 *             [--direct | --stats]
 *
 * --method Get (the default) agrees on the whole answer, GetValue on the value only (kv.proto).
 * --direct calls kv.Replica/Get on the target (a replica) instead.
 * --stats prints the target's counters (/scatter.Stats/Get, which every libscatter server
 * answers): a replica whose read a quorum no longer needed counts it in calls_cancelled.
 *
 * Exits 0 when the call answered OK, 1 when it did not (its status name and message are
 * printed), 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv.scatter.h"
#include "scatter/stats.pb-c.h"

#include "flags.h"

typedef struct client_opts {
	const char *target;
	const char *key;
	const char *method; /* "Get" or "GetValue" */
	uint32_t timeout_ms;
	int direct;
	int stats;
} client_opts;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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
	if (sg_legs_summary_parse(v, &sum) == SG_OK)
		printf("legs: total %u, ok %u, failed %u, cut short %u\n", sum.total, sum.ok,
		       sum.failed, sum.cut);
	else
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
		printf("  %-4u %-12s %-28s %-20s %7.1f ms\n", o.index, o.name, o.target,
		       sg_status_name(o.status), (double)o.latency_us / 1e3);
	}
}

/* One read; prints the answer or the failure, then the legs. Returns 0 when the status was OK. */
static int run(const client_opts *o)
{
	Kv__GetRequest req = KV__GET_REQUEST__INIT;
	Kv__GetResponse *resp = NULL;
	sg_call_result res = {0};
	sg_client *c = NULL;
	double t0, ms;
	sg_err rv;

	req.key = (char *)o->key;
	if ((rv = sg_client_open(o->target, &c)) != SG_OK) {
		fprintf(stderr, "kv-client: %s: %s\n", o->target, sg_strerror(rv));
		return -1;
	}
	t0 = now_ms();
	if (o->direct)
		rv = kv__replica__get_call(c, &req, o->timeout_ms, &resp, &res);
	else if (strcmp(o->method, "GetValue") == 0)
		rv = kv__kv__get_value_call(c, &req, o->timeout_ms, &resp, &res);
	else
		rv = kv__kv__get_call(c, &req, o->timeout_ms, &resp, &res);
	ms = now_ms() - t0;

	if (rv == SG_OK) {
		printf("value    %s\n", resp->value);
		printf("version  %llu\n", (unsigned long long)resp->version);
		if (!o->direct)
			printf("replicas total %u, ok %u, failed %u\n", resp->replicas_total,
			       resp->replicas_ok, resp->replicas_failed);
		printf("status   OK in %.1f ms\n", ms);
	} else {
		printf("status   %s in %.1f ms: %s (%s)\n", sg_status_name(res.status), ms,
		       res.message ? res.message : "", sg_strerror(rv));
	}
	/* A call that never reached the aggregator has no legs to show. */
	if (!o->direct && (rv == SG_OK || res.n_trailers > 0)) {
		printf("\n");
		print_legs(&res);
	}
	if (resp != NULL)
		kv__get_response__free_unpacked(resp, NULL);
	sg_call_result_fini(&res);
	sg_client_close(c);
	return rv == SG_OK ? 0 : -1;
}

/* Prints the target's /scatter.Stats/Get counters. Returns 0 when it answered. */
static int run_stats(const client_opts *o)
{
	Scatter__StatsRequest req = SCATTER__STATS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	sg_call_result res = {0};
	sg_client *c = NULL;
	sg_err rv;

	if ((rv = sg_client_open(o->target, &c)) != SG_OK) {
		fprintf(stderr, "kv-client: %s: %s\n", o->target, sg_strerror(rv));
		return -1;
	}
	rv = sg_client_call(c, "/scatter.Stats/Get", &req.base, &scatter__server_stats__descriptor,
	                    o->timeout_ms, &resp, &res);
	if (rv == SG_OK) {
		const Scatter__ServerStats *st = (const Scatter__ServerStats *)resp;

		printf("calls_started %llu, calls_cancelled %llu, legs_started %llu,"
		       " legs_failed %llu, legs_cancelled %llu\n",
		       (unsigned long long)st->calls_started,
		       (unsigned long long)st->calls_cancelled,
		       (unsigned long long)st->legs_started, (unsigned long long)st->legs_failed,
		       (unsigned long long)st->legs_cancelled);
		protobuf_c_message_free_unpacked(resp, NULL);
	} else {
		printf("status %s: %s (%s)\n", sg_status_name(res.status),
		       res.message ? res.message : "", sg_strerror(rv));
	}
	sg_call_result_fini(&res);
	sg_client_close(c);
	return rv == SG_OK ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kv-client --target HOST:PORT [--key K] [--method Get|GetValue]"
	           " [--timeout-ms T] [--direct | --stats]\n");
}

int main(int argc, char **argv)
{
	client_opts o = {.key = "alice", .method = "Get", .timeout_ms = 5000};

	for (int i = 1; i < argc; i++) {
		const char *v;

		if ((v = flag_value(argc, argv, &i, "--target")) != NULL) {
			o.target = v;
		} else if ((v = flag_value(argc, argv, &i, "--key")) != NULL) {
			o.key = v;
		} else if ((v = flag_value(argc, argv, &i, "--method")) != NULL) {
			if (strcmp(v, "Get") != 0 && strcmp(v, "GetValue") != 0)
				return flag_bad("--method", v);
			o.method = v;
		} else if ((v = flag_value(argc, argv, &i, "--timeout-ms")) != NULL) {
			if (flag_u32(v, 1, 3600 * 1000, &o.timeout_ms) != 0)
				return flag_bad("--timeout-ms", v);
		} else if (strcmp(argv[i], "--direct") == 0) {
			o.direct = 1;
		} else if (strcmp(argv[i], "--stats") == 0) {
			o.stats = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "kv-client: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (o.target == NULL) {
		usage(stderr);
		return 2;
	}
	if (o.stats)
		return run_stats(&o) == 0 ? 0 : 1;
	printf("%s%s key \"%s\" on %s\n\n", o.direct ? "kv.Replica/" : "kv.KV/",
	       o.direct ? "Get" : o.method, o.key, o.target);
	return run(&o) == 0 ? 0 : 1;
}
