/*
 * fanout.c: resolving a fan-out method's table, at registration and at start.
 */
#include "fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* "search.Search/Query" for messages: the gRPC path without its leading slash. */
static const char *fanout_name(const sg_method_desc *m)
{
	return m->path[0] == '/' ? m->path + 1 : m->path;
}

static sg_err fanout_check_legs_table(const sg_method_desc *m, char *why, size_t len)
{
	for (size_t i = 0; i < m->n_legs; i++) {
		const sg_leg_desc *leg = &m->legs[i];

		if (leg->name == NULL || leg->name[0] == '\0' || leg->group == NULL ||
		    leg->path == NULL)
			return sg__why(why, len, "leg %zu: name, group and path are needed", i);
		if (leg->deadline_ms > m->deadline_ms)
			return sg__why(why, len, "leg %s: deadline_ms %u is over the method's %u",
			               leg->name, (unsigned)leg->deadline_ms,
			               (unsigned)m->deadline_ms);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(m->legs[j].name, leg->name) == 0)
				return sg__why(why, len, "two legs are named %s", leg->name);
		}
	}
	return SG_OK;
}

sg_err sg__fanout_init(sg__fanout *f, const sg_method_desc *m, char *why, size_t len)
{
	sg_err rv;

	memset(f, 0, sizeof(*f));
	f->m = m;
	if ((m->group == NULL || m->backend_path == NULL) && m->n_legs == 0)
		return sg__why(why, len, "neither a group and backend method nor legs");
	if (m->n_legs > 0 && (m->legs == NULL || m->group != NULL || m->backend_path != NULL))
		return sg__why(why, len, "legs and a group are exclusive");
	if (m->deadline_ms == 0)
		return sg__why(why, len, "deadline_ms must be > 0");
	if ((f->gather = sg__gather_ops_for(m->gather.kind)) == NULL)
		return sg__why(why, len, "unknown gather kind %d", (int)m->gather.kind);
	if ((rv = sg__gather_plan_init(&f->gather_plan, f->gather, m, why, len)) != SG_OK ||
	    (rv = sg__merge_plan_init(&f->plan, m, why, len)) != SG_OK ||
	    (rv = fanout_check_legs_table(m, why, len)) != SG_OK)
		return rv;
	f->lazy = f->plan.lazy && !f->gather->reads_answers && m->n_legs == 0;
	if (f->lazy)
		f->pick = (sg__wire_pick){.field = f->plan.fields[0]->id, .score = f->plan.score};
	if (m->n_legs == 0)
		return SG_OK;
	if ((f->maps = calloc(m->n_legs, sizeof(*f->maps))) == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < m->n_legs; i++) {
		if ((rv = sg__request_map_init(&f->maps[i], m, &m->legs[i], why, len)) != SG_OK)
			return rv;
	}
	return SG_OK;
}

/* The group called name, or the reason there is none. */
static sg_err fanout_group(const sg__backends *b, const char *name, const sg_method_desc *m,
                           const sg__group **out, char *why, size_t len)
{
	if ((*out = sg__backends_group(b, name)) == NULL)
		return sg__why(why, len, "backend group \"%s\" has no targets (%s needs it)", name,
		               fanout_name(m));
	return SG_OK;
}

sg_err sg__fanout_check(const sg__fanout *f, const sg__backends *b, char *why, size_t len)
{
	const sg_method_desc *m = f->m;
	const sg__group *g;
	size_t n_legs;
	sg_err rv;

	if (m->n_legs == 0) {
		if ((rv = fanout_group(b, m->group, m, &g, why, len)) != SG_OK)
			return rv;
		if (m->group_size != 0 && g->n != m->group_size)
			return sg__why(why, len,
			               "group %s has %zu targets; %s declares group_size %u",
			               g->name, g->n, fanout_name(m), (unsigned)m->group_size);
		n_legs = g->n;
	} else {
		for (size_t i = 0; i < m->n_legs; i++) {
			if ((rv = fanout_group(b, m->legs[i].group, m, &g, why, len)) != SG_OK)
				return rv;
			if (g->n != 1)
				return sg__why(
				        why, len,
				        "group %s has %zu targets; leg %s of %s needs exactly one",
				        g->name, g->n, m->legs[i].name, fanout_name(m));
		}
		n_legs = m->n_legs;
	}
	if (f->gather->check_legs != NULL &&
	    (rv = f->gather->check_legs(&m->gather, n_legs, why, len)) != SG_OK) {
		/* Say which method and group the strategy refused. */
		char inner[192];

		snprintf(inner, sizeof(inner), "%s", why != NULL ? why : "");
		return sg__why(why, len, "%s (group %s of %s)", inner,
		               m->group != NULL ? m->group : "-", fanout_name(m));
	}
	return SG_OK;
}

/* Hedging and retries of a route to shard sh, under resilience r: the policy, and the budgets
 * of the shard's replicas (a backend's budget is sized by the first method routed to it). */
static void fanout_tail(sg__leg_route *route, sg__shard *sh, const sg__group *g,
                        const sg_resilience_desc *r)
{
	/* The config's settings for the group (sg_server_set_group_resilience) replace the
	 * method's. */
	if (g->resilience_override)
		r = &g->resilience;
	route->shard = sh;
	sg__tail_policy_resolve(r, &route->tail);
	for (uint32_t i = 0; i < sh->n; i++) {
		if (!sg__budget_configured(&sh->replicas[i]->budget))
			sg__budget_init(&sh->replicas[i]->budget, r->budget.max_tokens,
			                r->budget.token_ratio);
	}
}

/* The set's own copy of shard `from` (its rotation starts afresh), with a reference on each
 * replica: the group's shards are replaced by a reload while this set may live on. */
static void fanout_shard(sg__shard *to, const sg__shard *from)
{
	to->n = from->n;
	atomic_init(&to->next, 0);
	for (uint32_t i = 0; i < from->n; i++) {
		to->replicas[i] = from->replicas[i];
		sg__backend_ref(to->replicas[i]);
	}
}

/* A new route set for f over b's groups as they are now, holding a reference on each
 * backend it names. */
sg_err sg__fanout_build(const sg__fanout *f, const sg__backends *b, sg__routes **out)
{
	const sg_method_desc *m = f->m;
	const sg__group *g = NULL;
	size_t n, stride = 0;
	sg__routes *rs;

	if (m->n_legs > 0) {
		n = m->n_legs;
	} else {
		if ((g = sg__backends_group(b, m->group)) == NULL)
			return SG_ECONFIG;
		n = g->n;
		/* Each name fits: the group's name, a slash, a size_t in decimal. */
		stride = strlen(g->name) + 24;
	}
	if ((rs = calloc(1, sizeof(*rs) + n * sizeof(rs->r[0]))) == NULL)
		return SG_ENOMEM;
	atomic_init(&rs->refs, 1);
	if ((rs->shards = calloc(n, sizeof(*rs->shards))) == NULL ||
	    (g != NULL && (rs->names = malloc(n * stride)) == NULL)) {
		sg__routes_release(rs);
		return SG_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const sg__group *lg = g;

		if (m->n_legs > 0) {
			const sg_leg_desc *leg = &m->legs[i];

			lg = sg__backends_group(b, leg->group);
			if (lg == NULL || lg->n != 1) {
				sg__routes_release(rs);
				return SG_ECONFIG;
			}
			rs->r[i] = (sg__leg_route){
			        .name = leg->name,
			        .method = grpc_slice_from_static_string(leg->path),
			        .response = leg->response,
			        .deadline_ms = leg->deadline_ms,
			        .optional = leg->optional,
			        .required = !leg->optional,
			};
			fanout_shard(&rs->shards[i], &lg->shards[0]);
		} else {
			char *name = rs->names + i * stride;

			snprintf(name, stride, "%s/%zu", g->name, i);
			rs->r[i] = (sg__leg_route){
			        .name = name,
			        .method = grpc_slice_from_static_string(m->backend_path),
			        .response = m->response,
			};
			fanout_shard(&rs->shards[i], &g->shards[i]);
		}
		rs->n = i + 1;
		rs->r[i].backend = rs->shards[i].replicas[0];
		fanout_tail(&rs->r[i], &rs->shards[i], lg, &m->resilience);
	}
	*out = rs;
	return SG_OK;
}

sg_err sg__fanout_route(sg__fanout *f, const sg__backends *b)
{
	sg__routes *rs;
	sg_err rv;

	if ((rv = sg__fanout_build(f, b, &rs)) != SG_OK)
		return rv;
	atomic_store(&f->routes, rs);
	return SG_OK;
}

bool sg__fanout_uses(const sg__fanout *f, const char *name)
{
	if (f->m->n_legs == 0)
		return strcmp(f->m->group, name) == 0;
	for (size_t i = 0; i < f->m->n_legs; i++) {
		if (strcmp(f->m->legs[i].group, name) == 0)
			return true;
	}
	return false;
}

sg__routes *sg__fanout_publish(sg__fanout *f, sg__routes *rs)
{
	/* seq_cst, paired with the guard in sg__fanout_acquire: see sg_server_reload_group. */
	return atomic_exchange(&f->routes, rs);
}

sg__routes *sg__fanout_acquire(const sg__fanout *f, atomic_int *guard)
{
	sg__fanout *mf = (sg__fanout *)f; /* the route pointer is the one mutable field */
	sg__routes *rs;

	atomic_store(guard, 1);
	rs = atomic_load(&mf->routes);
	atomic_fetch_add_explicit(&rs->refs, 1, memory_order_relaxed);
	atomic_store(guard, 0);
	return rs;
}

void sg__routes_release(sg__routes *rs)
{
	if (rs == NULL || atomic_fetch_sub_explicit(&rs->refs, 1, memory_order_acq_rel) > 1)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		for (uint32_t j = 0; j < rs->shards[i].n; j++)
			sg__backend_release(rs->shards[i].replicas[j]);
	}
	free(rs->shards);
	free(rs->names);
	free(rs);
}

void sg__fanout_unroute(sg__fanout *f)
{
	sg__routes_release(atomic_exchange(&f->routes, NULL));
}

void sg__fanout_fini(sg__fanout *f)
{
	if (f->maps != NULL) {
		for (size_t i = 0; i < f->m->n_legs; i++)
			sg__request_map_fini(&f->maps[i]);
	}
	free(f->maps);
	sg__fanout_unroute(f);
	sg__merge_plan_fini(&f->plan);
	f->maps = NULL;
}
