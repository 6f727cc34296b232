/*
 * merge.c: what every merge kind shares: the table per kind, the partial-result count fields,
 * where the answer starts, and packing it.
 *
 * The merged response is a shallow copy (or a fresh init) with merged fields replaced by arrays
 * in the call's arena: elements (strings, sub-messages) are shared with the legs' decoded
 * responses, never copied, and everything dies with the arena.
 */
#include "merge.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reflect.h"

const sg__merge_ops sg__merge_none = {
        .name = "none",
        .start = SG__MERGE_FROM_FIRST_OK,
};

/* Indexed by sg_merge_kind: adding a kind is adding its table here. */
static const sg__merge_ops *const merge_table[] = {
        [SG_MERGE_NONE] = &sg__merge_none,     [SG_MERGE_CONCAT] = &sg__merge_concat,
        [SG_MERGE_TOP_K] = &sg__merge_top_k,   [SG_MERGE_REDUCE] = &sg__merge_reduce,
        [SG_MERGE_UNION] = &sg__merge_union,   [SG_MERGE_COMPOSE] = &sg__merge_compose,
        [SG_MERGE_CUSTOM] = &sg__merge_custom,
};

static sg_err plan_count_field(const ProtobufCMessageDescriptor *resp, uint32_t n, const char *what,
                               const ProtobufCFieldDescriptor **out, char *why, size_t len)
{
	const ProtobufCFieldDescriptor *f;

	*out = NULL;
	if (n == 0)
		return SG_OK;
	if ((f = sg__field(resp, n)) == NULL)
		return sg__why(why, len, "partial.%s: %s has no field %u", what, resp->name,
		               (unsigned)n);
	if (f->label == PROTOBUF_C_LABEL_REPEATED || !sg__type_is_integer(f->type))
		return sg__why(why, len, "partial.%s: field %s of %s is not an integer scalar",
		               what, f->name, resp->name);
	*out = f;
	return SG_OK;
}

sg_err sg__merge_plan_init(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t why_len)
{
	size_t kind;
	sg_err rv;

	memset(p, 0, sizeof(*p));
	if (m == NULL || m->request == NULL || m->response == NULL)
		return sg__why(why, why_len, "method table without descriptors");
	p->method = m;
	if ((rv = plan_count_field(m->response, m->partial.total_field, "total_field",
	                           &p->total_field, why, why_len)) != SG_OK ||
	    (rv = plan_count_field(m->response, m->partial.ok_field, "ok_field", &p->ok_field, why,
	                           why_len)) != SG_OK ||
	    (rv = plan_count_field(m->response, m->partial.failed_field, "failed_field",
	                           &p->failed_field, why, why_len)) != SG_OK)
		return rv;
	kind = (size_t)m->merge.kind;
	if (kind >= sizeof(merge_table) / sizeof(merge_table[0]) || merge_table[kind] == NULL)
		return sg__why(why, why_len, "unknown merge kind %d", (int)m->merge.kind);
	p->ops = merge_table[kind];
	/* Heterogeneous legs answer with other types than the method's: only merges that start
	 * from an empty response can place them. */
	if (m->n_legs > 0 && p->ops->start == SG__MERGE_FROM_FIRST_OK)
		return sg__why(why, why_len, "%s: needs one backend method (group), not %zu legs",
		               p->ops->name, m->n_legs);
	return p->ops->plan != NULL ? p->ops->plan(p, m, why, why_len) : SG_OK;
}

void sg__merge_plan_fini(sg__merge_plan *p)
{
	free(p->reduce);
	free(p->into);
	p->reduce = NULL;
	p->into = NULL;
}

static void write_counts(const sg__merge_plan *p, ProtobufCMessage *m, const sg_legs_summary *c)
{
	if (p->total_field != NULL)
		sg__field_write_count(m, p->total_field, c->total);
	if (p->ok_field != NULL)
		sg__field_write_count(m, p->ok_field, c->ok);
	/* The declared field keeps its meaning, "did not answer OK": legs cut short too (the
	 * trailer tells the two apart). */
	if (p->failed_field != NULL)
		sg__field_write_count(m, p->failed_field, c->total - c->ok);
}

/* Encoded legs (a lazy plan): the first OK answer, decoded without the elements the merge sets
 * anyway, or NULL when no leg answered OK. */
static sg_err merge_first_encoded(const sg__merge_plan *p, const sg__merge_in *in,
                                  const ProtobufCMessage **first)
{
	const sg__merge_bytes *b;
	const uint8_t *data;
	size_t len, i = 0;
	sg_err rv;

	while (i < in->n_legs && in->legs[i].status != GRPC_STATUS_OK)
		i++;
	*first = NULL;
	if (i == in->n_legs)
		return SG_OK;
	b = &in->encoded[i];
	if ((rv = sg__wire_without(b->data, b->len, p->fields[0]->id, in->arena, &data, &len)) !=
	    SG_OK)
		return rv;
	*first = protobuf_c_message_unpack(p->method->response, sg__arena_allocator(in->arena), len,
	                                   data);
	return *first != NULL ? SG_OK : SG_ENOMEM; /* checked on arrival: memory */
}

sg_err sg__merge_run(const sg__merge_plan *p, const sg__merge_in *in, const sg_legs_summary *counts,
                     ProtobufCMessage **out)
{
	const ProtobufCMessageDescriptor *d;
	const ProtobufCMessage *first = NULL;
	ProtobufCMessage *m;
	sg_err rv;

	if (p == NULL || p->ops == NULL || in == NULL || in->arena == NULL || out == NULL ||
	    (in->legs == NULL && in->n_legs > 0))
		return SG_EINVAL;
	d = p->method->response;
	if (p->lazy && in->encoded != NULL) {
		if ((rv = merge_first_encoded(p, in, &first)) != SG_OK)
			return rv;
	} else {
		for (size_t i = 0; i < in->n_legs && first == NULL; i++)
			first = in->legs[i].response;
	}
	if (p->ops->start == SG__MERGE_FROM_FIRST_OK && first == NULL)
		return SG_EINVAL;
	if ((m = sg__arena_alloc(in->arena, d->sizeof_message)) == NULL)
		return SG_ENOMEM;
	if (p->ops->start == SG__MERGE_FROM_FIRST_OK)
		memcpy(m, first, d->sizeof_message);
	else
		protobuf_c_message_init(d, m);
	if (p->ops->run != NULL && (rv = p->ops->run(p, in, m)) != SG_OK)
		return rv;
	if (counts != NULL)
		write_counts(p, m, counts);
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
