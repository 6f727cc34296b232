/*
 * health.c: grpc.health.v1.Health, Check and Watch, with nanopb messages on the stack.
 */
#include "health.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "accept.h"
#include "deadline.h"
#include "grpc/health/v1/health.pb.h"
#include "log.h"
#include "op.h"
#include "timer.h"

typedef grpc_health_v1_HealthCheckRequest health_req;

static const char *health_name(int status)
{
	switch (status) {
	case grpc_health_v1_HealthCheckResponse_ServingStatus_SERVING:
		return "SERVING";
	case grpc_health_v1_HealthCheckResponse_ServingStatus_NOT_SERVING:
		return "NOT_SERVING";
	case grpc_health_v1_HealthCheckResponse_ServingStatus_SERVICE_UNKNOWN:
		return "SERVICE_UNKNOWN";
	default:
		return "UNKNOWN";
	}
}

void sg__health_init(sg__health *h)
{
	memset(h, 0, sizeof(*h));
	atomic_init(&h->status, grpc_health_v1_HealthCheckResponse_ServingStatus_SERVING);
	atomic_init(&h->stopping, false);
}

sg_err sg__health_add_path(sg__health *h, const char *path)
{
	const char *svc = path[0] == '/' ? path + 1 : path;
	const char *slash = strchr(svc, '/');
	size_t len = slash != NULL ? (size_t)(slash - svc) : strlen(svc);
	char **grown;

	for (size_t i = 0; i < h->n_services; i++) {
		if (strlen(h->services[i]) == len && strncmp(h->services[i], svc, len) == 0)
			return SG_OK;
	}
	if ((grown = realloc(h->services, (h->n_services + 1) * sizeof(*grown))) == NULL)
		return SG_ENOMEM;
	h->services = grown;
	if ((h->services[h->n_services] = strndup(svc, len)) == NULL)
		return SG_ENOMEM;
	h->n_services++;
	return SG_OK;
}

sg_err sg__health_register(sg__health *h, grpc_server *server)
{
	sg_err rv;

	if ((rv = sg__health_add_path(h, SG_HEALTH_CHECK_PATH)) != SG_OK)
		return rv;
	h->check_registered = grpc_server_register_method(
	        server, SG_HEALTH_CHECK_PATH, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
	h->watch_registered = grpc_server_register_method(
	        server, SG_HEALTH_WATCH_PATH, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
	return h->check_registered != NULL && h->watch_registered != NULL ? SG_OK : SG_ECONFIG;
}

void sg__health_set(sg__health *h, bool serving)
{
	int to = serving ? grpc_health_v1_HealthCheckResponse_ServingStatus_SERVING
	                 : grpc_health_v1_HealthCheckResponse_ServingStatus_NOT_SERVING;

	if (atomic_exchange(&h->status, to) != to)
		sg__log_kv(SG_LOG_INFO, "health changed", "status=%s", health_name(to));
}

void sg__health_stop(sg__health *h)
{
	sg__health_set(h, false);
	atomic_store(&h->stopping, true);
}

void sg__health_fini(sg__health *h)
{
	for (size_t i = 0; i < h->n_services; i++)
		free(h->services[i]);
	free(h->services);
	h->services = NULL;
	h->n_services = 0;
}

/* The status of service ("": the server as a whole), or SERVICE_UNKNOWN. */
static int health_status_of(const sg__health *h, const char *service)
{
	sg__health *m = (sg__health *)h; /* the atomics are the mutable part */
	bool known = service[0] == '\0';

	for (size_t i = 0; i < h->n_services && !known; i++)
		known = strcmp(h->services[i], service) == 0;
	if (!known)
		return grpc_health_v1_HealthCheckResponse_ServingStatus_SERVICE_UNKNOWN;
	return atomic_load(&m->status);
}

/* Decodes the request into req (stack). false if it is too long or does not decode. */
static bool health_decode(grpc_byte_buffer *payload, health_req *req)
{
	uint8_t buf[grpc_health_v1_HealthCheckRequest_size];
	grpc_byte_buffer_reader r;
	grpc_slice slice;
	size_t len = 0;
	bool fits = true;
	pb_istream_t in;

	memset(req, 0, sizeof(*req));
	if (payload == NULL)
		return true; /* no message: the whole server */
	if (!grpc_byte_buffer_reader_init(&r, payload))
		return false;
	while (grpc_byte_buffer_reader_next(&r, &slice)) {
		size_t n = GRPC_SLICE_LENGTH(slice);

		if (fits && len + n <= sizeof(buf))
			memcpy(buf + len, GRPC_SLICE_START_PTR(slice), n);
		else
			fits = false;
		len += n;
		grpc_slice_unref(slice);
	}
	grpc_byte_buffer_reader_destroy(&r);
	if (!fits)
		return false;
	in = pb_istream_from_buffer(buf, len);
	return pb_decode(&in, grpc_health_v1_HealthCheckRequest_fields, req);
}

/* A HealthCheckResponse, encoded on the stack and copied once into a gRPC buffer. */
static grpc_byte_buffer *health_encode(int status)
{
	uint8_t buf[grpc_health_v1_HealthCheckResponse_size];
	grpc_health_v1_HealthCheckResponse resp = {
	        .status = (grpc_health_v1_HealthCheckResponse_ServingStatus)status};
	pb_ostream_t out = pb_ostream_from_buffer(buf, sizeof(buf));
	grpc_byte_buffer *bb;
	grpc_slice slice;

	if (!pb_encode(&out, grpc_health_v1_HealthCheckResponse_fields, &resp))
		return NULL;
	slice = grpc_slice_from_copied_buffer((const char *)buf, out.bytes_written);
	bb = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return bb;
}

/* ---- Check, and any answer in one batch ----------------------------------------------------- */

typedef struct health_unary {
	sg__op op;
	sg__worker *w;
	grpc_call *call;
	grpc_byte_buffer *reply;
	int cancelled;
} health_unary;

static void unary_complete(sg__op *op, bool ok)
{
	health_unary *u = sg__container_of(op, health_unary, op);

	(void)ok;
	if (u->reply != NULL)
		grpc_byte_buffer_destroy(u->reply);
	grpc_call_unref(u->call);
	u->w->live--;
	free(u);
}

/* Answers call (taken) with reply (taken, may be NULL), code and message (static). */
static void health_answer(sg__worker *w, grpc_call *call, grpc_byte_buffer *reply,
                          grpc_status_code code, const char *message)
{
	health_unary *u = calloc(1, sizeof(*u));
	grpc_slice details = grpc_slice_from_static_string(message);
	grpc_op ops[4];
	size_t n = 0;

	if (u == NULL) {
		sg__accept_refuse(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", reply,
		                  NULL);
		return;
	}
	u->op.complete = unary_complete;
	u->w = w;
	u->call = call;
	u->reply = reply;
	w->live++;
	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (reply != NULL) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = reply;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n++].data.send_status_from_server.status_details = &details;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &u->cancelled;
	if (grpc_call_start_batch(call, ops, n, &u->op, NULL) != GRPC_CALL_OK)
		unary_complete(&u->op, false);
}

/* Decodes a Check or Watch request into *req and frees payload. A request that does not decode
 * is answered INVALID_ARGUMENT (the call is then ended) and false returned. */
static bool health_read_request(sg__worker *w, grpc_call *call, grpc_byte_buffer *payload,
                                health_req *req)
{
	bool ok = health_decode(payload, req);

	if (payload != NULL)
		grpc_byte_buffer_destroy(payload);
	if (!ok)
		health_answer(w, call, NULL, GRPC_STATUS_INVALID_ARGUMENT,
		              "request does not decode as grpc.health.v1.HealthCheckRequest");
	return ok;
}

void sg__health_check(sg__worker *w, const sg__health *h, grpc_call *call,
                      grpc_byte_buffer *payload)
{
	health_req req;
	int status;

	if (!health_read_request(w, call, payload, &req))
		return;
	status = health_status_of(h, req.service);
	if (status == grpc_health_v1_HealthCheckResponse_ServingStatus_SERVICE_UNKNOWN) {
		health_answer(w, call, NULL, GRPC_STATUS_NOT_FOUND, "unknown service");
		return;
	}
	health_answer(w, call, health_encode(status), GRPC_STATUS_OK, "");
}

/* ---- Watch: a stream of statuses --------------------------------------------------------------
 */

typedef struct health_watch {
	sg__op close_op;
	sg__op send_op;
	sg__worker *w;
	const sg__health *h;
	grpc_call *call;
	grpc_byte_buffer *msg; /* the message in flight */
	sg__timer timer;
	int cancelled;
	unsigned refs; /* accept, close, the send in flight, the timer */
	int sent;      /* the last status sent */
	bool sending;  /* a send batch is in flight */
	bool ended;    /* the final status was sent */
	bool closed;   /* RECV_CLOSE_ON_SERVER completed: the call is over */
	char service[grpc_health_v1_HealthCheckRequest_size];
} health_watch;

static void watch_unref(health_watch *hw)
{
	if (--hw->refs > 0)
		return;
	grpc_call_unref(hw->call);
	hw->w->live--;
	free(hw);
}

/* Starts a send batch: the initial metadata with the first message, a message, or the final
 * status (msg NULL). */
static void watch_send(health_watch *hw, grpc_byte_buffer *msg, bool first)
{
	grpc_op ops[2];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	if (first)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (msg != NULL) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = msg;
	} else {
		ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[n++].data.send_status_from_server.status = GRPC_STATUS_OK;
		hw->ended = true;
	}
	hw->msg = msg;
	hw->sending = true;
	hw->refs++;
	if (grpc_call_start_batch(hw->call, ops, n, &hw->send_op, NULL) != GRPC_CALL_OK) {
		if (msg != NULL)
			grpc_byte_buffer_destroy(msg);
		hw->msg = NULL;
		hw->sending = false;
		hw->ended = true; /* nothing more can go out on this call */
		hw->refs--;
	}
}

/* Sends what changed, or ends the stream once the server is stopping and said so. */
static void watch_update(health_watch *hw)
{
	sg__health *h = (sg__health *)hw->h;
	int now;

	if (hw->sending || hw->ended || hw->closed)
		return;
	now = health_status_of(hw->h, hw->service);
	if (now != hw->sent) {
		grpc_byte_buffer *msg = health_encode(now);

		if (msg != NULL) {
			hw->sent = now;
			watch_send(hw, msg, false);
		}
		return;
	}
	if (atomic_load(&h->stopping))
		watch_send(hw, NULL, false);
}

static void watch_timer_fired(void *arg);

static void watch_arm(health_watch *hw)
{
	if (hw->ended || hw->closed)
		return;
	hw->refs++;
	if (sg__timer_start(&hw->w->timers, &hw->timer,
	                    sg__now_ns() + (int64_t)SG_HEALTH_WATCH_POLL_MS * INT64_C(1000000),
	                    watch_timer_fired, hw) != SG_OK)
		hw->refs--; /* out of memory: this stream just stops following changes */
}

static void watch_timer_fired(void *arg)
{
	health_watch *hw = arg;

	watch_update(hw);
	watch_arm(hw);
	watch_unref(hw); /* the fired timer's reference */
}

static void watch_send_complete(sg__op *op, bool ok)
{
	health_watch *hw = sg__container_of(op, health_watch, send_op);

	if (hw->msg != NULL)
		grpc_byte_buffer_destroy(hw->msg);
	hw->msg = NULL;
	hw->sending = false;
	if (!ok)
		hw->ended = true; /* the client is gone; RECV_CLOSE ends the rest */
	else
		watch_update(hw); /* a change during the send, or the end after NOT_SERVING */
	watch_unref(hw);
}

static void watch_close_complete(sg__op *op, bool ok)
{
	health_watch *hw = sg__container_of(op, health_watch, close_op);

	(void)ok;
	hw->closed = true;
	if (sg__timer_cancel(&hw->w->timers, &hw->timer))
		hw->refs--;
	watch_unref(hw);
}

void sg__health_watch(sg__worker *w, const sg__health *h, grpc_call *call,
                      grpc_byte_buffer *payload)
{
	health_req req;
	health_watch *hw;
	grpc_byte_buffer *first;
	grpc_op op;

	if (!health_read_request(w, call, payload, &req))
		return;
	if ((hw = calloc(1, sizeof(*hw))) == NULL) {
		health_answer(w, call, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	hw->close_op.complete = watch_close_complete;
	hw->send_op.complete = watch_send_complete;
	hw->w = w;
	hw->h = h;
	hw->call = call;
	hw->refs = 1; /* until this function returns */
	sg__timer_init(&hw->timer);
	memcpy(hw->service, req.service, sizeof(req.service));
	w->live++;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &hw->cancelled;
	hw->refs++;
	if (grpc_call_start_batch(call, &op, 1, &hw->close_op, NULL) != GRPC_CALL_OK) {
		hw->refs--;
		hw->closed = true;
	}
	hw->sent = health_status_of(h, hw->service);
	if (!hw->closed && (first = health_encode(hw->sent)) != NULL)
		watch_send(hw, first, true);
	watch_arm(hw);
	watch_unref(hw);
}
