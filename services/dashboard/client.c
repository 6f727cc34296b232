/*
 * dashboard-client: asks the dashboard aggregator for one user's view over real gRPC with the
 * generated C client stubs, and shows what came back: the profile, the orders, the
 * recommendations (or that there are none), the status and, from the trailers
 * (scatter-legs / scatter-leg), how each service fared.
 *
 *   dashboard-client --target HOST:PORT [--user-id N] [--max-orders N] [--max-recs N]
 *                    [--timeout-ms T]
 *
 * Exits 0 when the call answered OK, 1 when it did not (its status name and message are
 * printed), 2 on a usage error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dashboard.scatter.h"

#include "flags.h"

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
	printf("  %-4s %-10s %-28s %-20s %10s\n", "leg", "name", "target", "status", "latency");
	for (size_t i = 0; i < res->n_trailers; i++) {
		sg_leg_outcome o;

		if (strcmp(res->trailers[i].key, SG_TRAILER_LEG) != 0)
			continue;
		if (sg_leg_outcome_parse(res->trailers[i].value, &o) != SG_OK) {
			printf("  unparsable %s trailer: %s\n", SG_TRAILER_LEG,
			       res->trailers[i].value);
			continue;
		}
		printf("  %-4u %-10s %-28s %-20s %7.1f ms\n", o.index, o.name, o.target,
		       sg_status_name(o.status), (double)o.latency_us / 1e3);
	}
}

static void print_view(const Dashboard__DashboardView *v)
{
	if (v->profile != NULL)
		printf("profile  %s (user %" PRIu64 ", %s)\n", v->profile->name,
		       v->profile->user_id, v->profile->tier);
	else
		printf("profile  (none)\n");
	if (v->orders != NULL) {
		printf("orders   %zu\n", v->orders->n_orders);
		for (size_t i = 0; i < v->orders->n_orders; i++) {
			const Dashboard__Order *o = v->orders->orders[i];

			printf("         %-10s %-12s %6" PRIu64 ".%02" PRIu64 "\n", o->order_id,
			       o->item, o->amount_cents / 100, o->amount_cents % 100);
		}
	} else {
		printf("orders   (none)\n");
	}
	if (v->recs != NULL) {
		printf("recs     %zu\n", v->recs->n_recs);
		for (size_t i = 0; i < v->recs->n_recs; i++)
			printf("         %-12s %.3f\n", v->recs->recs[i]->item,
			       v->recs->recs[i]->score);
	} else {
		printf("recs     (none: the optional recs leg failed, see the legs)\n");
	}
	printf("legs ok %u, failed %u\n", v->legs_ok, v->legs_failed);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dashboard-client --target HOST:PORT [--user-id N] [--max-orders N]"
	           " [--max-recs N] [--timeout-ms T]\n");
}

int main(int argc, char **argv)
{
	Dashboard__DashboardRequest req = DASHBOARD__DASHBOARD_REQUEST__INIT;
	Dashboard__DashboardView *view = NULL;
	const char *target = NULL;
	uint32_t user_id = 42, timeout_ms = 5000;
	sg_call_result res = {0};
	sg_client *c = NULL;
	double t0, ms;
	sg_err rv;

	req.max_orders = 3;
	req.max_recs = 3;
	for (int i = 1; i < argc; i++) {
		const char *v;

		if ((v = flag_value(argc, argv, &i, "--target")) != NULL) {
			target = v;
		} else if ((v = flag_value(argc, argv, &i, "--user-id")) != NULL) {
			if (flag_u32(v, 0, UINT32_MAX, &user_id) != 0)
				return flag_bad("--user-id", v);
		} else if ((v = flag_value(argc, argv, &i, "--max-orders")) != NULL) {
			if (flag_u32(v, 0, 100, &req.max_orders) != 0)
				return flag_bad("--max-orders", v);
		} else if ((v = flag_value(argc, argv, &i, "--max-recs")) != NULL) {
			if (flag_u32(v, 0, 100, &req.max_recs) != 0)
				return flag_bad("--max-recs", v);
		} else if ((v = flag_value(argc, argv, &i, "--timeout-ms")) != NULL) {
			if (flag_u32(v, 1, 3600 * 1000, &timeout_ms) != 0)
				return flag_bad("--timeout-ms", v);
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "dashboard-client: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (target == NULL) {
		usage(stderr);
		return 2;
	}
	req.user_id = user_id;
	printf("dashboard.Dashboard/Get user %u, max_orders %u, max_recs %u on %s\n\n", user_id,
	       req.max_orders, req.max_recs, target);

	if ((rv = sg_client_open(target, &c)) != SG_OK) {
		fprintf(stderr, "dashboard-client: %s: %s\n", target, sg_strerror(rv));
		return 1;
	}
	t0 = now_ms();
	rv = dashboard__dashboard__get_call(c, &req, timeout_ms, &view, &res);
	ms = now_ms() - t0;
	if (rv == SG_OK) {
		print_view(view);
		printf("status   OK in %.1f ms\n", ms);
	} else {
		printf("status   %s in %.1f ms: %s (%s)\n", sg_status_name(res.status), ms,
		       res.message ? res.message : "", sg_strerror(rv));
	}
	/* A call that never reached the aggregator has no legs to show. */
	if (rv == SG_OK || res.n_trailers > 0) {
		printf("\n");
		print_legs(&res);
	}
	if (view != NULL)
		dashboard__dashboard_view__free_unpacked(view, NULL);
	sg_call_result_fini(&res);
	sg_client_close(c);
	return rv == SG_OK ? 0 : 1;
}
