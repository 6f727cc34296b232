/*
 * check_gather.c: checking the gather of a Fanout option (when the call stops waiting for legs).
 *
 * Runs after the legs and the merge are checked: what a gather allows depends on both (a quorum
 * takes no merge, compose combines with all and best_effort only). One checker per kind of the
 * `gather` oneof, in a table.
 */
#include "check.h"

#include <string.h>

/* The name of the merge set in fo, as the .proto spells it ("top_k"). */
static const char *ga_merge_name(const Scatter__Fanout *fo)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
	        &scatter__fanout__descriptor, (unsigned)fo->merge_case);

	return f != NULL ? f->name : "?";
}

static void ga_all(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	(void)plan;
	cg_check_unknown(c, &fo->all->base);
}

static void ga_first_n(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__FirstN *fn = fo->first_n;

	cg_check_unknown(c, &fn->base);
	if (!fn->has_n || fn->n == 0) {
		cg_check_error(c, "first_n.n is %s; say how many OK legs are enough (at least 1)",
		               fn->has_n ? "0" : "missing");
		return;
	}
	if (plan->group_size > 0 && fn->n > plan->group_size)
		cg_check_error(c,
		               "first_n.n %u is more than group_size %u; the call could never "
		               "have n answers",
		               (unsigned)fn->n, (unsigned)plan->group_size);
	else if (plan->n_legs > 0 && fn->n > plan->n_legs)
		cg_check_error(c,
		               "first_n.n %u is more than the %zu legs; the call could never have "
		               "n answers",
		               (unsigned)fn->n, plan->n_legs);
	plan->first_n = fn->n;
}

static void ga_quorum(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__Quorum *q = fo->quorum;

	cg_check_unknown(c, &q->base);
	if (fo->merge_case != SCATTER__FANOUT__MERGE__NOT_SET)
		cg_check_error(c,
		               "quorum takes no merge (the answer is one of the agreeing "
		               "responses); remove %s",
		               ga_merge_name(fo));
	if (fo->n_legs > 0)
		cg_check_error(c, "quorum needs replicas of one backend (group + method), not legs "
		                  "that call different methods");
	if (plan->group_size == 1)
		cg_check_error(c, "quorum over one leg: group_size is 1; a quorum needs 2 or more "
		                  "replicas");
	if (q->key != NULL) {
		const cg_field_proto *f = cg_check_field(c, "quorum.key", c->response, q->key);
		char kind[96];

		if (f != NULL && (cg_field_repeated(f) || !cg_type_scalar(f->type)))
			cg_check_error(c,
			               "quorum.key \"%s\" is %s of %s; it must be a single scalar "
			               "field (number, bool, enum, string or bytes)",
			               q->key, cg_field_kind(f, kind, sizeof(kind)),
			               c->response->full_name);
		else
			plan->quorum_key = cg_field_ref_of(f);
	}
}

static void ga_best_effort(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__BestEffort *be = fo->best_effort;

	cg_check_unknown(c, &be->base);
	if (!be->has_soft_ms || be->soft_ms == 0)
		cg_check_error(c,
		               "best_effort.soft_ms is %s; give the soft deadline in ms, less than "
		               "deadline_ms %u",
		               be->has_soft_ms ? "0" : "missing", (unsigned)fo->deadline_ms);
	else if (be->soft_ms >= fo->deadline_ms)
		cg_check_error(c,
		               "best_effort.soft_ms %u is not less than deadline_ms %u; the soft "
		               "deadline must come first",
		               (unsigned)be->soft_ms, (unsigned)fo->deadline_ms);
	else
		plan->soft_ms = be->soft_ms;
}

/* The threshold form of quality: field, by, min_count (min_score defaults to 0). */
static void ga_threshold(cg_check *c, const Scatter__Quality *q, cg_plan *plan)
{
	const cg_message *elem;

	elem = cg_check_elements(c, "quality.field", c->response, q->field, &plan->quality_field);
	if (q->by == NULL)
		cg_check_error(c, "quality.by is missing; name the numeric field of the element to "
		                  "compare with min_score");
	else if (elem != NULL)
		plan->quality_by = cg_field_ref_of(cg_check_numeric(c, "quality.by", elem, q->by));
	if (!q->has_min_count || q->min_count == 0)
		cg_check_error(c,
		               "quality.min_count is %s; say how many good elements are enough "
		               "(at least 1)",
		               q->has_min_count ? "0" : "missing");
	plan->min_count = q->min_count;
	plan->min_score = q->min_score;
}

static void ga_quality(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__Quality *q = fo->quality;
	bool threshold = q->field != NULL || q->by != NULL || q->has_min_count || q->has_min_score;
	bool predicate = q->has_predicate && q->predicate;

	cg_check_unknown(c, &q->base);
	if (threshold && predicate) {
		cg_check_error(c, "quality: both a threshold (field, by, min_count) and predicate: "
		                  "true are set; give one");
		return;
	}
	if (!threshold && !predicate) {
		cg_check_error(c, "quality: neither a threshold (field, by, min_count) nor "
		                  "predicate: true is set; give one");
		return;
	}
	plan->quality_predicate = predicate;
	if (predicate)
		return;
	if (plan->n_legs > 0) {
		cg_check_error(c,
		               "quality: a threshold counts elements of a field of %s in every "
		               "leg's response, and these legs return other types; use predicate: "
		               "true",
		               c->response->full_name);
		return;
	}
	ga_threshold(c, q, plan);
}

/* ---- the table --------------------------------------------------------------------------- */

typedef struct ga_kind {
	const char *name; /* as the .proto spells it */
	cg_gather gather;
	bool with_compose; /* whether it combines with compose (each leg fills its own field) */
	void (*check)(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan);
} ga_kind;

static const ga_kind ga_kinds[] = {
        [SCATTER__FANOUT__GATHER_ALL] = {"all", CG_GATHER_ALL, true, ga_all},
        [SCATTER__FANOUT__GATHER_FIRST_N] = {"first_n", CG_GATHER_FIRST_N, false, ga_first_n},
        [SCATTER__FANOUT__GATHER_QUORUM] = {"quorum", CG_GATHER_QUORUM, false, ga_quorum},
        [SCATTER__FANOUT__GATHER_BEST_EFFORT] = {"best_effort", CG_GATHER_BEST_EFFORT, true,
                                                 ga_best_effort},
        [SCATTER__FANOUT__GATHER_QUALITY] = {"quality", CG_GATHER_QUALITY, false, ga_quality},
};

void cg_check_gather(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const ga_kind *k = NULL;

	if ((size_t)fo->gather_case < sizeof(ga_kinds) / sizeof(ga_kinds[0]))
		k = &ga_kinds[fo->gather_case];
	if (k == NULL || k->check == NULL) {
		plan->gather = CG_GATHER_ALL;
		return;
	}
	plan->gather = k->gather;
	if (!k->with_compose && fo->merge_case == SCATTER__FANOUT__MERGE_COMPOSE) {
		cg_check_error(c,
		               "%s does not combine with compose: only all and best_effort do "
		               "(each leg fills its own field)",
		               k->name);
		return;
	}
	k->check(c, fo, plan);
}
