/*
 * timer.c: the per-worker timer heap.
 */
#include "timer.h"

#include <stdlib.h>

void sg__timer_init(sg__timer *t)
{
	t->deadline_ns = 0;
	t->seq = 0;
	t->cb = NULL;
	t->arg = NULL;
	t->index = SIZE_MAX;
}

bool sg__timer_pending(const sg__timer *t)
{
	return t->index != SIZE_MAX;
}

void sg__timer_heap_init(sg__timer_heap *h)
{
	h->items = NULL;
	h->len = 0;
	h->cap = 0;
	h->next_seq = 0;
}

void sg__timer_heap_fini(sg__timer_heap *h)
{
	for (size_t i = 0; i < h->len; i++)
		h->items[i]->index = SIZE_MAX;
	free(h->items);
	sg__timer_heap_init(h);
}

/* Strict order with the arming sequence as tie-break: deterministic firing order. */
static bool heap_less(const sg__timer *a, const sg__timer *b)
{
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->seq < b->seq;
}

static void heap_place(sg__timer_heap *h, size_t i, sg__timer *t)
{
	h->items[i] = t;
	t->index = i;
}

static void heap_up(sg__timer_heap *h, size_t i)
{
	sg__timer *t = h->items[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!heap_less(t, h->items[parent]))
			break;
		heap_place(h, i, h->items[parent]);
		i = parent;
	}
	heap_place(h, i, t);
}

static void heap_down(sg__timer_heap *h, size_t i)
{
	sg__timer *t = h->items[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= h->len)
			break;
		if (child + 1 < h->len && heap_less(h->items[child + 1], h->items[child]))
			child++;
		if (!heap_less(h->items[child], t))
			break;
		heap_place(h, i, h->items[child]);
		i = child;
	}
	heap_place(h, i, t);
}

sg_err sg__timer_start(sg__timer_heap *h, sg__timer *t, int64_t deadline_ns, sg__timer_fn cb,
                       void *arg)
{
	if (h == NULL || t == NULL || cb == NULL)
		return SG_EINVAL;
	if (sg__timer_pending(t))
		return SG_ESTATE;
	if (h->len == h->cap) {
		size_t cap = h->cap == 0 ? 16 : 2 * h->cap;
		sg__timer **items = realloc(h->items, cap * sizeof(*items));

		if (items == NULL)
			return SG_ENOMEM;
		h->items = items;
		h->cap = cap;
	}
	t->deadline_ns = deadline_ns;
	t->seq = h->next_seq++;
	t->cb = cb;
	t->arg = arg;
	h->items[h->len] = t;
	t->index = h->len++;
	heap_up(h, t->index);
	return SG_OK;
}

/* Removes the timer at i, keeping the heap property: the last item fills the hole and moves
 * whichever way it must. */
static void heap_remove(sg__timer_heap *h, size_t i)
{
	sg__timer *t = h->items[i];
	sg__timer *last = h->items[--h->len];

	t->index = SIZE_MAX;
	if (last == t)
		return;
	heap_place(h, i, last);
	if (i > 0 && heap_less(last, h->items[(i - 1) / 2]))
		heap_up(h, i);
	else
		heap_down(h, i);
}

bool sg__timer_cancel(sg__timer_heap *h, sg__timer *t)
{
	if (h == NULL || t == NULL || !sg__timer_pending(t))
		return false;
	heap_remove(h, t->index);
	return true;
}

int64_t sg__timer_heap_next(const sg__timer_heap *h)
{
	return h->len == 0 ? INT64_MAX : h->items[0]->deadline_ns;
}

size_t sg__timer_heap_run(sg__timer_heap *h, int64_t now_ns)
{
	size_t ran = 0;

	while (h->len > 0 && h->items[0]->deadline_ns <= now_ns) {
		sg__timer *t = h->items[0];

		/* Disarm first: the callback may free t's owner or arm t again. */
		heap_remove(h, 0);
		t->cb(t->arg);
		ran++;
	}
	return ran;
}

size_t sg__timer_heap_len(const sg__timer_heap *h)
{
	return h->len;
}
