/*
 * gather_quorum.c: QUORUM over replicas answers with the value a majority (legs / 2 + 1) of
 * the legs agrees on, as soon as one does: the whole response bytes, or one scalar field of
 * the response (`key`). The answer is the first agreeing leg's response. As soon as no value
 * can reach a majority any more (the best count plus the legs still running falls short), the
 * call fails with ABORTED and a message counting what was seen.
 *
 * Per call: one entry per distinct value, at most one per leg, in the arena. With bytes, a new
 * value's bytes are copied into the arena (a repeated value costs a compare, no copy); with a
 * key, the entry points at the decoded response, which lives as long as the call.
 */
#include <stdio.h>
#include <string.h>

#include "gather.h"
#include "log.h"
#include "reflect.h"

#define QUORUM_MESSAGE_MAX 512

typedef struct quorum_value {
	const ProtobufCMessage *msg; /* key: the first response with this value */
	const uint8_t *bytes;        /* bytes: a copy in the arena */
	size_t len;
	uint32_t count;
	uint32_t leg; /* the first leg with this value */
} quorum_value;

typedef struct quorum_state {
	uint32_t n_values;
	quorum_value values[]; /* gc->total entries */
} quorum_state;

static sg_err quorum_plan(sg__gather_plan *p, const sg_method_desc *m, char *why, size_t len)
{
	if (m->n_legs > 0)
		return sg__why(why, len,
		               "quorum: needs replicas of one backend method (group), "
		               "not heterogeneous legs");
	if (m->merge.kind != SG_MERGE_NONE)
		return sg__why(why, len,
		               "quorum: the answer is one of the agreeing responses; "
		               "no merge may be set");
	if (m->gather.key_field == 0)
		return SG_OK;
	p->key = sg__field(m->response, m->gather.key_field);
	if (p->key == NULL || !sg__field_is_scalar(p->key))
		return sg__why(why, len, "quorum: key field %u of %s is not a single scalar",
		               (unsigned)m->gather.key_field, m->response->name);
	return SG_OK;
}

static sg_err quorum_check_legs(const sg_gather_desc *g, size_t n_legs, char *why, size_t len)
{
	(void)g;
	if (n_legs < 2)
		return sg__why(why, len, "quorum: needs at least 2 targets, not %zu", n_legs);
	return SG_OK;
}

static sg_err quorum_on_start(sg__gather_call *gc)
{
	quorum_state *st =
	        sg__arena_alloc(gc->arena, sizeof(*st) + gc->total * sizeof(st->values[0]));

	if (st == NULL)
		return SG_ENOMEM;
	st->n_values = 0;
	gc->state = st;
	return SG_OK;
}

static bool quorum_same(const sg__gather_plan *p, const quorum_value *v, const sg__gather_leg *leg)
{
	if (p->key != NULL)
		return sg__field_equal(v->msg, leg->response, p->key);
	return v->len == leg->len && (v->len == 0 || memcmp(v->bytes, leg->bytes, v->len) == 0);
}

/* The entry for leg's value, added if new; NULL when out of memory. */
static quorum_value *quorum_find(sg__gather_call *gc, quorum_state *st, const sg__gather_leg *leg)
{
	quorum_value *v;

	for (uint32_t i = 0; i < st->n_values; i++) {
		if (quorum_same(gc->plan, &st->values[i], leg))
			return &st->values[i];
	}
	v = &st->values[st->n_values];
	*v = (quorum_value){.msg = leg->response, .leg = leg->index};
	if (gc->plan->key == NULL && leg->len > 0) {
		uint8_t *copy = sg__arena_alloc(gc->arena, leg->len);

		if (copy == NULL)
			return NULL;
		memcpy(copy, leg->bytes, leg->len);
		v->bytes = copy;
		v->len = leg->len;
	}
	st->n_values++;
	return v;
}

/* "no majority: 3 replicas, 1 x "a", 1 x "b", 1 failed", in the arena. */
static const char *quorum_message(sg__gather_call *gc, const quorum_state *st)
{
	char *msg = sg__arena_alloc(gc->arena, QUORUM_MESSAGE_MAX);
	uint32_t running = gc->total - gc->ok - gc->failed;
	size_t used;

	if (msg == NULL)
		return "no majority";
	used = (size_t)snprintf(msg, QUORUM_MESSAGE_MAX, "no majority: %u replicas",
	                        (unsigned)gc->total);
	for (uint32_t i = 0; i < st->n_values && used < QUORUM_MESSAGE_MAX; i++) {
		const quorum_value *v = &st->values[i];
		char value[64];

		if (gc->plan->key != NULL)
			sg__field_format(v->msg, gc->plan->key, value, sizeof(value));
		else
			snprintf(value, sizeof(value), "response %c (%zu bytes)",
			         i < 26 ? 'A' + (int)i : '?', v->len);
		used += (size_t)snprintf(msg + used, QUORUM_MESSAGE_MAX - used, ", %u x %s",
		                         (unsigned)v->count, value);
	}
	if (gc->failed > 0 && used < QUORUM_MESSAGE_MAX)
		used += (size_t)snprintf(msg + used, QUORUM_MESSAGE_MAX - used, ", %u failed",
		                         (unsigned)gc->failed);
	if (running > 0 && used < QUORUM_MESSAGE_MAX)
		snprintf(msg + used, QUORUM_MESSAGE_MAX - used, ", %u cut short",
		         (unsigned)running);
	return msg;
}

static sg__gather_verdict quorum_on_leg_end(sg__gather_call *gc, const sg__gather_leg *leg)
{
	quorum_state *st = gc->state;
	uint32_t majority = gc->total / 2 + 1;
	uint32_t running = gc->total - gc->ok - gc->failed;
	uint32_t best = 0;

	if (leg->response != NULL) {
		quorum_value *v = quorum_find(gc, st, leg);

		if (v == NULL) {
			gc->abort_status = GRPC_STATUS_RESOURCE_EXHAUSTED;
			gc->abort_message = "quorum: out of memory";
			return SG__GATHER_ABORT;
		}
		if (++v->count >= majority) {
			gc->answer = v->leg;
			return SG__GATHER_DONE;
		}
	}
	for (uint32_t i = 0; i < st->n_values; i++) {
		if (st->values[i].count > best)
			best = st->values[i].count;
	}
	if (best + running < majority) {
		gc->abort_status = GRPC_STATUS_ABORTED;
		gc->abort_message = quorum_message(gc, st);
		return SG__GATHER_ABORT;
	}
	return SG__GATHER_CONTINUE;
}

const sg__gather_ops sg__gather_quorum = {
        .name = "quorum",
        .cut_status = GRPC_STATUS_CANCELLED,
        .reads_answers = true,
        .plan = quorum_plan,
        .check_legs = quorum_check_legs,
        .on_start = quorum_on_start,
        .on_leg_end = quorum_on_leg_end,
};
