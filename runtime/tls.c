/*
 * tls.c: PEM files read and checked with OpenSSL, and gRPC's SSL credentials made from them.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"

/* Far larger than any certificate chain or key; a bigger file is a wrong path, not a PEM. */
#define TLS_FILE_MAX (1024 * 1024)

/* Never prompts for a passphrase (OpenSSL would read the terminal): an encrypted key is
 * refused instead, with a reason. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* OpenSSL's last reason, for the log line; clears its error queue. */
static const char *tls_openssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "no PEM block found");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* The whole file at path, NUL-terminated, into *out (malloc'd). */
static sg_err tls_read(const char *what, const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	sg_err rv = SG_OK;

	if (f == NULL) {
		sg__log(SG_LOG_ERROR, "TLS %s %s: cannot read: %s", what, path, strerror(errno));
		return SG_ESYS;
	}
	if ((buf = malloc(TLS_FILE_MAX + 1)) == NULL) {
		rv = SG_ENOMEM;
	} else {
		len = fread(buf, 1, TLS_FILE_MAX + 1, f);
		if (ferror(f)) {
			sg__log(SG_LOG_ERROR, "TLS %s %s: cannot read: %s", what, path,
			        strerror(errno));
			rv = SG_ESYS;
		} else if (len > TLS_FILE_MAX || len == 0) {
			sg__log(SG_LOG_ERROR, "TLS %s %s: %s", what, path,
			        len == 0 ? "empty file" : "larger than 1 MiB: not a PEM file");
			rv = SG_ECONFIG;
		}
	}
	fclose(f);
	if (rv != SG_OK) {
		free(buf);
		return rv;
	}
	buf[len] = '\0';
	*out = buf;
	return SG_OK;
}

/* The first certificate of pem, or NULL (the reason logged); the caller frees it. */
static X509 *tls_first_cert(const char *what, const char *path, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, tls_no_passphrase, NULL) : NULL;
	char why[256];

	BIO_free(bio);
	if (x == NULL)
		sg__log(SG_LOG_ERROR, "TLS %s %s: not a PEM certificate: %s", what, path,
		        tls_openssl_reason(why, sizeof(why)));
	return x;
}

/* Checks that cert (a PEM chain) starts with a certificate whose public key is key's (a PEM
 * private key, unencrypted). SG_ECONFIG with a logged reason otherwise. */
static sg_err tls_check_pair(const sg_tls_opts *o, const char *cert, const char *key)
{
	X509 *x = tls_first_cert("certificate", o->cert_file, cert);
	BIO *bio;
	EVP_PKEY *pk = NULL;
	char why[256];
	sg_err rv = SG_ECONFIG;

	if (x == NULL)
		return SG_ECONFIG;
	if ((bio = BIO_new_mem_buf(key, -1)) != NULL)
		pk = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL);
	BIO_free(bio);
	if (pk == NULL)
		sg__log(SG_LOG_ERROR, "TLS key %s: not an unencrypted PEM private key: %s",
		        o->key_file, tls_openssl_reason(why, sizeof(why)));
	else if (X509_check_private_key(x, pk) != 1)
		sg__log(SG_LOG_ERROR, "TLS key %s does not belong to certificate %s", o->key_file,
		        o->cert_file);
	else
		rv = SG_OK;
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	return rv;
}

static sg_err tls_check_ca(const char *path, const char *pem)
{
	X509 *x = tls_first_cert("CA", path, pem);

	X509_free(x);
	return x != NULL ? SG_OK : SG_ECONFIG;
}

sg_err sg__tls_load(sg__tls *t, const sg_tls_opts *o, sg__tls_side side)
{
	bool has_cert, has_key;
	sg_err rv;

	if (t == NULL || o == NULL)
		return SG_EINVAL;
	memset(t, 0, sizeof(*t));
	has_cert = o->cert_file != NULL && o->cert_file[0] != '\0';
	has_key = o->key_file != NULL && o->key_file[0] != '\0';
	if (has_cert != has_key || (side == SG_TLS_LISTEN && !has_cert)) {
		sg__log(SG_LOG_ERROR, "TLS: %s",
		        side == SG_TLS_LISTEN ? "listening needs a certificate and its key"
		                              : "a client certificate needs its key");
		return SG_EINVAL;
	}
	if (o->require_client_cert && (side != SG_TLS_LISTEN || o->ca_file == NULL)) {
		sg__log(SG_LOG_ERROR, "TLS: requiring client certificates needs a CA to verify "
		                      "them, on a listening side");
		return SG_EINVAL;
	}
	t->require_client_cert = o->require_client_cert;
	if (has_cert && ((rv = tls_read("certificate", o->cert_file, &t->cert)) != SG_OK ||
	                 (rv = tls_read("key", o->key_file, &t->key)) != SG_OK ||
	                 (rv = tls_check_pair(o, t->cert, t->key)) != SG_OK))
		goto fail;
	if (o->ca_file != NULL && ((rv = tls_read("CA", o->ca_file, &t->ca)) != SG_OK ||
	                           (rv = tls_check_ca(o->ca_file, t->ca)) != SG_OK))
		goto fail;
	return SG_OK;
fail:
	sg__tls_fini(t);
	return rv;
}

sg_err sg__tls_replace(sg__tls **slot, const sg_tls_opts *opts, sg__tls_side side)
{
	sg__tls *t = calloc(1, sizeof(*t));
	sg_err rv;

	if (t == NULL)
		return SG_ENOMEM;
	if ((rv = sg__tls_load(t, opts, side)) != SG_OK) {
		free(t); /* the reason is logged */
		return rv;
	}
	sg__tls_fini(*slot);
	free(*slot);
	*slot = t;
	return SG_OK;
}

void sg__tls_fini(sg__tls *t)
{
	if (t == NULL)
		return;
	/* The key is a secret: not left in freed memory. */
	if (t->key != NULL)
		OPENSSL_cleanse(t->key, strlen(t->key));
	free(t->key);
	free(t->cert);
	free(t->ca);
	memset(t, 0, sizeof(*t));
}

grpc_server_credentials *sg__tls_server_credentials(const sg__tls *t)
{
	grpc_ssl_pem_key_cert_pair pair = {.private_key = t->key, .cert_chain = t->cert};
	grpc_ssl_client_certificate_request_type req =
	        t->require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
	        : t->ca != NULL        ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
	                               : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;

	return grpc_ssl_server_credentials_create_ex(t->ca, &pair, 1, req, NULL);
}

grpc_channel_credentials *sg__tls_channel_credentials(const sg__tls *t)
{
	grpc_ssl_pem_key_cert_pair pair;

	if (t == NULL)
		return grpc_insecure_credentials_create();
	pair = (grpc_ssl_pem_key_cert_pair){.private_key = t->key, .cert_chain = t->cert};
	return grpc_ssl_credentials_create(t->ca, t->cert != NULL ? &pair : NULL, NULL, NULL);
}
