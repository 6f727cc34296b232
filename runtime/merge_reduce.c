/*
 * merge_reduce.c: REDUCE combines single scalar fields across the OK legs, one rule per field:
 * SUM, MIN, MAX over numbers; FIRST / LAST take the first / last OK leg's non-empty value (a
 * non-zero number, a non-empty string or bytes, a set message). Fields without a rule keep the
 * first OK leg's value.
 *
 * Integers are summed in 64-bit unsigned arithmetic and stored at the field's width: a sum that
 * overflows the field wraps as the field's C type would, never undefined behaviour. A leg whose
 * field is absent (proto2 optional, proto3 optional) takes no part.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "merge.h"
#include "reflect.h"

static const char *const op_names[] = {"SUM", "MIN", "MAX", "FIRST", "LAST"};

static sg_err reduce_plan(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	const sg_merge_desc *d = &m->merge;

	if (d->n_reduce == 0 || d->reduce == NULL)
		return sg__why(why, len, "reduce: no field rule");
	if ((p->reduce = calloc(d->n_reduce, sizeof(*p->reduce))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < d->n_reduce; i++) {
		const ProtobufCFieldDescriptor *f = sg__field(m->response, d->reduce[i].field);
		sg_reduce_op op = d->reduce[i].op;

		if ((unsigned)op > SG_REDUCE_LAST)
			return sg__why(why, len, "reduce: unknown op %d", (int)op);
		if (f == NULL)
			return sg__why(why, len, "reduce: %s has no field %u", m->response->name,
			               (unsigned)d->reduce[i].field);
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			return sg__why(why, len, "reduce: field %s of %s is repeated", f->name,
			               m->response->name);
		if (op <= SG_REDUCE_MAX && !sg__type_is_number(f->type))
			return sg__why(why, len, "reduce: %s needs a number; field %s of %s is not",
			               op_names[op], f->name, m->response->name);
		for (size_t j = 0; j < i; j++) {
			if (p->reduce[j].field == f)
				return sg__why(why, len, "reduce: field %s has two rules", f->name);
		}
		p->reduce[i] = (sg__reduce_rule){.field = f, .op = op};
		p->n_reduce++;
	}
	return SG_OK;
}

static void write_u64(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, uint64_t v)
{
	void *p = sg__field_ptr(m, f);

	if (sg__type_size(f->type) == 8) {
		memcpy(p, &v, 8);
	} else {
		uint32_t w = (uint32_t)v; /* the low half: two's complement for the signed types */
		memcpy(p, &w, 4);
	}
	sg__field_set_present(m, f);
}

static void write_double(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, double v)
{
	void *p = sg__field_ptr(m, f);

	if (f->type == PROTOBUF_C_TYPE_FLOAT) {
		float fl = (float)v;
		memcpy(p, &fl, sizeof(fl));
	} else {
		memcpy(p, &v, sizeof(v));
	}
	sg__field_set_present(m, f);
}

/* FIRST and LAST: the value of the first (last) OK leg whose field is not empty. */
static void reduce_pick(const sg__reduce_rule *r, const sg__merge_in *in, ProtobufCMessage *out)
{
	bool last = r->op == SG_REDUCE_LAST;

	for (size_t k = 0; k < in->n_legs; k++) {
		const ProtobufCMessage *src = in->legs[last ? in->n_legs - 1 - k : k].response;

		if (src != NULL && !sg__field_empty(src, r->field)) {
			sg__field_copy(out, r->field, src, r->field);
			return;
		}
	}
}

/* Whether v beats best for op (MIN: smaller, MAX: larger) in the field's own order. */
static bool reduce_better(sg_reduce_op op, ProtobufCType t, uint64_t v, uint64_t best)
{
	bool less = sg__type_is_unsigned(t) ? v < best : (int64_t)v < (int64_t)best;

	return op == SG_REDUCE_MIN ? less : (!less && v != best);
}

static void reduce_integer(const sg__reduce_rule *r, const sg__merge_in *in, ProtobufCMessage *out)
{
	uint64_t acc = 0;
	bool any = false;

	for (size_t k = 0; k < in->n_legs; k++) {
		const ProtobufCMessage *src = in->legs[k].response;
		uint64_t v;

		if (src == NULL || !sg__field_present(src, r->field))
			continue;
		v = sg__field_u64(src, r->field);
		if (r->op == SG_REDUCE_SUM)
			acc += v;
		else if (!any || reduce_better(r->op, r->field->type, v, acc))
			acc = v;
		any = true;
	}
	if (any)
		write_u64(out, r->field, acc);
}

static void reduce_floating(const sg__reduce_rule *r, const sg__merge_in *in, ProtobufCMessage *out)
{
	double acc = 0;
	bool any = false;

	for (size_t k = 0; k < in->n_legs; k++) {
		const ProtobufCMessage *src = in->legs[k].response;
		double v;

		if (src == NULL || !sg__field_present(src, r->field))
			continue;
		v = sg__field_number(src, r->field);
		if (r->op == SG_REDUCE_SUM) {
			acc += v;
		} else if (isnan(v)) {
			continue; /* NaN neither wins nor poisons a MIN or MAX */
		} else if (!any || (r->op == SG_REDUCE_MIN ? v < acc : v > acc)) {
			acc = v;
		}
		any = true;
	}
	if (any)
		write_double(out, r->field, acc);
}

static sg_err reduce_run(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out)
{
	for (size_t i = 0; i < p->n_reduce; i++) {
		const sg__reduce_rule *r = &p->reduce[i];

		if (r->op == SG_REDUCE_FIRST || r->op == SG_REDUCE_LAST)
			reduce_pick(r, in, out);
		else if (sg__type_is_integer(r->field->type))
			reduce_integer(r, in, out);
		else
			reduce_floating(r, in, out);
	}
	return SG_OK;
}

const sg__merge_ops sg__merge_reduce = {
        .name = "reduce",
        .start = SG__MERGE_FROM_FIRST_OK,
        .plan = reduce_plan,
        .run = reduce_run,
};
