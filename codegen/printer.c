/*
 * printer.c: the indenting text writer behind every generated file and the error list.
 */
#include "printer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CG_WRAP_COLUMN  100
#define CG_BANNER_WIDTH 90 /* the width of the banners in codegen/README.md */

void cg_printer_init(cg_printer *p)
{
	memset(p, 0, sizeof(*p));
	p->at_line_start = true;
}

void cg_printer_fini(cg_printer *p)
{
	free(p->buf);
	cg_printer_init(p);
}

/* Makes room for `more` bytes plus a NUL; false (and p->failed) when memory runs out. */
static bool pr_reserve(cg_printer *p, size_t more)
{
	size_t need, cap;
	char *buf;

	if (p->failed)
		return false;
	need = p->len + more + 1;
	if (need <= p->cap)
		return true;
	cap = p->cap ? p->cap : 256;
	while (cap < need)
		cap *= 2;
	if ((buf = realloc(p->buf, cap)) == NULL) {
		p->failed = true;
		return false;
	}
	p->buf = buf;
	p->cap = cap;
	return true;
}

/* Appends n raw bytes; no indentation. */
static void pr_raw(cg_printer *p, const char *s, size_t n)
{
	if (!pr_reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

/* Appends text, putting the indentation before each non-empty line. */
static void pr_text(cg_printer *p, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) + 1 : n;

		if (p->at_line_start && s[i] != '\n') {
			for (int t = 0; t < p->indent; t++)
				pr_raw(p, "\t", 1);
		}
		pr_raw(p, s + i, end - i);
		p->at_line_start = nl != NULL;
		i = end;
	}
}

void cg_vprint(cg_printer *p, const char *fmt, va_list ap)
{
	va_list again;
	char small[256];
	char *big;
	int n;

	if (p->failed)
		return;
	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(small)) {
		pr_text(p, small, (size_t)n);
	} else if (n < 0 || (big = malloc((size_t)n + 1)) == NULL) {
		p->failed = true;
	} else {
		vsnprintf(big, (size_t)n + 1, fmt, again);
		pr_text(p, big, (size_t)n);
		free(big);
	}
	va_end(again);
}

void cg_print(cg_printer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cg_vprint(p, fmt, ap);
	va_end(ap);
}

void cg_indent(cg_printer *p)
{
	p->indent++;
}

void cg_outdent(cg_printer *p)
{
	if (p->indent > 0)
		p->indent--;
}

size_t cg_printer_column(const cg_printer *p)
{
	size_t col = 0;
	size_t i = p->len;

	if (p->at_line_start)
		return (size_t)p->indent * 8;
	while (i > 0 && p->buf[i - 1] != '\n')
		i--;
	for (; i < p->len; i++)
		col = p->buf[i] == '\t' ? (col / 8 + 1) * 8 : col + 1;
	return col;
}

/* Starts a new line and pads it to column `col`: tabs, then spaces. */
static void pr_newline_at(cg_printer *p, size_t col)
{
	pr_raw(p, "\n", 1);
	for (size_t t = 0; t < col / 8; t++)
		pr_raw(p, "\t", 1);
	for (size_t s = 0; s < col % 8; s++)
		pr_raw(p, " ", 1);
	p->at_line_start = false;
}

void cg_print_wrapped(cg_printer *p, const char *head, const char *const *params, size_t n,
                      const char *tail)
{
	size_t align, widest = 0;

	cg_print(p, "%s", head);
	align = cg_printer_column(p);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(params[i]) + 2;

		widest = len > widest ? len : widest;
	}
	/* Names so long that a parameter would not fit under the "(": break after it and indent
	 * one level instead, as clang-format does. */
	if (align + widest > CG_WRAP_COLUMN && n > 0) {
		align = ((size_t)p->indent + 1) * 8;
		pr_newline_at(p, align);
	}
	for (size_t i = 0; i < n; i++) {
		/* The last parameter carries the tail's first characters (")" or ");") with it. */
		size_t extra = i + 1 < n ? 1 : strcspn(tail, "\n");
		size_t need = strlen(params[i]) + extra;

		if (i > 0 && cg_printer_column(p) + 1 + need > CG_WRAP_COLUMN)
			pr_newline_at(p, align);
		else if (i > 0)
			pr_raw(p, " ", 1);
		cg_print(p, "%s%s", params[i], i + 1 < n ? "," : "");
	}
	cg_print(p, "%s", tail);
}

void cg_print_banner(cg_printer *p, const char *title)
{
	size_t used;

	cg_print(p, "/* ---- %s ", title);
	used = cg_printer_column(p) + 3;
	for (size_t i = used; i < CG_BANNER_WIDTH || i < used + 4; i++)
		pr_raw(p, "-", 1);
	cg_print(p, " */\n");
}

char *cg_printer_take(cg_printer *p)
{
	char *text;

	if (p->failed) {
		cg_printer_fini(p);
		return NULL;
	}
	text = p->buf ? p->buf : calloc(1, 1);
	p->buf = NULL;
	cg_printer_fini(p);
	return text;
}
