/*
 * check_merge.c: checking the merge of a Fanout option (how the legs' responses become one).
 *
 * One checker per kind of the `merge` oneof, in a table: adding a merge is adding a row.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* ---- concat ------------------------------------------------------------------------------ */

static void mg_concat(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__Concat *cc = fo->concat;
	char kind[96];

	cg_check_unknown(c, &cc->base);
	if (cc->n_field == 0) {
		cg_check_error(c, "concat: no field; name at least one repeated field of %s",
		               c->response->full_name);
		return;
	}
	if ((plan->fields = calloc(cc->n_field, sizeof(*plan->fields))) == NULL) {
		cg_check_oom(c);
		return;
	}
	for (size_t i = 0; i < cc->n_field; i++) {
		const char *name = cc->field[i];
		const cg_field_proto *f = cg_check_field(c, "concat.field", c->response, name);
		bool twice = false;

		for (size_t j = 0; j < i; j++)
			twice = twice || strcmp(cc->field[j], name) == 0;
		if (twice) {
			cg_check_error(c, "concat.field \"%s\" is named twice", name);
			continue;
		}
		if (f != NULL && !cg_field_repeated(f)) {
			cg_check_error(c, "concat.field \"%s\" is %s of %s; it must be repeated",
			               name, cg_field_kind(f, kind, sizeof(kind)),
			               c->response->full_name);
			continue;
		}
		plan->fields[plan->n_fields++] = cg_field_ref_of(f);
	}
}

/* ---- top_k ------------------------------------------------------------------------------- */

/* plan->fields as the one repeated field ref (not set: left empty). */
static void mg_one_field(cg_check *c, cg_plan *plan, cg_field_ref ref)
{
	if (ref.number == 0)
		return;
	if ((plan->fields = calloc(1, sizeof(*plan->fields))) == NULL) {
		cg_check_oom(c);
		return;
	}
	plan->fields[0] = ref;
	plan->n_fields = 1;
}

static void mg_top_k(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__TopK *tk = fo->top_k;
	const cg_message *elem;
	cg_field_ref ref;

	cg_check_unknown(c, &tk->base);
	elem = cg_check_elements(c, "top_k.field", c->response, tk->field, &ref);
	mg_one_field(c, plan, ref);
	if (tk->by == NULL)
		cg_check_error(c, "top_k.by is missing; name the numeric field of the element to "
		                  "rank by");
	else if (elem != NULL)
		plan->score = cg_field_ref_of(cg_check_numeric(c, "top_k.by", elem, tk->by));
	plan->order_asc = tk->order == SCATTER__ORDER__ASC;
	plan->limit = tk->has_limit ? tk->limit : 0;
	if (tk->limit_from != NULL)
		plan->limit_field = cg_field_ref_of(
		        cg_check_integer(c, "top_k.limit_from", c->request, tk->limit_from));
	else if (plan->limit == 0)
		cg_check_error(c, "top_k: neither limit nor limit_from is set; give a fixed limit, "
		                  "a request field, or both");
}

/* ---- reduce ------------------------------------------------------------------------------ */

static const char *mg_reduce_op_name(Scatter__ReduceOp op)
{
	const ProtobufCEnumValue *v =
	        protobuf_c_enum_descriptor_get_value(&scatter__reduce_op__descriptor, (int)op);

	return v != NULL ? v->name : "?";
}

/* One rule; false if it does not fit (reported). */
static bool mg_reduce_rule(cg_check *c, const Scatter__Reduce *rd, size_t i, cg_reduce_rule *rule)
{
	const Scatter__ReduceField *rf = rd->field[i];
	const cg_field_proto *f;
	char kind[96];
	bool numeric_op = rf->op == SCATTER__REDUCE_OP__SUM || rf->op == SCATTER__REDUCE_OP__MIN ||
	                  rf->op == SCATTER__REDUCE_OP__MAX;

	cg_check_unknown(c, &rf->base);
	if (rf->name == NULL) {
		cg_check_error(c, "reduce.field[%zu]: name is missing; name a scalar field of %s",
		               i, c->response->full_name);
		return false;
	}
	for (size_t j = 0; j < i; j++) {
		if (rd->field[j]->name != NULL && strcmp(rd->field[j]->name, rf->name) == 0) {
			cg_check_error(c, "reduce.field \"%s\" is named twice; one rule per field",
			               rf->name);
			return false;
		}
	}
	if ((f = cg_check_field(c, "reduce.field", c->response, rf->name)) == NULL)
		return false;
	if (cg_field_repeated(f) || !cg_type_scalar(f->type)) {
		cg_check_error(c,
		               "reduce.field \"%s\" is %s of %s; it must be a single scalar field "
		               "(number, bool, enum, string or bytes)",
		               rf->name, cg_field_kind(f, kind, sizeof(kind)),
		               c->response->full_name);
		return false;
	}
	if (numeric_op && !cg_type_numeric(f->type)) {
		cg_check_error(c, "reduce.field \"%s\" is %s of %s; %s needs a numeric field",
		               rf->name, cg_field_kind(f, kind, sizeof(kind)),
		               c->response->full_name, mg_reduce_op_name(rf->op));
		return false;
	}
	rule->field = cg_field_ref_of(f);
	rule->op = rf->op;
	return true;
}

static void mg_reduce(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__Reduce *rd = fo->reduce;

	cg_check_unknown(c, &rd->base);
	if (rd->n_field == 0) {
		cg_check_error(c, "reduce: no field; give at least one rule, e.g. reduce { field { "
		                  "name: \"count\" op: SUM } }");
		return;
	}
	if ((plan->reduce = calloc(rd->n_field, sizeof(*plan->reduce))) == NULL) {
		cg_check_oom(c);
		return;
	}
	for (size_t i = 0; i < rd->n_field; i++) {
		if (mg_reduce_rule(c, rd, i, &plan->reduce[plan->n_reduce]))
			plan->n_reduce++;
	}
}

/* ---- union ------------------------------------------------------------------------------- */

static void mg_union(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const Scatter__Union *un = fo->union_;
	const cg_message *elem;
	cg_field_ref ref;

	cg_check_unknown(c, &un->base);
	elem = cg_check_elements(c, "union.field", c->response, un->field, &ref);
	mg_one_field(c, plan, ref);
	plan->order_asc = un->order == SCATTER__ORDER__ASC;
	if (un->key == NULL) {
		cg_check_error(c, "union.key is missing; name the string or integer field of the "
		                  "element that identifies it");
	} else if (elem != NULL) {
		const cg_field_proto *key = cg_check_field(c, "union.key", elem, un->key);
		char kind[96];

		if (key != NULL &&
		    (cg_field_repeated(key) ||
		     (!cg_type_integer(key->type) &&
		      key->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING)))
			cg_check_error(
			        c,
			        "union.key \"%s\" is %s of %s; it must be a single string or "
			        "integer field",
			        un->key, cg_field_kind(key, kind, sizeof(kind)), elem->full_name);
		else
			plan->key = cg_field_ref_of(key);
	}
	if (un->by != NULL && elem != NULL)
		plan->score = cg_field_ref_of(cg_check_numeric(c, "union.by", elem, un->by));
}

/* ---- compose and custom ------------------------------------------------------------------ */

static void mg_compose(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	(void)plan;
	cg_check_unknown(c, &fo->compose->base);
	if (fo->n_legs == 0)
		cg_check_error(c,
		               "compose needs legs: with group + method every leg returns %s; "
		               "list the legs, each with its own method and `into` field",
		               c->response->full_name);
}

static void mg_custom(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	(void)plan;
	cg_check_unknown(c, &fo->custom->base);
}

/* ---- the table --------------------------------------------------------------------------- */

typedef struct mg_kind {
	const char *name; /* as the .proto spells it */
	cg_merge merge;
	void (*check)(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan);
} mg_kind;

static const mg_kind mg_kinds[] = {
        [SCATTER__FANOUT__MERGE_CONCAT] = {"concat", CG_MERGE_CONCAT, mg_concat},
        [SCATTER__FANOUT__MERGE_TOP_K] = {"top_k", CG_MERGE_TOP_K, mg_top_k},
        [SCATTER__FANOUT__MERGE_REDUCE] = {"reduce", CG_MERGE_REDUCE, mg_reduce},
        [SCATTER__FANOUT__MERGE_UNION] = {"union", CG_MERGE_UNION, mg_union},
        [SCATTER__FANOUT__MERGE_COMPOSE] = {"compose", CG_MERGE_COMPOSE, mg_compose},
        [SCATTER__FANOUT__MERGE_CUSTOM] = {"custom", CG_MERGE_CUSTOM, mg_custom},
};

void cg_check_merge(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const mg_kind *k = NULL;

	if ((size_t)fo->merge_case < sizeof(mg_kinds) / sizeof(mg_kinds[0]))
		k = &mg_kinds[fo->merge_case];
	if (k == NULL || k->check == NULL) {
		plan->merge = CG_MERGE_NONE;
		if (fo->n_legs > 0)
			cg_check_error(c, "legs need merge compose {} or custom {}: the legs' "
			                  "responses have their own types");
		return;
	}
	plan->merge = k->merge;
	if (fo->n_legs > 0 && k->merge != CG_MERGE_COMPOSE && k->merge != CG_MERGE_CUSTOM)
		cg_check_error(c,
		               "legs need merge compose {} or custom {}, not %s: the legs' "
		               "responses have their own types",
		               k->name);
	k->check(c, fo, plan);
}
