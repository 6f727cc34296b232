/*
 * protoc_run.h: running protoc with protoc-gen-scatter from the codegen tests.
 *
 * The tests get their tools and directories from the command line (CMake passes them), in
 * this order: <protoc-gen-scatter> <protoc> <scatter proto dir> <protobuf include dir>
 * <tests/codegen source dir> [<services/search dir>].
 */
#ifndef CODEGEN_PROTOC_RUN_H
#define CODEGEN_PROTOC_RUN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pr_env {
	const char *plugin;
	const char *protoc;
	const char *proto_dir;  /* holds scatter/options.proto */
	const char *pb_include; /* holds google/protobuf/descriptor.proto */
	const char *src_dir;    /* tests/codegen */
	const char *search_dir; /* services/search, or NULL */
} pr_env;

/* Fills env from argv (borrowed); false, with a usage line on stderr, if arguments are missing. */
bool pr_env_parse(pr_env *env, int argc, char **argv);

/* A fresh empty directory under $TMPDIR (or /tmp); the caller frees the string and removes
 * the directory with pr_tmpdir_remove. NULL on failure. */
char *pr_tmpdir(void);

/* Removes dir and the files directly in it (the plugin writes no subdirectories here). */
void pr_tmpdir_remove(const char *dir);

/* Runs protoc on the n files (relative to import_dir) with the scatter plugin writing into
 * out_dir, and protoc's stderr going to out_dir/protoc.stderr. Returns protoc's exit status
 * (-1 if it could not run or did not exit normally); *err, if not NULL, receives its stderr
 * (malloc'd; the caller frees it). */
int pr_protoc(const pr_env *env, const char *import_dir, const char *const *files, size_t n,
              const char *out_dir, char **err);

/* The contents of path, NUL-terminated (malloc'd), or NULL if unreadable. len may be NULL. */
char *pr_read_file(const char *path, size_t *len);

/* Runs `diff -u a b` with its output on stdout, to show a golden mismatch. */
void pr_diff(const char *a, const char *b);

#endif
