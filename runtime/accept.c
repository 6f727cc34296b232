/*
 * accept.c: requested calls, dispatch to fan-out and leaf calls, and UNIMPLEMENTED for the rest.
 */
#include "accept.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* A call to a path nobody serves: answered at once, freed when the answer is done. */
typedef struct unknown_call {
	sg__op op;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	int cancelled;
	char message[300];
} unknown_call;

static void unknown_complete(sg__op *op, bool ok)
{
	unknown_call *u = sg__container_of(op, unknown_call, op);

	(void)ok;
	grpc_call_details_destroy(&u->details);
	grpc_metadata_array_destroy(&u->md);
	grpc_call_unref(u->call);
	free(u);
}

void sg__accept_refuse(grpc_call *call, grpc_status_code code, const char *message,
                       grpc_byte_buffer *payload, grpc_metadata_array *md)
{
	grpc_call_cancel_with_status(call, code, message, NULL);
	if (md != NULL)
		grpc_metadata_array_destroy(md);
	grpc_call_unref(call);
	if (payload != NULL)
		grpc_byte_buffer_destroy(payload);
}

/* Takes ownership of call, details and md. */
static void unknown_answer(grpc_call *call, grpc_call_details *details, grpc_metadata_array *md)
{
	unknown_call *u = malloc(sizeof(*u));
	grpc_slice msg;
	grpc_op ops[3];

	if (u == NULL) {
		grpc_call_cancel_with_status(call, GRPC_STATUS_UNIMPLEMENTED, "unknown method",
		                             NULL);
		grpc_call_unref(call);
		grpc_call_details_destroy(details);
		grpc_metadata_array_destroy(md);
		return;
	}
	u->op.complete = unknown_complete;
	u->call = call;
	u->details = *details;
	u->md = *md;
	snprintf(u->message, sizeof(u->message), "unknown method %.*s",
	         (int)GRPC_SLICE_LENGTH(details->method),
	         (const char *)GRPC_SLICE_START_PTR(details->method));
	sg__log(SG_LOG_DEBUG, "%s", u->message);
	msg = grpc_slice_from_static_string(u->message);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
	ops[1].data.send_status_from_server.status_details = &msg;
	ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[2].data.recv_close_on_server.cancelled = &u->cancelled;
	if (grpc_call_start_batch(call, ops, 3, &u->op, NULL) != GRPC_CALL_OK)
		unknown_complete(&u->op, false);
}

static grpc_call_error slot_arm(sg__accept *s)
{
	sg__worker *w = s->w;

	switch (s->kind) {
	case SG_ACCEPT_FANOUT:
	case SG_ACCEPT_LEAF:
		return grpc_server_request_registered_call(
		        w->server,
		        s->kind == SG_ACCEPT_FANOUT ? s->fanout->registered : s->leaf->registered,
		        &s->call, &s->deadline, &s->md, &s->payload, w->cq, w->cq, &s->op);
	case SG_ACCEPT_UNKNOWN:
		return grpc_server_request_call(w->server, &s->call, &s->details, &s->md, w->cq,
		                                w->cq, &s->op);
	case SG_ACCEPT_HEALTH_CHECK:
	case SG_ACCEPT_HEALTH_WATCH:
		return grpc_server_request_registered_call(
		        w->server,
		        s->kind == SG_ACCEPT_HEALTH_CHECK ? s->health->check_registered
		                                          : s->health->watch_registered,
		        &s->call, &s->deadline, &s->md, &s->payload, w->cq, w->cq, &s->op);
	}
	return GRPC_CALL_ERROR;
}

static void slot_complete(sg__op *op, bool ok)
{
	sg__accept *s = sg__container_of(op, sg__accept, op);
	grpc_call *call = s->call;
	grpc_byte_buffer *payload = s->payload;
	gpr_timespec deadline = s->deadline;
	grpc_call_details details = s->details;
	grpc_metadata_array md = s->md;
	grpc_call_error err;

	/* Not ok: the server is shutting down and failed the request; the slot retires. */
	if (!ok)
		return;
	/* Hand the call over, then re-arm before serving it, so that the slot's fields are
	 * fresh and the next call is already being waited for. */
	s->call = NULL;
	s->payload = NULL;
	grpc_metadata_array_init(&s->md);
	grpc_call_details_init(&s->details);
	err = slot_arm(s);
	if (err != GRPC_CALL_OK)
		sg__log(SG_LOG_DEBUG, "worker %zu: cannot re-arm: %s", s->w->index,
		        grpc_call_error_to_string(err));

	switch (s->kind) {
	case SG_ACCEPT_FANOUT:
		/* The metadata goes with the call: its allowed entries are forwarded. */
		grpc_call_details_destroy(&details);
		sg__call_accept(s->w, s->fanout, call, deadline, payload, &md);
		break;
	case SG_ACCEPT_LEAF:
		grpc_call_details_destroy(&details);
		sg__leaf_accept(s->w, s->leaf, call, payload, &md);
		break;
	case SG_ACCEPT_UNKNOWN:
		unknown_answer(call, &details, &md);
		break;
	case SG_ACCEPT_HEALTH_CHECK:
	case SG_ACCEPT_HEALTH_WATCH:
		grpc_metadata_array_destroy(&md);
		grpc_call_details_destroy(&details);
		if (s->kind == SG_ACCEPT_HEALTH_CHECK)
			sg__health_check(s->w, s->health, call, payload);
		else
			sg__health_watch(s->w, s->health, call, payload);
		break;
	}
}

sg_err sg__accept_start(sg__worker *w, sg__fanout *const *fanouts, size_t n_fanouts,
                        sg__leaf_method *const *leaves, size_t n_leaves, const sg__health *health)
{
	/* Health: one slot each per worker; probes are rare and a slot re-arms at once. */
	size_t n = (n_fanouts + n_leaves) * SG_ACCEPT_DEPTH + 1 + (health != NULL ? 2 : 0), k = 0;
	sg__accept *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return SG_ENOMEM;
	for (size_t i = 0; i < n_fanouts; i++) {
		for (size_t d = 0; d < SG_ACCEPT_DEPTH; d++, k++) {
			slots[k].kind = SG_ACCEPT_FANOUT;
			slots[k].fanout = fanouts[i];
		}
	}
	for (size_t i = 0; i < n_leaves; i++) {
		for (size_t d = 0; d < SG_ACCEPT_DEPTH; d++, k++) {
			slots[k].kind = SG_ACCEPT_LEAF;
			slots[k].leaf = leaves[i];
		}
	}
	slots[k++].kind = SG_ACCEPT_UNKNOWN;
	if (health != NULL) {
		slots[k].kind = SG_ACCEPT_HEALTH_CHECK;
		slots[k++].health = health;
		slots[k].kind = SG_ACCEPT_HEALTH_WATCH;
		slots[k++].health = health;
	}
	for (size_t i = 0; i < n; i++) {
		slots[i].op.complete = slot_complete;
		slots[i].w = w;
		grpc_metadata_array_init(&slots[i].md);
		grpc_call_details_init(&slots[i].details);
	}
	w->slots = slots;
	w->n_slots = n;
	for (size_t i = 0; i < n; i++) {
		grpc_call_error err = slot_arm(&slots[i]);

		if (err != GRPC_CALL_OK) {
			sg__log(SG_LOG_ERROR, "worker %zu: cannot request calls: %s", w->index,
			        grpc_call_error_to_string(err));
			return SG_ESTATE;
		}
	}
	return SG_OK;
}

void sg__accept_fini(sg__worker *w)
{
	for (size_t i = 0; i < w->n_slots; i++) {
		grpc_metadata_array_destroy(&w->slots[i].md);
		grpc_call_details_destroy(&w->slots[i].details);
	}
	free(w->slots);
	w->slots = NULL;
	w->n_slots = 0;
}
