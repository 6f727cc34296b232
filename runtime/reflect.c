/*
 * reflect.c: one field of a protobuf-c message, through its descriptor.
 */
#include "reflect.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool sg__type_is_integer(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return true;
	default:
		return false;
	}
}

bool sg__type_is_number(ProtobufCType t)
{
	return sg__type_is_integer(t) || t == PROTOBUF_C_TYPE_FLOAT || t == PROTOBUF_C_TYPE_DOUBLE;
}

bool sg__type_is_unsigned(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32 ||
	       t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64;
}

size_t sg__type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	}
	return 0;
}

const ProtobufCFieldDescriptor *sg__field(const ProtobufCMessageDescriptor *d, uint32_t number)
{
	return number == 0 || d == NULL
	               ? NULL
	               : protobuf_c_message_descriptor_get_field(d, (unsigned)number);
}

const ProtobufCFieldDescriptor *sg__field_repeated_message(const ProtobufCMessageDescriptor *d,
                                                           uint32_t number)
{
	const ProtobufCFieldDescriptor *f = sg__field(d, number);

	return f != NULL && f->label == PROTOBUF_C_LABEL_REPEATED &&
	                       f->type == PROTOBUF_C_TYPE_MESSAGE
	               ? f
	               : NULL;
}

const ProtobufCFieldDescriptor *sg__field_numeric(const ProtobufCMessageDescriptor *d,
                                                  uint32_t number)
{
	const ProtobufCFieldDescriptor *f = sg__field(d, number);

	return f != NULL && f->label != PROTOBUF_C_LABEL_REPEATED && sg__type_is_number(f->type)
	               ? f
	               : NULL;
}

double sg__score_key(double s, bool asc)
{
	return isnan(s) ? (asc ? INFINITY : -INFINITY) : s;
}

double sg__field_score(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, bool asc)
{
	return sg__score_key(sg__field_number(msg, f), asc);
}

bool sg__field_is_scalar(const ProtobufCFieldDescriptor *f)
{
	return f != NULL && f->label != PROTOBUF_C_LABEL_REPEATED &&
	       f->type != PROTOBUF_C_TYPE_MESSAGE;
}

void *sg__field_ptr(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (char *)msg + f->offset;
}

const void *sg__field_cptr(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (const char *)msg + f->offset;
}

size_t sg__field_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	size_t n;

	memcpy(&n, (const char *)msg + f->quantifier_offset, sizeof(n));
	return n;
}

void *sg__field_array(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	void *arr;

	memcpy(&arr, (const char *)msg + f->offset, sizeof(arr));
	return arr;
}

void sg__field_set_array(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, void *arr,
                         size_t n)
{
	memcpy((char *)msg + f->quantifier_offset, &n, sizeof(n));
	memcpy((char *)msg + f->offset, &arr, sizeof(arr));
}

static bool is_pointer_type(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_STRING || t == PROTOBUF_C_TYPE_MESSAGE;
}

static void *read_ptr(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	void *p;

	memcpy(&p, sg__field_cptr(msg, f), sizeof(p));
	return p;
}

bool sg__field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t which;

		memcpy(&which, base + f->quantifier_offset, sizeof(which));
		return which == f->id;
	}
	if (is_pointer_type(f->type) &&
	    (f->label == PROTOBUF_C_LABEL_OPTIONAL || f->type == PROTOBUF_C_TYPE_MESSAGE))
		return read_ptr(msg, f) != NULL;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0) {
		protobuf_c_boolean has;

		memcpy(&has, base + f->quantifier_offset, sizeof(has));
		return has != 0;
	}
	return true;
}

void sg__field_set_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	char *base = (char *)msg;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t id = f->id;

		memcpy(base + f->quantifier_offset, &id, sizeof(id));
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
	           !is_pointer_type(f->type)) {
		protobuf_c_boolean yes = 1;

		memcpy(base + f->quantifier_offset, &yes, sizeof(yes));
	}
}

bool sg__field_empty(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *p = sg__field_cptr(msg, f);

	if (!sg__field_present(msg, f))
		return true;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = read_ptr(msg, f);
		return s == NULL || s[0] == '\0';
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData b;
		memcpy(&b, p, sizeof(b));
		return b.len == 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return read_ptr(msg, f) == NULL;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return sg__field_number(msg, f) == 0;
	default:
		return sg__field_u64(msg, f) == 0;
	}
}

double sg__number_at(ProtobufCType t, const void *p)
{
	protobuf_c_boolean b;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	float fl;
	double d;

	switch (t) {
	case PROTOBUF_C_TYPE_FLOAT:
		memcpy(&fl, p, sizeof(fl));
		return fl;
	case PROTOBUF_C_TYPE_DOUBLE:
		memcpy(&d, p, sizeof(d));
		return d;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		memcpy(&u32, p, sizeof(u32));
		return u32;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		memcpy(&i32, p, sizeof(i32));
		return i32;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		memcpy(&u64, p, sizeof(u64));
		return (double)u64;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		memcpy(&i64, p, sizeof(i64));
		return (double)i64;
	case PROTOBUF_C_TYPE_BOOL:
		memcpy(&b, p, sizeof(b));
		return b != 0;
	default: /* strings, bytes, messages */
		return 0;
	}
}

double sg__field_number(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return sg__number_at(f->type, sg__field_cptr(msg, f));
}

uint64_t sg__field_u64(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *p = sg__field_cptr(msg, f);
	int32_t i32;
	uint32_t u32;
	uint64_t u64;
	protobuf_c_boolean b;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		memcpy(&i32, p, sizeof(i32));
		return (uint64_t)(int64_t)i32;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		memcpy(&u32, p, sizeof(u32));
		return u32;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		memcpy(&u64, p, sizeof(u64));
		return u64;
	case PROTOBUF_C_TYPE_BOOL:
		memcpy(&b, p, sizeof(b));
		return b != 0;
	default:
		return 0;
	}
}

void sg__field_write_count(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, uint32_t v)
{
	void *p = sg__field_ptr(msg, f);

	if (sg__type_size(f->type) == 8) {
		uint64_t w = v;
		memcpy(p, &w, sizeof(w));
	} else {
		memcpy(p, &v, sizeof(v)); /* every 32-bit integer type holds a count as is */
	}
	sg__field_set_present(msg, f);
}

static bool bytes_equal(const void *a, const void *b)
{
	ProtobufCBinaryData x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
}

bool sg__field_equal(const ProtobufCMessage *a, const ProtobufCMessage *b,
                     const ProtobufCFieldDescriptor *f)
{
	const void *pa = sg__field_cptr(a, f), *pb = sg__field_cptr(b, f);

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *x = read_ptr(a, f), *y = read_ptr(b, f);
		return strcmp(x != NULL ? x : "", y != NULL ? y : "") == 0;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_equal(pa, pb);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return sg__field_number(a, f) == sg__field_number(b, f);
	default:
		return sg__field_u64(a, f) == sg__field_u64(b, f);
	}
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t sg__field_hash(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const uint64_t seed = 0xcbf29ce484222325ULL;
	ProtobufCBinaryData b;
	uint64_t v;
	double d;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = read_ptr(msg, f);
		return s != NULL ? fnv1a(seed, s, strlen(s)) : seed;
	}
	case PROTOBUF_C_TYPE_BYTES:
		memcpy(&b, sg__field_cptr(msg, f), sizeof(b));
		return b.len > 0 ? fnv1a(seed, b.data, b.len) : seed;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		d = sg__field_number(msg, f);
		if (d == 0)
			d = 0; /* -0.0 equals 0.0: one hash */
		return fnv1a(seed, &d, sizeof(d));
	default:
		v = sg__field_u64(msg, f);
		return fnv1a(seed, &v, sizeof(v));
	}
}

bool sg__field_compatible(const ProtobufCFieldDescriptor *df, const ProtobufCFieldDescriptor *sf)
{
	if (df == NULL || sf == NULL || df->type != sf->type)
		return false;
	if ((df->label == PROTOBUF_C_LABEL_REPEATED) != (sf->label == PROTOBUF_C_LABEL_REPEATED))
		return false;
	if (df->type == PROTOBUF_C_TYPE_MESSAGE || df->type == PROTOBUF_C_TYPE_ENUM)
		return df->descriptor == sf->descriptor;
	return true;
}

void sg__field_copy(ProtobufCMessage *dst, const ProtobufCFieldDescriptor *df,
                    const ProtobufCMessage *src, const ProtobufCFieldDescriptor *sf)
{
	if (df->label == PROTOBUF_C_LABEL_REPEATED) {
		sg__field_set_array(dst, df, sg__field_array(src, sf), sg__field_count(src, sf));
		return;
	}
	/* An absent source leaves the destination as init made it. */
	if (!sg__field_present(src, sf))
		return;
	memcpy(sg__field_ptr(dst, df), sg__field_cptr(src, sf), sg__type_size(df->type));
	sg__field_set_present(dst, df);
}

int sg__field_format(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, char *buf,
                     size_t size)
{
	ProtobufCBinaryData b;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = read_ptr(msg, f);
		return snprintf(buf, size, "\"%.32s\"", s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES:
		memcpy(&b, sg__field_cptr(msg, f), sizeof(b));
		return snprintf(buf, size, "%zu bytes", b.len);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return snprintf(buf, size, "%g", sg__field_number(msg, f));
	case PROTOBUF_C_TYPE_MESSAGE:
		return snprintf(buf, size, "a message");
	default:
		if (sg__type_is_unsigned(f->type) || f->type == PROTOBUF_C_TYPE_BOOL)
			return snprintf(buf, size, "%llu",
			                (unsigned long long)sg__field_u64(msg, f));
		return snprintf(buf, size, "%lld", (long long)(int64_t)sg__field_u64(msg, f));
	}
}
