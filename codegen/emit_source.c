/*
 * emit_source.c: <base>.scatter.c, what leaf services and clients link: per service, the leaf
 * tables with their typed trampolines and __serve, then a client stub per unary method. The
 * fan-out tables and __register are in <base>.scatter-fanout.c (emit_fanout.c), so that none of
 * this refers to the user's hooks.
 */
#include "emit.h"

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
	size_t leaves = 0;

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
		if (!cg_method_streaming(svc->method[mi]))
			es_stub(fp, si, mi, out, pool);
	}
}

void cg_emit_source(const cg_file_plan *fp, cg_printer *out)
{
	const cg_file_proto *file = fp->file;
	cg_pool pool;

	cg_pool_init(&pool);
	cg_emit_banner(out, cg_output_name(&pool, file, CG_OUT_SOURCE), file);
	cg_print(out, "#include \"%s\"\n", cg_output_name(&pool, file, CG_OUT_HEADER));
	/* Each service section ends with a blank line, which separates it from the next. */
	if (file->n_service > 0)
		cg_print(out, "\n");
	for (size_t si = 0; si < file->n_service; si++)
		es_service(fp, si, out, &pool);
	cg_emit_trim_end(out);
	if (pool.failed)
		out->failed = true;
	cg_pool_fini(&pool);
}
