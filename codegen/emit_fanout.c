/*
 * emit_fanout.c: <base>.scatter-fanout.c, the fan-out side of the generated code.
 *
 * Per service with fan-out methods: each method's sg_method_desc (field numbers from the
 * descriptors, defaults applied) after the static arrays it points to (merge fields, reduce
 * rules, field maps, legs) and the trampolines to the user's hooks; then __register.
 *
 * Why a file of its own: the trampolines refer to the user's <prefix>_merge / <prefix>_quality.
 * In <base>.scatter.c, next to the skeletons and stubs, every leaf service and client linking
 * the generated code would have to define the aggregator's hooks. Apart, and archived in a
 * static library (scatter_generate), this object is only linked into a binary that refers to
 * __register or a __fanout table, and only that binary needs the hooks.
 */
#include "emit.h"

#include <stdlib.h>

/* One member holding a field number, with the field's name as a comment. */
static void ef_field(cg_printer *out, const char *member, cg_field_ref f)
{
	cg_print(out, ".%s = %u, /* %s */\n", member, (unsigned)f.number, f.name);
}

/* One element of a field-number array, with the field's name as a comment. */
static void ef_field_number(cg_printer *out, cg_field_ref f)
{
	cg_print(out, "%u, /* %s */\n", (unsigned)f.number, f.name);
}

/* ---- gather ------------------------------------------------------------------------------ */

/* A double as the shortest literal that reads back as the same value ("0.5", "3", "1e-07"). */
static const char *ef_double(cg_pool *pool, double v)
{
	for (int prec = 1; prec < 17; prec++) {
		const char *s = cg_pool_printf(pool, "%.*g", prec, v);

		if (strtod(s, NULL) == v)
			return s;
	}
	return cg_pool_printf(pool, "%.17g", v);
}

static void ef_gather_first_n(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                              cg_pool *pool)
{
	(void)mn;
	(void)pool;
	cg_print(out, ".n = %u,\n", (unsigned)plan->first_n);
}

static void ef_gather_quorum(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                             cg_pool *pool)
{
	(void)mn;
	(void)pool;
	if (plan->quorum_key.number != 0)
		ef_field(out, "key_field", plan->quorum_key);
	else
		cg_print(out, ".key_field = 0, /* the whole response */\n");
}

static void ef_gather_best_effort(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                                  cg_pool *pool)
{
	(void)mn;
	(void)pool;
	cg_print(out, ".soft_ms = %u,\n", (unsigned)plan->soft_ms);
}

static void ef_gather_quality(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                              cg_pool *pool)
{
	if (plan->quality_predicate) {
		cg_print(out, ".predicate = %s__quality_hook,\n", mn->prefix);
		return;
	}
	ef_field(out, "field", plan->quality_field);
	ef_field(out, "by", plan->quality_by);
	cg_print(out, ".min_count = %u,\n", (unsigned)plan->min_count);
	cg_print(out, ".min_score = %s,\n", ef_double(pool, plan->min_score));
}

typedef void (*ef_members_fn)(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                              cg_pool *pool);

/* Per gather kind: its sg_gather_kind and the members it sets (NULL: none). */
static const struct {
	const char *kind;
	ef_members_fn members;
} ef_gathers[] = {
        [CG_GATHER_ALL] = {"SG_GATHER_ALL", NULL},
        [CG_GATHER_FIRST_N] = {"SG_GATHER_FIRST_N", ef_gather_first_n},
        [CG_GATHER_QUORUM] = {"SG_GATHER_QUORUM", ef_gather_quorum},
        [CG_GATHER_BEST_EFFORT] = {"SG_GATHER_BEST_EFFORT", ef_gather_best_effort},
        [CG_GATHER_QUALITY] = {"SG_GATHER_QUALITY", ef_gather_quality},
};

static void ef_gather(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                      cg_pool *pool)
{
	if (ef_gathers[plan->gather].members == NULL) {
		cg_print(out, ".gather = {.kind = %s},\n", ef_gathers[plan->gather].kind);
		return;
	}
	cg_print(out, ".gather = {\n");
	cg_indent(out);
	cg_print(out, ".kind = %s,\n", ef_gathers[plan->gather].kind);
	ef_gathers[plan->gather].members(plan, mn, out, pool);
	cg_outdent(out);
	cg_print(out, "},\n");
}

/* ---- merge ------------------------------------------------------------------------------- */

static void ef_merge_fields(const cg_plan *plan, const cg_method_names *mn, cg_printer *out)
{
	cg_print(out, ".fields = %s__merge_fields,\n", mn->prefix);
	cg_print(out, ".n_fields = %zu,\n", plan->n_fields);
}

static void ef_merge_concat(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                            cg_pool *pool)
{
	(void)pool;
	ef_merge_fields(plan, mn, out);
}

static void ef_merge_top_k(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                           cg_pool *pool)
{
	(void)pool;
	ef_merge_fields(plan, mn, out);
	ef_field(out, "score_field", plan->score);
	cg_print(out, ".order = %s,\n", plan->order_asc ? "SG_ORDER_ASC" : "SG_ORDER_DESC");
	cg_print(out, ".limit = %u,\n", (unsigned)plan->limit);
	if (plan->limit_field.number != 0)
		ef_field(out, "limit_field", plan->limit_field);
}

static void ef_merge_reduce(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                            cg_pool *pool)
{
	(void)pool;
	cg_print(out, ".reduce = %s__reduce,\n", mn->prefix);
	cg_print(out, ".n_reduce = %zu,\n", plan->n_reduce);
}

static void ef_merge_union(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                           cg_pool *pool)
{
	(void)pool;
	ef_merge_fields(plan, mn, out);
	ef_field(out, "key_field", plan->key);
	if (plan->score.number != 0)
		ef_field(out, "score_field", plan->score);
	else
		cg_print(out, ".score_field = 0, /* keep the first copy */\n");
	cg_print(out, ".order = %s,\n", plan->order_asc ? "SG_ORDER_ASC" : "SG_ORDER_DESC");
}

static void ef_merge_custom(const cg_plan *plan, const cg_method_names *mn, cg_printer *out,
                            cg_pool *pool)
{
	(void)plan;
	(void)pool;
	cg_print(out, ".custom = %s__merge_hook,\n", mn->prefix);
}

/* Per merge kind: its sg_merge_kind and the members it sets (NULL: none). */
static const struct {
	const char *kind;
	ef_members_fn members;
} ef_merges[] = {
        [CG_MERGE_NONE] = {"SG_MERGE_NONE", NULL},
        [CG_MERGE_CONCAT] = {"SG_MERGE_CONCAT", ef_merge_concat},
        [CG_MERGE_TOP_K] = {"SG_MERGE_TOP_K", ef_merge_top_k},
        [CG_MERGE_REDUCE] = {"SG_MERGE_REDUCE", ef_merge_reduce},
        [CG_MERGE_UNION] = {"SG_MERGE_UNION", ef_merge_union},
        [CG_MERGE_COMPOSE] = {"SG_MERGE_COMPOSE", NULL},
        [CG_MERGE_CUSTOM] = {"SG_MERGE_CUSTOM", ef_merge_custom},
};

static void ef_merge(const cg_plan *plan, const cg_method_names *mn, cg_printer *out, cg_pool *pool)
{
	if (ef_merges[plan->merge].members == NULL) {
		cg_print(out, ".merge = {.kind = %s},\n", ef_merges[plan->merge].kind);
		return;
	}
	cg_print(out, ".merge = {\n");
	cg_indent(out);
	cg_print(out, ".kind = %s,\n", ef_merges[plan->merge].kind);
	ef_merges[plan->merge].members(plan, mn, out, pool);
	cg_outdent(out);
	cg_print(out, "},\n");
}

static void ef_partial(const cg_plan *plan, cg_printer *out)
{
	cg_print(out, ".partial = {\n");
	cg_indent(out);
	cg_print(out, ".allow = %s,\n", plan->allow_partial ? "true" : "false");
	if (plan->total_field.number != 0)
		ef_field(out, "total_field", plan->total_field);
	if (plan->ok_field.number != 0)
		ef_field(out, "ok_field", plan->ok_field);
	if (plan->failed_field.number != 0)
		ef_field(out, "failed_field", plan->failed_field);
	cg_outdent(out);
	cg_print(out, "},\n");
}

/* ---- what a table points to -------------------------------------------------------------- */

static void ef_reduce_rules(const cg_plan *plan, const cg_method_names *mn, cg_printer *out)
{
	static const char *const ops[] = {
	        [SCATTER__REDUCE_OP__SUM] = "SG_REDUCE_SUM",
	        [SCATTER__REDUCE_OP__MIN] = "SG_REDUCE_MIN",
	        [SCATTER__REDUCE_OP__MAX] = "SG_REDUCE_MAX",
	        [SCATTER__REDUCE_OP__FIRST] = "SG_REDUCE_FIRST",
	        [SCATTER__REDUCE_OP__LAST] = "SG_REDUCE_LAST",
	};

	cg_print(out, "static const sg_reduce_field %s__reduce[] = {\n", mn->prefix);
	cg_indent(out);
	for (size_t i = 0; i < plan->n_reduce; i++) {
		const cg_reduce_rule *r = &plan->reduce[i];

		cg_print(out, "{.field = %u, .op = %s}, /* %s */\n", (unsigned)r->field.number,
		         ops[r->op], r->field.name);
	}
	cg_outdent(out);
	cg_print(out, "};\n\n");
}

/* The field maps of the legs that have one, then the legs. */
static void ef_legs(const cg_plan *plan, const cg_method_names *mn, cg_printer *out, cg_pool *pool)
{
	for (size_t i = 0; i < plan->n_legs; i++) {
		const cg_leg_plan *leg = &plan->legs[i];

		if (leg->n_map == 0)
			continue;
		cg_print(out, "/* Leg %s: its request, built from fields of the incoming one. */\n",
		         leg->name);
		cg_print(out, "static const sg_field_map %s__leg_%zu_map[] = {\n", mn->prefix, i);
		cg_indent(out);
		for (size_t j = 0; j < leg->n_map; j++)
			cg_print(out, "{.from = %u, .to = %u}, /* %s -> %s */\n",
			         (unsigned)leg->map[j].from.number, (unsigned)leg->map[j].to.number,
			         leg->map[j].from.name, leg->map[j].to.name);
		cg_outdent(out);
		cg_print(out, "};\n\n");
	}
	cg_print(out, "static const sg_leg_desc %s__legs[] = {\n", mn->prefix);
	cg_indent(out);
	for (size_t i = 0; i < plan->n_legs; i++) {
		const cg_leg_plan *leg = &plan->legs[i];

		cg_print(out, "{\n");
		cg_indent(out);
		cg_print(out, ".name = \"%s\",\n", cg_c_escape(pool, leg->name));
		cg_print(out, ".group = \"%s\",\n", cg_c_escape(pool, leg->group));
		cg_print(out, ".path = \"%s\",\n", cg_c_escape(pool, leg->path));
		cg_print(out, ".request = &%s__descriptor,\n",
		         cg_name_lower(pool, leg->request->full_name));
		cg_print(out, ".response = &%s__descriptor,\n",
		         cg_name_lower(pool, leg->response->full_name));
		if (leg->n_map > 0) {
			cg_print(out, ".map = %s__leg_%zu_map,\n", mn->prefix, i);
			cg_print(out, ".n_map = %zu,\n", leg->n_map);
		} else {
			cg_print(out, ".n_map = 0, /* the incoming request, forwarded */\n");
		}
		if (leg->into.number != 0)
			ef_field(out, "into", leg->into);
		cg_print(out, ".optional = %s,\n", leg->optional ? "true" : "false");
		if (leg->deadline_ms != 0)
			cg_print(out, ".deadline_ms = %u,\n", (unsigned)leg->deadline_ms);
		else
			cg_print(out, ".deadline_ms = 0, /* the method's */\n");
		cg_outdent(out);
		cg_print(out, "},\n");
	}
	cg_outdent(out);
	cg_print(out, "};\n\n");
}

/* The static functions the table points to, casting the generic hook types to the user's
 * typed functions (declared in the header; a missing one is a link error naming it). */
static void ef_hooks(const cg_plan *plan, const cg_method_names *mn, cg_printer *out, cg_pool *pool)
{
	if (plan->merge == CG_MERGE_CUSTOM) {
		const char *params[] = {"sg_merge_ctx *ctx", "const ProtobufCMessage *request",
		                        "const sg_leg_result *legs", "size_t n_legs",
		                        "ProtobufCMessage *out"};
		const char *args[] = {
		        "ctx", cg_pool_printf(pool, "(const %s *)request", mn->req_type), "legs",
		        "n_legs", cg_pool_printf(pool, "(%s *)out", mn->resp_type)};

		cg_print(out, "/* sg_merge_fn -> %s_merge() */\n", mn->prefix);
		cg_print_wrapped(out,
		                 cg_pool_printf(pool, "static sg_err %s__merge_hook(", mn->prefix),
		                 params, sizeof(params) / sizeof(params[0]), ")\n");
		cg_print(out, "{\n");
		cg_indent(out);
		cg_print_wrapped(out, cg_pool_printf(pool, "return %s_merge(", mn->prefix), args,
		                 sizeof(args) / sizeof(args[0]), ");\n");
		cg_outdent(out);
		cg_print(out, "}\n\n");
	}
	if (plan->quality_predicate) {
		const char *params[] = {"const ProtobufCMessage *request",
		                        "const sg_leg_result *legs", "size_t n_legs"};
		const char *args[] = {cg_pool_printf(pool, "(const %s *)request", mn->req_type),
		                      "legs", "n_legs"};

		cg_print(out, "/* sg_quality_fn -> %s_quality() */\n", mn->prefix);
		cg_print_wrapped(out,
		                 cg_pool_printf(pool, "static bool %s__quality_hook(", mn->prefix),
		                 params, sizeof(params) / sizeof(params[0]), ")\n");
		cg_print(out, "{\n");
		cg_indent(out);
		cg_print_wrapped(out, cg_pool_printf(pool, "return %s_quality(", mn->prefix), args,
		                 sizeof(args) / sizeof(args[0]), ");\n");
		cg_outdent(out);
		cg_print(out, "}\n\n");
	}
}

static void ef_fanout(const cg_file_plan *fp, size_t si, size_t mi, cg_printer *out, cg_pool *pool)
{
	const cg_plan *plan = fp->plans[si][mi];
	cg_method_names mn;

	cg_method_names_get(pool, fp->file, si, mi, &mn);
	if (plan->n_fields > 0) {
		cg_print(out, "static const uint32_t %s__merge_fields[] = {\n", mn.prefix);
		cg_indent(out);
		for (size_t i = 0; i < plan->n_fields; i++)
			ef_field_number(out, plan->fields[i]);
		cg_outdent(out);
		cg_print(out, "};\n\n");
	}
	if (plan->n_reduce > 0)
		ef_reduce_rules(plan, &mn, out);
	if (plan->n_legs > 0)
		ef_legs(plan, &mn, out, pool);
	ef_hooks(plan, &mn, out, pool);
	cg_print(out, "const sg_method_desc %s__fanout = {\n", mn.prefix);
	cg_indent(out);
	cg_print(out, ".path = \"%s\",\n", cg_c_escape(pool, mn.path));
	cg_print(out, ".request = &%s,\n", mn.req_desc);
	cg_print(out, ".response = &%s,\n", mn.resp_desc);
	if (plan->n_legs > 0) {
		cg_print(out, ".legs = %s__legs,\n", mn.prefix);
		cg_print(out, ".n_legs = %zu,\n", plan->n_legs);
	} else {
		cg_print(out, ".group = \"%s\",\n", cg_c_escape(pool, plan->group));
		cg_print(out, ".backend_path = \"%s\",\n", cg_c_escape(pool, plan->backend_path));
		if (plan->group_size != 0)
			cg_print(out, ".group_size = %u,\n", (unsigned)plan->group_size);
	}
	cg_print(out, ".deadline_ms = %u,\n", (unsigned)plan->deadline_ms);
	cg_print(out, ".margin_ms = %u,\n", (unsigned)plan->margin_ms);
	ef_gather(plan, &mn, out, pool);
	ef_merge(plan, &mn, out, pool);
	ef_partial(plan, out);
	cg_emit_resilience(plan, out);
	cg_outdent(out);
	cg_print(out, "};\n\n");
}

static void ef_register(const cg_file_plan *fp, size_t si, cg_printer *out, cg_pool *pool)
{
	const cg_service_proto *svc = fp->file->service[si];
	const char *full = cg_service_full_name(pool, fp->file, si);
	cg_method_names mn;

	cg_print(out, "sg_err %s__register(sg_server *s)\n{\n", cg_name_lower(pool, full));
	cg_indent(out);
	cg_print(out, "sg_err rv;\n\n");
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (fp->plans[si][mi] == NULL)
			continue;
		cg_method_names_get(pool, fp->file, si, mi, &mn);
		cg_print(out, "rv = sg_server_add_fanout(s, &%s__fanout);\n", mn.prefix);
		cg_print(out, "if (rv != SG_OK)\n\treturn rv;\n");
	}
	cg_print(out, "return SG_OK;\n");
	cg_outdent(out);
	cg_print(out, "}\n\n");
}
static void ef_service(const cg_file_plan *fp, size_t si, cg_printer *out, cg_pool *pool)
{
	const cg_service_proto *svc = fp->file->service[si];

	cg_print_banner(
	        out, cg_pool_printf(pool, "service %s", cg_service_full_name(pool, fp->file, si)));
	cg_print(out, "\n");
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (fp->plans[si][mi] != NULL)
			ef_fanout(fp, si, mi, out, pool);
	}
	ef_register(fp, si, out, pool);
}

/* Whether service si has a method with a fan-out option. */
static bool ef_has_fanout(const cg_file_plan *fp, size_t si)
{
	for (size_t mi = 0; mi < fp->file->service[si]->n_method; mi++) {
		if (fp->plans[si][mi] != NULL)
			return true;
	}
	return false;
}

void cg_emit_fanout(const cg_file_plan *fp, cg_printer *out)
{
	const cg_file_proto *file = fp->file;
	bool any = false;
	cg_pool pool;

	cg_pool_init(&pool);
	cg_emit_banner(out, cg_output_name(&pool, file, CG_OUT_FANOUT), file);
	cg_print(out,
	         "/* The fan-out tables and __register, apart from the skeletons and stubs: only "
	         "a binary that\n * registers a fan-out service links this code and the C "
	         "hooks it calls. */\n");
	cg_print(out, "#include \"%s\"\n\n", cg_output_name(&pool, file, CG_OUT_HEADER));
	for (size_t si = 0; si < file->n_service; si++) {
		if (!ef_has_fanout(fp, si))
			continue;
		ef_service(fp, si, out, &pool);
		any = true;
	}
	if (!any)
		cg_print(out, "/* %s declares no fan-out methods: nothing here. */\n\n",
		         file->name);
	cg_emit_trim_end(out);
	if (pool.failed)
		out->failed = true;
	cg_pool_fini(&pool);
}
