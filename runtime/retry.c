/*
 * retry.c: which failures are retried, and the backoff with full jitter.
 */
#include "retry.h"

#include <math.h>
#include <time.h>

#define NS_PER_MS 1000000.0

bool sg__retry_status(const sg_retry_desc *r, grpc_status_code status)
{
	return status > GRPC_STATUS_OK && status < 32 && (r->statuses & (1u << status)) != 0;
}

int64_t sg__retry_backoff_cap_ns(const sg_retry_desc *r, uint32_t n)
{
	double ms = (double)r->initial_backoff_ms * pow(r->multiplier, n > 0 ? n - 1 : 0);

	if (!(ms <= (double)r->max_backoff_ms))
		ms = (double)r->max_backoff_ms;
	return (int64_t)(ms * NS_PER_MS);
}

bool sg__retry_backoff(const sg_retry_desc *r, uint32_t n, uint64_t random, int64_t now_ns,
                       int64_t deadline_ns, int64_t *wait_ns)
{
	int64_t cap = sg__retry_backoff_cap_ns(r, n);
	/* 53 random bits as a double in [0, 1): uniform, and never 1. */
	double u = (double)(random >> 11) * (1.0 / 9007199254740992.0);
	int64_t w = (int64_t)(u * (double)cap);

	if (w >= cap && cap > 0)
		w = cap - 1;
	if (now_ns >= deadline_ns || w >= deadline_ns - now_ns)
		return false;
	*wait_ns = w;
	return true;
}

/* splitmix64: small, fast and good enough for jitter. */
uint64_t sg__retry_random(void)
{
	static _Thread_local uint64_t state;
	uint64_t z;

	if (state == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
		        (uint64_t)(uintptr_t)&state;
	}
	z = (state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}
