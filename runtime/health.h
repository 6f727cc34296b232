/*
 * health.h (internal): grpc.health.v1.Health on the server's own port.
 *
 *   Check(service)  -> SERVING, or NOT_SERVING while the server drains; NOT_FOUND for a
 *                      service it does not serve ("" is the whole server)
 *   Watch(service)  -> the status now, then each change, as a stream; SERVICE_UNKNOWN for a
 *                      service it does not serve. A shutdown sends NOT_SERVING and ends every
 *                      stream (OK), so that the drain waits for no watcher.
 *
 * Messages are nanopb structs on the stack (proto/grpc/health/v1/health.proto). The status is
 * one atomic, set by the controlling thread and read by the workers. A Watch stream notices a
 * change within SG_HEALTH_WATCH_POLL_MS through a timer on its worker's heap: the C core has
 * no public alarm to wake a worker, and a watcher or two polling every 50 ms costs nothing.
 */
#ifndef SG_HEALTH_H
#define SG_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <grpc/grpc.h>

#include "scatter/error.h"
#include "worker.h"

#define SG_HEALTH_CHECK_PATH    "/grpc.health.v1.Health/Check"
#define SG_HEALTH_WATCH_PATH    "/grpc.health.v1.Health/Watch"
#define SG_HEALTH_WATCH_POLL_MS 50

typedef struct sg__health {
	atomic_int status;    /* a grpc_health_v1_HealthCheckResponse_ServingStatus */
	atomic_bool stopping; /* shutting down: Watch streams end */
	char **services;      /* the services served ("package.Service"), set before start; owned */
	size_t n_services;
	void *check_registered; /* grpc_server_register_method's handles */
	void *watch_registered;
} sg__health;

/* SERVING, no services. */
void sg__health_init(sg__health *h);

/* Adds the service of method path "/package.Service/Method" (once). Before start. */
sg_err sg__health_add_path(sg__health *h, const char *path);

/* Registers Check and Watch with server (before grpc_server_start). */
sg_err sg__health_register(sg__health *h, grpc_server *server);

/* Any thread: SERVING (true) or NOT_SERVING (false), logged once per change. */
void sg__health_set(sg__health *h, bool serving);

/* Any thread: NOT_SERVING for good, and every Watch stream ends after saying so. */
void sg__health_stop(sg__health *h);

/* Serves one call on w (the calling worker); takes ownership of call and payload. */
void sg__health_check(sg__worker *w, const sg__health *h, grpc_call *call,
                      grpc_byte_buffer *payload);
void sg__health_watch(sg__worker *w, const sg__health *h, grpc_call *call,
                      grpc_byte_buffer *payload);

void sg__health_fini(sg__health *h);

#endif
