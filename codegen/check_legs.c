/*
 * check_legs.c: checking heterogeneous legs (Fanout.legs, API composition): each leg's name, group,
 * method, how its request is built from the incoming one, where its response goes, and its
 * deadline. Every message about one leg starts with `leg "NAME": ` (or `legs[i]: ` when it has
 * no name).
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* f described for a type comparison: "a string field", "a repeated search.Hit message field". */
static const char *lg_describe(const cg_field_proto *f, char *buf, size_t len)
{
	bool named = f->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE ||
	             f->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM;

	if (!named)
		return cg_field_kind(f, buf, len);
	snprintf(buf, len, "a %s%s %s field", cg_field_repeated(f) ? "repeated " : "",
	         cg_strip_dot(f->type_name), cg_type_name(f->type));
	return buf;
}

/* Whether a value of field a can be copied into field b as is. */
static bool lg_same_type(const cg_field_proto *a, const cg_field_proto *b)
{
	if (a->type != b->type || cg_field_repeated(a) != cg_field_repeated(b))
		return false;
	if (a->type_name == NULL || b->type_name == NULL)
		return a->type_name == b->type_name;
	return strcmp(a->type_name, b->type_name) == 0;
}

/* A leg's name must survive the scatter-leg trailer ("index=0 name=NAME target=..."). */
static bool lg_name_ok(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p <= ' ' || *p == '=' || *p == 0x7f)
			return false;
	}
	return true;
}

/* The request mapping of leg `leg` (calling bm, whose request type is lreq). */
static void lg_map(cg_check *c, const Scatter__Leg *leg, const cg_method_proto *bm,
                   const cg_message *lreq, cg_leg_plan *lp)
{
	char da[128], db[128];

	if (leg->n_request == 0) {
		if (strcmp(bm->input_type, c->method->input_type) != 0)
			cg_check_error(c,
			               "method \"%s\" takes %s, not %s (the request of %s); map "
			               "fields with request { from: \"...\" to: \"...\" }",
			               leg->method, lreq->full_name, c->request->full_name,
			               c->method->name);
		return;
	}
	if ((lp->map = calloc(leg->n_request, sizeof(*lp->map))) == NULL) {
		cg_check_oom(c);
		return;
	}
	for (size_t j = 0; j < leg->n_request; j++) {
		const Scatter__FieldMap *fm = leg->request[j];
		const cg_field_proto *from = NULL, *to = NULL;
		bool twice = false;

		cg_check_unknown(c, &fm->base);
		if (fm->from == NULL)
			cg_check_error(c, "request[%zu]: from is missing; name a field of %s", j,
			               c->request->full_name);
		else
			from = cg_check_field(c, "request.from", c->request, fm->from);
		if (fm->to == NULL) {
			cg_check_error(c, "request[%zu]: to is missing; name a field of %s", j,
			               lreq->full_name);
			continue;
		}
		for (size_t k = 0; k < j && !twice; k++)
			twice = leg->request[k]->to != NULL &&
			        strcmp(leg->request[k]->to, fm->to) == 0;
		if (twice) {
			cg_check_error(c, "request.to \"%s\" is mapped twice", fm->to);
			continue;
		}
		to = cg_check_field(c, "request.to", lreq, fm->to);
		if (from == NULL || to == NULL)
			continue;
		if (!lg_same_type(from, to)) {
			cg_check_error(
			        c,
			        "request \"%s\" -> \"%s\": %s.%s is %s, %s.%s is %s; they must "
			        "have the same type",
			        fm->from, fm->to, c->request->full_name, fm->from,
			        lg_describe(from, da, sizeof(da)), lreq->full_name, fm->to,
			        lg_describe(to, db, sizeof(db)));
			continue;
		}
		lp->map[lp->n_map].from = cg_field_ref_of(from);
		lp->map[lp->n_map].to = cg_field_ref_of(to);
		lp->n_map++;
	}
}

/* Where leg i's response goes: a single message field of the response, of the leg method's
 * response type, not shared with an earlier leg (compose); nothing (custom). */
static void lg_into(cg_check *c, const Scatter__Fanout *fo, size_t i, const cg_message *lresp,
                    const cg_plan *plan, cg_leg_plan *lp)
{
	const Scatter__Leg *leg = fo->legs[i];
	const cg_field_proto *f;
	char kind[128];

	if (fo->merge_case != SCATTER__FANOUT__MERGE_COMPOSE) {
		if (leg->into != NULL && fo->merge_case == SCATTER__FANOUT__MERGE_CUSTOM)
			cg_check_error(c,
			               "into \"%s\" is set, but a custom merge fills the response "
			               "itself; remove it",
			               leg->into);
		return;
	}
	if (leg->into == NULL) {
		cg_check_error(c,
		               "into is missing; name the message field of %s that receives the "
		               "leg's %s",
		               c->response->full_name, lresp ? lresp->full_name : "response");
		return;
	}
	if ((f = cg_check_field(c, "into", c->response, leg->into)) == NULL)
		return;
	if (f->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE ||
	    cg_field_repeated(f)) {
		cg_check_error(c, "into \"%s\" is %s of %s; it must be a single message field",
		               leg->into, lg_describe(f, kind, sizeof(kind)),
		               c->response->full_name);
		return;
	}
	if (lresp != NULL && strcmp(cg_strip_dot(f->type_name), lresp->full_name) != 0) {
		cg_check_error(c, "into \"%s\" is %s; the leg's method \"%s\" returns %s",
		               leg->into, lg_describe(f, kind, sizeof(kind)), leg->method,
		               lresp->full_name);
		return;
	}
	for (size_t j = 0; j < i; j++) {
		if (plan->legs[j].into.name != NULL &&
		    strcmp(plan->legs[j].into.name, f->name) == 0) {
			cg_check_error(c,
			               "into \"%s\" is also the into of leg \"%s\"; each leg needs "
			               "its own field",
			               leg->into, plan->legs[j].name ? plan->legs[j].name : "");
			return;
		}
	}
	lp->into = cg_field_ref_of(f);
}

/* Leg i: its name (with uniqueness), group, method, request mapping, into and deadline. */
static void lg_leg(cg_check *c, const Scatter__Fanout *fo, size_t i, cg_plan *plan)
{
	const Scatter__Leg *leg = fo->legs[i];
	cg_leg_plan *lp = &plan->legs[i];
	const cg_service *bsvc = NULL;
	const cg_method_proto *bm = NULL;

	cg_check_unknown(c, &leg->base);
	if (leg->name == NULL || leg->name[0] == '\0') {
		cg_check_error(c, "name is %s; every leg needs one (trailers and errors use it)",
		               leg->name == NULL ? "missing" : "empty");
	} else if (!lg_name_ok(leg->name)) {
		cg_check_error(c, "the name has a space, '=' or a control character; the "
		                  "scatter-leg trailer could not carry it");
	} else {
		for (size_t j = 0; j < i; j++) {
			if (plan->legs[j].name != NULL &&
			    strcmp(plan->legs[j].name, leg->name) == 0) {
				cg_check_error(
				        c, "the name is used by another leg too; leg names must "
				           "be unique");
				break;
			}
		}
	}
	if (leg->name != NULL && (lp->name = strdup(leg->name)) == NULL)
		cg_check_oom(c);
	if (leg->group == NULL || leg->group[0] == '\0')
		cg_check_error(c, "group is %s; name the backend group (one target) the leg calls",
		               leg->group == NULL ? "missing" : "empty");
	else if ((lp->group = strdup(leg->group)) == NULL)
		cg_check_oom(c);
	lp->optional = leg->optional;
	if (leg->has_deadline_ms && leg->deadline_ms == 0)
		cg_check_error(c, "deadline_ms is 0; leave it unset to use the method's");
	else if (leg->has_deadline_ms && leg->deadline_ms > fo->deadline_ms)
		cg_check_error(c, "deadline_ms %u is more than the method's deadline_ms %u",
		               (unsigned)leg->deadline_ms, (unsigned)fo->deadline_ms);
	else if (leg->has_deadline_ms)
		lp->deadline_ms = leg->deadline_ms;
	if (leg->method == NULL) {
		cg_check_error(c, "method is missing; name the backend method as "
		                  "\"package.Service/Method\"");
	} else if (cg_check_backend(c, leg->method, &bsvc, &bm)) {
		lp->request = cg_index_message(c->idx, bm->input_type);
		lp->response = cg_index_message(c->idx, bm->output_type);
		if (lp->request == NULL || lp->response == NULL)
			cg_check_error(c,
			               "method \"%s\": its message types are missing from the "
			               "request to the plugin",
			               leg->method);
		else
			lg_map(c, leg, bm, lp->request, lp);
		lp->path = cg_backend_path(c, bsvc, bm);
	}
	lg_into(c, fo, i, lp->response, plan, lp);
}

void cg_check_hetero_legs(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	char where[160];

	if ((plan->legs = calloc(fo->n_legs, sizeof(*plan->legs))) == NULL) {
		cg_check_oom(c);
		return;
	}
	plan->n_legs = fo->n_legs;
	for (size_t i = 0; i < fo->n_legs; i++) {
		const char *name = fo->legs[i]->name;

		if (name != NULL && name[0] != '\0')
			snprintf(where, sizeof(where), "leg \"%.120s\": ", name);
		else
			snprintf(where, sizeof(where), "legs[%zu]: ", i);
		c->where = where;
		lg_leg(c, fo, i, plan);
		c->where = NULL;
	}
}
