/*
 * emit_header.c: <base>.scatter.h, the declarations users and the runtime see.
 *
 * Per service, in this order: the tables (extern), the leaf skeleton (a _Handlers struct and
 * __serve, only if the service has methods without a fan-out option), __register (only if it
 * has fan-out methods), a client stub per unary method, and last, under a banner "Implement
 * these", the C hooks its options name (custom merges, quality predicates), which the user
 * writes and the fan-out tables reach through trampolines in <base>.scatter-fanout.c.
 */
#include "emit.h"

/* What a service's methods need, counted once. */
typedef struct eh_counts {
	size_t leaves;  /* unary methods without a fan-out option */
	size_t fanouts; /* methods with one */
} eh_counts;

static eh_counts eh_count(const cg_file_plan *fp, size_t si)
{
	const cg_service_proto *svc = fp->file->service[si];
	eh_counts n = {0, 0};

	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (fp->plans[si][mi] != NULL)
			n.fanouts++;
		else if (!cg_method_streaming(svc->method[mi]))
			n.leaves++;
	}
	return n;
}

static void eh_merge_hook(cg_printer *out, cg_pool *pool, const cg_method_names *mn)
{
	const char *params[] = {
	        "sg_merge_ctx *ctx",
	        cg_pool_printf(pool, "const %s *request", mn->req_type),
	        "const sg_leg_result *legs",
	        "size_t n_legs",
	        cg_pool_printf(pool, "%s *out", mn->resp_type),
	};

	cg_print(out,
	         "\n/* The custom merge of %s.\n"
	         " * Fill out (initialised) from legs[n_legs]: every leg, in leg order, a failed "
	         "one with a NULL\n * response. What out points to comes from "
	         "sg_merge_alloc(ctx) or from the legs' responses\n * (they live as long). "
	         "Everything else is borrowed for the call. A non-OK return fails\n * the call "
	         "with INTERNAL. */\n",
	         mn->path);
	cg_print_wrapped(out, cg_pool_printf(pool, "sg_err %s_merge(", mn->prefix), params,
	                 sizeof(params) / sizeof(params[0]), ");\n");
}

static void eh_quality_hook(cg_printer *out, cg_pool *pool, const cg_method_names *mn)
{
	const char *params[] = {
	        cg_pool_printf(pool, "const %s *request", mn->req_type),
	        "const sg_leg_result *legs",
	        "size_t n_legs",
	};

	cg_print(out,
	         "\n/* The quality predicate of %s.\n"
	         " * Called after each leg ends, with the legs ended so far in the order they "
	         "ended: true stops\n * the gather (the legs in flight are cancelled). "
	         "Everything is borrowed for the call. */\n",
	         mn->path);
	cg_print_wrapped(out, cg_pool_printf(pool, "bool %s_quality(", mn->prefix), params,
	                 sizeof(params) / sizeof(params[0]), ");\n");
}

/* The hooks of service si: one prototype per custom merge and quality predicate, with its
 * contract. Nothing if the service has none. */
static void eh_hooks(const cg_file_plan *fp, size_t si, cg_printer *out, cg_pool *pool)
{
	const cg_service_proto *svc = fp->file->service[si];
	bool any = false;
	cg_method_names mn;

	for (size_t mi = 0; mi < svc->n_method; mi++) {
		const cg_plan *plan = fp->plans[si][mi];

		if (plan == NULL || (plan->merge != CG_MERGE_CUSTOM && !plan->quality_predicate))
			continue;
		cg_method_names_get(pool, fp->file, si, mi, &mn);
		if (!any) {
			cg_print(out, "\n");
			cg_print_banner(out,
			                cg_pool_printf(pool, "Implement these: the C hooks of %s",
			                               mn.svc_full));
			cg_print(out,
			         "/* Declared here, defined by you: the fan-out tables call them "
			         "through trampolines\n * (%s), so a binary that registers "
			         "this service without one\n * fails to link, naming it; leaf "
			         "services and clients need none. They run on a\n * worker thread: "
			         "never block. */\n",
			         cg_base_name(cg_output_name(pool, fp->file, CG_OUT_FANOUT)));
			any = true;
		}
		if (plan->merge == CG_MERGE_CUSTOM)
			eh_merge_hook(out, pool, &mn);
		if (plan->quality_predicate)
			eh_quality_hook(out, pool, &mn);
	}
}

static void eh_service(const cg_file_plan *fp, size_t si, cg_printer *out, cg_pool *pool)
{
	const cg_service_proto *svc = fp->file->service[si];
	eh_counts n = eh_count(fp, si);
	const char *full = cg_service_full_name(pool, fp->file, si);
	const char *lower = cg_name_lower(pool, full);
	const char *type = cg_name_type(pool, full);
	cg_method_names mn;

	cg_print_banner(out, cg_pool_printf(pool, "service %s", full));
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		cg_method_names_get(pool, fp->file, si, mi, &mn);
		if (fp->plans[si][mi] != NULL)
			cg_print(out, "extern const sg_method_desc %s__fanout;\n", mn.prefix);
		else if (!cg_method_streaming(svc->method[mi]))
			cg_print(out, "extern const sg_leaf_desc %s__leaf;\n", mn.prefix);
		else
			cg_print(out,
			         "/* %s is streaming: no table, skeleton or stub\n"
			         " * (Scatter serves and calls unary methods only). */\n",
			         mn.path);
	}
	if (n.leaves > 0) {
		cg_print(out,
		         "\n/* A leaf handler runs on the worker that accepted the call and ends "
		         "it exactly once\n * (scatter/leaf.h). NULL: the method is not "
		         "served. */\n");
		cg_print(out, "typedef struct %s_Handlers {\n", type);
		cg_indent(out);
		for (size_t mi = 0; mi < svc->n_method; mi++) {
			if (fp->plans[si][mi] != NULL || cg_method_streaming(svc->method[mi]))
				continue;
			cg_method_names_get(pool, fp->file, si, mi, &mn);
			const char *params[] = {
			        "sg_leaf_call *call",
			        cg_pool_printf(pool, "const %s *request", mn.req_type),
			        "void *arg",
			};

			cg_print_wrapped(out, cg_pool_printf(pool, "void (*%s)(", mn.lower), params,
			                 3, ");\n");
		}
		cg_outdent(out);
		cg_print(out, "} %s_Handlers;\n\n", type);
		cg_print(out,
		         "/* Serves every non-NULL handler of h on s; arg is passed to each. h "
		         "and arg are borrowed\n * for the server's life. SG_EINVAL if h is "
		         "NULL. */\n");
		cg_emit_serve_prototype(out, pool, full, ");\n");
	}
	if (n.fanouts > 0) {
		cg_print(out,
		         "\n/* Serves every fan-out method of %s on s (sg_server_add_fanout);\n"
		         " * returns the first error. Defined in %s, with the tables:\n"
		         " * a binary that calls it links them and the service's C hooks. */\n",
		         full, cg_base_name(cg_output_name(pool, fp->file, CG_OUT_FANOUT)));
		cg_print(out, "sg_err %s__register(sg_server *s);\n", lower);
	}
	if (n.leaves + n.fanouts > 0)
		cg_print(out, "\n/* Client stubs: blocking calls, see sg_client_call. */\n");
	for (size_t mi = 0; mi < svc->n_method; mi++) {
		if (cg_method_streaming(svc->method[mi]))
			continue;
		cg_method_names_get(pool, fp->file, si, mi, &mn);
		cg_emit_stub_prototype(out, pool, &mn, ");\n");
	}
	eh_hooks(fp, si, out, pool);
}

void cg_emit_header(const cg_file_plan *fp, cg_printer *out)
{
	const cg_file_proto *file = fp->file;
	cg_pool pool;
	const char *name, *guard;

	cg_pool_init(&pool);
	name = cg_output_name(&pool, file, CG_OUT_HEADER);
	guard = cg_include_guard(&pool, name);
	cg_emit_banner(out, name, file);
	cg_print(out, "#ifndef %s\n#define %s\n\n", guard, guard);
	cg_print(out, "#include <scatter/scatter.h>\n\n");
	cg_print(out, "#include \"%s.pb-c.h\"\n\n", cg_strip_proto(&pool, file->name));
	cg_print(out, "#if SG_TABLE_VERSION != %d\n", CG_TABLE_VERSION);
	cg_print(out,
	         "#error \"%s: regenerate it with the protoc-gen-scatter of this "
	         "libscatter\"\n",
	         cg_c_escape(&pool, name));
	cg_print(out, "#endif\n\n");
	cg_print(out, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n");
	if (file->n_service == 0)
		cg_print(out, "\n/* %s declares no services: nothing to serve or call. */\n",
		         file->name);
	for (size_t si = 0; si < file->n_service; si++) {
		cg_print(out, "\n");
		eh_service(fp, si, out, &pool);
	}
	cg_print(out, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s */\n", guard);
	if (pool.failed)
		out->failed = true;
	cg_pool_fini(&pool);
}
