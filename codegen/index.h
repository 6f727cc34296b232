/*
 * index.h: the descriptor index: every message and service of every file in a
 * CodeGeneratorRequest by its full name (nested messages included), and source locations.
 *
 * Everything points into the request, which the index borrows: the request must outlive it.
 * Full names are stored without the leading "." protoc puts in type references; lookups take
 * either form.
 */
#ifndef CG_INDEX_H
#define CG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/compiler/plugin.pb-c.h"
#include "google/protobuf/descriptor.pb-c.h"

typedef Google__Protobuf__FileDescriptorProto cg_file_proto;
typedef Google__Protobuf__DescriptorProto cg_message_proto;
typedef Google__Protobuf__FieldDescriptorProto cg_field_proto;
typedef Google__Protobuf__ServiceDescriptorProto cg_service_proto;
typedef Google__Protobuf__MethodDescriptorProto cg_method_proto;

typedef struct cg_message {
	char *full_name; /* "search.Hit"; owned */
	const cg_message_proto *proto;
	const cg_file_proto *file;
} cg_message;

typedef struct cg_service {
	char *full_name; /* "search.Shard"; owned */
	const cg_service_proto *proto;
	const cg_file_proto *file;
	size_t index; /* in file->service, for source paths */
} cg_service;

typedef struct cg_index {
	cg_message *messages; /* sorted by full_name */
	size_t n_messages;
	cg_service *services; /* sorted by full_name */
	size_t n_services;
	const Google__Protobuf__Compiler__CodeGeneratorRequest *req;
} cg_index;

/* Indexes every file of req (borrowed). Returns 0, or -1 when out of memory (idx is then
 * empty). The caller calls cg_index_fini. */
int cg_index_build(cg_index *idx, const Google__Protobuf__Compiler__CodeGeneratorRequest *req);

void cg_index_fini(cg_index *idx);

/* A message or service by full name ("search.Hit" or ".search.Hit"); NULL if none. */
const cg_message *cg_index_message(const cg_index *idx, const char *full_name);
const cg_service *cg_index_service(const cg_index *idx, const char *full_name);

/* A file of the request by its name ("search.proto"); NULL if none. */
const cg_file_proto *cg_index_file(const cg_index *idx, const char *name);

/* Whether code in `file` may refer to what `other` declares: the same file, a file it imports,
 * or one those re-export with `import public`. */
bool cg_index_file_sees(const cg_index *idx, const cg_file_proto *file, const cg_file_proto *other);

/* The field of m named name, or NULL. */
const cg_field_proto *cg_message_field(const cg_message *m, const char *name);

/* The method of s named name, or NULL. */
const cg_method_proto *cg_service_method(const cg_service *s, const char *name);

/* The source location recorded for exactly this path (see descriptor.proto's SourceCodeInfo),
 * or NULL (no source info, or no such location). */
const Google__Protobuf__SourceCodeInfo__Location *
cg_source_location(const cg_file_proto *file, const int32_t *path, size_t n_path);

/* A name without its leading ".": ".search.Hit" -> "search.Hit". */
const char *cg_strip_dot(const char *name);

#endif
