/*
 * client.c: blocking unary calls, one batch each, on a pluck queue of the client's own.
 */
#include "scatter/client.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "arena.h"
#include "bytes.h"
#include "deadline.h"
#include "op.h"
#include "tls.h"

#define CLIENT_DEFAULT_TIMEOUT_MS 10000

struct sg_client {
	grpc_channel *channel;
	grpc_completion_queue *cq; /* pluck: the calling thread waits for its own batch */
	grpc_metadata *md;         /* sent with every call (sg_client_set_metadata); owned slices */
	size_t n_md;
};

/* Opens c over tls (NULL: plaintext). */
static sg_err client_open(const char *target, const sg_tls_opts *tls, sg_client **out)
{
	grpc_channel_credentials *creds;
	sg__tls t = {0};
	sg_client *c;
	sg_err rv;

	if (target == NULL || target[0] == '\0' || out == NULL)
		return SG_EINVAL;
	if (tls != NULL && (rv = sg__tls_load(&t, tls, SG_TLS_CALL)) != SG_OK)
		return rv;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		sg__tls_fini(&t);
		return SG_ENOMEM;
	}
	grpc_init();
	/* The credentials copy the PEM text: t is not needed afterwards. */
	creds = sg__tls_channel_credentials(tls != NULL ? &t : NULL);
	c->channel = grpc_channel_create(target, creds, NULL);
	grpc_channel_credentials_release(creds);
	sg__tls_fini(&t);
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	if (c->channel == NULL || c->cq == NULL) {
		sg_client_close(c);
		return SG_EINVAL;
	}
	*out = c;
	return SG_OK;
}

sg_err sg_client_open(const char *target, sg_client **out)
{
	return client_open(target, NULL, out);
}

sg_err sg_client_open_tls(const char *target, const sg_tls_opts *tls, sg_client **out)
{
	if (tls == NULL)
		return SG_EINVAL;
	return client_open(target, tls, out);
}

static void client_md_free(grpc_metadata *md, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		grpc_slice_unref(md[i].key);
		grpc_slice_unref(md[i].value);
	}
	free(md);
}

sg_err sg_client_set_metadata(sg_client *c, const sg_metadata_entry *entries, size_t n)
{
	grpc_metadata *md = NULL;

	if (c == NULL || (entries == NULL && n > 0))
		return SG_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (entries[i].key == NULL || entries[i].value == NULL)
			return SG_EINVAL;
	}
	if (n > 0 && (md = calloc(n, sizeof(*md))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const sg_metadata_entry *e = &entries[i];
		size_t len = e->value_len != 0 ? e->value_len : strlen(e->value);

		md[i].key = grpc_slice_from_copied_string(e->key);
		md[i].value = grpc_slice_from_copied_buffer(e->value, len);
	}
	client_md_free(c->md, c->n_md);
	c->md = md;
	c->n_md = n;
	return SG_OK;
}

void sg_client_close(sg_client *c)
{
	if (c == NULL)
		return;
	client_md_free(c->md, c->n_md);
	if (c->channel != NULL)
		grpc_channel_destroy(c->channel);
	if (c->cq != NULL) {
		grpc_completion_queue_shutdown(c->cq);
		while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME),
		                                   NULL)
		               .type != GRPC_QUEUE_SHUTDOWN) {
		}
		grpc_completion_queue_destroy(c->cq);
	}
	free(c);
	grpc_shutdown();
}

void sg_call_result_fini(sg_call_result *r)
{
	if (r == NULL)
		return;
	free(r->message);
	for (size_t i = 0; i < r->n_trailers; i++) {
		free(r->trailers[i].key);
		free(r->trailers[i].value);
	}
	free(r->trailers);
	memset(r, 0, sizeof(*r));
}

const char *sg_call_result_trailer(const sg_call_result *r, const char *key)
{
	if (r == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < r->n_trailers; i++) {
		if (strcmp(r->trailers[i].key, key) == 0)
			return r->trailers[i].value;
	}
	return NULL;
}

/* A NUL-terminated malloc'd copy of s; NULL when out of memory. */
static char *client_strdup_slice(grpc_slice s)
{
	size_t len = GRPC_SLICE_LENGTH(s);
	char *p = malloc(len + 1);

	if (p != NULL) {
		memcpy(p, GRPC_SLICE_START_PTR(s), len);
		p[len] = '\0';
	}
	return p;
}

static sg_err client_keep_result(sg_call_result *r, grpc_status_code status, grpc_slice details,
                                 const grpc_metadata_array *trailers, int64_t latency_us)
{
	sg_call_result_fini(r);
	r->status = status;
	r->latency_us = latency_us;
	if ((r->message = client_strdup_slice(details)) == NULL)
		return SG_ENOMEM;
	if (trailers->count == 0)
		return SG_OK;
	if ((r->trailers = calloc(trailers->count, sizeof(*r->trailers))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < trailers->count; i++) {
		sg_metadata_entry *e = &r->trailers[r->n_trailers];

		e->key = client_strdup_slice(trailers->metadata[i].key);
		e->value = client_strdup_slice(trailers->metadata[i].value);
		e->value_len = GRPC_SLICE_LENGTH(trailers->metadata[i].value);
		r->n_trailers++;
		if (e->key == NULL || e->value == NULL)
			return SG_ENOMEM;
	}
	return SG_OK;
}

/* One unary call: sends request (borrowed), takes the answer into *response (owned by the
 * caller, NULL when none came). Fills r (never NULL here). */
static sg_err client_call(sg_client *c, const char *path, grpc_byte_buffer *request,
                          uint32_t timeout_ms, grpc_byte_buffer **response, sg_call_result *r)
{
	grpc_metadata_array initial_md, trailing_md;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	sg__op tag = {.complete = NULL}; /* plucked by this thread, never dispatched */
	int64_t start = sg__now_ns();
	gpr_timespec deadline;
	grpc_call *call;
	grpc_op ops[6];
	grpc_event ev;
	sg_err rv;

	*response = NULL;
	if (timeout_ms == 0)
		timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS;
	deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	                        gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
	                                grpc_slice_from_static_string(path), NULL, deadline, NULL);
	if (call == NULL)
		return SG_EINVAL;
	grpc_metadata_array_init(&initial_md);
	grpc_metadata_array_init(&trailing_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = c->n_md;
	ops[0].data.send_initial_metadata.metadata = c->md;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = request;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = response;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
		rv = SG_EINVAL;
	} else {
		/* The call's deadline bounds the wait. */
		ev = grpc_completion_queue_pluck(c->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
		                                 NULL);
		(void)ev;
		rv = client_keep_result(r, status, details, &trailing_md,
		                        (sg__now_ns() - start) / 1000);
		if (rv == SG_OK && status != GRPC_STATUS_OK)
			rv = SG_EGRPC;
	}
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial_md);
	grpc_metadata_array_destroy(&trailing_md);
	grpc_call_unref(call);
	if (rv != SG_OK && *response != NULL) {
		grpc_byte_buffer_destroy(*response);
		*response = NULL;
	}
	return rv;
}

sg_err sg_client_call(sg_client *c, const char *path, const ProtobufCMessage *request,
                      const ProtobufCMessageDescriptor *response_desc, uint32_t timeout_ms,
                      ProtobufCMessage **response, sg_call_result *result)
{
	sg_call_result local = {0};
	sg_call_result *r = result != NULL ? result : &local;
	grpc_byte_buffer *req, *resp;
	sg__arena scratch;
	sg_err rv;

	if (c == NULL || path == NULL || request == NULL || response_desc == NULL ||
	    response == NULL)
		return SG_EINVAL;
	*response = NULL;
	if ((rv = sg__bytes_encode(request, &req)) != SG_OK)
		return rv;
	rv = client_call(c, path, req, timeout_ms, &resp, r);
	grpc_byte_buffer_destroy(req);
	if (rv == SG_OK) {
		/* Decoded with protobuf-c's own allocator: the caller frees it with
		 * free_unpacked. The arena only holds joined bytes when the answer came in
		 * pieces. */
		sg__arena_init(&scratch, 0);
		rv = sg__bytes_decode(resp, response_desc, NULL, &scratch, response);
		sg__arena_fini(&scratch);
	}
	if (resp != NULL)
		grpc_byte_buffer_destroy(resp);
	sg_call_result_fini(&local);
	return rv;
}

sg_err sg_client_call_bytes(sg_client *c, const char *path, const uint8_t *request,
                            size_t request_len, uint32_t timeout_ms, uint8_t **response_bytes,
                            size_t *response_len, sg_call_result *result)
{
	sg_call_result local = {0};
	sg_call_result *r = result != NULL ? result : &local;
	grpc_byte_buffer *req, *resp;
	const uint8_t *data;
	sg__arena scratch;
	size_t len;
	sg_err rv;

	if (c == NULL || path == NULL || (request == NULL && request_len > 0))
		return SG_EINVAL;
	if (response_bytes != NULL)
		*response_bytes = NULL;
	if (response_len != NULL)
		*response_len = 0;
	if ((req = sg__bytes_copy(request, request_len)) == NULL)
		return SG_ENOMEM;
	rv = client_call(c, path, req, timeout_ms, &resp, r);
	grpc_byte_buffer_destroy(req);
	if (rv == SG_OK && resp != NULL && response_bytes != NULL) {
		sg__arena_init(&scratch, 0);
		rv = sg__bytes_flatten(resp, &scratch, &data, &len);
		if (rv == SG_OK) {
			/* +1: a valid pointer even for an empty answer. */
			if ((*response_bytes = malloc(len + 1)) == NULL) {
				rv = SG_ENOMEM;
			} else {
				memcpy(*response_bytes, data, len);
				if (response_len != NULL)
					*response_len = len;
			}
		}
		sg__arena_fini(&scratch);
	}
	if (resp != NULL)
		grpc_byte_buffer_destroy(resp);
	sg_call_result_fini(&local);
	return rv;
}
