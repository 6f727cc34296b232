/*
 * minijson.c: a small strict JSON reader for tests.
 */
#include "minijson.h"

#include <stdlib.h>
#include <string.h>

#define MJ_MAX_DEPTH 64

typedef struct mj_in {
	const char *s;
	size_t at;
} mj_in;

static int mj_value(mj_in *in, mj *out, int depth);

static void mj_ws(mj_in *in)
{
	while (in->s[in->at] == ' ' || in->s[in->at] == '\t' || in->s[in->at] == '\n' ||
	       in->s[in->at] == '\r')
		in->at++;
}

static int mj_lit(mj_in *in, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(in->s + in->at, word, n) != 0)
		return -1;
	in->at += n;
	return 0;
}

/* A string starting at the quote; the escapes are checked, and kept as written. */
static int mj_string(mj_in *in, char **out)
{
	size_t start, len;

	if (in->s[in->at] != '"')
		return -1;
	start = ++in->at;
	for (;;) {
		unsigned char c = (unsigned char)in->s[in->at];

		if (c == '\0' || c < 0x20)
			return -1;
		if (c == '"')
			break;
		if (c == '\\') {
			c = (unsigned char)in->s[++in->at];
			if (c == 'u') {
				for (int i = 1; i <= 4; i++) {
					if (strchr("0123456789abcdefABCDEF", in->s[in->at + i]) ==
					            NULL ||
					    in->s[in->at + i] == '\0')
						return -1;
				}
				in->at += 4;
			} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
				return -1;
			}
		}
		in->at++;
	}
	len = in->at - start;
	in->at++;
	if ((*out = malloc(len + 1)) == NULL)
		return -1;
	memcpy(*out, in->s + start, len);
	(*out)[len] = '\0';
	return 0;
}

static int mj_number(mj_in *in, double *out)
{
	const char *p = in->s + in->at;
	char *end;

	/* JSON's grammar is narrower than strtod's: no leading '+', no hex, no inf/nan. */
	if (!(*p == '-' || (*p >= '0' && *p <= '9')))
		return -1;
	if (strchr(p, 'x') == p + 1 || strchr(p, 'X') == p + 1)
		return -1;
	*out = strtod(p, &end);
	if (end == p)
		return -1;
	in->at += (size_t)(end - p);
	return 0;
}

/* Appends a zeroed item (and key slot) to v. */
static mj *mj_push(mj *v)
{
	mj *items = realloc(v->items, (v->n + 1) * sizeof(*items));

	if (items == NULL)
		return NULL;
	v->items = items;
	if (v->type == MJ_OBJECT) {
		char **keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));

		if (keys == NULL)
			return NULL;
		v->keys = keys;
		v->keys[v->n] = NULL;
	}
	memset(&v->items[v->n], 0, sizeof(mj));
	return &v->items[v->n++];
}

static int mj_container(mj_in *in, mj *out, int depth)
{
	char close = in->s[in->at] == '[' ? ']' : '}';

	out->type = close == ']' ? MJ_ARRAY : MJ_OBJECT;
	in->at++;
	mj_ws(in);
	if (in->s[in->at] == close) {
		in->at++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		mj *item;

		mj_ws(in);
		if (out->type == MJ_OBJECT) {
			if (mj_string(in, &key) != 0)
				return -1;
			mj_ws(in);
			if (in->s[in->at] != ':') {
				free(key);
				return -1;
			}
			in->at++;
		}
		if ((item = mj_push(out)) == NULL) {
			free(key);
			return -1;
		}
		if (out->type == MJ_OBJECT)
			out->keys[out->n - 1] = key;
		if (mj_value(in, item, depth + 1) != 0)
			return -1;
		mj_ws(in);
		if (in->s[in->at] == ',') {
			in->at++;
			continue;
		}
		if (in->s[in->at] != close)
			return -1;
		in->at++;
		return 0;
	}
}

static int mj_value(mj_in *in, mj *out, int depth)
{
	memset(out, 0, sizeof(*out));
	if (depth > MJ_MAX_DEPTH)
		return -1;
	mj_ws(in);
	switch (in->s[in->at]) {
	case '{':
	case '[':
		return mj_container(in, out, depth);
	case '"':
		out->type = MJ_STRING;
		return mj_string(in, &out->string);
	case 't':
		out->type = MJ_BOOL;
		out->boolean = true;
		return mj_lit(in, "true");
	case 'f':
		out->type = MJ_BOOL;
		return mj_lit(in, "false");
	case 'n':
		out->type = MJ_NULL;
		return mj_lit(in, "null");
	default:
		out->type = MJ_NUMBER;
		return mj_number(in, &out->number);
	}
}

int mj_parse(const char *text, mj *out, size_t *err_at)
{
	mj_in in = {.s = text, .at = 0};

	if (mj_value(&in, out, 0) == 0) {
		mj_ws(&in);
		if (in.s[in.at] == '\0')
			return 0;
	}
	if (err_at != NULL)
		*err_at = in.at;
	mj_free(out);
	return -1;
}

void mj_free(mj *v)
{
	for (size_t i = 0; i < v->n; i++) {
		mj_free(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	memset(v, 0, sizeof(*v));
}

const mj *mj_get(const mj *v, const char *key)
{
	if (v == NULL || v->type != MJ_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->n; i++) {
		if (v->keys[i] != NULL && strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	}
	return NULL;
}

bool mj_is(const mj *v, mj_type t)
{
	return v != NULL && v->type == t;
}
