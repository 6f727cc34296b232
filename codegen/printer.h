/*
 * printer.h: an indenting, growable text writer for generated code and error lists.
 *
 * Out of memory is sticky: the printer stops growing, sets `failed`, and every later call is a
 * no-op, so callers check once at the end instead of after every line.
 */
#ifndef CG_PRINTER_H
#define CG_PRINTER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cg_printer {
	char *buf; /* NUL-terminated while len > 0; owned */
	size_t len;
	size_t cap;
	int indent;         /* tabs put before each non-empty line */
	bool at_line_start; /* the next character starts a line */
	bool failed;        /* an allocation failed; the text is incomplete */
} cg_printer;

/* Initialises an empty printer (embedded: no allocation until the first print). */
void cg_printer_init(cg_printer *p);

/* Frees the text. Safe on a printer whose text was taken. */
void cg_printer_fini(cg_printer *p);

/* Appends printf-formatted text. At the start of each line that is not empty, `indent` tabs
 * are put first, so callers write code without leading whitespace. */
void cg_print(cg_printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cg_print with a va_list (for callers that add a prefix of their own). */
void cg_vprint(cg_printer *p, const char *fmt, va_list ap);

void cg_indent(cg_printer *p);
void cg_outdent(cg_printer *p);

/* The visual column where the next character goes (tabs count 8), for aligning wrapped lines. */
size_t cg_printer_column(const cg_printer *p);

/* Prints `head` then the n parameters separated by ", ", wrapping before a parameter that would
 * pass column 100 and aligning wrapped lines under the first parameter (tabs then spaces, as
 * clang-format does with our style). `head` ends with "(" and `tail` is printed after the last
 * parameter, e.g. ");\n" or ")\n". */
void cg_print_wrapped(cg_printer *p, const char *head, const char *const *params, size_t n,
                      const char *tail);

/* A comment banner "/\* ---- title ---...--- *\/" padded to a fixed width, then a newline. */
void cg_print_banner(cg_printer *p, const char *title);

/* Hands the text over: the caller frees it. Returns NULL (and keeps nothing) if the printer
 * failed; an empty text is "" allocated. The printer is left empty. */
char *cg_printer_take(cg_printer *p);

#endif
