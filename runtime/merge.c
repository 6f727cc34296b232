/*
 * merge.c: generic merges over protobuf-c reflection.
 *
 * The merged response is a shallow copy of the first OK leg's response with the merged fields
 * replaced by arrays in the call's arena: elements (strings, sub-messages) are shared with the
 * legs' decoded responses, never copied, and everything dies with the arena.
 */
#include "merge.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool type_is_integer(ProtobufCType t)
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

static bool type_is_number(ProtobufCType t)
{
	return type_is_integer(t) || t == PROTOBUF_C_TYPE_FLOAT || t == PROTOBUF_C_TYPE_DOUBLE;
}

/* Size of one element of a repeated field's array, as protobuf-c lays it out. */
static size_t elt_size(ProtobufCType t)
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

static double read_number(const void *msg, const ProtobufCFieldDescriptor *f)
{
	const char *p = (const char *)msg + f->offset;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	float fl;
	double d;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		memcpy(&i32, p, sizeof(i32));
		return i32;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		memcpy(&u32, p, sizeof(u32));
		return u32;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		memcpy(&i64, p, sizeof(i64));
		return (double)i64;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		memcpy(&u64, p, sizeof(u64));
		return (double)u64;
	case PROTOBUF_C_TYPE_FLOAT:
		memcpy(&fl, p, sizeof(fl));
		return fl;
	case PROTOBUF_C_TYPE_DOUBLE:
		memcpy(&d, p, sizeof(d));
		return d;
	default:
		return 0;
	}
}

/* Marks an optional or oneof field present, as protobuf-c's packer expects. */
static void set_present(void *msg, const ProtobufCFieldDescriptor *f)
{
	char *base = msg;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t id = f->id;
		memcpy(base + f->quantifier_offset, &id, sizeof(id));
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0) {
		protobuf_c_boolean yes = 1;
		memcpy(base + f->quantifier_offset, &yes, sizeof(yes));
	}
}

static void write_count(void *msg, const ProtobufCFieldDescriptor *f, uint32_t v)
{
	char *p = (char *)msg + f->offset;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t w = v;
		memcpy(p, &w, sizeof(w));
		break;
	}
	default:
		memcpy(p, &v, sizeof(v)); /* every 32-bit integer type holds a count as is */
		break;
	}
	set_present(msg, f);
}

/* ---- plan ------------------------------------------------------------------------------ */

static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *d, uint32_t n)
{
	return n == 0 ? NULL : protobuf_c_message_descriptor_get_field(d, (unsigned)n);
}

/* Writes the reason for a table that does not fit and returns SG_ECONFIG. */
__attribute__((format(printf, 3, 4))) static sg_err why_fail(char *why, size_t len, const char *fmt,
                                                             ...)
{
	if (why != NULL && len > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return SG_ECONFIG;
}

static sg_err plan_count_field(const ProtobufCMessageDescriptor *resp, uint32_t n, const char *what,
                               const ProtobufCFieldDescriptor **out, char *why, size_t len)
{
	*out = NULL;
	if (n == 0)
		return SG_OK;
	const ProtobufCFieldDescriptor *f = field_of(resp, n);
	if (f == NULL)
		return why_fail(why, len, "partial.%s: %s has no field %u", what, resp->name,
		                (unsigned)n);
	if (f->label == PROTOBUF_C_LABEL_REPEATED || !type_is_integer(f->type))
		return why_fail(why, len, "partial.%s: field %s of %s is not an integer scalar",
		                what, f->name, resp->name);
	*out = f;
	return SG_OK;
}

static sg_err plan_concat(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	if (m->merge.n_fields == 0 || m->merge.n_fields > SG_MERGE_MAX_FIELDS ||
	    m->merge.fields == NULL)
		return why_fail(why, len, "concat: between 1 and %d fields are needed, not %zu",
		                SG_MERGE_MAX_FIELDS, m->merge.n_fields);
	for (size_t i = 0; i < m->merge.n_fields; i++) {
		const ProtobufCFieldDescriptor *f = field_of(m->response, m->merge.fields[i]);
		if (f == NULL)
			return why_fail(why, len, "concat: %s has no field %u", m->response->name,
			                (unsigned)m->merge.fields[i]);
		if (f->label != PROTOBUF_C_LABEL_REPEATED)
			return why_fail(why, len, "concat: field %s of %s is not repeated", f->name,
			                m->response->name);
		p->fields[p->n_fields++] = f;
	}
	return SG_OK;
}

static sg_err plan_top_k(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	if (m->merge.n_fields != 1 || m->merge.fields == NULL)
		return why_fail(why, len, "top_k: exactly one field is needed, not %zu",
		                m->merge.n_fields);
	const ProtobufCFieldDescriptor *f = field_of(m->response, m->merge.fields[0]);
	if (f == NULL || f->label != PROTOBUF_C_LABEL_REPEATED ||
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		return why_fail(why, len, "top_k: field %u of %s is not a repeated message field",
		                (unsigned)m->merge.fields[0], m->response->name);
	p->fields[p->n_fields++] = f;
	const ProtobufCMessageDescriptor *elem = f->descriptor;
	p->score = field_of(elem, m->merge.score_field);
	if (p->score == NULL || p->score->label == PROTOBUF_C_LABEL_REPEATED ||
	    !type_is_number(p->score->type))
		return why_fail(why, len, "top_k: field %u of %s is not a numeric scalar",
		                (unsigned)m->merge.score_field, elem->name);
	if (m->merge.limit_field != 0) {
		p->limit_field = field_of(m->request, m->merge.limit_field);
		if (p->limit_field == NULL || p->limit_field->label == PROTOBUF_C_LABEL_REPEATED ||
		    !type_is_integer(p->limit_field->type))
			return why_fail(why, len, "top_k: field %u of %s is not an integer scalar",
			                (unsigned)m->merge.limit_field, m->request->name);
	} else if (m->merge.limit == 0) {
		return why_fail(why, len, "top_k: neither a limit nor a limit field");
	}
	return SG_OK;
}

sg_err sg__merge_plan_init(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t why_len)
{
	memset(p, 0, sizeof(*p));
	if (m == NULL || m->request == NULL || m->response == NULL)
		return why_fail(why, why_len, "method table without descriptors");
	p->method = m;
	sg_err rv;
	if ((rv = plan_count_field(m->response, m->partial.total_field, "total_field",
	                           &p->total_field, why, why_len)) != SG_OK ||
	    (rv = plan_count_field(m->response, m->partial.ok_field, "ok_field", &p->ok_field, why,
	                           why_len)) != SG_OK ||
	    (rv = plan_count_field(m->response, m->partial.failed_field, "failed_field",
	                           &p->failed_field, why, why_len)) != SG_OK)
		return rv;
	switch (m->merge.kind) {
	case SG_MERGE_NONE:
		return SG_OK;
	case SG_MERGE_CONCAT:
		return plan_concat(p, m, why, why_len);
	case SG_MERGE_TOP_K:
		return plan_top_k(p, m, why, why_len);
	case SG_MERGE_REDUCE:
	case SG_MERGE_UNION:
	case SG_MERGE_COMPOSE:
	case SG_MERGE_CUSTOM:
		break; /* not implemented yet */
	}
	return why_fail(why, why_len, "unknown merge kind %d", (int)m->merge.kind);
}

/* ---- run ------------------------------------------------------------------------------- */

static size_t *count_of(void *msg, const ProtobufCFieldDescriptor *f)
{
	return (size_t *)((char *)msg + f->quantifier_offset);
}

static void **array_of(void *msg, const ProtobufCFieldDescriptor *f)
{
	return (void **)((char *)msg + f->offset);
}

static sg_err run_concat(const sg__merge_plan *p, const ProtobufCMessage *const *in, size_t n,
                         void *out, sg__arena *a)
{
	for (size_t i = 0; i < p->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = p->fields[i];
		size_t esz = elt_size(f->type), total = 0;
		for (size_t j = 0; j < n; j++)
			total += *count_of((void *)in[j], f);
		char *arr = total ? sg__arena_alloc(a, total * esz) : NULL;
		if (total && arr == NULL)
			return SG_ENOMEM;
		size_t at = 0;
		for (size_t j = 0; j < n; j++) {
			size_t cnt = *count_of((void *)in[j], f);
			if (cnt) {
				memcpy(arr + at * esz, *array_of((void *)in[j], f), cnt * esz);
				at += cnt;
			}
		}
		*count_of(out, f) = total;
		*array_of(out, f) = arr;
	}
	return SG_OK;
}

typedef struct topk_entry {
	double score;
	size_t seq; /* position across legs in leg order: ties keep it (a stable sort) */
	ProtobufCMessage *elem;
} topk_entry;

static int topk_cmp_desc(const void *x, const void *y)
{
	const topk_entry *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int topk_cmp_asc(const void *x, const void *y)
{
	const topk_entry *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The request's limit if it sets one, capped by the method's fixed limit; else the fixed
 * limit; 0 means no limit. */
static size_t topk_limit(const sg__merge_plan *p, const ProtobufCMessage *request)
{
	size_t fixed = p->method->merge.limit;
	if (p->limit_field == NULL || request == NULL)
		return fixed;
	double asked = read_number(request, p->limit_field);
	if (!(asked >= 1))
		return fixed;
	if (fixed != 0 && asked > (double)fixed)
		return fixed;
	return asked > (double)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)asked;
}

static sg_err run_top_k(const sg__merge_plan *p, const ProtobufCMessage *request,
                        const ProtobufCMessage *const *in, size_t n, void *out, sg__arena *a)
{
	const ProtobufCFieldDescriptor *f = p->fields[0];
	size_t total = 0;
	for (size_t j = 0; j < n; j++)
		total += *count_of((void *)in[j], f);
	size_t limit = topk_limit(p, request);
	if (limit == 0 || limit > total)
		limit = total;
	*count_of(out, f) = limit;
	*array_of(out, f) = NULL;
	if (total == 0)
		return SG_OK;

	topk_entry *e = sg__arena_alloc(a, total * sizeof(*e));
	ProtobufCMessage **res = sg__arena_alloc(a, limit * sizeof(*res));
	if (e == NULL || res == NULL)
		return SG_ENOMEM;
	size_t at = 0;
	for (size_t j = 0; j < n; j++) {
		size_t cnt = *count_of((void *)in[j], f);
		ProtobufCMessage **arr = *(ProtobufCMessage ***)array_of((void *)in[j], f);
		for (size_t k = 0; k < cnt; k++, at++) {
			double s = read_number(arr[k], p->score);
			/* NaN sorts last in either order rather than poisoning the comparison. */
			if (isnan(s))
				s = p->method->merge.order == SG_ORDER_ASC ? INFINITY : -INFINITY;
			e[at] = (topk_entry){.score = s, .seq = at, .elem = arr[k]};
		}
	}
	qsort(e, total, sizeof(*e),
	      p->method->merge.order == SG_ORDER_ASC ? topk_cmp_asc : topk_cmp_desc);
	for (size_t i = 0; i < limit; i++)
		res[i] = e[i].elem;
	*array_of(out, f) = res;
	return SG_OK;
}

sg_err sg__merge_run(const sg__merge_plan *p, const ProtobufCMessage *request,
                     const ProtobufCMessage *const *responses, size_t n,
                     const sg_legs_summary *counts, sg__arena *a, ProtobufCMessage **out)
{
	if (p == NULL || responses == NULL || n == 0 || a == NULL || out == NULL)
		return SG_EINVAL;
	const ProtobufCMessageDescriptor *d = p->method->response;
	ProtobufCMessage *m = sg__arena_alloc(a, d->sizeof_message);
	if (m == NULL)
		return SG_ENOMEM;
	memcpy(m, responses[0], d->sizeof_message);

	sg_err rv = SG_OK;
	switch (p->method->merge.kind) {
	case SG_MERGE_NONE:
		break;
	case SG_MERGE_CONCAT:
		rv = run_concat(p, responses, n, m, a);
		break;
	case SG_MERGE_TOP_K:
		rv = run_top_k(p, request, responses, n, m, a);
		break;
	case SG_MERGE_REDUCE:
	case SG_MERGE_UNION:
	case SG_MERGE_COMPOSE:
	case SG_MERGE_CUSTOM:
		rv = SG_ECONFIG; /* refused by sg__merge_plan_init */
		break;
	}
	if (rv != SG_OK)
		return rv;
	if (counts != NULL) {
		if (p->total_field)
			write_count(m, p->total_field, counts->total);
		if (p->ok_field)
			write_count(m, p->ok_field, counts->ok);
		if (p->failed_field)
			write_count(m, p->failed_field, counts->failed);
	}
	*out = m;
	return SG_OK;
}

sg_err sg__pack(const ProtobufCMessage *msg, sg__arena *a, uint8_t **bytes, size_t *len)
{
	size_t size = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = sg__arena_alloc(a, size);
	if (buf == NULL)
		return SG_ENOMEM;
	if (protobuf_c_message_pack(msg, buf) != size)
		return SG_EENCODE;
	*bytes = buf;
	*len = size;
	return SG_OK;
}
