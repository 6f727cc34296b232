/*
 * gather_quality.c: QUALITY stops once the answers so far are good enough: at least min_count
 * elements of the repeated message field `field` whose numeric `by` is >= min_score, counted
 * over every OK leg so far; or, with a user predicate, when it says so (asked after every leg
 * end with the legs ended so far). Otherwise like ALL. Legs cut short: CANCELLED.
 */
#include "gather.h"
#include "log.h"
#include "reflect.h"

typedef struct quality_state {
	uint64_t count; /* good elements so far */
} quality_state;

static sg_err quality_plan(sg__gather_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	const sg_gather_desc *g = &m->gather;
	const ProtobufCMessageDescriptor *elem;

	if (g->predicate != NULL)
		return SG_OK;
	if (m->n_legs > 0)
		return sg__why(why, len,
		               "quality: a threshold needs one backend method (group); "
		               "use a predicate with heterogeneous legs");
	if ((p->field = sg__field_repeated_message(m->response, g->field)) == NULL)
		return sg__why(why, len, "quality: field %u of %s is not a repeated message field",
		               (unsigned)g->field, m->response->name);
	elem = p->field->descriptor;
	if ((p->by = sg__field_numeric(elem, g->by)) == NULL)
		return sg__why(why, len, "quality: field %u of %s is not a numeric scalar",
		               (unsigned)g->by, elem->name);
	if (g->min_count == 0)
		return sg__why(why, len, "quality: min_count must be at least 1");
	return SG_OK;
}

static sg_err quality_on_start(sg__gather_call *gc)
{
	quality_state *st;

	if (gc->plan->g->predicate != NULL)
		return SG_OK;
	if ((st = sg__arena_alloc(gc->arena, sizeof(*st))) == NULL)
		return SG_ENOMEM;
	st->count = 0;
	gc->state = st;
	return SG_OK;
}

static sg__gather_verdict quality_on_leg_end(sg__gather_call *gc, const sg__gather_leg *leg)
{
	const sg__gather_plan *p = gc->plan;
	quality_state *st = gc->state;
	ProtobufCMessage **elems;
	size_t n;

	if (p->g->predicate != NULL)
		return p->g->predicate(gc->request, gc->ended, gc->n_ended) ? SG__GATHER_DONE
		                                                            : SG__GATHER_CONTINUE;
	if (leg->response == NULL)
		return SG__GATHER_CONTINUE;
	n = sg__field_count(leg->response, p->field);
	elems = n > 0 ? sg__field_array(leg->response, p->field) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (sg__field_number(elems[i], p->by) >= p->g->min_score)
			st->count++;
	}
	return st->count >= p->g->min_count ? SG__GATHER_DONE : SG__GATHER_CONTINUE;
}

const sg__gather_ops sg__gather_quality = {
        .name = "quality",
        .cut_status = GRPC_STATUS_CANCELLED,
        .reads_answers = true,
        .plan = quality_plan,
        .on_start = quality_on_start,
        .on_leg_end = quality_on_leg_end,
};
