/*
 * alloccount.c: libscatter-alloccount.so, an LD_PRELOAD shim counting heap allocations.
 *
 *   ALLOCCOUNT_FILE=/tmp/x LD_PRELOAD=.../libscatter-alloccount.so search-aggregator ...
 *
 * Interposes malloc, calloc, realloc, free and the memalign family, forwarding to glibc's
 * __libc_* entry points (no dlsym, so no recursion through dlsym's own allocations), and counts
 * them with relaxed atomics in a shared mapping of ALLOCCOUNT_FILE (alloccount.h) that
 * scatter-bench reads. C++ operator new (gRPC core, abseil) goes through malloc, so it counts.
 * Allocations before the constructor maps the file (the dynamic loader's, libc's start-up) go
 * to a private copy and are not seen: only differences over a window are meaningful anyway.
 *
 * Attribution, while the bench sets `sampling`: one allocation in sample_every takes a
 * backtrace() and charges the first frame outside the allocator (dladdr; gRPC's gpr_malloc in
 * libgpr counts as allocator) to its object. A thread-local guard keeps backtrace's and
 * dladdr's own allocations out of it. Sampling costs CPU: the bench's CPU figures of a counted
 * run are not the aggregator's normal cost.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloccount.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

#define EXPORT __attribute__((visibility("default")))
#define FRAMES 12

static alloccount_shared ac_private;
static alloccount_shared *ac = &ac_private;
static __thread int ac_in_sample __attribute__((tls_model("initial-exec")));

/* The objects whose frames are the allocator, not its caller. */
static int ac_is_allocator(const char *path)
{
	static const char *const skip[] = {"libc.so", "libstdc++",  "libgcc_s",
	                                   "libgpr",  "alloccount", "ld-linux"};
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		if (strstr(base, skip[i]) != NULL)
			return 1;
	}
	return 0;
}

static void ac_charge(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	while (atomic_exchange_explicit(&ac->obj_lock, 1, memory_order_acquire) != 0)
		;
	for (int i = 0; i < ALLOCCOUNT_OBJS; i++) {
		alloccount_obj *o = &ac->objs[i];

		if (o->name[0] == '\0') {
			strncpy(o->name, base, ALLOCCOUNT_NAME_MAX - 1);
		} else if (strncmp(o->name, base, ALLOCCOUNT_NAME_MAX - 1) != 0) {
			if (i < ALLOCCOUNT_OBJS - 1)
				continue;
		}
		atomic_fetch_add_explicit(&o->samples, 1, memory_order_relaxed);
		break; /* the last entry takes whatever does not fit */
	}
	atomic_store_explicit(&ac->obj_lock, 0, memory_order_release);
}

static void ac_sample(void)
{
	void *frames[FRAMES];
	int n;

	if (ac_in_sample)
		return;
	ac_in_sample = 1;
	n = backtrace(frames, FRAMES);
	for (int i = 1; i < n; i++) {
		Dl_info info;

		if (dladdr(frames[i], &info) == 0 || info.dli_fname == NULL)
			continue;
		if (!ac_is_allocator(info.dli_fname)) {
			ac_charge(info.dli_fname);
			atomic_fetch_add_explicit(&ac->samples, 1, memory_order_relaxed);
			break;
		}
	}
	ac_in_sample = 0;
}

static void ac_count(size_t bytes)
{
	uint64_t n = atomic_fetch_add_explicit(&ac->allocs, 1, memory_order_relaxed);

	atomic_fetch_add_explicit(&ac->bytes, bytes, memory_order_relaxed);
	if (atomic_load_explicit(&ac->sampling, memory_order_relaxed) && ac->sample_every > 0 &&
	    n % ac->sample_every == 0)
		ac_sample();
}

EXPORT void *malloc(size_t n)
{
	ac_count(n);
	return __libc_malloc(n);
}

EXPORT void *calloc(size_t m, size_t n)
{
	ac_count(m * n);
	return __libc_calloc(m, n);
}

EXPORT void *realloc(void *p, size_t n)
{
	if (p == NULL) {
		ac_count(n);
	} else if (n > 0) {
		atomic_fetch_add_explicit(&ac->reallocs, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&ac->bytes, n, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&ac->frees, 1, memory_order_relaxed);
	}
	return __libc_realloc(p, n);
}

EXPORT void free(void *p)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&ac->frees, 1, memory_order_relaxed);
	__libc_free(p);
}

EXPORT void *memalign(size_t align, size_t n)
{
	ac_count(n);
	return __libc_memalign(align, n);
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	ac_count(n);
	return __libc_memalign(align, n);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return 22; /* EINVAL */
	ac_count(n);
	if ((p = __libc_memalign(align, n)) == NULL)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

EXPORT void *valloc(size_t n)
{
	ac_count(n);
	return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

__attribute__((constructor)) static void ac_init(void)
{
	const char *path = getenv("ALLOCCOUNT_FILE");
	const char *every = getenv("ALLOCCOUNT_SAMPLE_EVERY");
	void *frames[2];
	void *m;
	int fd;

	ac_in_sample = 1;
	backtrace(frames, 2); /* loads libgcc_s now, not inside a sampled malloc */
	ac_in_sample = 0;
	if (path == NULL || (fd = open(path, O_RDWR | O_CREAT, 0600)) < 0)
		return;
	if (ftruncate(fd, sizeof(alloccount_shared)) != 0) {
		close(fd);
		return;
	}
	m = mmap(NULL, sizeof(alloccount_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	((alloccount_shared *)m)->sample_every =
	        every != NULL && atoi(every) > 0 ? (uint32_t)atoi(every) : 64;
	ac = m;
	atomic_store(&ac->magic, ALLOCCOUNT_MAGIC);
}
