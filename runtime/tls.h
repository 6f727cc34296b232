/*
 * tls.h (internal): TLS material read from PEM files, and the gRPC credentials made from it.
 *
 * The files are read and checked once, when the configuration is set (sg_server_set_listen_tls,
 * sg_server_set_group_tls, sg_client_open_tls), with OpenSSL: an unreadable file, a file that
 * holds no PEM certificate or key, or a key that does not belong to its certificate is refused
 * there with a logged reason, not discovered later as a failed bind or a lame channel. Credentials
 * are made from the kept PEM text when the listening port or the channels are created.
 */
#ifndef SG_TLS_H
#define SG_TLS_H

#include <stdbool.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "scatter/error.h"
#include "scatter/server.h"

/* Which end of a connection the material is for: a listening side needs its own certificate;
 * a calling side needs roots (the system's when ca_file is NULL) and may have a certificate. */
typedef enum sg__tls_side {
	SG_TLS_LISTEN,
	SG_TLS_CALL,
} sg__tls_side;

typedef struct sg__tls {
	char *cert; /* PEM chain, NUL-terminated, owned; NULL when none */
	char *key;  /* PEM private key of cert; owned; NULL when none */
	char *ca;   /* PEM roots; owned; NULL: none (listening) or the system's (calling) */
	bool require_client_cert;
} sg__tls;

/* Reads and checks opts' files (borrowed) into t (zeroed storage). SG_EINVAL for a combination
 * that cannot work (a listening side without cert and key, a key without a cert, mTLS without
 * a CA), SG_ESYS for a file that cannot be read, SG_ECONFIG for one whose content is not what
 * it should be; the reason is logged once, naming the file. On failure t holds nothing. */
sg_err sg__tls_load(sg__tls *t, const sg_tls_opts *opts, sg__tls_side side);

/* Frees what t holds; t may then be loaded again. A zeroed t is a no-op. */
void sg__tls_fini(sg__tls *t);

/* Loads opts into a new heap sg__tls and, only on success, puts it in *slot, freeing the one
 * that was there (may be NULL). Errors as sg__tls_load, plus SG_ENOMEM; *slot is then as it
 * was. */
sg_err sg__tls_replace(sg__tls **slot, const sg_tls_opts *opts, sg__tls_side side);

/* Credentials for a listening port from t (loaded for SG_TLS_LISTEN); the caller releases them.
 * mTLS (require_client_cert) requires and verifies a client certificate chained to t->ca; with
 * a CA and no requirement a client certificate is verified if one is presented. */
grpc_server_credentials *sg__tls_server_credentials(const sg__tls *t);

/* Credentials for channels: TLS from t (loaded for SG_TLS_CALL), or plaintext when t is NULL.
 * The caller releases them. */
grpc_channel_credentials *sg__tls_channel_credentials(const sg__tls *t);

#endif
