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
static void fanout_tail(sg__leg_route *route, sg__shard *sh, const sg_resilience_desc *r)
{
	route->shard = sh;
	sg__tail_policy_resolve(r, &route->tail);
	for (uint32_t i = 0; i < sh->n; i++) {
		if (!sg__budget_configured(&sh->replicas[i]->budget))
			sg__budget_init(&sh->replicas[i]->budget, r->budget.max_tokens,
			                r->budget.token_ratio);
	}
}

sg_err sg__fanout_route(sg__fanout *f, const sg__backends *b)
{
	const sg_method_desc *m = f->m;
	const sg__group *g;

	if (m->n_legs > 0) {
		if ((f->routes = calloc(m->n_legs, sizeof(*f->routes))) == NULL)
			return SG_ENOMEM;
		for (size_t i = 0; i < m->n_legs; i++) {
			const sg_leg_desc *leg = &m->legs[i];

			if ((g = sg__backends_group(b, leg->group)) == NULL || g->n != 1)
				return SG_ECONFIG;
			f->routes[i] = (sg__leg_route){
			        .name = leg->name,
			        .backend = g->legs[0],
			        .method = grpc_slice_from_static_string(leg->path),
			        .response = leg->response,
			        .deadline_ms = leg->deadline_ms,
			        .optional = leg->optional,
			        .required = !leg->optional,
			};
			fanout_tail(&f->routes[i], &g->shards[0], &m->resilience);
		}
		f->n_routes = m->n_legs;
		return SG_OK;
	}
	if ((g = sg__backends_group(b, m->group)) == NULL)
		return SG_ECONFIG;
	/* Each name fits: the group's name, a slash, a size_t in decimal. */
	size_t stride = strlen(g->name) + 24;
	f->routes = calloc(g->n, sizeof(*f->routes));
	f->names = malloc(g->n * stride);
	if (f->routes == NULL || f->names == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		char *name = f->names + i * stride;

		snprintf(name, stride, "%s/%zu", g->name, i);
		f->routes[i] = (sg__leg_route){
		        .name = name,
		        .backend = g->legs[i],
		        .method = grpc_slice_from_static_string(m->backend_path),
		        .response = m->response,
		};
		fanout_tail(&f->routes[i], &g->shards[i], &m->resilience);
	}
	f->n_routes = g->n;
	return SG_OK;
}

void sg__fanout_fini(sg__fanout *f)
{
	if (f->maps != NULL) {
		for (size_t i = 0; i < f->m->n_legs; i++)
			sg__request_map_fini(&f->maps[i]);
	}
	free(f->maps);
	free(f->routes);
	free(f->names);
	sg__merge_plan_fini(&f->plan);
	f->maps = NULL;
	f->routes = NULL;
	f->names = NULL;
	f->n_routes = 0;
}
