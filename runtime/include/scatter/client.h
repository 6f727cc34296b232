/*
 * scatter/client.h: blocking unary calls to any gRPC server, for tools, tests and leaf code.
 *
 * The generated `<pkg>__<service>__<method>_call()` stubs are one-line wrappers over
 * sg_client_call. A client may be used by one thread at a time.
 */
#ifndef SCATTER_CLIENT_H
#define SCATTER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "scatter/error.h"
#include "scatter/server.h" /* sg_tls_opts */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_client sg_client;

/* Opens a plaintext channel to target ("127.0.0.1:5000", "ipv4:...", "dns:///...").
 * Initialises gRPC for the client's lifetime. The caller frees it with sg_client_close. */
sg_err sg_client_open(const char *target, sg_client **out);

/* The same over TLS: tls->ca_file verifies the server (NULL: the system's roots), and
 * tls->cert_file/key_file (optional) are the client's certificate for mTLS (scatter/server.h's
 * sg_tls_opts; require_client_cert is ignored). The files are read and checked now: SG_ESYS
 * for one that cannot be read, SG_ECONFIG for one that is not valid PEM or a key that does not
 * belong to its certificate (the reason is logged). The server's name is checked against the
 * target's host (an IP address or a DNS name in the certificate's subjectAltName). */
sg_err sg_client_open_tls(const char *target, const sg_tls_opts *tls, sg_client **out);

/* NULL is a no-op. */
void sg_client_close(sg_client *c);

typedef struct sg_metadata_entry {
	char *key;
	char *value; /* NUL-terminated copy; binary ("-bin") values are kept as received */
	size_t value_len;
} sg_metadata_entry;

/* Metadata sent with every later call of c, replacing what was set before (n 0: none).
 * entries (borrowed) are copied: each key (lower case) and its value, value_len bytes, or a C
 * string when value_len is 0. SG_EINVAL for a NULL key or value. */
sg_err sg_client_set_metadata(sg_client *c, const sg_metadata_entry *entries, size_t n);

/* How a call ended. Filled by every call that reached the network; freed with
 * sg_call_result_fini (safe on a zeroed or already-finalised result). */
typedef struct sg_call_result {
	grpc_status_code status;
	char *message; /* status details, "" when none */
	sg_metadata_entry *trailers;
	size_t n_trailers;
	int64_t latency_us;
} sg_call_result;

void sg_call_result_fini(sg_call_result *r);

/* The value of the first trailer named key, or NULL. */
const char *sg_call_result_trailer(const sg_call_result *r, const char *key);

/* Calls `path` ("/package.Service/Method") with request (borrowed) and timeout_ms (0: 10 s).
 * On status OK decodes the answer with response_desc into *response (the caller frees it with
 * protobuf_c_message_free_unpacked(*response, NULL)). Returns SG_OK when the status is OK and
 * the answer decoded, SG_EGRPC for another status (see result), SG_EDECODE for an answer that
 * does not decode. result may be NULL. */
sg_err sg_client_call(sg_client *c, const char *path, const ProtobufCMessage *request,
                      const ProtobufCMessageDescriptor *response_desc, uint32_t timeout_ms,
                      ProtobufCMessage **response, sg_call_result *result);

/* The same with raw bytes both ways: *response_bytes (malloc'd, caller frees) may be NULL when
 * not wanted. For tests that send malformed requests. */
sg_err sg_client_call_bytes(sg_client *c, const char *path, const uint8_t *request,
                            size_t request_len, uint32_t timeout_ms, uint8_t **response_bytes,
                            size_t *response_len, sg_call_result *result);

#ifdef __cplusplus
}
#endif

#endif
