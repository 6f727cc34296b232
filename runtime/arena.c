/*
 * arena.c: a chunked bump allocator. Chunks grow geometrically so a call that decodes many large
 * responses makes few mallocs; the first chunk survives resets so pooled call state allocates
 * nothing in steady state.
 */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sg__arena_chunk {
	sg__arena_chunk *next;
	size_t size; /* payload bytes */
	alignas(max_align_t) unsigned char data[];
};

#define ARENA_ALIGN alignof(max_align_t)

static void *arena_pb_alloc(void *data, size_t size)
{
	return sg__arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
	/* Everything dies with the arena. */
	(void)data;
	(void)ptr;
}

void sg__arena_init(sg__arena *a, size_t first_size)
{
	a->head = NULL;
	a->cur = NULL;
	a->left = 0;
	a->first_size = first_size ? first_size : 4096;
	a->pb.alloc = arena_pb_alloc;
	a->pb.free = arena_pb_free;
	a->pb.allocator_data = a;
}

static sg__arena_chunk *arena_chunk_new(size_t size)
{
	sg__arena_chunk *c = malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	return c;
}

static void arena_use(sg__arena *a, sg__arena_chunk *c)
{
	a->head = c;
	a->cur = (char *)c->data;
	a->left = c->size;
}

void *sg__arena_alloc(sg__arena *a, size_t size)
{
	size_t need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (need < size)
		return NULL; /* overflow */
	if (need == 0)
		need = ARENA_ALIGN;
	if (need > a->left) {
		/* The first chunk is made lazily so an unused arena costs nothing. */
		size_t grow = a->head == NULL ? a->first_size : a->head->size * 2;
		if (grow < need)
			grow = need;
		sg__arena_chunk *c = arena_chunk_new(grow);
		if (c == NULL)
			return NULL;
		c->next = a->head;
		arena_use(a, c);
	}
	void *p = a->cur;
	a->cur += need;
	a->left -= need;
	return p;
}

char *sg__arena_strdup(sg__arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = sg__arena_alloc(a, n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void sg__arena_reset(sg__arena *a)
{
	sg__arena_chunk *c = a->head;
	if (c == NULL)
		return;
	while (c->next != NULL) {
		sg__arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	arena_use(a, c);
}

void sg__arena_fini(sg__arena *a)
{
	sg__arena_chunk *c = a->head;
	while (c != NULL) {
		sg__arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->cur = NULL;
	a->left = 0;
}

ProtobufCAllocator *sg__arena_allocator(sg__arena *a)
{
	return &a->pb;
}
