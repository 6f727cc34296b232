/*
 * merge_custom.c: CUSTOM hands every leg, in leg order, to a C function the user writes (the
 * generated trampoline around <prefix>_merge()), with an initialised response to fill and the
 * call's arena for the memory the answer needs.
 */
#include "log.h"
#include "merge.h"

/* What a custom merge may reach of its call. */
struct sg_merge_ctx {
	sg__arena *arena;
};

void *sg_merge_alloc(sg_merge_ctx *ctx, size_t size)
{
	return ctx != NULL ? sg__arena_alloc(ctx->arena, size) : NULL;
}

static sg_err custom_plan(sg__merge_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	(void)p;
	if (m->merge.custom == NULL)
		return sg__why(why, len, "custom: no merge function");
	return SG_OK;
}

static sg_err custom_run(const sg__merge_plan *p, const sg__merge_in *in, ProtobufCMessage *out)
{
	sg_merge_ctx ctx = {.arena = in->arena};

	return p->method->merge.custom(&ctx, in->request, in->legs, in->n_legs, out);
}

const sg__merge_ops sg__merge_custom = {
        .name = "custom",
        .start = SG__MERGE_FROM_INIT,
        .plan = custom_plan,
        .run = custom_run,
};
