/*
 * merge_top_k.c: TOP_K keeps the best `limit` elements of a repeated message field across the
 * OK legs, by a numeric field of the element; ties keep leg order, then element order.
 */
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "merge.h"
#include "reflect.h"
#include "wire.h"

static sg_err top_k_plan(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessageDescriptor *elem;

	if (m->merge.n_fields != 1 || m->merge.fields == NULL)
		return sg__why(why, len, "top_k: exactly one field is needed, not %zu",
		               m->merge.n_fields);
	if ((f = sg__field_repeated_message(m->response, m->merge.fields[0])) == NULL)
		return sg__why(why, len, "top_k: field %u of %s is not a repeated message field",
		               (unsigned)m->merge.fields[0], m->response->name);
	p->fields[p->n_fields++] = f;
	elem = f->descriptor;
	if ((p->score = sg__field_numeric(elem, m->merge.score_field)) == NULL)
		return sg__why(why, len, "top_k: field %u of %s is not a numeric scalar",
		               (unsigned)m->merge.score_field, elem->name);
	if (m->merge.limit_field != 0) {
		p->limit_field = sg__field(m->request, m->merge.limit_field);
		if (p->limit_field == NULL || p->limit_field->label == PROTOBUF_C_LABEL_REPEATED ||
		    !sg__type_is_integer(p->limit_field->type))
			return sg__why(why, len, "top_k: field %u of %s is not an integer scalar",
			               (unsigned)m->merge.limit_field, m->request->name);
	} else if (m->merge.limit == 0) {
		return sg__why(why, len, "top_k: neither a limit nor a limit field");
	}
	/* Scores read off the wire: not for a score in a oneof (its storage is shared) nor for
	 * types the wire checker cannot judge as protobuf-c would. */
	p->lazy = (p->score->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) == 0 &&
	          sg__wire_lazy_ok(m->response);
	return SG_OK;
}

typedef struct topk_entry {
	double score;
	size_t seq; /* position across legs in leg order: ties keep it (a stable sort) */
	ProtobufCMessage *elem;
	sg__wire_elem wire; /* the lazy path's: the element still encoded */
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

typedef int (*topk_cmp_fn)(const void *, const void *);

/* Sifts heap[i] down a heap of n whose root sorts last under cmp (the worst entry kept). */
static void topk_sift_down(topk_entry *heap, size_t n, size_t i, topk_cmp_fn cmp)
{
	for (;;) {
		size_t worst = i, l = 2 * i + 1, r = l + 1;
		topk_entry t;

		if (l < n && cmp(&heap[l], &heap[worst]) > 0)
			worst = l;
		if (r < n && cmp(&heap[r], &heap[worst]) > 0)
			worst = r;
		if (worst == i)
			return;
		t = heap[i];
		heap[i] = heap[worst];
		heap[worst] = t;
		i = worst;
	}
}

/* Moves the `limit` entries of e[0..total) that sort first to e[0..limit), sorted. One pass over
 * a heap of `limit` whose root is the worst kept: O(total log limit) rather than sorting all of
 * them (a top 10 of 10 legs x 10 hits compares ~100 times, not ~700). cmp is a total order
 * (score, then position), so the result is exactly the first `limit` of a full sort. */
static void topk_select(topk_entry *e, size_t total, size_t limit, topk_cmp_fn cmp)
{
	if (limit < total) {
		for (size_t i = limit / 2; i-- > 0;)
			topk_sift_down(e, limit, i, cmp);
		for (size_t i = limit; i < total; i++) {
			if (cmp(&e[i], &e[0]) < 0) {
				e[0] = e[i];
				topk_sift_down(e, limit, 0, cmp);
			}
		}
	}
	qsort(e, limit, sizeof(*e), cmp);
}

/* The request's limit if it sets one, capped by the method's fixed limit; else the fixed
 * limit; 0 means no limit. */
static size_t topk_limit(const sg__merge_plan *p, const ProtobufCMessage *request)
{
	size_t fixed = p->method->merge.limit;
	double asked;

	if (p->limit_field == NULL || request == NULL)
		return fixed;
	asked = sg__field_number(request, p->limit_field);
	if (!(asked >= 1))
		return fixed;
	if (fixed != 0 && asked > (double)fixed)
		return fixed;
	return asked > (double)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)asked;
}

/* Both paths' start, once the elements are counted: the answer's field emptied, the limit, and
 * room for `total` entries and the winners. *e is NULL (with SG_OK) when there are none. */
static sg_err topk_prepare(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out,
                           size_t total, size_t *limit, topk_entry **e, ProtobufCMessage ***res)
{
	*e = NULL;
	*limit = topk_limit(p, in->request);
	if (*limit == 0 || *limit > total)
		*limit = total;
	sg__field_set_array(out, p->fields[0], NULL, 0);
	if (total == 0)
		return SG_OK;
	*e = sg__arena_alloc(in->arena, total * sizeof(**e));
	*res = sg__arena_alloc(in->arena, *limit * sizeof(**res));
	return *e == NULL || *res == NULL ? SG_ENOMEM : SG_OK;
}

/* TOP_K over encoded answers, their elements scored on arrival (sg__wire_check_scored): only
 * the `limit` winners are decoded. The same answer as the decoded path's for the same legs. */
static sg_err top_k_run_encoded(const sg__merge_plan *p, const sg__merge_in *in,
                                ProtobufCMessage *out)
{
	const ProtobufCFieldDescriptor *f = p->fields[0];
	bool asc = p->method->merge.order == SG_ORDER_ASC;
	size_t total = 0, at = 0, limit;
	ProtobufCMessage **res = NULL;
	topk_entry *e;
	sg_err rv;

	for (size_t j = 0; j < in->n_legs; j++)
		total += in->encoded[j].n_scored;
	if ((rv = topk_prepare(p, in, out, total, &limit, &e, &res)) != SG_OK || e == NULL)
		return rv;
	for (size_t j = 0; j < in->n_legs; j++) {
		const sg__merge_bytes *b = &in->encoded[j];

		for (size_t k = 0; k < b->n_scored; k++, at++)
			e[at] = (topk_entry){.score = sg__score_key(b->scored[k].score, asc),
			                     .seq = at,
			                     .wire = b->scored[k].elem};
	}
	topk_select(e, total, limit, asc ? topk_cmp_asc : topk_cmp_desc);
	for (size_t i = 0; i < limit; i++) {
		res[i] = protobuf_c_message_unpack(f->descriptor, sg__arena_allocator(in->arena),
		                                   e[i].wire.len, e[i].wire.data);
		if (res[i] == NULL) /* checked on arrival: only out of memory gets here */
			return SG_ENOMEM;
	}
	sg__field_set_array(out, f, res, limit);
	return SG_OK;
}

static sg_err top_k_run(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out)
{
	if (p->lazy && in->encoded != NULL)
		return top_k_run_encoded(p, in, out);

	const ProtobufCFieldDescriptor *f = p->fields[0];
	bool asc = p->method->merge.order == SG_ORDER_ASC;
	size_t total = 0, at = 0, limit;
	ProtobufCMessage **res = NULL;
	topk_entry *e;
	sg_err rv;

	for (size_t j = 0; j < in->n_legs; j++) {
		if (in->legs[j].response != NULL)
			total += sg__field_count(in->legs[j].response, f);
	}
	if ((rv = topk_prepare(p, in, out, total, &limit, &e, &res)) != SG_OK || e == NULL)
		return rv;
	for (size_t j = 0; j < in->n_legs; j++) {
		const ProtobufCMessage *r = in->legs[j].response;
		size_t cnt = r != NULL ? sg__field_count(r, f) : 0;
		ProtobufCMessage **arr = cnt > 0 ? sg__field_array(r, f) : NULL;

		for (size_t k = 0; k < cnt; k++, at++) {
			double s = sg__field_score(arr[k], p->score, asc);

			e[at] = (topk_entry){.score = s, .seq = at, .elem = arr[k]};
		}
	}
	topk_select(e, total, limit, asc ? topk_cmp_asc : topk_cmp_desc);
	for (size_t i = 0; i < limit; i++)
		res[i] = e[i].elem;
	sg__field_set_array(out, f, res, limit);
	return SG_OK;
}

const sg__merge_ops sg__merge_top_k = {
        .name = "top_k",
        .start = SG__MERGE_FROM_FIRST_OK,
        .plan = top_k_plan,
        .run = top_k_run,
};
