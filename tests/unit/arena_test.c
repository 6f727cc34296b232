/* arena_test.c: the per-call bump allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void test_alignment_and_distinct(void **state)
{
	(void)state;
	sg__arena a;
	sg__arena_init(&a, 64);
	void *p[100];
	for (int i = 0; i < 100; i++) {
		p[i] = sg__arena_alloc(&a, (size_t)i % 7 + 1);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % _Alignof(max_align_t), 0);
		memset(p[i], i, (size_t)i % 7 + 1);
	}
	/* Nothing overlapped: each block still holds its own byte. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(((unsigned char *)p[i])[0], (unsigned char)i);
	sg__arena_fini(&a);
}

static void test_large_and_zero(void **state)
{
	(void)state;
	sg__arena a;
	sg__arena_init(&a, 16);
	void *z1 = sg__arena_alloc(&a, 0), *z2 = sg__arena_alloc(&a, 0);
	assert_non_null(z1);
	assert_ptr_not_equal(z1, z2);
	char *big = sg__arena_alloc(&a, 1 << 20); /* bigger than any chunk so far */
	assert_non_null(big);
	memset(big, 0xab, 1 << 20);
	assert_null(sg__arena_alloc(&a, SIZE_MAX)); /* overflow is refused, not wrapped */
	sg__arena_fini(&a);
}

static void test_reset_keeps_first_chunk(void **state)
{
	(void)state;
	sg__arena a;
	sg__arena_init(&a, 256);
	char *first = sg__arena_alloc(&a, 8);
	for (int i = 0; i < 50; i++)
		assert_non_null(sg__arena_alloc(&a, 200));
	sg__arena_reset(&a);
	/* After a reset the first chunk is reused from its start. */
	assert_ptr_equal(sg__arena_alloc(&a, 8), first);
	assert_string_equal(sg__arena_strdup(&a, "scatter"), "scatter");
	sg__arena_fini(&a);
	sg__arena_reset(&a); /* on an empty arena: a no-op */
	sg__arena_fini(&a);
}

static void test_protobuf_allocator(void **state)
{
	(void)state;
	sg__arena a;
	sg__arena_init(&a, 0);
	ProtobufCAllocator *pa = sg__arena_allocator(&a);
	void *p = pa->alloc(pa->allocator_data, 100);
	assert_non_null(p);
	pa->free(pa->allocator_data, p); /* no-op: freed with the arena */
	sg__arena_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_alignment_and_distinct),
	        cmocka_unit_test(test_large_and_zero),
	        cmocka_unit_test(test_reset_keeps_first_chunk),
	        cmocka_unit_test(test_protobuf_allocator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
