/*
 * search-aggregator: serves every method of search.Search (Query, QueryFast, QueryWithin, ...),
 * each fanning out to every shard and gathering and merging exactly as its option in
 * search.proto declares. This is the whole program a user writes, with the hooks the options
 * name (hooks.c): the generated search__search__register does the rest, and sg_main_run the
 * config file, flags, signals and health.
 *
 *   search-aggregator [--config search.yaml] [--shards HOST:PORT[,HOST:PORT...]]
 *                     [--listen 127.0.0.1:0] [--threads T] [--admin HOST:PORT] ...
 *
 * --shards sets group "shards" (groups.shards.targets in the file); a shard served by several
 * replicas is one entry listing them with '|', "ipv4:10.0.0.1:5001|ipv4:10.0.0.2:5001" (see
 * sg_server_set_group): hedges and retries go to the next replica. --admin serves /metrics
 * (Prometheus) and the live status page at / on its own HTTP port. Prints `admin on HOST:PORT`
 * (with an admin port) and then `listening on HOST:PORT` once serving; SIGHUP reloads the
 * file's targets; SIGTERM drains and exits 0.
 */
#include "search.scatter.h"

#include "scatter/config.h"

static const sg_main_group_flag groups[] = {{"--shards", "shards"}};

int main(int argc, char **argv)
{
	return sg_main_run(argc, argv,
	                   &(sg_main_opts){
	                           .name = "search-aggregator",
	                           .register_fn = search__search__register,
	                           .group_flags = groups,
	                           .n_group_flags = 1,
	                           .usage = "[--shards TARGET[|REPLICA...][,TARGET...]]",
	                   });
}
