/*
 * merge_concat.c: CONCAT appends repeated fields of every OK leg, in leg order.
 */
#include <string.h>

#include "log.h"
#include "merge.h"
#include "reflect.h"

static sg_err concat_plan(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	if (m->merge.n_fields == 0 || m->merge.n_fields > SG_MERGE_MAX_FIELDS ||
	    m->merge.fields == NULL)
		return sg__why(why, len, "concat: between 1 and %d fields are needed, not %zu",
		               SG_MERGE_MAX_FIELDS, m->merge.n_fields);
	for (size_t i = 0; i < m->merge.n_fields; i++) {
		const ProtobufCFieldDescriptor *f = sg__field(m->response, m->merge.fields[i]);

		if (f == NULL)
			return sg__why(why, len, "concat: %s has no field %u", m->response->name,
			               (unsigned)m->merge.fields[i]);
		if (f->label != PROTOBUF_C_LABEL_REPEATED)
			return sg__why(why, len, "concat: field %s of %s is not repeated", f->name,
			               m->response->name);
		p->fields[p->n_fields++] = f;
	}
	return SG_OK;
}

static sg_err concat_run(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out)
{
	for (size_t i = 0; i < p->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = p->fields[i];
		size_t esz = sg__type_size(f->type), total = 0, at = 0;
		char *arr;

		for (size_t j = 0; j < in->n_legs; j++) {
			if (in->legs[j].response != NULL)
				total += sg__field_count(in->legs[j].response, f);
		}
		arr = total > 0 ? sg__arena_alloc(in->arena, total * esz) : NULL;
		if (total > 0 && arr == NULL)
			return SG_ENOMEM;
		for (size_t j = 0; j < in->n_legs; j++) {
			const ProtobufCMessage *r = in->legs[j].response;
			size_t cnt = r != NULL ? sg__field_count(r, f) : 0;

			if (cnt > 0) {
				memcpy(arr + at * esz, sg__field_array(r, f), cnt * esz);
				at += cnt;
			}
		}
		sg__field_set_array(out, f, arr, total);
	}
	return SG_OK;
}

const sg__merge_ops sg__merge_concat = {
        .name = "concat",
        .start = SG__MERGE_FROM_FIRST_OK,
        .plan = concat_plan,
        .run = concat_run,
};
