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

#endif
