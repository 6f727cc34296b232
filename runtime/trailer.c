/* trailer.c: the text form of the per-leg outcome sent in trailing metadata. */
#include "scatter/trailer.h"
#include "trailer_write.h"

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

/* A bounded writer with snprintf's contract, without its format parsing (these run for every
 * leg of every answer): writes what fits, always NUL-terminated when size > 0, and counts
 * everything, so a NULL/0 buffer measures. */
typedef struct trailer_writer {
	char *buf;
	size_t size;
	size_t len; /* what the whole text needs, without the NUL */
} trailer_writer;

static void tw_put(trailer_writer *w, const char *s, size_t n)
{
	size_t room = w->size > w->len + 1 ? w->size - 1 - w->len : 0;

	if (room > 0)
		memcpy(w->buf + w->len, s, n < room ? n : room);
	w->len += n;
}

static void tw_str(trailer_writer *w, const char *s, size_t max)
{
	tw_put(w, s, strnlen(s, max));
}

static void tw_u64(trailer_writer *w, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	tw_put(w, digits + sizeof(digits) - n, n);
}

static void tw_i64(trailer_writer *w, int64_t v)
{
	if (v < 0) {
		tw_put(w, "-", 1);
		tw_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		tw_u64(w, (uint64_t)v);
	}
}

#define TW_LIT(w, lit) tw_put((w), (lit), sizeof(lit) - 1)

static size_t tw_end(trailer_writer *w)
{
	if (w->size > 0)
		w->buf[w->len < w->size ? w->len : w->size - 1] = '\0';
	return w->len;
}

size_t sg_legs_summary_format(const sg_legs_summary *s, char *buf, size_t size)
{
	trailer_writer w = {.buf = buf, .size = size};

	TW_LIT(&w, "total=");
	tw_u64(&w, s->total);
	TW_LIT(&w, " ok=");
	tw_u64(&w, s->ok);
	TW_LIT(&w, " failed=");
	tw_u64(&w, s->failed);
	TW_LIT(&w, " cut=");
	tw_u64(&w, s->cut);
	if (s->omitted > 0) {
		TW_LIT(&w, " omitted=");
		tw_u64(&w, s->omitted);
	}
	return tw_end(&w);
}

size_t sg__trailer_select(const size_t *cost, const bool *ok, size_t n, size_t summary_cost,
                          size_t limit, bool *keep)
{
	size_t used = summary_cost, kept = 0;

	for (size_t i = 0; i < n; i++)
		used += cost[i];
	if (used <= limit) {
		for (size_t i = 0; i < n; i++)
			keep[i] = true;
		return n;
	}
	used = summary_cost;
	/* Two passes: the failures are what a reader of a partial answer needs first. */
	for (int want_ok = 0; want_ok <= 1; want_ok++) {
		for (size_t i = 0; i < n; i++) {
			if (ok[i] != (want_ok == 1))
				continue;
			keep[i] = used <= limit && cost[i] <= limit - used;
			if (keep[i]) {
				used += cost[i];
				kept++;
			}
		}
	}
	return kept;
}

size_t sg__leg_outcome_write(char *buf, size_t size, uint32_t index, const char *name,
                             const char *target, grpc_status_code status, int64_t latency_us,
                             const char *note)
{
	trailer_writer w = {.buf = buf, .size = size};
	const sg_leg_outcome *o = NULL;

	TW_LIT(&w, "index=");
	tw_u64(&w, index);
	TW_LIT(&w, " name=");
	tw_str(&w, name, sizeof(o->name) - 1);
	TW_LIT(&w, " target=");
	tw_str(&w, target, sizeof(o->target) - 1);
	TW_LIT(&w, " status=");
	tw_str(&w, sg_status_name(status), SIZE_MAX);
	TW_LIT(&w, " latency_us=");
	tw_i64(&w, latency_us);
	if (note != NULL && note[0] != '\0') {
		TW_LIT(&w, " note=");
		tw_str(&w, note, sizeof(o->note) - 1);
	}
	return tw_end(&w);
}

size_t sg_leg_outcome_format(const sg_leg_outcome *o, char *buf, size_t size)
{
	return sg__leg_outcome_write(buf, size, o->index, o->name, o->target, o->status,
	                             o->latency_us, o->note);
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
	s.omitted = 0; /* written only when not 0, and not at all by older peers */
	if (!at_end(p) && (next_field(&p, "omitted", &v, &n) || parse_u32(v, n, &s.omitted)))
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
