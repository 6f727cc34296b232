/*
 * admin.h (internal): the admin HTTP port (libmicrohttpd).
 *
 *   GET /             the live status page (status_page.html, embedded in the binary)
 *   GET /status.json  its data (status.h)
 *   GET /metrics      Prometheus text exposition (metrics.h)
 *
 * Two threads of its own, both started and joined here: libmicrohttpd's polling thread, which
 * serves every request in turn, and a sampler that records the status history once a second.
 * Neither touches the call path: they read the metrics records' atomics.
 */
#ifndef SG_ADMIN_H
#define SG_ADMIN_H

#include "metrics.h"
#include "scatter/error.h"

typedef struct sg__admin sg__admin;

/* Binds listen ("host:port", "[v6]:port"; port 0: the OS picks) and starts serving m
 * (borrowed: must outlive the admin). SG_EINVAL for a malformed address, SG_EBIND when it
 * cannot be bound. The caller stops it with sg__admin_stop. */
sg_err sg__admin_start(const char *listen, const sg__metrics *m, sg__admin **out);

/* The bound port. */
int sg__admin_port(const sg__admin *a);

/* Stops serving (requests under way finish first), joins both threads, frees a. NULL is a
 * no-op. */
void sg__admin_stop(sg__admin *a);

#endif
