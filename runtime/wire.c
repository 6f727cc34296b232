/*
 * wire.c: checking and reading protobuf wire format in place (see wire.h).
 *
 * The checker follows the acceptance rules of protobuf-c's unpacker, not the protobuf spec's
 * (they differ at the edges: a tag of more than 5 bytes, a length over INT_MAX, a bool in any
 * wire type);
 * tests/unit/wire_test.c holds it to protobuf_c_message_unpack's verdict on
 * generated and mutated input.
 */
#include "wire.h"

#include <limits.h>
#include <string.h>

#include "reflect.h"

/* Nesting the checker follows; sg__wire_lazy_ok refuses types that could go deeper. */
#define WIRE_MAX_DEPTH 16

enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2, WT_32BIT = 5 };

/* A tag as protobuf-c reads it: at most 5 bytes, the first with some field-number bits or a
 * continuation. Returns its length, 0 if malformed. */
static inline size_t wire_tag(const uint8_t *p, size_t len, uint32_t *field, unsigned *wt)
{
	size_t max = len < 5 ? len : 5;
	uint32_t tag = (p[0] & 0x7f) >> 3;
	unsigned shift = 4;

	if ((p[0] & 0xf8) == 0)
		return 0;
	*wt = p[0] & 7;
	if ((p[0] & 0x80) == 0) {
		*field = tag;
		return 1;
	}
	for (size_t i = 1; i < max; i++) {
		tag |= (uint32_t)(p[i] & 0x7f) << shift;
		shift += 7;
		if ((p[i] & 0x80) == 0) {
			*field = tag;
			return i + 1;
		}
	}
	return 0;
}

/* A varint of at most 10 bytes within len: its length, 0 if unterminated. */
static size_t wire_varint_len(const uint8_t *p, size_t len)
{
	size_t max = len < 10 ? len : 10;

	for (size_t i = 0; i < max; i++) {
		if ((p[i] & 0x80) == 0)
			return i + 1;
	}
	return 0;
}

static uint64_t wire_varint(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
	return v;
}

/* A length prefix (at most 5 bytes, at most INT_MAX) and its data within len: sets *hdr and
 * *n, returns false if malformed. */
static bool wire_len_prefix(const uint8_t *p, size_t len, size_t *hdr, size_t *n)
{
	size_t max = len < 5 ? len : 5, val = 0;

	for (size_t i = 0; i < max; i++) {
		val |= (size_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*hdr = i + 1;
			*n = val;
			return val <= INT_MAX && val <= len - *hdr;
		}
	}
	return false;
}

/* One field, as wire_next reads it: its number, wire type and value (the bytes after a length
 * prefix, else the varint's or the fixed-size value's own). */
typedef struct wire_fv {
	uint32_t number;
	unsigned wt;
	const uint8_t *v;
	size_t n;
} wire_fv;

/* Reads the field at data + *at into *fv and moves *at past it; false when it is malformed as
 * protobuf-c judges it (groups and unknown wire types included), *at then unchanged. */
static inline bool wire_next(const uint8_t *data, size_t len, size_t *at, wire_fv *fv)
{
	size_t used = wire_tag(data + *at, len - *at, &fv->number, &fv->wt), rem, hdr = 0;

	if (used == 0)
		return false;
	rem = len - *at - used;
	switch (fv->wt) {
	case WT_VARINT:
		if ((fv->n = wire_varint_len(data + *at + used, rem)) == 0)
			return false;
		break;
	case WT_64BIT:
	case WT_32BIT:
		fv->n = fv->wt == WT_64BIT ? 8 : 4;
		if (rem < fv->n)
			return false;
		break;
	case WT_LEN:
		if (!wire_len_prefix(data + *at + used, rem, &hdr, &fv->n))
			return false;
		break;
	default:
		return false; /* groups: protobuf-c refuses them */
	}
	fv->v = data + *at + used + hdr;
	*at += used + hdr + fv->n;
	return true;
}

/* The wire type a field of this type takes unpacked. */
static unsigned wire_type_of(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return WT_32BIT;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return WT_64BIT;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return WT_LEN;
	default:
		return WT_VARINT;
	}
}

/* A packed repeated field's data, as protobuf-c accepts it. */
static bool wire_check_packed(ProtobufCType t, const uint8_t *p, size_t len)
{
	size_t n;

	switch (wire_type_of(t)) {
	case WT_32BIT:
		return len % 4 == 0;
	case WT_64BIT:
		return len % 8 == 0;
	default:
		break;
	}
	/* Varints, bools included: each at most 10 bytes and ended. */
	for (size_t at = 0; at < len; at += n) {
		if ((n = wire_varint_len(p + at, len - at)) == 0)
			return false;
	}
	return true;
}

/* d's field `number`, or NULL: protobuf_c_message_descriptor_get_field without the call and the
 * binary search, for the one or two ranges of field numbers a message usually has. Each range
 * runs to the next one's orig_index; a sentinel range ends the array. */
static inline const ProtobufCFieldDescriptor *wire_field(const ProtobufCMessageDescriptor *d,
                                                         uint32_t number)
{
	const ProtobufCIntRange *r = d->field_ranges;

	for (unsigned i = 0; i < d->n_field_ranges; i++) {
		uint32_t start = (uint32_t)r[i].start_value,
		         n = r[i + 1].orig_index - r[i].orig_index;

		if (number >= start && number - start < n)
			return &d->fields[r[i].orig_index + (number - start)];
	}
	return NULL;
}

/* The raw bits of a scalar field's value as the wire holds it, widened to 64. */
static uint64_t wire_raw(const wire_fv *fv)
{
	uint32_t u32;
	uint64_t u64;

	if (fv->wt == WT_VARINT)
		return wire_varint(fv->v, fv->n);
	if (fv->wt == WT_32BIT) {
		memcpy(&u32, fv->v, 4);
		return u32;
	}
	memcpy(&u64, fv->v, 8);
	return u64;
}

/* Numeric field f's value as sg__field_number reads it from the decoded message: raw (its last
 * occurrence on the wire) when found, else the default protobuf_c_message_init writes
 * (proto2's, else 0; stored as the C type rather than as wire bits). */
static double wire_value(const ProtobufCFieldDescriptor *f, bool found, uint64_t raw)
{
	uint32_t u32 = (uint32_t)raw;
	int32_t i32;
	float fl;
	double d;

	if (!found)
		return f->default_value != NULL ? sg__number_at(f->type, f->default_value) : 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_FLOAT:
		memcpy(&fl, &u32, sizeof(fl));
		return fl;
	case PROTOBUF_C_TYPE_DOUBLE:
		memcpy(&d, &raw, sizeof(d));
		return d;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return (double)u32;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return (double)raw;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		memcpy(&i32, &u32, sizeof(i32));
		return i32;
	case PROTOBUF_C_TYPE_SINT32: /* zigzag */
		i32 = (int32_t)(u32 >> 1) ^ -(int32_t)(u32 & 1);
		return i32;
	case PROTOBUF_C_TYPE_SINT64:
		return (double)((int64_t)(raw >> 1) ^ -(int64_t)(raw & 1));
	default: /* INT64, SFIXED64 */
		return (double)(int64_t)raw;
	}
}

/* A numeric field to read while a message is checked: its last occurrence. */
typedef struct wire_probe {
	const ProtobufCFieldDescriptor *f;
	bool found;
	uint64_t raw;
} wire_probe;

/* What sg__wire_check_scored gathers while the top level is checked: pick's elements, each
 * checked with its score read on the way, in an array grown in the arena by doubling. */
typedef struct wire_collect {
	const sg__wire_pick *pick;
	sg__arena *arena;
	sg__wire_scored *v;
	size_t n, cap;
	bool oom;
} wire_collect;

static bool wire_check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                             int depth, wire_probe *probe, wire_collect *cx);

/* One known field of a message, by protobuf-c's rules: a packed run, a value of the field's
 * wire type (a bool of any), a message that checks in turn. */
static bool wire_check_field(const ProtobufCFieldDescriptor *f, const wire_fv *fv, int depth)
{
	if (fv->wt == WT_LEN && f->label == PROTOBUF_C_LABEL_REPEATED &&
	    wire_type_of(f->type) != WT_LEN)
		return wire_check_packed(f->type, fv->v, fv->n);
	if (fv->wt != wire_type_of(f->type) && f->type != PROTOBUF_C_TYPE_BOOL)
		return false; /* protobuf-c reads a bool from any wire type */
	return f->type != PROTOBUF_C_TYPE_MESSAGE ||
	       wire_check_depth(f->descriptor, fv->v, fv->n, depth + 1, NULL, NULL);
}

/* An element of the picked field: checked with its score read, then appended to cx. */
static bool wire_collect_elem(wire_collect *cx, const ProtobufCFieldDescriptor *f,
                              const wire_fv *fv)
{
	wire_probe probe = {.f = cx->pick->score};

	if (!wire_check_depth(f->descriptor, fv->v, fv->n, 1, &probe, NULL))
		return false;
	if (cx->n == cx->cap) {
		size_t want = cx->cap == 0 ? 16 : 2 * cx->cap;
		sg__wire_scored *v = sg__arena_alloc(cx->arena, want * sizeof(*v));

		if (v == NULL) {
			cx->oom = true;
			return false;
		}
		if (cx->n > 0)
			memcpy(v, cx->v, cx->n * sizeof(*v));
		cx->v = v;
		cx->cap = want;
	}
	cx->v[cx->n++] =
	        (sg__wire_scored){wire_value(probe.f, probe.found, probe.raw), {fv->v, fv->n}};
	return true;
}

/* Checks message d in p[0..len) at nesting depth; reads probe's field on the way (probe may be
 * NULL), and at the top level collects cx's elements (cx may be NULL). */
static bool wire_check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                             int depth, wire_probe *probe, wire_collect *cx)
{
	size_t at = 0;

	if (depth > WIRE_MAX_DEPTH)
		return false;
	while (at < len) {
		const ProtobufCFieldDescriptor *f;
		wire_fv fv;

		if (!wire_next(p, len, &at, &fv))
			return false;
		if ((f = wire_field(d, fv.number)) == NULL)
			continue; /* unknown: kept by protobuf-c, whatever it holds */
		if (cx != NULL && fv.number == cx->pick->field && fv.wt == WT_LEN &&
		    f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (!wire_collect_elem(cx, f, &fv))
				return false;
			continue;
		}
		if (!wire_check_field(f, &fv, depth))
			return false;
		if (probe != NULL && f == probe->f) {
			probe->raw = wire_raw(&fv);
			probe->found = true;
		}
	}
	return true;
}

bool sg__wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len)
{
	return d != NULL && (len == 0 || data != NULL) &&
	       wire_check_depth(d, data, len, 0, NULL, NULL);
}

sg_err sg__wire_check_scored(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                             const sg__wire_pick *pick, sg__arena *a, sg__wire_scored **out,
                             size_t *n)
{
	wire_collect cx = {.pick = pick, .arena = a};
	bool ok;

	*out = NULL;
	*n = 0;
	if (d == NULL || (len > 0 && data == NULL))
		return SG_EINVAL;
	ok = wire_check_depth(d, data, len, 0, NULL, &cx);
	if (!ok)
		return cx.oom ? SG_ENOMEM : SG_EDECODE;
	*out = cx.v;
	*n = cx.n;
	return SG_OK;
}

sg_err sg__wire_without(const uint8_t *data, size_t len, uint32_t field, sg__arena *a,
                        const uint8_t **out, size_t *out_len)
{
	size_t at = 0, start = 0, n = 0;
	uint8_t *copy = NULL;
	wire_fv fv;

	*out = data;
	*out_len = len;
	while (at < len) {
		start = at;
		if (!wire_next(data, len, &at, &fv))
			break;
		if (fv.number == field) {
			if (copy == NULL) {
				if ((copy = sg__arena_alloc(a, len)) == NULL)
					return SG_ENOMEM;
				memcpy(copy, data, start);
				n = start;
			}
		} else if (copy != NULL) {
			memcpy(copy + n, data + start, at - start);
			n += at - start;
		}
	}
	if (copy != NULL) {
		*out = copy;
		*out_len = n;
	}
	return SG_OK;
}

static bool wire_lazy_ok_depth(const ProtobufCMessageDescriptor *d, int depth)
{
	if (depth > WIRE_MAX_DEPTH)
		return false;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REQUIRED)
			return false;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !wire_lazy_ok_depth(f->descriptor, depth + 1))
			return false;
	}
	return true;
}

bool sg__wire_lazy_ok(const ProtobufCMessageDescriptor *d)
{
	return d != NULL && wire_lazy_ok_depth(d, 0);
}
