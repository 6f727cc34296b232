/*
 * stats_service.h (internal): the built-in /scatter.Stats/Get every server answers
 * (proto/scatter/stats.proto), so that tests and operators can read a server's counters over
 * gRPC, e.g. that a backend saw the legs a gather no longer needed being cancelled.
 */
#ifndef SG_STATS_SERVICE_H
#define SG_STATS_SERVICE_H

#include "scatter/server.h"

#define SG_STATS_PATH "/scatter.Stats/Get"

/* Serves SG_STATS_PATH on s (before start), answering from sg_server_stats_get(s). */
sg_err sg__stats_service_add(sg_server *s);

#endif
