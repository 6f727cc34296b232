/*
 * status_page.h (internal): the live status page, embedded in the binary.
 *
 * The text is runtime/status_page.html, turned into a C array at build time (embed.cmake writes
 * status_page.c in the build tree), so the page is edited as HTML and served with no file to
 * install. It loads nothing else: its script polls /status.json once a second.
 */
#ifndef SG_STATUS_PAGE_H
#define SG_STATUS_PAGE_H

#include <stddef.h>

extern const char sg__status_page_html[];     /* NUL-terminated */
extern const size_t sg__status_page_html_len; /* without the NUL */

#endif
