/*
 * minijson.h: a small JSON reader for tests: parses a whole document into a tree, so a test can
 * check the shape of what a server answers (keys, types, array lengths). Strict (RFC 8259
 * syntax, no trailing commas); \u escapes are kept as they are written, which is enough for
 * comparing the ASCII text tests use.
 */
#ifndef SCATTER_TEST_MINIJSON_H
#define SCATTER_TEST_MINIJSON_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mj_type {
	MJ_NULL,
	MJ_BOOL,
	MJ_NUMBER,
	MJ_STRING,
	MJ_ARRAY,
	MJ_OBJECT,
} mj_type;

typedef struct mj {
	mj_type type;
	bool boolean;
	double number;
	char *string;     /* MJ_STRING: owned, NUL-terminated */
	struct mj *items; /* MJ_ARRAY, MJ_OBJECT: owned, n of them */
	char **keys;      /* MJ_OBJECT: owned, n of them */
	size_t n;
} mj;

/* Parses text (the whole of it, surrounding white space allowed) into *out. Returns 0, or -1
 * with the offset of the error in *err_at (err_at may be NULL). Free with mj_free. */
int mj_parse(const char *text, mj *out, size_t *err_at);

void mj_free(mj *v);

/* The member `key` of object v, or NULL (also when v is not an object). */
const mj *mj_get(const mj *v, const char *key);

/* Whether v is non-NULL and of type t. */
bool mj_is(const mj *v, mj_type t);

#ifdef __cplusplus
}
#endif

#endif
