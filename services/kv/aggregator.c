/*
 * kv-aggregator: serves kv.KV/Get and kv.KV/GetValue, quorum reads over the replicas, exactly
 * as kv.proto's options declare. The whole program a user writes: the generated
 * kv__kv__register does the rest, and sg_main_run the config file, flags, signals and health.
 *
 *   kv-aggregator [--config kv.yaml] [--replicas HOST:PORT,HOST:PORT,HOST:PORT]
 *                 [--listen 127.0.0.1:0] [--threads T] ...
 *
 * kv.proto declares group_size 3: the server refuses to start (or to reload) with another
 * number of replicas. Prints `listening on HOST:PORT` once serving; SIGHUP reloads the file's
 * targets; SIGTERM drains and exits 0.
 */
#include "kv.scatter.h"

#include "scatter/config.h"

static const sg_main_group_flag groups[] = {{"--replicas", "replicas"}};

int main(int argc, char **argv)
{
	return sg_main_run(argc, argv,
	                   &(sg_main_opts){
	                           .name = "kv-aggregator",
	                           .register_fn = kv__kv__register,
	                           .group_flags = groups,
	                           .n_group_flags = 1,
	                           .usage = "[--replicas HOST:PORT,HOST:PORT,HOST:PORT]",
	                   });
}
