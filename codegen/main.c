/*
 * main.c: protoc-gen-scatter's I/O. protoc runs the plugin with a CodeGeneratorRequest on stdin
 * and reads a CodeGeneratorResponse from stdout: for each file to generate, its .scatter.h,
 * .scatter.c and .scatter-fanout.c (emit.h), or, if any option is invalid, an error text (one
 * line per problem) and no files.
 * The exit status is 0 either way: protoc prints the error and fails the build itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clash.h"
#include "emit.h"
#include "index.h"
#include "options.h"
#include "printer.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest cg_request;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse cg_response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File cg_response_file;

/* Reads all of f into a malloc'd buffer; NULL on a read error or out of memory. */
static uint8_t *mn_read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap), *grown;

	while (buf != NULL) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		if ((grown = realloc(buf, cap * 2)) == NULL) {
			free(buf);
			return NULL;
		}
		buf = grown;
		cap *= 2;
	}
	if (buf != NULL && ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* The plans of one file: plans[si][mi] (see cg_file_plan). */
typedef struct mn_file {
	const cg_file_proto *file;
	cg_plan ***plans;
} mn_file;

static void mn_file_fini(mn_file *f)
{
	if (f->plans == NULL)
		return;
	for (size_t si = 0; si < f->file->n_service; si++) {
		if (f->plans[si] == NULL)
			continue;
		for (size_t mi = 0; mi < f->file->service[si]->n_method; mi++)
			cg_plan_free(f->plans[si][mi]);
		free(f->plans[si]);
	}
	free(f->plans);
	f->plans = NULL;
}

/* Validates every method of f->file, appending problems to errs. -1: out of memory. */
static int mn_plan_file(const cg_index *idx, mn_file *f, cg_printer *errs)
{
	const cg_file_proto *file = f->file;

	if ((f->plans = calloc(file->n_service + 1, sizeof(*f->plans))) == NULL)
		return -1;
	for (size_t si = 0; si < file->n_service; si++) {
		size_t n = file->service[si]->n_method;

		if ((f->plans[si] = calloc(n + 1, sizeof(*f->plans[si]))) == NULL)
			return -1;
		for (size_t mi = 0; mi < n; mi++) {
			if (cg_plan_method(idx, file, si, mi, errs, &f->plans[si][mi]) != 0)
				return -1;
		}
		cg_check_clashes(file, si, f->plans[si], errs);
	}
	return 0;
}

/* Adds one output file (name and content are taken over) to resp. -1: out of memory. */
static int mn_add_output(cg_response *resp, const char *name, char *content)
{
	cg_response_file *rf, **files;

	if (content == NULL)
		return -1;
	rf = malloc(sizeof(*rf));
	files = realloc(resp->file, (resp->n_file + 1) * sizeof(*files));
	if (files != NULL)
		resp->file = files;
	if (rf == NULL || files == NULL) {
		free(rf);
		free(content);
		return -1;
	}
	google__protobuf__compiler__code_generator_response__file__init(rf);
	rf->name = strdup(name);
	rf->content = content;
	resp->file[resp->n_file++] = rf;
	return rf->name != NULL ? 0 : -1;
}

/* The three outputs of one file (emit.h), in this order. */
static const struct {
	const char *suffix;
	void (*emit)(const cg_file_plan *fp, cg_printer *out);
} mn_outputs[] = {
        {CG_OUT_HEADER, cg_emit_header},
        {CG_OUT_SOURCE, cg_emit_source},
        {CG_OUT_FANOUT, cg_emit_fanout},
};

static int mn_emit(const mn_file *f, cg_response *resp)
{
	cg_file_plan fp = {.file = f->file, .plans = (cg_plan *const *const *)f->plans};
	cg_pool pool;
	int rv = 0;

	cg_pool_init(&pool);
	for (size_t i = 0; rv == 0 && i < sizeof(mn_outputs) / sizeof(mn_outputs[0]); i++) {
		cg_printer p;

		cg_printer_init(&p);
		mn_outputs[i].emit(&fp, &p);
		rv = mn_add_output(resp, cg_output_name(&pool, f->file, mn_outputs[i].suffix),
		                   cg_printer_take(&p));
		cg_printer_fini(&p);
	}
	if (pool.failed)
		rv = -1;
	cg_pool_fini(&pool);
	return rv;
}

/* Fills resp from req: the outputs, or resp->error. -1: out of memory. */
static int mn_generate(const cg_request *req, cg_response *resp)
{
	cg_index idx;
	cg_printer errs;
	mn_file *files;
	int rv = 0;

	if (cg_index_build(&idx, req) != 0)
		return -1;
	cg_printer_init(&errs);
	files = calloc(req->n_file_to_generate + 1, sizeof(*files));
	for (size_t i = 0; files != NULL && rv == 0 && i < req->n_file_to_generate; i++) {
		files[i].file = cg_index_file(&idx, req->file_to_generate[i]);
		if (files[i].file == NULL) {
			cg_print(&errs, "%s: not among the request's files\n",
			         req->file_to_generate[i]);
			continue;
		}
		rv = mn_plan_file(&idx, &files[i], &errs);
	}
	if (files == NULL || errs.failed)
		rv = -1;
	if (rv == 0 && errs.len > 0) {
		errs.buf[--errs.len] = '\0'; /* lines joined by "\n", no trailing one */
		resp->error = cg_printer_take(&errs);
		rv = resp->error != NULL ? 0 : -1;
	}
	for (size_t i = 0; rv == 0 && resp->error == NULL && i < req->n_file_to_generate; i++)
		rv = mn_emit(&files[i], resp);
	for (size_t i = 0; files != NULL && i < req->n_file_to_generate; i++) {
		if (files[i].file != NULL)
			mn_file_fini(&files[i]);
	}
	free(files);
	cg_printer_fini(&errs);
	cg_index_fini(&idx);
	return rv;
}

/* Frees what mn_generate put in resp (it is not unpacked, so not free_unpacked). */
static void mn_response_fini(cg_response *resp)
{
	for (size_t i = 0; i < resp->n_file; i++) {
		free(resp->file[i]->name);
		free(resp->file[i]->content);
		free(resp->file[i]);
	}
	free(resp->file);
	free(resp->error);
}

static int mn_write_response(const cg_response *resp)
{
	size_t len = google__protobuf__compiler__code_generator_response__get_packed_size(resp);
	uint8_t *buf = malloc(len ? len : 1);
	int rv = 0;

	if (buf == NULL)
		return -1;
	google__protobuf__compiler__code_generator_response__pack(resp, buf);
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
		rv = -1;
	free(buf);
	return rv;
}

int main(int argc, char **argv)
{
	cg_response resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
	cg_request *req;
	uint8_t *in;
	size_t len = 0;
	int rv;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "protoc-gen-scatter: a protoc plugin; run it through protoc "
		                "(--scatter_out=DIR)\n");
		return 2;
	}
	if ((in = mn_read_all(stdin, &len)) == NULL) {
		fprintf(stderr, "protoc-gen-scatter: cannot read the request from stdin\n");
		return 1;
	}
	req = google__protobuf__compiler__code_generator_request__unpack(NULL, len, in);
	free(in);
	if (req == NULL) {
		fprintf(stderr, "protoc-gen-scatter: stdin is not a CodeGeneratorRequest\n");
		return 1;
	}
	/* proto3 `optional` fields change nothing the plugin reads. */
	resp.has_supported_features = 1;
	resp.supported_features =
	        GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
	rv = mn_generate(req, &resp);
	if (rv == 0)
		rv = mn_write_response(&resp);
	else
		fprintf(stderr, "protoc-gen-scatter: out of memory\n");
	mn_response_fini(&resp);
	google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
	return rv == 0 ? 0 : 1;
}
