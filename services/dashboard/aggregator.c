/*
 * dashboard-aggregator: serves dashboard.Dashboard/Get, composing one view from the profile,
 * orders and recommendations services, exactly as dashboard.proto's option declares. The whole
 * program a user writes: map each leg's group to its service's address (flags or the config
 * file) and let the generated dashboard__dashboard__register and sg_main_run do the rest.
 *
 *   dashboard-aggregator [--config dashboard.yaml] [--profile HOST:PORT] [--orders HOST:PORT]
 *                        [--recs HOST:PORT] [--listen 127.0.0.1:0] [--threads T] ...
 *
 * One target per group: each leg of a composition calls exactly one service. Prints
 * `listening on HOST:PORT` once serving; SIGHUP reloads the file's targets; SIGTERM drains and
 * exits 0.
 */
#include "dashboard.scatter.h"

#include "scatter/config.h"

static const sg_main_group_flag groups[] = {
        {"--profile", "profiles"},
        {"--orders", "orders"},
        {"--recs", "recs"},
};

int main(int argc, char **argv)
{
	return sg_main_run(argc, argv,
	                   &(sg_main_opts){
	                           .name = "dashboard-aggregator",
	                           .register_fn = dashboard__dashboard__register,
	                           .group_flags = groups,
	                           .n_group_flags = sizeof(groups) / sizeof(groups[0]),
	                           .usage = "[--profile HOST:PORT] [--orders HOST:PORT] "
	                                    "[--recs HOST:PORT]",
	                   });
}
