/*
 * admission.h (internal): the server-wide cap on aggregate calls in flight (sg_server_opts
 * .max_calls). Owned by the server, shared by its workers through one atomic counter: a call
 * over the cap is answered RESOURCE_EXHAUSTED at once instead of queueing, so that memory and
 * latency stay bounded whatever the offered load.
 */
#ifndef SG_ADMISSION_H
#define SG_ADMISSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SG_ADMISSION_DEFAULT 1024
/* The status message of a call refused for being over the cap. */
#define SG_ADMISSION_BUSY "server busy: max_calls aggregate calls in flight"

typedef struct sg__admission {
	uint32_t max_calls; /* > 0; read-only once the workers run */
	_Atomic uint32_t in_flight;
} sg__admission;

/* Takes a place for one call; false (nothing taken) when max_calls are in flight. NULL: no cap.
 * Any thread. */
static inline bool sg__admission_enter(sg__admission *a)
{
	if (a == NULL)
		return true;
	if (atomic_fetch_add_explicit(&a->in_flight, 1, memory_order_relaxed) >= a->max_calls) {
		atomic_fetch_sub_explicit(&a->in_flight, 1, memory_order_relaxed);
		return false;
	}
	return true;
}

/* Gives back a place taken by sg__admission_enter. */
static inline void sg__admission_leave(sg__admission *a)
{
	if (a != NULL)
		atomic_fetch_sub_explicit(&a->in_flight, 1, memory_order_relaxed);
}

#endif
