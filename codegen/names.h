/*
 * names.h: C names from proto names, formed exactly as protoc-c forms them, so generated code
 * refers to protoc-c's types and descriptors by their real names.
 *
 *   package "acme.inventory.v1", message "Item.Location"
 *     type        Acme__Inventory__V1__Item__Location      (cg_name_type)
 *     functions   acme__inventory__v1__item__location      (cg_name_lower)
 *     descriptor  acme__inventory__v1__item__location__descriptor
 *
 * Every string comes from a cg_pool and lives until cg_pool_fini: emitters build many short
 * names and free them all at once. A failed allocation returns "" and sets pool->failed, so
 * callers check once at the end.
 */
#ifndef CG_NAMES_H
#define CG_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "index.h"

typedef struct cg_pool {
	char **strs; /* owned */
	size_t n;
	size_t cap;
	bool failed;
} cg_pool;

void cg_pool_init(cg_pool *pool);

/* Frees every string the pool handed out. */
void cg_pool_fini(cg_pool *pool);

/* Takes ownership of s (malloc'd, may be NULL) and returns it, or "" on failure. */
const char *cg_pool_own(cg_pool *pool, char *s);

/* printf into a pooled string. */
const char *cg_pool_printf(cg_pool *pool, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* protoc-c's CamelToLower: "SearchRequest" -> "search_request", "HTTPServer" -> "httpserver";
 * an underscore is kept ("Foo_Bar" -> "foo__bar", as protoc-c does). */
const char *cg_camel_to_lower(cg_pool *pool, const char *name);

/* protoc-c's ToCamel: "search" -> "Search", "foo_bar" -> "FooBar", "v1" -> "V1". */
const char *cg_to_camel(cg_pool *pool, const char *name);

/* A full proto name (a leading "." is ignored) as protoc-c's lower-case prefix:
 * "search.SearchRequest" -> "search__search_request". */
const char *cg_name_lower(cg_pool *pool, const char *full_name);

/* A full proto name as protoc-c's type name: "search.SearchRequest" -> "Search__SearchRequest". */
const char *cg_name_type(cg_pool *pool, const char *full_name);

/* The path of a .proto without ".proto" (or ".protodevel"), as protoc-c names its outputs:
 * "acme/inv.proto" -> "acme/inv". */
const char *cg_strip_proto(cg_pool *pool, const char *path);

/* An include guard from an output path: "acme/inv.scatter.h" -> "ACME_INV_SCATTER_H". */
const char *cg_include_guard(cg_pool *pool, const char *path);

/* s as the body of a C string literal (quotes, backslashes and control bytes escaped). */
const char *cg_c_escape(cg_pool *pool, const char *s);

/* The C names of one method, as both outputs spell them (pooled strings). */
typedef struct cg_method_names {
	const char *svc_full;  /* "search.Shard" */
	const char *svc_lower; /* "search__shard" */
	const char *svc_type;  /* "Search__Shard" */
	const char *lower;     /* "search": the method in function names and handler members */
	const char *prefix;    /* "search__shard__search": the method's own symbols */
	const char *path;      /* "/search.Shard/Search" */
	const char *req_type;  /* "Search__SearchRequest" */
	const char *resp_type;
	const char *resp_desc; /* "search__search_response__descriptor" */
	const char *req_desc;
} cg_method_names;

/* The names of method mi of service si of file. */
void cg_method_names_get(cg_pool *pool, const cg_file_proto *file, size_t si, size_t mi,
                         cg_method_names *out);

/* The full name of service si of file ("search.Shard"). */
const char *cg_service_full_name(cg_pool *pool, const cg_file_proto *file, size_t si);

#endif
