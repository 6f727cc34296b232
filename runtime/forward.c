/*
 * forward.c: the metadata allow-list.
 */
#include "forward.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Keys gRPC itself sets on every call: forwarding them would conflict with its own. */
static const char *const forward_reserved[] = {"content-type", "te", "user-agent", "host"};

static bool forward_key_ok(const char *k)
{
	size_t len = k != NULL ? strlen(k) : 0;

	if (len == 0 || strncmp(k, "grpc-", 5) == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	for (size_t i = 0; i < sizeof(forward_reserved) / sizeof(forward_reserved[0]); i++) {
		if (strcmp(k, forward_reserved[i]) == 0)
			return false;
	}
	return true;
}

static void forward_free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

sg_err sg__forward_set(sg__forward *f, const char *const *keys, size_t n)
{
	char **copy;

	if (f == NULL || (keys == NULL && n > 0))
		return SG_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!forward_key_ok(keys[i])) {
			sg__log(SG_LOG_ERROR,
			        "forwarded metadata key \"%s\": not a lower-case header name of "
			        "the caller's own (gRPC sets grpc-*, content-type, te, user-agent)",
			        keys[i] != NULL ? keys[i] : "(null)");
			return SG_EINVAL;
		}
	}
	if ((copy = calloc(n > 0 ? n : 1, sizeof(*copy))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((copy[i] = strdup(keys[i])) == NULL) {
			forward_free_keys(copy, i);
			return SG_ENOMEM;
		}
	}
	forward_free_keys(f->keys, f->n);
	f->keys = copy;
	f->n = n;
	return SG_OK;
}

void sg__forward_fini(sg__forward *f)
{
	forward_free_keys(f->keys, f->n);
	f->keys = NULL;
	f->n = 0;
}

static bool forward_allows(const sg__forward *f, grpc_slice key)
{
	size_t len = GRPC_SLICE_LENGTH(key);

	for (size_t i = 0; i < f->n; i++) {
		if (strlen(f->keys[i]) == len &&
		    memcmp(f->keys[i], GRPC_SLICE_START_PTR(key), len) == 0)
			return true;
	}
	return false;
}

sg_err sg__forward_pick(const sg__forward *f, const grpc_metadata_array *md, sg__arena *a,
                        grpc_metadata **out, size_t *n_out)
{
	grpc_metadata *picked;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (f == NULL || f->n == 0 || md == NULL)
		return SG_OK;
	for (size_t i = 0; i < md->count; i++)
		n += forward_allows(f, md->metadata[i].key);
	if (n == 0)
		return SG_OK;
	if ((picked = sg__arena_alloc(a, n * sizeof(*picked))) == NULL)
		return SG_ENOMEM;
	memset(picked, 0, n * sizeof(*picked));
	n = 0;
	for (size_t i = 0; i < md->count; i++) {
		if (forward_allows(f, md->metadata[i].key)) {
			picked[n].key = md->metadata[i].key;
			picked[n++].value = md->metadata[i].value;
		}
	}
	*out = picked;
	*n_out = n;
	return SG_OK;
}
