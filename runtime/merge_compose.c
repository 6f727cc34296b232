/*
 * merge_compose.c: COMPOSE (API composition) starts from an empty response and puts each OK
 * leg's decoded response into that leg's `into` message field. A failed optional leg leaves
 * its field unset; a failed required leg fails the call at once, without a merge (call.c).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "merge.h"
#include "reflect.h"

static sg_err compose_plan(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	if (m->n_legs == 0 || m->legs == NULL)
		return sg__why(why, len, "compose: needs heterogeneous legs");
	if ((p->into = calloc(m->n_legs, sizeof(*p->into))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < m->n_legs; i++) {
		const sg_leg_desc *leg = &m->legs[i];
		const ProtobufCFieldDescriptor *f;

		if (leg->into == 0)
			continue; /* called for its side effect only: nothing to place */
		f = sg__field(m->response, leg->into);
		if (f == NULL || f->label == PROTOBUF_C_LABEL_REPEATED ||
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			return sg__why(
			        why, len,
			        "compose: leg %s: field %u of %s is not a single message field",
			        leg->name, (unsigned)leg->into, m->response->name);
		if (f->descriptor != leg->response)
			return sg__why(why, len, "compose: leg %s answers %s but field %s holds %s",
			               leg->name, leg->response != NULL ? leg->response->name : "?",
			               f->name,
			               ((const ProtobufCMessageDescriptor *)f->descriptor)->name);
		for (size_t j = 0; j < i; j++) {
			if (p->into[j] == f)
				return sg__why(why, len, "compose: legs %s and %s both fill %s",
				               m->legs[j].name, leg->name, f->name);
		}
		p->into[i] = f;
	}
	return SG_OK;
}

static sg_err compose_run(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out)
{
	size_t n = in->n_legs < p->method->n_legs ? in->n_legs : p->method->n_legs;

	for (size_t i = 0; i < n; i++) {
		const ProtobufCFieldDescriptor *f = p->into[i];
		const ProtobufCMessage *r = in->legs[i].response;

		if (f == NULL || r == NULL)
			continue;
		memcpy(sg__field_ptr(out, f), &r, sizeof(r));
		sg__field_set_present(out, f);
	}
	return SG_OK;
}

const sg__merge_ops sg__merge_compose = {
        .name = "compose",
        .start = SG__MERGE_FROM_INIT,
        .plan = compose_plan,
        .run = compose_run,
};
