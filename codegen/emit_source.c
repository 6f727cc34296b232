/*
 * emit_source.c: <base>.scatter.c, the const tables and the one-line wrappers around them.
 *
 * Per service: leaf tables with their typed trampolines and __serve; fan-out tables (field
 * numbers from the descriptors, defaults applied) and __register; then the client stubs.
 */
#include "emit.h"

/* One member holding a field number, with the field's name as a comment. */
static void es_field(cg_printer *out, const char *member, cg_field_ref f)
{
	cg_print(out, ".%s = %u, /* %s */\n", member, (unsigned)f.number, f.name);
}

/* One element of a field-number array, with the field's name as a comment. */
static void es_field_number(cg_printer *out, cg_field_ref f)
{
	cg_print(out, "%u, /* %s */\n", (unsigned)f.number, f.name);
}

static void es_leaf(const cg_file_plan *fp, size_t si, size_t mi, cg_printer *out, cg_pool *pool)
{
	cg_method_names mn;
	const char *params[] = {"sg_leaf_call *call", "const ProtobufCMessage *request",
	                        "const void *handlers", "void *arg"};

	cg_method_names_get(pool, fp->file, si, mi, &mn);
	cg_print(out, "const sg_leaf_desc %s__leaf = {\n", mn.prefix);
	cg_indent(out);
	cg_print(out, ".path = \"%s\",\n", cg_c_escape(pool, mn.path));
	cg_print(out, ".request = &%s,\n", mn.req_desc);
	cg_print(out, ".response = &%s,\n", mn.resp_desc);
	cg_outdent(out);
	cg_print(out, "};\n\n");
	cg_print_wrapped(out, cg_pool_printf(pool, "static void %s__invoke(", mn.prefix), params,
	                 sizeof(params) / sizeof(params[0]), ")\n");
	cg_print(out, "{\n");
	cg_indent(out);
	cg_print(out, "const %s_Handlers *h = handlers;\n\n", mn.svc_type);
	cg_print(out, "h->%s(call, (const %s *)request, arg);\n", mn.lower, mn.req_type);
	cg_outdent(out);
	cg_print(out, "}\n\n");
}

static void es_serve(const cg_file_plan *fp, size_t si, cg_printer *out, cg_pool *pool)
{
	const cg_service_proto *svc = fp->file->service[si];
	const char *full = cg_service_full_name(pool, fp->file, si);
	cg_method_names mn;

	cg_emit_serve_prototype(out, pool, full, ")\n");
	cg_print(out, "{\n");
	cg_indent(out);
	cg_print(out, "sg_err rv;\n\n");
	cg_print(out, "if (h == NULL)\n\treturn SG_EINVAL;\n");
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (fp->plans[si][mi] != NULL || cg_method_streaming(svc->method[mi]))
			continue;
		cg_method_names_get(pool, fp->file, si, mi, &mn);
		const char *args[] = {
		        "s",
		        cg_pool_printf(pool, "&%s__leaf", mn.prefix),
		        cg_pool_printf(pool, "%s__invoke", mn.prefix),
		        "h",
		        "arg",
		};
		cg_print(out, "if (h->%s != NULL) {\n", mn.lower);
		cg_indent(out);
		cg_print_wrapped(out, "rv = sg_server_add_leaf(", args,
		                 sizeof(args) / sizeof(args[0]), ");\n");
		cg_print(out, "if (rv != SG_OK)\n\treturn rv;\n");
		cg_outdent(out);
		cg_print(out, "}\n");
	}
	cg_print(out, "return SG_OK;\n");
	cg_outdent(out);
	cg_print(out, "}\n\n");
}

static void es_merge(const cg_plan *plan, const cg_method_names *mn, cg_printer *out)
{
	static const char *const kinds[] = {
	        [CG_MERGE_NONE] = "SG_MERGE_NONE",
	        [CG_MERGE_CONCAT] = "SG_MERGE_CONCAT",
	        [CG_MERGE_TOP_K] = "SG_MERGE_TOP_K",
	};

	if (plan->merge == CG_MERGE_NONE) {
		cg_print(out, ".merge = {.kind = SG_MERGE_NONE},\n");
		return;
	}
	cg_print(out, ".merge = {\n");
	cg_indent(out);
	cg_print(out, ".kind = %s,\n", kinds[plan->merge]);
	cg_print(out, ".fields = %s__merge_fields,\n", mn->prefix);
	cg_print(out, ".n_fields = %zu,\n", plan->n_fields);
	if (plan->merge == CG_MERGE_TOP_K) {
		es_field(out, "score_field", plan->score);
		cg_print(out, ".order = %s,\n", plan->order_asc ? "SG_ORDER_ASC" : "SG_ORDER_DESC");
		cg_print(out, ".limit = %u,\n", (unsigned)plan->limit);
		if (plan->limit_field.number != 0)
			es_field(out, "limit_field", plan->limit_field);
	}
	cg_outdent(out);
	cg_print(out, "},\n");
}

static void es_partial(const cg_plan *plan, cg_printer *out)
{
	cg_print(out, ".partial = {\n");
	cg_indent(out);
	cg_print(out, ".allow = %s,\n", plan->allow_partial ? "true" : "false");
	if (plan->total_field.number != 0)
		es_field(out, "total_field", plan->total_field);
	if (plan->ok_field.number != 0)
		es_field(out, "ok_field", plan->ok_field);
	if (plan->failed_field.number != 0)
		es_field(out, "failed_field", plan->failed_field);
	cg_outdent(out);
	cg_print(out, "},\n");
}

static void es_fanout(const cg_file_plan *fp, size_t si, size_t mi, cg_printer *out, cg_pool *pool)
{
	const cg_plan *plan = fp->plans[si][mi];
	cg_method_names mn;

	cg_method_names_get(pool, fp->file, si, mi, &mn);
	if (plan->n_fields > 0) {
		cg_print(out, "static const uint32_t %s__merge_fields[] = {\n", mn.prefix);
		cg_indent(out);
		for (size_t i = 0; i < plan->n_fields; i++)
			es_field_number(out, plan->fields[i]);
		cg_outdent(out);
		cg_print(out, "};\n\n");
	}
	cg_print(out, "const sg_method_desc %s__fanout = {\n", mn.prefix);
	cg_indent(out);
	cg_print(out, ".path = \"%s\",\n", cg_c_escape(pool, mn.path));
	cg_print(out, ".request = &%s,\n", mn.req_desc);
	cg_print(out, ".response = &%s,\n", mn.resp_desc);
	cg_print(out, ".group = \"%s\",\n", cg_c_escape(pool, plan->group));
	cg_print(out, ".backend_path = \"%s\",\n", cg_c_escape(pool, plan->backend_path));
	cg_print(out, ".deadline_ms = %u,\n", (unsigned)plan->deadline_ms);
	cg_print(out, ".margin_ms = %u,\n", (unsigned)plan->margin_ms);
	cg_print(out, ".gather = {.kind = SG_GATHER_ALL},\n");
	es_merge(plan, &mn, out);
	es_partial(plan, out);
	cg_outdent(out);
	cg_print(out, "};\n\n");
}

static void es_register(const cg_file_plan *fp, size_t si, cg_printer *out, cg_pool *pool)
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

static void es_stub(const cg_file_plan *fp, size_t si, size_t mi, cg_printer *out, cg_pool *pool)
{
	cg_method_names mn;

	cg_method_names_get(pool, fp->file, si, mi, &mn);
	const char *args[] = {
	        "c",
	        cg_pool_printf(pool, "\"%s\"", cg_c_escape(pool, mn.path)),
	        "(const ProtobufCMessage *)request",
	        cg_pool_printf(pool, "&%s", mn.resp_desc),
	        "timeout_ms",
	        "&msg",
	        "result",
	};

	cg_emit_stub_prototype(out, pool, &mn, ")\n");
	cg_print(out, "{\n");
	cg_indent(out);
	cg_print(out, "ProtobufCMessage *msg = NULL;\n");
	cg_print(out, "sg_err rv;\n\n");
	cg_print(out, "if (response == NULL)\n\treturn SG_EINVAL;\n");
	cg_print_wrapped(out, "rv = sg_client_call(", args, sizeof(args) / sizeof(args[0]), ");\n");
	cg_print(out, "*response = (%s *)msg;\n", mn.resp_type);
	cg_print(out, "return rv;\n");
	cg_outdent(out);
	cg_print(out, "}\n\n");
}

static void es_service(const cg_file_plan *fp, size_t si, cg_printer *out, cg_pool *pool)
{
	const cg_service_proto *svc = fp->file->service[si];
	size_t leaves = 0, fanouts = 0;

	cg_print_banner(
	        out, cg_pool_printf(pool, "service %s", cg_service_full_name(pool, fp->file, si)));
	cg_print(out, "\n");
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (fp->plans[si][mi] != NULL || cg_method_streaming(svc->method[mi]))
			continue;
		es_leaf(fp, si, mi, out, pool);
		leaves++;
	}
	if (leaves > 0)
		es_serve(fp, si, out, pool);
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (fp->plans[si][mi] == NULL)
			continue;
		es_fanout(fp, si, mi, out, pool);
		fanouts++;
	}
	if (fanouts > 0)
		es_register(fp, si, out, pool);
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (!cg_method_streaming(svc->method[mi]))
			es_stub(fp, si, mi, out, pool);
	}
}

void cg_emit_source(const cg_file_plan *fp, cg_printer *out)
{
	const cg_file_proto *file = fp->file;
	cg_pool pool;
	const char *name;

	cg_pool_init(&pool);
	name = cg_output_name(&pool, file, "c");
	cg_emit_banner(out, name, file);
	cg_print(out, "#include \"%s\"\n", cg_output_name(&pool, file, "h"));
	/* Each service section ends with a blank line, which separates it from the next. */
	if (file->n_service > 0)
		cg_print(out, "\n");
	for (size_t si = 0; si < file->n_service; si++)
		es_service(fp, si, out, &pool);
	/* No trailing blank line: every section above ends with one. */
	if (out->len >= 2 && out->buf[out->len - 1] == '\n' && out->buf[out->len - 2] == '\n')
		out->buf[--out->len] = '\0';
	if (pool.failed)
		out->failed = true;
	cg_pool_fini(&pool);
}
