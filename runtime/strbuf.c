/*
 * strbuf.c: a growable text buffer.
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg__strbuf_init(sg__strbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void sg__strbuf_fini(sg__strbuf *b)
{
	free(b->data);
	sg__strbuf_init(b);
}

void sg__strbuf_reset(sg__strbuf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Room for `more` bytes and the NUL after them. */
static bool strbuf_reserve(sg__strbuf *b, size_t more)
{
	size_t cap = b->cap != 0 ? b->cap : 1024;
	char *grown;

	if (b->failed)
		return false;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (cap == b->cap)
		return true;
	if ((grown = realloc(b->data, cap)) == NULL) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->cap = cap;
	return true;
}

void sg__strbuf_printf(sg__strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void strbuf_putc(sg__strbuf *b, char c)
{
	if (!strbuf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void sg__strbuf_json_string(sg__strbuf *b, const char *s)
{
	strbuf_putc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			strbuf_putc(b, '\\');
			strbuf_putc(b, (char)c);
		} else if (c < 0x20) {
			sg__strbuf_printf(b, "\\u%04x", c);
		} else {
			strbuf_putc(b, (char)c);
		}
	}
	strbuf_putc(b, '"');
}

void sg__strbuf_label_value(sg__strbuf *b, const char *s)
{
	strbuf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			strbuf_putc(b, '\\');
			strbuf_putc(b, *s);
		} else if (*s == '\n') {
			strbuf_putc(b, '\\');
			strbuf_putc(b, 'n');
		} else {
			strbuf_putc(b, *s);
		}
	}
	strbuf_putc(b, '"');
}

sg_err sg__strbuf_status(const sg__strbuf *b)
{
	return b->failed ? SG_ENOMEM : SG_OK;
}

char *sg__strbuf_take(sg__strbuf *b, size_t *len)
{
	char *text;

	if (b->failed || !strbuf_reserve(b, 0)) {
		sg__strbuf_fini(b);
		return NULL;
	}
	text = b->data;
	*len = b->len;
	sg__strbuf_init(b);
	return text;
}
