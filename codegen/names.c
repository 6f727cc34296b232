/*
 * names.c: protoc-c's naming rules (protoc-c/c_helpers.cc), re-implemented for the plugin.
 */
#include "names.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_pool_init(cg_pool *pool)
{
	memset(pool, 0, sizeof(*pool));
}

void cg_pool_fini(cg_pool *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		free(pool->strs[i]);
	free(pool->strs);
	cg_pool_init(pool);
}

const char *cg_pool_own(cg_pool *pool, char *s)
{
	if (s == NULL) {
		pool->failed = true;
		return "";
	}
	if (pool->n == pool->cap) {
		size_t cap = pool->cap ? pool->cap * 2 : 64;
		char **strs = realloc(pool->strs, cap * sizeof(*strs));

		if (strs == NULL) {
			free(s);
			pool->failed = true;
			return "";
		}
		pool->strs = strs;
		pool->cap = cap;
	}
	pool->strs[pool->n++] = s;
	return s;
}

const char *cg_pool_printf(cg_pool *pool, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return cg_pool_own(pool, NULL);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return cg_pool_own(pool, s);
}

const char *cg_camel_to_lower(cg_pool *pool, const char *name)
{
	size_t len = strlen(name);
	char *out = malloc(2 * len + 1); /* at most one '_' per character */
	bool was_upper = true;           /* no '_' before a leading capital */
	size_t o = 0;

	if (out == NULL)
		return cg_pool_own(pool, NULL);
	for (size_t i = 0; i < len; i++) {
		bool is_upper = isupper((unsigned char)name[i]) != 0;

		if (is_upper) {
			if (!was_upper)
				out[o++] = '_';
			out[o++] = (char)tolower((unsigned char)name[i]);
		} else {
			out[o++] = name[i];
		}
		was_upper = is_upper;
	}
	out[o] = '\0';
	return cg_pool_own(pool, out);
}

const char *cg_to_camel(cg_pool *pool, const char *name)
{
	size_t len = strlen(name);
	char *out = malloc(len + 1);
	bool next_upper = true;
	size_t o = 0;

	if (out == NULL)
		return cg_pool_own(pool, NULL);
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '_') {
			next_upper = true;
		} else if (next_upper) {
			out[o++] = (char)toupper((unsigned char)name[i]);
			next_upper = false;
		} else {
			out[o++] = name[i];
		}
	}
	out[o] = '\0';
	return cg_pool_own(pool, out);
}

/* Splits full_name at '.', maps each non-empty piece with fn and joins them with "__". */
static const char *nm_join(cg_pool *pool, const char *full_name,
                           const char *(*fn)(cg_pool *, const char *))
{
	size_t len = strlen(full_name);
	char *copy = malloc(len + 1);
	char *out = malloc(4 * len + 1); /* pieces grow at most 2x, plus separators */
	size_t o = 0;
	char *piece, *save = NULL;

	if (copy == NULL || out == NULL) {
		free(copy);
		free(out);
		return cg_pool_own(pool, NULL);
	}
	memcpy(copy, full_name, len + 1);
	out[0] = '\0';
	for (piece = strtok_r(copy, ".", &save); piece; piece = strtok_r(NULL, ".", &save)) {
		const char *mapped = fn(pool, piece);
		size_t n = strlen(mapped);

		if (o > 0) {
			memcpy(out + o, "__", 2);
			o += 2;
		}
		memcpy(out + o, mapped, n);
		o += n;
	}
	out[o] = '\0';
	free(copy);
	return cg_pool_own(pool, out);
}

const char *cg_name_lower(cg_pool *pool, const char *full_name)
{
	return nm_join(pool, full_name, cg_camel_to_lower);
}

const char *cg_name_type(cg_pool *pool, const char *full_name)
{
	return nm_join(pool, full_name, cg_to_camel);
}

static bool nm_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *cg_strip_proto(cg_pool *pool, const char *path)
{
	size_t n = strlen(path);

	if (nm_ends_with(path, ".protodevel"))
		n -= strlen(".protodevel");
	else if (nm_ends_with(path, ".proto"))
		n -= strlen(".proto");
	return cg_pool_printf(pool, "%.*s", (int)n, path);
}

const char *cg_include_guard(cg_pool *pool, const char *path)
{
	size_t len = strlen(path);
	char *out = malloc(len + 3);
	size_t o = 0;

	if (out == NULL)
		return cg_pool_own(pool, NULL);
	if (isdigit((unsigned char)path[0])) { /* an identifier cannot start with a digit */
		out[o++] = 'P';
		out[o++] = '_';
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		out[o++] = isalnum(c) ? (char)toupper(c) : '_';
	}
	out[o] = '\0';
	return cg_pool_own(pool, out);
}

const char *cg_c_escape(cg_pool *pool, const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(4 * len + 1);
	size_t o = 0;

	if (out == NULL)
		return cg_pool_own(pool, NULL);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f || c == '?') {
			/* octal keeps the next character from joining the escape; '?' avoids
			 * trigraphs */
			o += (size_t)sprintf(out + o, "\\%03o", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return cg_pool_own(pool, out);
}

const char *cg_service_full_name(cg_pool *pool, const cg_file_proto *file, size_t si)
{
	const char *pkg = file->package ? file->package : "";

	return cg_pool_printf(pool, "%s%s%s", pkg, pkg[0] ? "." : "", file->service[si]->name);
}

void cg_method_names_get(cg_pool *pool, const cg_file_proto *file, size_t si, size_t mi,
                         cg_method_names *out)
{
	const cg_method_proto *m = file->service[si]->method[mi];

	out->svc_full = cg_service_full_name(pool, file, si);
	out->svc_lower = cg_name_lower(pool, out->svc_full);
	out->svc_type = cg_name_type(pool, out->svc_full);
	out->lower = cg_camel_to_lower(pool, m->name);
	out->prefix = cg_pool_printf(pool, "%s__%s", out->svc_lower, out->lower);
	out->path = cg_pool_printf(pool, "/%s/%s", out->svc_full, m->name);
	out->req_type = cg_name_type(pool, m->input_type);
	out->resp_type = cg_name_type(pool, m->output_type);
	out->req_desc = cg_pool_printf(pool, "%s__descriptor", cg_name_lower(pool, m->input_type));
	out->resp_desc =
	        cg_pool_printf(pool, "%s__descriptor", cg_name_lower(pool, m->output_type));
}
