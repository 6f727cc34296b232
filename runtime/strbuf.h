/*
 * strbuf.h (internal): a growable, NUL-terminated text buffer for the admin port's answers
 * (Prometheus text, JSON). Off the call path: it mallocs. One owner at a time.
 */
#ifndef SG_STRBUF_H
#define SG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "scatter/error.h"

typedef struct sg__strbuf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
	bool failed; /* an append ran out of memory: the text is incomplete */
} sg__strbuf;

void sg__strbuf_init(sg__strbuf *b);
void sg__strbuf_fini(sg__strbuf *b);

/* Empties the text, keeping the memory (and b->failed). */
void sg__strbuf_reset(sg__strbuf *b);

/* printf-style append. Out of memory sets b->failed and leaves the text as it was. */
void sg__strbuf_printf(sg__strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s as a JSON string literal (quotes, escapes; control characters as \u00XX). */
void sg__strbuf_json_string(sg__strbuf *b, const char *s);

/* Appends s as a Prometheus label value (backslash, double quote and newline escaped). */
void sg__strbuf_label_value(sg__strbuf *b, const char *s);

/* SG_ENOMEM if any append failed, else SG_OK. */
sg_err sg__strbuf_status(const sg__strbuf *b);

/* Hands the text (malloc'd, NUL-terminated, possibly "") to the caller, who frees it; b is
 * empty afterwards. NULL when out of memory. */
char *sg__strbuf_take(sg__strbuf *b, size_t *len);

#endif
