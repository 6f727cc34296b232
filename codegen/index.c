/*
 * index.c: lookups over the request's descriptors by full name.
 */
#include "index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cg_strip_dot(const char *name)
{
	return name[0] == '.' ? name + 1 : name;
}

/* "pkg" + "." + "name" (or just "name" when the scope is empty); NULL when out of memory. */
static char *ix_join(const char *scope, const char *name)
{
	size_t n = strlen(scope) + strlen(name) + 2;
	char *s = malloc(n);

	if (s == NULL)
		return NULL;
	if (scope[0] != '\0')
		snprintf(s, n, "%s.%s", scope, name);
	else
		snprintf(s, n, "%s", name);
	return s;
}

static int ix_add_message(cg_index *idx, size_t *cap, const cg_file_proto *file, const char *scope,
                          const cg_message_proto *m)
{
	cg_message *e;

	if (idx->n_messages == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		cg_message *msgs = realloc(idx->messages, ncap * sizeof(*msgs));

		if (msgs == NULL)
			return -1;
		idx->messages = msgs;
		*cap = ncap;
	}
	e = &idx->messages[idx->n_messages];
	if ((e->full_name = ix_join(scope, m->name)) == NULL)
		return -1;
	e->proto = m;
	e->file = file;
	idx->n_messages++;
	/* e moves when the array grows; the name it points to does not. */
	scope = e->full_name;
	for (size_t i = 0; i < m->n_nested_type; i++) {
		if (ix_add_message(idx, cap, file, scope, m->nested_type[i]) != 0)
			return -1;
	}
	return 0;
}

static int ix_cmp_message(const void *a, const void *b)
{
	return strcmp(((const cg_message *)a)->full_name, ((const cg_message *)b)->full_name);
}

static int ix_cmp_service(const void *a, const void *b)
{
	return strcmp(((const cg_service *)a)->full_name, ((const cg_service *)b)->full_name);
}

int cg_index_build(cg_index *idx, const Google__Protobuf__Compiler__CodeGeneratorRequest *req)
{
	size_t msg_cap = 0, n_svc = 0;

	memset(idx, 0, sizeof(*idx));
	idx->req = req;
	for (size_t f = 0; f < req->n_proto_file; f++)
		n_svc += req->proto_file[f]->n_service;
	if (n_svc > 0 && (idx->services = calloc(n_svc, sizeof(*idx->services))) == NULL)
		goto oom;
	for (size_t f = 0; f < req->n_proto_file; f++) {
		const cg_file_proto *file = req->proto_file[f];
		const char *pkg = file->package ? file->package : "";

		for (size_t i = 0; i < file->n_message_type; i++) {
			if (ix_add_message(idx, &msg_cap, file, pkg, file->message_type[i]) != 0)
				goto oom;
		}
		for (size_t i = 0; i < file->n_service; i++) {
			cg_service *s = &idx->services[idx->n_services];

			if ((s->full_name = ix_join(pkg, file->service[i]->name)) == NULL)
				goto oom;
			s->proto = file->service[i];
			s->file = file;
			s->index = i;
			idx->n_services++;
		}
	}
	if (idx->n_messages > 0)
		qsort(idx->messages, idx->n_messages, sizeof(*idx->messages), ix_cmp_message);
	if (idx->n_services > 0)
		qsort(idx->services, idx->n_services, sizeof(*idx->services), ix_cmp_service);
	return 0;
oom:
	cg_index_fini(idx);
	return -1;
}

void cg_index_fini(cg_index *idx)
{
	for (size_t i = 0; i < idx->n_messages; i++)
		free(idx->messages[i].full_name);
	for (size_t i = 0; i < idx->n_services; i++)
		free(idx->services[i].full_name);
	free(idx->messages);
	free(idx->services);
	memset(idx, 0, sizeof(*idx));
}

const cg_message *cg_index_message(const cg_index *idx, const char *full_name)
{
	cg_message key = {.full_name = (char *)cg_strip_dot(full_name)};

	if (idx->n_messages == 0)
		return NULL;
	return bsearch(&key, idx->messages, idx->n_messages, sizeof(key), ix_cmp_message);
}

const cg_service *cg_index_service(const cg_index *idx, const char *full_name)
{
	cg_service key = {.full_name = (char *)cg_strip_dot(full_name)};

	if (idx->n_services == 0)
		return NULL;
	return bsearch(&key, idx->services, idx->n_services, sizeof(key), ix_cmp_service);
}

const cg_file_proto *cg_index_file(const cg_index *idx, const char *name)
{
	for (size_t i = 0; i < idx->req->n_proto_file; i++) {
		if (strcmp(idx->req->proto_file[i]->name, name) == 0)
			return idx->req->proto_file[i];
	}
	return NULL;
}

/* Whether `other` is `file` or re-exported by it through `import public`, to a bounded depth
 * (import cycles are impossible, the bound only guards against a malformed request). */
static bool ix_exports(const cg_index *idx, const cg_file_proto *file, const cg_file_proto *other,
                       int depth)
{
	if (file == other)
		return true;
	if (depth > 64)
		return false;
	for (size_t i = 0; i < file->n_public_dependency; i++) {
		int32_t d = file->public_dependency[i];
		const cg_file_proto *dep;

		if (d < 0 || (size_t)d >= file->n_dependency)
			continue;
		dep = cg_index_file(idx, file->dependency[d]);
		if (dep != NULL && ix_exports(idx, dep, other, depth + 1))
			return true;
	}
	return false;
}

bool cg_index_file_sees(const cg_index *idx, const cg_file_proto *file, const cg_file_proto *other)
{
	if (file == other)
		return true;
	for (size_t i = 0; i < file->n_dependency; i++) {
		const cg_file_proto *dep = cg_index_file(idx, file->dependency[i]);

		if (dep != NULL && ix_exports(idx, dep, other, 0))
			return true;
	}
	return false;
}

const cg_field_proto *cg_message_field(const cg_message *m, const char *name)
{
	for (size_t i = 0; i < m->proto->n_field; i++) {
		if (strcmp(m->proto->field[i]->name, name) == 0)
			return m->proto->field[i];
	}
	return NULL;
}

const cg_method_proto *cg_service_method(const cg_service *s, const char *name)
{
	for (size_t i = 0; i < s->proto->n_method; i++) {
		if (strcmp(s->proto->method[i]->name, name) == 0)
			return s->proto->method[i];
	}
	return NULL;
}

const Google__Protobuf__SourceCodeInfo__Location *
cg_source_location(const cg_file_proto *file, const int32_t *path, size_t n_path)
{
	const Google__Protobuf__SourceCodeInfo *info = file->source_code_info;

	if (info == NULL)
		return NULL;
	for (size_t i = 0; i < info->n_location; i++) {
		const Google__Protobuf__SourceCodeInfo__Location *loc = info->location[i];

		if (loc->n_path == n_path && loc->n_span >= 3 &&
		    (n_path == 0 || memcmp(loc->path, path, n_path * sizeof(*path)) == 0))
			return loc;
	}
	return NULL;
}
