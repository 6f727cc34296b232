/*
 * check.c: error lines and field-type questions every part of the option check asks.
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_check_error(cg_check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->line > 0)
		cg_print(c->errs, "%s:%d:%d: ", c->file->name, c->line, c->col);
	else
		cg_print(c->errs, "%s: ", c->file->name);
	if (c->where != NULL)
		cg_print(c->errs, "%s", c->where);
	va_start(ap, fmt);
	cg_vprint(c->errs, fmt, ap);
	va_end(ap);
	cg_print(c->errs, "\n");
	c->n_errors++;
}

void cg_check_oom(cg_check *c)
{
	c->errs->failed = true;
}

void cg_check_unknown(cg_check *c, const ProtobufCMessage *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_unknown_fields; i++) {
		cg_check_error(c,
		               "%s field %u is not supported by this protoc-gen-scatter "
		               "(is scatter/options.proto newer than the plugin?)",
		               m->descriptor->name, (unsigned)m->unknown_fields[i].tag);
	}
}

/* ---- field types ------------------------------------------------------------------------- */

const char *cg_type_name(cg_type t)
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

bool cg_type_integer(cg_type t)
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

bool cg_type_numeric(cg_type t)
{
	return cg_type_integer(t) ||
	       t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE ||
	       t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT;
}

bool cg_type_scalar(cg_type t)
{
	return t != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE &&
	       t != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP;
}

bool cg_field_repeated(const cg_field_proto *f)
{
	return f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
}

const char *cg_field_kind(const cg_field_proto *f, char *buf, size_t len)
{
	const char *type = cg_type_name(f->type);
	const char *article = type[0] == 'i' || type[0] == 'e' ? "an" : "a";

	if (cg_field_repeated(f))
		snprintf(buf, len, "a repeated %s field", type);
	else
		snprintf(buf, len, "%s %s field", article, type);
	return buf;
}

const cg_field_proto *cg_check_field(cg_check *c, const char *what, const cg_message *m,
                                     const char *name)
{
	const cg_field_proto *f = cg_message_field(m, name);

	if (f == NULL)
		cg_check_error(c, "%s \"%s\" is not a field of %s", what, name, m->full_name);
	return f;
}

const cg_field_proto *cg_check_integer(cg_check *c, const char *what, const cg_message *m,
                                       const char *name)
{
	const cg_field_proto *f = cg_check_field(c, what, m, name);
	char kind[96];

	if (f == NULL)
		return NULL;
	if (!cg_type_integer(f->type)) {
		cg_check_error(c, "%s \"%s\" is %s of %s; it must be an integer", what, name,
		               cg_field_kind(f, kind, sizeof(kind)), m->full_name);
		return NULL;
	}
	if (cg_field_repeated(f)) {
		cg_check_error(c, "%s \"%s\" is repeated; it must be a single integer field", what,
		               name);
		return NULL;
	}
	return f;
}

const cg_field_proto *cg_check_numeric(cg_check *c, const char *what, const cg_message *m,
                                       const char *name)
{
	const cg_field_proto *f = cg_check_field(c, what, m, name);
	char kind[96];

	if (f == NULL)
		return NULL;
	if (!cg_type_numeric(f->type)) {
		cg_check_error(c, "%s \"%s\" is %s of %s; it must be numeric", what, name,
		               cg_field_kind(f, kind, sizeof(kind)), m->full_name);
		return NULL;
	}
	if (cg_field_repeated(f)) {
		cg_check_error(c, "%s \"%s\" is repeated; it must be a single numeric field", what,
		               name);
		return NULL;
	}
	return f;
}

const cg_message *cg_check_elements(cg_check *c, const char *what, const cg_message *m,
                                    const char *name, cg_field_ref *ref)
{
	const cg_field_proto *f;
	const cg_message *elem;
	char kind[96];

	*ref = cg_field_ref_of(NULL);
	if (name == NULL) {
		cg_check_error(c, "%s is missing; name a repeated message field of %s", what,
		               m->full_name);
		return NULL;
	}
	if ((f = cg_check_field(c, what, m, name)) == NULL)
		return NULL;
	if (f->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE ||
	    !cg_field_repeated(f)) {
		cg_check_error(c, "%s \"%s\" is %s of %s; it must be a repeated message field",
		               what, name, cg_field_kind(f, kind, sizeof(kind)), m->full_name);
		return NULL;
	}
	if ((elem = cg_index_message(c->idx, f->type_name)) == NULL) {
		cg_check_error(c, "%s \"%s\": its type %s is not in the request to the plugin",
		               what, name, cg_strip_dot(f->type_name));
		return NULL;
	}
	*ref = cg_field_ref_of(f);
	return elem;
}

cg_field_ref cg_field_ref_of(const cg_field_proto *f)
{
	cg_field_ref r = {0, NULL};

	if (f != NULL) {
		r.number = (uint32_t)f->number;
		r.name = f->name;
	}
	return r;
}

/* ---- backend methods --------------------------------------------------------------------- */

static bool ck_ident_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

bool cg_split_method(const char *s, size_t *svc_len, size_t *method_at)
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
		if (!ck_ident_char(s[i]))
			return false;
	}
	for (size_t i = 0; i < *svc_len; i++) {
		bool dot = s[i] == '.';

		if (!ck_ident_char(s[i]) && !dot)
			return false;
		if (dot && (i == 0 || i + 1 == *svc_len || s[i + 1] == '.'))
			return false;
	}
	return true;
}

/* Resolves `text` to a service and method; reports and returns false if it is malformed or
 * names nothing visible from this file. */
static bool ck_resolve_method(cg_check *c, const char *text, const cg_service **svc,
                              const cg_method_proto **m)
{
	size_t svc_len, method_at;
	char *name;

	if (!cg_split_method(text, &svc_len, &method_at)) {
		cg_check_error(c, "method \"%s\" is malformed; write \"package.Service/Method\"",
		               text);
		return false;
	}
	if ((name = malloc(svc_len + 1)) == NULL) {
		cg_check_oom(c);
		return false;
	}
	memcpy(name, text, svc_len);
	name[svc_len] = '\0';
	*svc = cg_index_service(c->idx, name);
	if (*svc == NULL || !cg_index_file_sees(c->idx, c->file, (*svc)->file)) {
		cg_check_error(c, "method \"%s\": no service %s in %s or its imports", text, name,
		               c->file->name);
		free(name);
		return false;
	}
	free(name);
	if ((*m = cg_service_method(*svc, text + method_at)) == NULL) {
		cg_check_error(c, "method \"%s\": service %s has no method %s", text,
		               (*svc)->full_name, text + method_at);
		return false;
	}
	return true;
}

/* Whether the option text `target` names method `name` of service `svc`. */
static bool ck_names_method(const char *target, const char *svc, const char *name)
{
	size_t svc_len, method_at;

	if (target == NULL || !cg_split_method(target, &svc_len, &method_at))
		return false;
	return strlen(svc) == svc_len && strncmp(target, svc, svc_len) == 0 &&
	       strcmp(target + method_at, name) == 0;
}

/* Whether backend method bm's own Fanout option calls this method: directly, or through one of
 * its heterogeneous legs. */
static bool ck_calls_back(cg_check *c, const cg_method_proto *bm)
{
	Scatter__Fanout *bfo = NULL;
	bool loop = false;

	if (cg_fanout_unpack(bm->options, &bfo) != 0 || bfo == NULL)
		return false;
	loop = ck_names_method(bfo->method, c->svc->full_name, c->method->name);
	for (size_t i = 0; i < bfo->n_legs && !loop; i++)
		loop = ck_names_method(bfo->legs[i]->method, c->svc->full_name, c->method->name);
	scatter__fanout__free_unpacked(bfo, NULL);
	return loop;
}

bool cg_check_backend(cg_check *c, const char *text, const cg_service **svc,
                      const cg_method_proto **m)
{
	bool ok = true;

	if (!ck_resolve_method(c, text, svc, m))
		return false;
	if (*svc == c->svc && *m == c->method) {
		cg_check_error(c,
		               "method \"%s\" is this method itself; a fan-out method cannot call "
		               "itself",
		               text);
		return false;
	}
	if (cg_method_streaming(*m)) {
		cg_check_error(c,
		               "method \"%s\" is a streaming method; backend methods must be unary",
		               text);
		ok = false;
	}
	if (ck_calls_back(c, *m)) {
		cg_check_error(
		        c, "method \"%s\" is a fan-out method that calls back into %s/%s: a loop",
		        text, c->svc->full_name, c->method->name);
		ok = false;
	}
	return ok;
}

char *cg_backend_path(cg_check *c, const cg_service *svc, const cg_method_proto *m)
{
	char *path = malloc(strlen(svc->full_name) + strlen(m->name) + 3);

	if (path == NULL) {
		cg_check_oom(c);
		return NULL;
	}
	sprintf(path, "/%s/%s", svc->full_name, m->name);
	return path;
}
