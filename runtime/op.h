/*
 * op.h (internal): the one type every completion-queue tag has.
 *
 * An op is embedded in the object that started the batch (a call, a leg, an accept slot); the
 * worker loop calls op->complete(op, ok) and the owner finds itself with container_of. No tag
 * is ever a bare pointer to anything else, so the loop never needs to know what it dispatches.
 */
#ifndef SG_OP_H
#define SG_OP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sg__op sg__op;

struct sg__op {
	/* Runs on the worker owning the completion queue; ok is the event's success bit. */
	void (*complete)(sg__op *op, bool ok);
};

/* The object of type `type` whose member `member` is at ptr. */
#define sg__container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
