/*
 * options.c: the Fanout option, from unknown-field bytes to a validated cg_plan.
 *
 * Validation reports every problem it finds, not just the first, each at the source span of
 * the option statement, in the words of the .proto ("top_k.by", field names, message names).
 */
#include "options.h"

#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where errors about method mi of service si point: the option statement if recorded, else
 * the method, else the service. */
static void op_locate(cg_check *c, size_t si, size_t mi)
{
	int32_t path[6] = {6, (int32_t)si, 2, (int32_t)mi, 4, CG_FANOUT_FIELD};
	static const size_t lens[] = {6, 4, 2};

	c->line = c->col = 0;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		const Google__Protobuf__SourceCodeInfo__Location *loc =
		        cg_source_location(c->file, path, lens[i]);

		if (loc != NULL) {
			c->line = loc->span[0] + 1;
			c->col = loc->span[1] + 1;
			return;
		}
	}
}

/* ---- reading the option ------------------------------------------------------------------ */

/* Decodes a varint at p (at most n bytes); returns its length, 0 if malformed. */
static size_t op_varint(const uint8_t *p, size_t n, uint64_t *v)
{
	*v = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0)
			return i + 1;
	}
	return 0;
}

int cg_fanout_unpack(const Google__Protobuf__MethodOptions *opts, Scatter__Fanout **out)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	bool present = false;

	*out = NULL;
	if (opts == NULL)
		return 0;
	/* An option set more than once arrives as several fields; protobuf merges embedded
	 * messages by concatenation, so the concatenated payloads are the option's value. */
	for (size_t i = 0; i < opts->base.n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &opts->base.unknown_fields[i];
		uint64_t n;
		size_t pre;
		uint8_t *grown;

		if (u->tag != CG_FANOUT_FIELD)
			continue;
		/* protobuf-c keeps a length-delimited unknown field with its length prefix. */
		if (u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED ||
		    (pre = op_varint(u->data, u->len, &n)) == 0 || n != u->len - pre)
			goto bad;
		if ((grown = realloc(bytes, len + n + 1)) == NULL)
			goto bad;
		bytes = grown;
		memcpy(bytes + len, u->data + pre, n);
		len += n;
		present = true;
	}
	if (!present)
		return 0;
	*out = scatter__fanout__unpack(NULL, len, bytes);
	free(bytes);
	return *out != NULL ? 0 : -1;
bad:
	free(bytes);
	return -1;
}

/* ---- homogeneous legs: group and backend method ----------------------------------------- */

static void op_check_group(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const cg_service *bsvc;
	const cg_method_proto *bm;

	if (fo->group == NULL)
		cg_check_error(c, "group is missing; name the backend group the legs call");
	else if (fo->group[0] == '\0')
		cg_check_error(c, "group is empty; name the backend group the legs call");
	if (fo->has_group_size && fo->group_size == 0)
		cg_check_error(c,
		               "group_size is 0; give the number of targets of group \"%s\", "
		               "or leave it unset",
		               fo->group ? fo->group : "");
	plan->group_size = fo->has_group_size ? fo->group_size : 0;
	if (fo->group != NULL && (plan->group = strdup(fo->group)) == NULL)
		cg_check_oom(c);
	if (fo->method == NULL) {
		cg_check_error(c, "method is missing; name the backend method as "
		                  "\"package.Service/Method\"");
		return;
	}
	if (!cg_check_backend(c, fo->method, &bsvc, &bm))
		return;
	if (strcmp(bm->input_type, c->method->input_type) != 0)
		cg_check_error(c, "method \"%s\" takes %s; it must take %s, the request of %s",
		               fo->method, cg_strip_dot(bm->input_type), c->request->full_name,
		               c->method->name);
	if (strcmp(bm->output_type, c->method->output_type) != 0)
		cg_check_error(c, "method \"%s\" returns %s; it must return %s, the response of %s",
		               fo->method, cg_strip_dot(bm->output_type), c->response->full_name,
		               c->method->name);
	plan->backend_path = cg_backend_path(c, bsvc, bm);
}

/* Exactly one of the two ways to name the legs. */
static void op_check_legs(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	if (fo->n_legs == 0) {
		op_check_group(c, fo, plan);
		return;
	}
	if (fo->group != NULL || fo->method != NULL)
		cg_check_error(c,
		               "legs and %s are both set; give either group + method (one leg "
		               "per target) or legs (API composition)",
		               fo->group && fo->method ? "group + method"
		               : fo->group             ? "group"
		                                       : "method");
	if (fo->has_group_size)
		cg_check_error(c, "group_size is set with legs; it counts the targets of group, "
		                  "and each leg's group has one target");
	cg_check_hetero_legs(c, fo, plan);
}

/* ---- partial results --------------------------------------------------------------------- */

/* Whether the merge writes response field `name` (a count field there would be overwritten). */
static bool op_merge_writes(const cg_plan *plan, const char *name)
{
	for (size_t j = 0; j < plan->n_fields; j++) {
		if (plan->fields[j].name && strcmp(name, plan->fields[j].name) == 0)
			return true;
	}
	for (size_t j = 0; j < plan->n_reduce; j++) {
		if (plan->reduce[j].field.name && strcmp(name, plan->reduce[j].field.name) == 0)
			return true;
	}
	return false;
}

static void op_check_partial(cg_check *c, const Scatter__Partial *pa, cg_plan *plan)
{
	const char *what[3] = {"partial.total_field", "partial.ok_field", "partial.failed_field"};
	const char *names[3];
	cg_field_ref *refs[3] = {&plan->total_field, &plan->ok_field, &plan->failed_field};

	plan->allow_partial = true;
	if (pa == NULL)
		return;
	cg_check_unknown(c, &pa->base);
	plan->allow_partial = pa->allow;
	names[0] = pa->total_field;
	names[1] = pa->ok_field;
	names[2] = pa->failed_field;
	for (size_t i = 0; i < 3; i++) {
		bool clash = false;

		if (names[i] == NULL)
			continue;
		for (size_t j = 0; j < i && !clash; j++) {
			if (names[j] != NULL && strcmp(names[i], names[j]) == 0) {
				cg_check_error(
				        c, "%s \"%s\" is also %s; each count needs its own field",
				        what[i], names[i], what[j]);
				clash = true;
			}
		}
		if (!clash && op_merge_writes(plan, names[i])) {
			cg_check_error(c, "%s \"%s\" is the field the merge writes", what[i],
			               names[i]);
			clash = true;
		}
		if (!clash)
			*refs[i] = cg_field_ref_of(
			        cg_check_integer(c, what[i], c->response, names[i]));
	}
}

/* ---- the method -------------------------------------------------------------------------- */

bool cg_method_streaming(const cg_method_proto *m)
{
	return (m->has_client_streaming && m->client_streaming) ||
	       (m->has_server_streaming && m->server_streaming);
}

void cg_plan_free(cg_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->group);
	free(plan->backend_path);
	for (size_t i = 0; i < plan->n_legs; i++) {
		free(plan->legs[i].name);
		free(plan->legs[i].group);
		free(plan->legs[i].path);
		free(plan->legs[i].map);
	}
	free(plan->legs);
	free(plan->fields);
	free(plan->reduce);
	free(plan);
}

/* Checks fo (borrowed) and fills plan; the count of errors is in c->n_errors. The gather is
 * checked last: what it allows depends on the legs and the merge. */
static void op_check(cg_check *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	cg_check_unknown(c, &fo->base);
	if (cg_method_streaming(c->method))
		cg_check_error(c, "%s/%s is a streaming method; only unary methods can fan out",
		               c->svc->full_name, c->method->name);
	if (fo->has_deadline_ms && fo->deadline_ms == 0)
		cg_check_error(c, "deadline_ms is 0; a fan-out method needs time for its legs");
	plan->deadline_ms = fo->deadline_ms;
	plan->margin_ms = fo->margin_ms;
	op_check_legs(c, fo, plan);
	cg_check_merge(c, fo, plan);
	cg_check_gather(c, fo, plan);
	op_check_partial(c, fo->partial, plan);
	cg_check_resilience(c, fo, plan);
}

int cg_plan_method(const cg_index *idx, const cg_file_proto *file, size_t si, size_t mi,
                   cg_printer *errs, cg_plan **out)
{
	cg_check c = {.idx = idx, .file = file, .errs = errs};
	Scatter__Fanout *fo = NULL;
	cg_plan *plan;
	char *svc_name;

	*out = NULL;
	c.method = file->service[si]->method[mi];
	op_locate(&c, si, mi);
	if (cg_fanout_unpack(c.method->options, &fo) != 0) {
		cg_check_error(&c, "option (scatter.fanout) cannot be decoded as scatter.Fanout");
		return errs->failed ? -1 : 0;
	}
	if (fo == NULL)
		return 0;
	/* The index holds every file of the request, so these lookups only fail on a request
	 * protoc would not send; report rather than crash. */
	svc_name = malloc((file->package ? strlen(file->package) : 0) +
	                  strlen(file->service[si]->name) + 2);
	if (svc_name == NULL) {
		scatter__fanout__free_unpacked(fo, NULL);
		return -1;
	}
	sprintf(svc_name, "%s%s%s", file->package ? file->package : "",
	        file->package && file->package[0] ? "." : "", file->service[si]->name);
	c.svc = cg_index_service(idx, svc_name);
	free(svc_name);
	c.request = cg_index_message(idx, c.method->input_type);
	c.response = cg_index_message(idx, c.method->output_type);
	if (c.svc == NULL || c.request == NULL || c.response == NULL) {
		cg_check_error(&c, "%s: its service or message types are missing from the request",
		               c.method->name);
		scatter__fanout__free_unpacked(fo, NULL);
		return errs->failed ? -1 : 0;
	}
	if ((plan = calloc(1, sizeof(*plan))) == NULL) {
		scatter__fanout__free_unpacked(fo, NULL);
		return -1;
	}
	op_check(&c, fo, plan);
	scatter__fanout__free_unpacked(fo, NULL);
	if (errs->failed) {
		cg_plan_free(plan);
		return -1;
	}
	if (c.n_errors > 0) {
		cg_plan_free(plan);
		return 0;
	}
	*out = plan;
	return 0;
}
