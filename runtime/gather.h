/*
 * gather.h (internal): gather strategies, one const ops table each. Adding a strategy is adding
 * a table and a case in sg__gather_ops_for, not a switch in the call code.
 */
#ifndef SG_GATHER_H
#define SG_GATHER_H

#include <stdbool.h>
#include <stdint.h>

#include "scatter/method.h"

/* What the call knows after each leg completes. */
typedef struct sg__gather_state {
	uint32_t total;  /* legs started */
	uint32_t ok;     /* legs that answered OK and decoded */
	uint32_t failed; /* legs that ended any other way */
} sg__gather_state;

typedef struct sg__gather_ops {
	const char *name;
	/* true when the call should stop waiting (the rest of the legs get cancelled). */
	bool (*done)(const sg_gather_desc *g, const sg__gather_state *st);
} sg__gather_ops;

/* The table for g->kind; NULL for a kind this runtime does not know (the table is then
 * rejected at registration). */
const sg__gather_ops *sg__gather_ops_for(sg_gather_kind kind);

#endif
