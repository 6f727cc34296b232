/* trailer.c: the text form of the per-leg outcome sent in trailing metadata. */
#include "scatter/trailer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
        [GRPC_STATUS_OK] = "OK",
        [GRPC_STATUS_CANCELLED] = "CANCELLED",
        [GRPC_STATUS_UNKNOWN] = "UNKNOWN",
        [GRPC_STATUS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
        [GRPC_STATUS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
        [GRPC_STATUS_NOT_FOUND] = "NOT_FOUND",
        [GRPC_STATUS_ALREADY_EXISTS] = "ALREADY_EXISTS",
        [GRPC_STATUS_PERMISSION_DENIED] = "PERMISSION_DENIED",
        [GRPC_STATUS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
        [GRPC_STATUS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
        [GRPC_STATUS_ABORTED] = "ABORTED",
        [GRPC_STATUS_OUT_OF_RANGE] = "OUT_OF_RANGE",
        [GRPC_STATUS_UNIMPLEMENTED] = "UNIMPLEMENTED",
        [GRPC_STATUS_INTERNAL] = "INTERNAL",
        [GRPC_STATUS_UNAVAILABLE] = "UNAVAILABLE",
        [GRPC_STATUS_DATA_LOSS] = "DATA_LOSS",
        [GRPC_STATUS_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *sg_status_name(grpc_status_code code)
{
	if ((unsigned)code < N_STATUS && status_names[code] != NULL)
		return status_names[code];
	return "UNKNOWN";
}

sg_err sg_status_from_name(const char *name, grpc_status_code *out)
{
	if (name == NULL || out == NULL)
		return SG_EINVAL;
	for (size_t i = 0; i < N_STATUS; i++) {
		if (status_names[i] != NULL && strcmp(status_names[i], name) == 0) {
			*out = (grpc_status_code)i;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

size_t sg_legs_summary_format(const sg_legs_summary *s, char *buf, size_t size)
{
	int n = snprintf(buf, size,
	                 "total=%" PRIu32 " ok=%" PRIu32 " failed=%" PRIu32 " cut=%" PRIu32,
	                 s->total, s->ok, s->failed, s->cut);
	return n < 0 ? 0 : (size_t)n;
}

size_t sg_leg_outcome_format(const sg_leg_outcome *o, char *buf, size_t size)
{
	int n = snprintf(buf, size,
	                 "index=%" PRIu32 " name=%s target=%s status=%s latency_us=%" PRId64 "%s%s",
	                 o->index, o->name, o->target, sg_status_name(o->status), o->latency_us,
	                 o->note[0] != '\0' ? " note=" : "", o->note);
	return n < 0 ? 0 : (size_t)n;
}

/*
 * Splits "key=value key=value" in place-free fashion: finds `key=` at the start of the next
 * word and returns the value's span. *p advances past it. Keys must come in the documented
 * order; a trailer we wrote always has them so.
 */
static int next_field(const char **p, const char *key, const char **val, size_t *len)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	size_t klen = strlen(key);
	if (strncmp(s, key, klen) != 0 || s[klen] != '=')
		return -1;
	s += klen + 1;
	const char *end = strchr(s, ' ');
	if (end == NULL)
		end = s + strlen(s);
	*val = s;
	*len = (size_t)(end - s);
	*p = end;
	return 0;
}

static int parse_u32(const char *s, size_t len, uint32_t *out)
{
	char tmp[16];
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (tmp[i] < '0' || tmp[i] > '9')
			return -1;
	errno = 0;
	unsigned long v = strtoul(tmp, NULL, 10);
	if (errno != 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_i64(const char *s, size_t len, int64_t *out)
{
	char tmp[24];
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int at_end(const char *p)
{
	while (*p == ' ')
		p++;
	return *p == '\0';
}

sg_err sg_legs_summary_parse(const char *value, sg_legs_summary *out)
{
	if (value == NULL || out == NULL)
		return SG_EINVAL;
	const char *p = value, *v;
	size_t n;
	sg_legs_summary s;
	if (next_field(&p, "total", &v, &n) || parse_u32(v, n, &s.total) ||
	    next_field(&p, "ok", &v, &n) || parse_u32(v, n, &s.ok) ||
	    next_field(&p, "failed", &v, &n) || parse_u32(v, n, &s.failed))
		return SG_EINVAL;
	s.cut = 0; /* "total=4 ok=3 failed=1": a peer from before cut was counted apart */
	if (!at_end(p) && (next_field(&p, "cut", &v, &n) || parse_u32(v, n, &s.cut)))
		return SG_EINVAL;
	if (!at_end(p))
		return SG_EINVAL;
	*out = s;
	return SG_OK;
}

sg_err sg_leg_outcome_parse(const char *value, sg_leg_outcome *out)
{
	if (value == NULL || out == NULL)
		return SG_EINVAL;
	const char *p = value, *v;
	size_t n;
	sg_leg_outcome o;
	char status[32];
	if (next_field(&p, "index", &v, &n) || parse_u32(v, n, &o.index))
		return SG_EINVAL;
	o.name[0] = '\0';
	if (next_field(&p, "name", &v, &n) == 0) {
		if (n == 0 || n >= sizeof(o.name))
			return SG_EINVAL;
		memcpy(o.name, v, n);
		o.name[n] = '\0';
	}
	if (next_field(&p, "target", &v, &n) || n == 0 || n >= sizeof(o.target))
		return SG_EINVAL;
	memcpy(o.target, v, n);
	o.target[n] = '\0';
	if (next_field(&p, "status", &v, &n) || n == 0 || n >= sizeof(status))
		return SG_EINVAL;
	memcpy(status, v, n);
	status[n] = '\0';
	if (sg_status_from_name(status, &o.status) != SG_OK)
		return SG_EINVAL;
	if (next_field(&p, "latency_us", &v, &n) || parse_i64(v, n, &o.latency_us))
		return SG_EINVAL;
	o.note[0] = '\0';
	if (next_field(&p, "note", &v, &n) == 0) {
		if (n == 0 || n >= sizeof(o.note))
			return SG_EINVAL;
		memcpy(o.note, v, n);
		o.note[n] = '\0';
	}
	if (!at_end(p))
		return SG_EINVAL;
	*out = o;
	return SG_OK;
}
