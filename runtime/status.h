/*
 * status.h (internal): the live status page's data: a short history of every method's and
 * backend target's counters, sampled once a second, and its JSON (/status.json).
 *
 * The workers never see this: it reads the metrics records (metrics.h) like any reader. Its
 * own state is behind a mutex shared by the two admin threads that use it (the sampler and the
 * HTTP thread); nothing on the call path takes it. Times are passed in (an injected clock for
 * the tests).
 *
 * Derived per record, over the last SG__STATUS_WINDOW_S seconds (live counters minus the sample
 * taken that long ago, or the oldest one while the history is shorter):
 *   rate        legs (or calls) ended per second
 *   error_rate  failed / (ok + failed); CANCELLED is neither (a gather cutting legs short is
 *               its choice; a client leaving is the client's)
 *   p50/p99     latency quantiles from the histogram's buckets
 *   health      "down": the breaker is open, or legs (calls) ended and none was OK;
 *               "degraded": the breaker is half-open, some failed, or (methods) some answers
 *               were partial; "idle": nothing ended; else "up"
 * and a series per second (rate, error rate, p99) over the last SG__STATUS_POINTS - 1 seconds
 * for the sparklines.
 */
#ifndef SG_STATUS_H
#define SG_STATUS_H

#include <stdint.h>

#include "metrics.h"
#include "scatter/error.h"
#include "strbuf.h"

#define SG__STATUS_POINTS   61 /* samples kept: a minute of per-second deltas */
#define SG__STATUS_WINDOW_S 10

typedef struct sg__status sg__status;

/* Watches m (borrowed: must outlive the status) and takes the first sample at now_ns. The
 * caller frees it with sg__status_free. */
sg_err sg__status_alloc(const sg__metrics *m, int64_t now_ns, sg__status **out);

/* Takes a sample of every record at now_ns (records made since the last one join in). */
void sg__status_sample(sg__status *st, int64_t now_ns);

/* Appends the JSON document of /status.json at now_ns to out. SG_ENOMEM when out of memory. */
sg_err sg__status_render(sg__status *st, int64_t now_ns, sg__strbuf *out);

/* NULL is a no-op. */
void sg__status_free(sg__status *st);

#endif
