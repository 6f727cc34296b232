/*
 * options.c: the Fanout option, from unknown-field bytes to a validated cg_plan.
 *
 * Validation reports every problem it finds, not just the first, each at the source span of
 * the option statement, in the words of the .proto ("top_k.by", field names, message names).
 */
#include "options.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Google__Protobuf__FieldDescriptorProto__Type op_type;

/* One method being checked, and where its errors go. */
typedef struct op_ctx {
	const cg_index *idx;
	const cg_file_proto *file;
	const cg_service *svc;
	const cg_method_proto *method;
	const cg_message *request;
	const cg_message *response;
	cg_printer *errs;
	int32_t line; /* 1-based; 0 when the file has no source info */
	int32_t col;
	int n_errors;
} op_ctx;

static void op_error(op_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void op_error(op_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->line > 0)
		cg_print(c->errs, "%s:%d:%d: ", c->file->name, c->line, c->col);
	else
		cg_print(c->errs, "%s: ", c->file->name);
	va_start(ap, fmt);
	cg_vprint(c->errs, fmt, ap);
	va_end(ap);
	cg_print(c->errs, "\n");
	c->n_errors++;
}

/* Where errors about method mi of service si point: the option statement if recorded, else
 * the method, else the service. */
static void op_locate(op_ctx *c, size_t si, size_t mi)
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

/* Reports fields of m that this plugin's options.proto does not know (set by a newer one). */
static void op_check_unknown(op_ctx *c, const ProtobufCMessage *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_unknown_fields; i++) {
		op_error(c,
		         "%s field %u is not supported by this protoc-gen-scatter "
		         "(is scatter/options.proto newer than the plugin?)",
		         m->descriptor->name, (unsigned)m->unknown_fields[i].tag);
	}
}

/* ---- field types ------------------------------------------------------------------------- */

static const char *op_type_name(op_type t)
{
	static const char *const names[] = {
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE] = "double",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT] = "float",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64] = "int64",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64] = "uint64",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32] = "int32",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64] = "fixed64",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32] = "fixed32",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL] = "bool",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING] = "string",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP] = "group",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE] = "message",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES] = "bytes",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32] = "uint32",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM] = "enum",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32] = "sfixed32",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64] = "sfixed64",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32] = "sint32",
	        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64] = "sint64",
	};

	if ((size_t)t < sizeof(names) / sizeof(names[0]) && names[t] != NULL)
		return names[t];
	return "unknown";
}

/* "a string", "an int32": the type with its article, for messages. */
static const char *op_article(op_type t)
{
	const char *n = op_type_name(t);

	return n[0] == 'i' || n[0] == 'e' ? "an" : "a";
}

static bool op_is_integer(op_type t)
{
	switch (t) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
		return true;
	default:
		return false;
	}
}

static bool op_is_numeric(op_type t)
{
	return op_is_integer(t) ||
	       t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE ||
	       t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT;
}

static bool op_is_repeated(const cg_field_proto *f)
{
	return f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
}

/* Looks up the field `name` that option `what` (e.g. "top_k.by") names in m; reports and
 * returns NULL if m has no such field. */
static const cg_field_proto *op_field(op_ctx *c, const char *what, const cg_message *m,
                                      const char *name)
{
	const cg_field_proto *f = cg_message_field(m, name);

	if (f == NULL)
		op_error(c, "%s \"%s\" is not a field of %s", what, name, m->full_name);
	return f;
}

/* The field `what` names in m, which must be a single integer field; NULL (reported) if not. */
static const cg_field_proto *op_integer_field(op_ctx *c, const char *what, const cg_message *m,
                                              const char *name)
{
	const cg_field_proto *f = op_field(c, what, m, name);

	if (f == NULL)
		return NULL;
	if (!op_is_integer(f->type)) {
		op_error(c, "%s \"%s\" is %s %s field of %s; it must be an integer", what, name,
		         op_article(f->type), op_type_name(f->type), m->full_name);
		return NULL;
	}
	if (op_is_repeated(f)) {
		op_error(c, "%s \"%s\" is repeated; it must be a single integer field", what, name);
		return NULL;
	}
	return f;
}

static cg_field_ref op_ref(const cg_field_proto *f)
{
	cg_field_ref r = {0, NULL};

	if (f != NULL) {
		r.number = (uint32_t)f->number;
		r.name = f->name;
	}
	return r;
}

/* ---- legs: group and backend method ------------------------------------------------------ */

static bool op_ident_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* Splits "pkg.Service/Method" or "pkg.Service.Method": the service is s[0, *svc_len) and the
 * method starts at s + *method_at. False if s has another shape. */
static bool op_split_method(const char *s, size_t *svc_len, size_t *method_at)
{
	const char *slash = strchr(s, '/');
	const char *cut = slash ? slash : strrchr(s, '.');
	size_t n = strlen(s);

	if (cut == NULL || cut == s || (slash && strchr(slash + 1, '/')))
		return false;
	*svc_len = (size_t)(cut - s);
	*method_at = *svc_len + 1;
	if (*method_at >= n)
		return false;
	for (size_t i = *method_at; i < n; i++) {
		if (!op_ident_char(s[i]))
			return false;
	}
	for (size_t i = 0; i < *svc_len; i++) {
		bool dot = s[i] == '.';

		if (!op_ident_char(s[i]) && !dot)
			return false;
		if (dot && (i == 0 || i + 1 == *svc_len || s[i + 1] == '.'))
			return false;
	}
	return true;
}

/* Resolves option.method to the backend's service and method; reports and returns false if it
 * is malformed or names nothing visible from this file. */
static bool op_resolve_method(op_ctx *c, const char *text, const cg_service **svc,
                              const cg_method_proto **m)
{
	size_t svc_len, method_at;
	char *name;

	if (!op_split_method(text, &svc_len, &method_at)) {
		op_error(c, "method \"%s\" is malformed; write \"package.Service/Method\"", text);
		return false;
	}
	if ((name = malloc(svc_len + 1)) == NULL) {
		c->errs->failed = true;
		return false;
	}
	memcpy(name, text, svc_len);
	name[svc_len] = '\0';
	*svc = cg_index_service(c->idx, name);
	if (*svc == NULL || !cg_index_file_sees(c->idx, c->file, (*svc)->file)) {
		op_error(c, "method \"%s\": no service %s in %s or its imports", text, name,
		         c->file->name);
		free(name);
		return false;
	}
	free(name);
	if ((*m = cg_service_method(*svc, text + method_at)) == NULL) {
		op_error(c, "method \"%s\": service %s has no method %s", text, (*svc)->full_name,
		         text + method_at);
		return false;
	}
	return true;
}

/* Whether the option text `target` names method `name` of service `svc`. */
static bool op_names_method(const char *target, const char *svc, const char *name)
{
	size_t svc_len, method_at;

	if (target == NULL || !op_split_method(target, &svc_len, &method_at))
		return false;
	return strlen(svc) == svc_len && strncmp(target, svc, svc_len) == 0 &&
	       strcmp(target + method_at, name) == 0;
}

static void op_check_legs(op_ctx *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	const cg_service *bsvc;
	const cg_method_proto *bm;
	Scatter__Fanout *bfo = NULL;

	if (fo->group == NULL)
		op_error(c, "group is missing; name the backend group the legs call");
	else if (fo->group[0] == '\0')
		op_error(c, "group is empty; name the backend group the legs call");
	if (fo->method == NULL) {
		op_error(c, "method is missing; name the backend method as "
		            "\"package.Service/Method\"");
		return;
	}
	if (!op_resolve_method(c, fo->method, &bsvc, &bm))
		return;
	if (bsvc == c->svc && bm == c->method) {
		op_error(c,
		         "method \"%s\" is this method itself; a fan-out method cannot call itself",
		         fo->method);
		return;
	}
	if (cg_method_streaming(bm))
		op_error(c, "method \"%s\" is a streaming method; backend methods must be unary",
		         fo->method);
	if (strcmp(bm->input_type, c->method->input_type) != 0)
		op_error(c, "method \"%s\" takes %s; it must take %s, the request of %s",
		         fo->method, cg_strip_dot(bm->input_type), c->request->full_name,
		         c->method->name);
	if (strcmp(bm->output_type, c->method->output_type) != 0)
		op_error(c, "method \"%s\" returns %s; it must return %s, the response of %s",
		         fo->method, cg_strip_dot(bm->output_type), c->response->full_name,
		         c->method->name);
	if (cg_fanout_unpack(bm->options, &bfo) == 0 && bfo != NULL &&
	    op_names_method(bfo->method, c->svc->full_name, c->method->name))
		op_error(c, "method \"%s\" is a fan-out method that calls back into %s/%s: a loop",
		         fo->method, c->svc->full_name, c->method->name);
	if (bfo != NULL)
		scatter__fanout__free_unpacked(bfo, NULL);
	if (c->errs->failed)
		return;
	plan->backend_path = malloc(strlen(bsvc->full_name) + strlen(bm->name) + 3);
	if (plan->backend_path == NULL) {
		c->errs->failed = true;
		return;
	}
	sprintf(plan->backend_path, "/%s/%s", bsvc->full_name, bm->name);
}

/* ---- merge ------------------------------------------------------------------------------- */

static void op_check_concat(op_ctx *c, const Scatter__Concat *cc, cg_plan *plan)
{
	op_check_unknown(c, &cc->base);
	if (cc->n_field == 0) {
		op_error(c, "concat: no field; name at least one repeated field of %s",
		         c->response->full_name);
		return;
	}
	if ((plan->fields = calloc(cc->n_field, sizeof(*plan->fields))) == NULL) {
		c->errs->failed = true;
		return;
	}
	for (size_t i = 0; i < cc->n_field; i++) {
		const char *name = cc->field[i];
		const cg_field_proto *f = op_field(c, "concat.field", c->response, name);
		bool twice = false;

		for (size_t j = 0; j < i; j++)
			twice = twice || strcmp(cc->field[j], name) == 0;
		if (twice) {
			op_error(c, "concat.field \"%s\" is named twice", name);
			continue;
		}
		if (f != NULL && !op_is_repeated(f)) {
			op_error(c, "concat.field \"%s\" is %s %s field of %s; it must be repeated",
			         name, op_article(f->type), op_type_name(f->type),
			         c->response->full_name);
			continue;
		}
		plan->fields[plan->n_fields++] = op_ref(f);
	}
	plan->merge = CG_MERGE_CONCAT;
}

/* The element message of top_k.field; NULL (reported) if the field does not fit. */
static const cg_message *op_check_topk_field(op_ctx *c, const Scatter__TopK *tk, cg_plan *plan)
{
	const cg_field_proto *f;
	const cg_message *elem;

	if (tk->field == NULL) {
		op_error(c, "top_k.field is missing; name a repeated message field of %s",
		         c->response->full_name);
		return NULL;
	}
	if ((f = op_field(c, "top_k.field", c->response, tk->field)) == NULL)
		return NULL;
	if (f->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE ||
	    !op_is_repeated(f)) {
		op_error(c,
		         "top_k.field \"%s\" is %s %s%s field of %s; it must be a repeated message "
		         "field",
		         tk->field, op_is_repeated(f) ? "a" : op_article(f->type),
		         op_is_repeated(f) ? "repeated " : "", op_type_name(f->type),
		         c->response->full_name);
		return NULL;
	}
	if ((elem = cg_index_message(c->idx, f->type_name)) == NULL) {
		op_error(c, "top_k.field \"%s\": its type %s is not in the request to the plugin",
		         tk->field, cg_strip_dot(f->type_name));
		return NULL;
	}
	if ((plan->fields = calloc(1, sizeof(*plan->fields))) == NULL) {
		c->errs->failed = true;
		return NULL;
	}
	plan->fields[0] = op_ref(f);
	plan->n_fields = 1;
	return elem;
}

static void op_check_topk(op_ctx *c, const Scatter__TopK *tk, cg_plan *plan)
{
	const cg_message *elem;

	op_check_unknown(c, &tk->base);
	plan->merge = CG_MERGE_TOP_K;
	elem = op_check_topk_field(c, tk, plan);
	if (tk->by == NULL) {
		op_error(c,
		         "top_k.by is missing; name the numeric field of the element to rank by");
	} else if (elem != NULL) {
		const cg_field_proto *by = op_field(c, "top_k.by", elem, tk->by);

		if (by != NULL && !op_is_numeric(by->type))
			op_error(c, "top_k.by \"%s\" is %s %s field of %s; it must be numeric",
			         tk->by, op_article(by->type), op_type_name(by->type),
			         elem->full_name);
		else if (by != NULL && op_is_repeated(by))
			op_error(c,
			         "top_k.by \"%s\" is repeated; it must be a single numeric field",
			         tk->by);
		else
			plan->score = op_ref(by);
	}
	plan->order_asc = tk->order == SCATTER__ORDER__ASC;
	plan->limit = tk->has_limit ? tk->limit : 0;
	if (tk->limit_from != NULL)
		plan->limit_field =
		        op_ref(op_integer_field(c, "top_k.limit_from", c->request, tk->limit_from));
	else if (plan->limit == 0)
		op_error(c, "top_k: neither limit nor limit_from is set; give a fixed limit, "
		            "a request field, or both");
}

/* ---- partial results --------------------------------------------------------------------- */

static void op_check_partial(op_ctx *c, const Scatter__Partial *pa, cg_plan *plan)
{
	const char *what[3] = {"partial.total_field", "partial.ok_field", "partial.failed_field"};
	const char *names[3];
	cg_field_ref *refs[3] = {&plan->total_field, &plan->ok_field, &plan->failed_field};

	plan->allow_partial = true;
	if (pa == NULL)
		return;
	op_check_unknown(c, &pa->base);
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
				op_error(c, "%s \"%s\" is also %s; each count needs its own field",
				         what[i], names[i], what[j]);
				clash = true;
			}
		}
		for (size_t j = 0; j < plan->n_fields && !clash; j++) {
			if (plan->fields[j].name && strcmp(names[i], plan->fields[j].name) == 0) {
				op_error(c, "%s \"%s\" is the field the merge writes", what[i],
				         names[i]);
				clash = true;
			}
		}
		if (!clash)
			*refs[i] = op_ref(op_integer_field(c, what[i], c->response, names[i]));
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
	free(plan->fields);
	free(plan);
}

/* Checks fo (borrowed) and fills plan; the count of errors is in c->n_errors. */
static void op_check(op_ctx *c, const Scatter__Fanout *fo, cg_plan *plan)
{
	op_check_unknown(c, &fo->base);
	if (cg_method_streaming(c->method))
		op_error(c, "%s/%s is a streaming method; only unary methods can fan out",
		         c->svc->full_name, c->method->name);
	op_check_legs(c, fo, plan);
	if (fo->has_deadline_ms && fo->deadline_ms == 0)
		op_error(c, "deadline_ms is 0; a fan-out method needs time for its legs");
	plan->deadline_ms = fo->deadline_ms;
	plan->margin_ms = fo->margin_ms;
	if (fo->gather_case == SCATTER__FANOUT__GATHER_ALL)
		op_check_unknown(c, &fo->all->base);
	if (fo->merge_case == SCATTER__FANOUT__MERGE_CONCAT)
		op_check_concat(c, fo->concat, plan);
	else if (fo->merge_case == SCATTER__FANOUT__MERGE_TOP_K)
		op_check_topk(c, fo->top_k, plan);
	op_check_partial(c, fo->partial, plan);
	if (fo->group != NULL && (plan->group = strdup(fo->group)) == NULL)
		c->errs->failed = true;
}

int cg_plan_method(const cg_index *idx, const cg_file_proto *file, size_t si, size_t mi,
                   cg_printer *errs, cg_plan **out)
{
	op_ctx c = {.idx = idx, .file = file, .errs = errs};
	Scatter__Fanout *fo = NULL;
	cg_plan *plan;
	char *svc_name;

	*out = NULL;
	c.method = file->service[si]->method[mi];
	op_locate(&c, si, mi);
	if (cg_fanout_unpack(c.method->options, &fo) != 0) {
		op_error(&c, "option (scatter.fanout) cannot be decoded as scatter.Fanout");
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
		op_error(&c, "%s: its service or message types are missing from the request",
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
