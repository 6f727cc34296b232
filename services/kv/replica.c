/*
 * kv-replica: one replica of the example key-value store, a leaf service in C built on the
 * generated server skeleton (kv__replica__serve).
 *
 * Answers Replica.Get with the key's current value and version (data.h), after a simulated
 * latency taken from the worker's timer heap. Faults, to show what a quorum read survives:
 *   --stale      the replica missed the last write: the previous value and version
 *   --rewritten  the current value, but rewritten later (read repair) with a higher version:
 *                the same value in a different message
 *   --fail       every call fails at once with UNAVAILABLE
 *
 *   kv-replica --replica-id N [--listen 127.0.0.1:0] [--latency-ms L]
 *              [--stale | --rewritten | --fail] [--threads T]
 *
 * Prints `listening on HOST:PORT` once serving, runs until SIGTERM or SIGINT, exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.scatter.h"

#include "data.h"
#include "flags.h"

typedef enum replica_mode {
	REPLICA_CURRENT,
	REPLICA_STALE,
	REPLICA_REWRITTEN,
	REPLICA_FAIL,
} replica_mode;

typedef struct replica_cfg {
	uint32_t id;
	uint32_t latency_ms;
	replica_mode mode;
	char fail_message[64];
} replica_cfg;

/* Replica.Get: the key's value as this replica holds it, after the configured latency. */
static void replica_get(sg_leaf_call *call, const Kv__GetRequest *req, void *arg)
{
	const replica_cfg *cfg = arg;
	Kv__GetResponse resp = KV__GET_RESPONSE__INIT;
	uint64_t version = kv_version(req->key);
	uint64_t value_version = version;
	size_t len;
	char *value;

	if (cfg->mode == REPLICA_FAIL) {
		sg_leaf_fail(call, GRPC_STATUS_UNAVAILABLE, cfg->fail_message);
		return;
	}
	if (cfg->mode == REPLICA_STALE)
		value_version = version = version - 1;
	else if (cfg->mode == REPLICA_REWRITTEN)
		version = version + 1;
	len = kv_value(req->key, value_version, NULL, 0);
	if ((value = sg_leaf_alloc(call, len + 1)) == NULL) {
		sg_leaf_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "kv-replica: out of memory");
		return;
	}
	kv_value(req->key, value_version, value, len + 1);
	resp.key = req->key;
	resp.value = value;
	resp.version = version;
	sg_leaf_reply_after(call, &resp.base, cfg->latency_ms);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kv-replica --replica-id N [--listen HOST:PORT] [--latency-ms L]"
	           " [--stale | --rewritten | --fail] [--threads T]\n");
}

int main(int argc, char **argv)
{
	replica_cfg cfg = {.mode = REPLICA_CURRENT};
	const char *listen = "127.0.0.1:0";
	uint32_t threads = 0;
	static const Kv__Replica_Handlers handlers = {.get = replica_get};
	sg_server_opts opts;
	sg_server *s = NULL;
	sg_err rv;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if ((v = flag_value(argc, argv, &i, "--replica-id")) != NULL) {
			if (flag_u32(v, 0, UINT32_MAX, &cfg.id) != 0)
				return flag_bad("--replica-id", v);
		} else if ((v = flag_value(argc, argv, &i, "--listen")) != NULL) {
			listen = v;
		} else if ((v = flag_value(argc, argv, &i, "--latency-ms")) != NULL) {
			if (flag_u32(v, 0, 3600 * 1000, &cfg.latency_ms) != 0)
				return flag_bad("--latency-ms", v);
		} else if ((v = flag_value(argc, argv, &i, "--threads")) != NULL) {
			if (flag_u32(v, 0, 1024, &threads) != 0)
				return flag_bad("--threads", v);
		} else if (strcmp(argv[i], "--stale") == 0) {
			cfg.mode = REPLICA_STALE;
		} else if (strcmp(argv[i], "--rewritten") == 0) {
			cfg.mode = REPLICA_REWRITTEN;
		} else if (strcmp(argv[i], "--fail") == 0) {
			cfg.mode = REPLICA_FAIL;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "kv-replica: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	snprintf(cfg.fail_message, sizeof(cfg.fail_message), "replica %u is down (--fail)", cfg.id);

	opts = (sg_server_opts){.listen = listen, .threads = (int)threads};
	if ((rv = sg_server_alloc(&opts, &s)) != SG_OK ||
	    (rv = kv__replica__serve(s, &handlers, &cfg)) != SG_OK ||
	    (rv = sg_server_start(s)) != SG_OK) {
		fprintf(stderr, "kv-replica: %s: %s\n", listen, sg_strerror(rv));
		sg_server_free(s);
		return 1;
	}
	flag_print_listening(listen, sg_server_port(s));
	sg_server_wait_signal(s);
	sg_server_shutdown(s, 1000);
	sg_server_free(s);
	return 0;
}
