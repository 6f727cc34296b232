/*
 * dashboard-leaf: one of the dashboard's three backend services, a leaf service in C on the
 * generated server skeletons. Which one is chosen by --service:
 *
 *   profile  Profiles.Get            the user's name and tier
 *   orders   Orders.List             the user's newest `limit` orders
 *   recs     Recommendations.Suggest `count` items picked for the user
 *
 * Answers are a function of the request alone (tests recompute them), after a simulated latency
 * from the worker's timer heap; --fail makes every call fail at once with UNAVAILABLE.
 *
 *   dashboard-leaf --service profile|orders|recs [--listen 127.0.0.1:0] [--latency-ms L]
 *                  [--fail] [--threads T]
 *
 * Prints `listening on HOST:PORT` once serving, runs until SIGTERM or SIGINT, exits 0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.scatter.h"

#include "flags.h"

#define ORDERS_DEFAULT 5
#define ORDERS_MAX     100
#define RECS_DEFAULT   3
#define RECS_MAX       100

typedef struct leaf_cfg {
	const char *service;
	uint32_t latency_ms;
	int fail;
	char fail_message[64];
} leaf_cfg;

static const char *const tiers[] = {"bronze", "silver", "gold"};
static const char *const items[] = {"kettle", "lamp",   "notebook", "headphones",
                                    "teapot", "chair",  "backpack", "umbrella",
                                    "camera", "guitar", "desk",     "plant"};
#define N_ITEMS (sizeof(items) / sizeof(items[0]))

/* Ends the call with the configured failure when --fail is set; returns whether it did. */
static int leaf_failed(sg_leaf_call *call, const leaf_cfg *cfg)
{
	if (cfg->fail)
		sg_leaf_fail(call, GRPC_STATUS_UNAVAILABLE, cfg->fail_message);
	return cfg->fail;
}

/* Profiles.Get: "user-<id>", tier by id. */
static void profile_get(sg_leaf_call *call, const Dashboard__ProfileRequest *req, void *arg)
{
	const leaf_cfg *cfg = arg;
	Dashboard__Profile resp = DASHBOARD__PROFILE__INIT;
	char name[32];

	if (leaf_failed(call, cfg))
		return;
	snprintf(name, sizeof(name), "user-%" PRIu64, req->user_id);
	resp.user_id = req->user_id;
	resp.name = name;
	resp.tier = (char *)tiers[req->user_id % 3];
	sg_leaf_reply_after(call, &resp.base, cfg->latency_ms); /* encodes now: name may go */
}

/* Orders.List: the newest `limit` orders, "o<id>-<n>" counting down from the newest. */
static void orders_list(sg_leaf_call *call, const Dashboard__OrdersRequest *req, void *arg)
{
	const leaf_cfg *cfg = arg;
	uint32_t n = req->limit != 0 ? req->limit : ORDERS_DEFAULT;
	Dashboard__OrderList resp = DASHBOARD__ORDER_LIST__INIT;
	Dashboard__Order *orders, **ptrs;
	char *ids;

	if (leaf_failed(call, cfg))
		return;
	n = n < ORDERS_MAX ? n : ORDERS_MAX;
	orders = sg_leaf_alloc(call, n * sizeof(*orders) + 1);
	ptrs = sg_leaf_alloc(call, n * sizeof(*ptrs) + 1);
	ids = sg_leaf_alloc(call, (size_t)n * 32 + 1);
	if (orders == NULL || ptrs == NULL || ids == NULL) {
		sg_leaf_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "orders: out of memory");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t seq = req->user_id * 7 + (ORDERS_MAX - i);

		dashboard__order__init(&orders[i]);
		orders[i].order_id = ids + (size_t)i * 32;
		snprintf(orders[i].order_id, 32, "o%" PRIu64 "-%" PRIu32, req->user_id,
		         ORDERS_MAX - i);
		orders[i].item = (char *)items[seq % N_ITEMS];
		orders[i].amount_cents = 500 + seq % 97 * 100;
		ptrs[i] = &orders[i];
	}
	resp.orders = ptrs;
	resp.n_orders = n;
	sg_leaf_reply_after(call, &resp.base, cfg->latency_ms);
}

/* Recommendations.Suggest: `count` items, best first, scores falling from 1. */
static void recs_suggest(sg_leaf_call *call, const Dashboard__RecsRequest *req, void *arg)
{
	const leaf_cfg *cfg = arg;
	uint32_t n = req->count != 0 ? req->count : RECS_DEFAULT;
	Dashboard__RecList resp = DASHBOARD__REC_LIST__INIT;
	Dashboard__Rec *recs, **ptrs;

	if (leaf_failed(call, cfg))
		return;
	n = n < RECS_MAX ? n : RECS_MAX;
	recs = sg_leaf_alloc(call, n * sizeof(*recs) + 1);
	ptrs = sg_leaf_alloc(call, n * sizeof(*ptrs) + 1);
	if (recs == NULL || ptrs == NULL) {
		sg_leaf_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "recs: out of memory");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		dashboard__rec__init(&recs[i]);
		recs[i].item = (char *)items[(req->user_id * 5 + i) % N_ITEMS];
		recs[i].score = 1.0 - (double)i / (double)(n + 1);
		ptrs[i] = &recs[i];
	}
	resp.recs = ptrs;
	resp.n_recs = n;
	sg_leaf_reply_after(call, &resp.base, cfg->latency_ms);
}

/* Serves the one service cfg->service names on s. SG_EINVAL for an unknown name. */
static sg_err leaf_serve(sg_server *s, leaf_cfg *cfg)
{
	static const Dashboard__Profiles_Handlers profiles = {.get = profile_get};
	static const Dashboard__Orders_Handlers orders = {.list = orders_list};
	static const Dashboard__Recommendations_Handlers recs = {.suggest = recs_suggest};

	if (strcmp(cfg->service, "profile") == 0)
		return dashboard__profiles__serve(s, &profiles, cfg);
	if (strcmp(cfg->service, "orders") == 0)
		return dashboard__orders__serve(s, &orders, cfg);
	if (strcmp(cfg->service, "recs") == 0)
		return dashboard__recommendations__serve(s, &recs, cfg);
	return SG_EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dashboard-leaf --service profile|orders|recs [--listen HOST:PORT]"
	           " [--latency-ms L] [--fail] [--threads T]\n");
}

int main(int argc, char **argv)
{
	leaf_cfg cfg = {0};
	const char *listen = "127.0.0.1:0";
	uint32_t threads = 0;
	sg_server_opts opts;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if ((v = flag_value(argc, argv, &i, "--service")) != NULL) {
			if (strcmp(v, "profile") != 0 && strcmp(v, "orders") != 0 &&
			    strcmp(v, "recs") != 0)
				return flag_bad("--service", v);
			cfg.service = v;
		} else if ((v = flag_value(argc, argv, &i, "--listen")) != NULL) {
			listen = v;
		} else if ((v = flag_value(argc, argv, &i, "--latency-ms")) != NULL) {
			if (flag_u32(v, 0, 3600 * 1000, &cfg.latency_ms) != 0)
				return flag_bad("--latency-ms", v);
		} else if ((v = flag_value(argc, argv, &i, "--threads")) != NULL) {
			if (flag_u32(v, 0, 1024, &threads) != 0)
				return flag_bad("--threads", v);
		} else if (strcmp(argv[i], "--fail") == 0) {
			cfg.fail = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "dashboard-leaf: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (cfg.service == NULL) {
		usage(stderr);
		return 2;
	}
	snprintf(cfg.fail_message, sizeof(cfg.fail_message), "%s service is down (--fail)",
	         cfg.service);

	opts = (sg_server_opts){.listen = listen, .threads = (int)threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK || (rv = leaf_serve(s, &cfg)) != SG_OK ||
	    (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "dashboard-leaf: %s: %s\n", listen, sg_strerror(rv));
		sg_server_free(s);
		return 1;
	}
	flag_print_listening(listen, sg_server_port(s));
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000);
	sg_server_free(s);
	return 0;
}
