/*
 * protoc_run.c: process and file helpers for the codegen tests.
 */
#include "protoc_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

bool pr_env_parse(pr_env *env, int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr,
		        "usage: %s PLUGIN PROTOC PROTO_DIR PROTOBUF_INCLUDE TESTS_CODEGEN_DIR "
		        "[SEARCH_DIR]\n",
		        argv[0]);
		return false;
	}
	env->plugin = argv[1];
	env->protoc = argv[2];
	env->proto_dir = argv[3];
	env->pb_include = argv[4];
	env->src_dir = argv[5];
	env->search_dir = argc > 6 ? argv[6] : NULL;
	return true;
}

char *pr_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if ((dir = malloc(strlen(base) + 32)) == NULL)
		return NULL;
	sprintf(dir, "%s/scatter-codegen-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

void pr_tmpdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Spawns argv with stdout and stderr sent to `out_path` (NULL: inherited); the exit status or
 * -1. */
static int pr_spawn(char *const argv[], const char *out_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, rv;

	posix_spawn_file_actions_init(&fa);
	if (out_path != NULL) {
		posix_spawn_file_actions_addopen(&fa, 2, out_path, O_WRONLY | O_CREAT | O_TRUNC,
		                                 0644);
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	}
	rv = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rv != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0) {
		/* EINTR only: retry */
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int pr_protoc(const pr_env *env, const char *import_dir, const char *const *files, size_t n,
              const char *out_dir, char **err)
{
	char inc[3][4096], plugin[4096], out[4096], err_path[4096];
	char **argv = calloc(n + 8, sizeof(*argv));
	size_t a = 0;
	int status;

	if (err != NULL)
		*err = NULL;
	if (argv == NULL)
		return -1;
	snprintf(inc[0], sizeof(inc[0]), "-I%s", import_dir);
	snprintf(inc[1], sizeof(inc[1]), "-I%s", env->proto_dir);
	snprintf(inc[2], sizeof(inc[2]), "-I%s", env->pb_include);
	snprintf(plugin, sizeof(plugin), "--plugin=protoc-gen-scatter=%s", env->plugin);
	snprintf(out, sizeof(out), "--scatter_out=%s", out_dir);
	snprintf(err_path, sizeof(err_path), "%s/protoc.stderr", out_dir);
	argv[a++] = (char *)env->protoc;
	argv[a++] = inc[0];
	argv[a++] = inc[1];
	argv[a++] = inc[2];
	argv[a++] = plugin;
	argv[a++] = out;
	for (size_t i = 0; i < n; i++)
		argv[a++] = (char *)files[i];
	argv[a] = NULL;
	status = pr_spawn(argv, err_path);
	free(argv);
	if (err != NULL)
		*err = pr_read_file(err_path, NULL);
	return status;
}

char *pr_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (len != NULL)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

void pr_diff(const char *a, const char *b)
{
	char *argv[] = {"diff", "-u", (char *)a, (char *)b, NULL};

	fflush(stdout);
	pr_spawn(argv, NULL);
}
