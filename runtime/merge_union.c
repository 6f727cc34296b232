/*
 * merge_union.c: UNION keeps one element per key of a repeated message field across the OK
 * legs: the first copy in leg order, or with a score field the best copy (highest for DESC,
 * lowest for ASC; ties keep the first). The output lists keys in the order they were first
 * seen, whichever copy won.
 *
 * Duplicates are found with an open-addressing hash table in the call's arena: linear in the
 * number of elements, no malloc.
 */
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "merge.h"
#include "reflect.h"

static sg_err union_plan(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessageDescriptor *elem;

	if (m->merge.n_fields != 1 || m->merge.fields == NULL)
		return sg__why(why, len, "union: exactly one field is needed, not %zu",
		               m->merge.n_fields);
	if ((f = sg__field_repeated_message(m->response, m->merge.fields[0])) == NULL)
		return sg__why(why, len, "union: field %u of %s is not a repeated message field",
		               (unsigned)m->merge.fields[0], m->response->name);
	p->fields[p->n_fields++] = f;
	elem = f->descriptor;
	p->key = sg__field(elem, m->merge.key_field);
	if (p->key == NULL || p->key->label == PROTOBUF_C_LABEL_REPEATED ||
	    (p->key->type != PROTOBUF_C_TYPE_STRING && !sg__type_is_integer(p->key->type)))
		return sg__why(why, len, "union: key field %u of %s is not a string or integer",
		               (unsigned)m->merge.key_field, elem->name);
	if (m->merge.score_field != 0) {
		if ((p->score = sg__field_numeric(elem, m->merge.score_field)) == NULL)
			return sg__why(why, len, "union: field %u of %s is not a numeric scalar",
			               (unsigned)m->merge.score_field, elem->name);
	}
	return SG_OK;
}

static sg_err union_run(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out)
{
	const ProtobufCFieldDescriptor *f = p->fields[0];
	bool asc = p->method->merge.order == SG_ORDER_ASC;
	size_t total = 0, n = 0, cap = 16;
	ProtobufCMessage **res;
	size_t *slots; /* index into res + 1; 0: empty */

	for (size_t j = 0; j < in->n_legs; j++) {
		if (in->legs[j].response != NULL)
			total += sg__field_count(in->legs[j].response, f);
	}
	sg__field_set_array(out, f, NULL, 0);
	if (total == 0)
		return SG_OK;
	while (cap < 2 * total)
		cap *= 2;
	res = sg__arena_alloc(in->arena, total * sizeof(*res));
	slots = sg__arena_alloc(in->arena, cap * sizeof(*slots));
	if (res == NULL || slots == NULL)
		return SG_ENOMEM;
	memset(slots, 0, cap * sizeof(*slots));
	for (size_t j = 0; j < in->n_legs; j++) {
		const ProtobufCMessage *r = in->legs[j].response;
		size_t cnt = r != NULL ? sg__field_count(r, f) : 0;
		ProtobufCMessage **arr = cnt > 0 ? sg__field_array(r, f) : NULL;

		for (size_t k = 0; k < cnt; k++) {
			ProtobufCMessage *e = arr[k];
			size_t h = (size_t)sg__field_hash(e, p->key) & (cap - 1);

			while (slots[h] != 0 && !sg__field_equal(res[slots[h] - 1], e, p->key))
				h = (h + 1) & (cap - 1);
			if (slots[h] == 0) {
				res[n++] = e;
				slots[h] = n;
			} else if (p->score != NULL) {
				ProtobufCMessage **kept = &res[slots[h] - 1];
				double s = sg__field_score(e, p->score, asc),
				       best = sg__field_score(*kept, p->score, asc);

				if (asc ? s < best : s > best)
					*kept = e;
			}
		}
	}
	sg__field_set_array(out, f, res, n);
	return SG_OK;
}

const sg__merge_ops sg__merge_union = {
        .name = "union",
        .start = SG__MERGE_FROM_FIRST_OK,
        .plan = union_plan,
        .run = union_run,
};
