/* ctr_misc: rename, port, top and container prune. */
#include <ctype.h>
#include <fcntl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "cmd/lifecycle.h"
#include "storage/storage_internal.h"
#include "base/banned.h"

static int one_arg_opts(struct cmd_ctx *ctx, int argc, char **argv, int min, int max)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "h", opts, true)) != -1) {
		if (c == 'h')
			return cmd_help(ctx), -1;
		return EXIT_USAGE;
	}
	return cmd_nargs(ctx, argc - optind, min, max) ? EXIT_USAGE : 0;
}

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static bool name_valid(const char *n)
{
	if (!isalnum((unsigned char)n[0]) || !n[1])
		return false;
	for (const char *p = n + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

static bool name_taken(struct cmd_ctx *ctx, const char *name)
{
	char **ids;
	size_t n;
	bool taken = false;
	struct err e = { 0 };

	if (storage_container_list(&ctx->store, &ids, &n, &e) < 0)
		return false;
	for (size_t i = 0; i < n && !taken; i++) {
		struct storage_container c;
		if (storage_container_lookup(&ctx->store, ids[i], &c, &e) == 0)
			taken = !strcmp(c.name, name);
	}
	storage_strv_free(ids, n);
	return taken;
}

int cmd_rename(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct storage_container c;
	struct err err = { 0 };
	char rel[128];
	const char *to;
	json_t *cfg;
	int rc = one_arg_opts(ctx, argc, argv, 2, 2);

	if (rc)
		return rc < 0 ? 0 : rc;
	to = argv[optind + 1][0] == '/' ? argv[optind + 1] + 1 : argv[optind + 1];
	if (!name_valid(to))
		return cmd_fail(
			"Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
			to);
	if (ctr_find(ctx, argv[optind], &c, &err) < 0)
		return cmd_fail_err(&err);
	/* Under the store lock: create checks names under it too. */
	if (storage_lock(&ctx->store, &err) < 0)
		return cmd_fail_err(&err);
	if (name_taken(ctx, to)) {
		storage_unlock(&ctx->store);
		return cmd_fail("Conflict. The container name \"/%s\" is already in use", to);
	}
	cfg = storage_container_config(&ctx->store, &c, &err);
	snprintf(rel, sizeof(rel), "containers/%s/config.json", c.id);
	if (cfg)
		json_object_set_new(cfg, "Name", json_pack("s++", "/", to, ""));
	rc = cfg ? storage_json_write(&ctx->store, rel, cfg, &err) : -1;
	storage_unlock(&ctx->store);
	json_decref(cfg);
	return rc < 0 ? cmd_fail_err(&err) : 0;
}

/* HostConfig.PortBindings: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} */
int cmd_port(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct storage_container c;
	struct err err = { 0 };
	const char *key, *want;
	json_t *cfg, *pb, *list;
	int rc = one_arg_opts(ctx, argc, argv, 1, 2);

	if (rc)
		return rc < 0 ? 0 : rc;
	want = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (ctr_find(ctx, argv[optind], &c, &err) < 0 ||
	    !(cfg = storage_container_config(&ctx->store, &c, &err)))
		return cmd_fail_err(&err);
	pb = json_object_get(json_object_get(cfg, "HostConfig"), "PortBindings");
	json_object_foreach (pb, key, list) {
		size_t i;
		json_t *b;
		if (want && strcmp(want, key) &&
		    (strchr(want, '/') || strncmp(want, key, strlen(want)) ||
		     key[strlen(want)] != '/'))
			continue;
		json_array_foreach (list, i, b) {
			const char *ip = json_string_value(json_object_get(b, "HostIp")) ?: "";
			const char *port = json_string_value(json_object_get(b, "HostPort")) ?: "";
			if (want)
				printf("%s:%s\n", *ip ? ip : "0.0.0.0", port);
			else
				printf("%s -> %s:%s\n", key, *ip ? ip : "0.0.0.0", port);
		}
	}
	json_decref(cfg);
	return 0;
}

/* ---- top ------------------------------------------------------------------------ */

static unsigned long long ns_inode(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Host pids of every process in the container's PID namespace. */
static size_t container_pids(pid_t init, pid_t *out, size_t max)
{
	unsigned long long ns = ns_inode(init);
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)) && n < max) {
		pid_t p = (pid_t)atoi(de->d_name);
		if (p > 0 && ns && ns_inode(p) == ns)
			out[n++] = p;
	}
	if (d)
		closedir(d);
	return n;
}

/* The host's ps(1), output filtered to the container's pids (docker top
 * does the same). */
int cmd_top(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct storage_container c;
	struct err err = { 0 };
	pid_t pids[4096], init, child;
	char *args[64] = { "ps" }, line[4096];
	int nargs = 1, pcol = -1, pp[2], status;
	size_t n;
	json_t *st;
	FILE *f;

	if (cmd_nargs(ctx, argc - 1, 1, 60))
		return EXIT_USAGE;
	if (ctr_find(ctx, argv[1], &c, &err) < 0)
		return cmd_fail_err(&err);
	st = cmd_container_state(ctx, &c);
	init = ctr_running_pid(st);
	json_decref(st);
	if (!init)
		return cmd_fail("Container %.12s is not running", c.id);
	n = container_pids(init, pids, 4096);
	for (int i = 2; i < argc; i++)
		args[nargs++] = argv[i];
	if (nargs == 1)
		args[nargs++] = "-ef";
	if (pipe2(pp, O_CLOEXEC) < 0)
		return cmd_fail("pipe: %s", strerror(errno));
	fflush(stdout);
	child = fork();
	if (child == 0) {
		dup2(pp[1], 1);
		execvp("ps", args);
		_exit(127);
	}
	close(pp[1]);
	f = fdopen(pp[0], "r");
	for (int row = 0; f && fgets(line, sizeof(line), f); row++) {
		char copy[4096], *tok, *save = NULL;
		int col = 0;
		snprintf(copy, sizeof(copy), "%s", line);
		for (tok = strtok_r(copy, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save), col++) {
			if (row == 0 && !strcmp(tok, "PID"))
				pcol = col;
			if (row > 0 && col == pcol) {
				pid_t p = (pid_t)atoi(tok);
				for (size_t i = 0; i < n; i++)
					if (pids[i] == p)
						fputs(line, stdout);
				break;
			}
		}
		if (row == 0) {
			if (pcol < 0) {
				fclose(f);
				waitpid(child, &status, 0);
				return cmd_fail("top: ps output has no PID column");
			}
			fputs(line, stdout);
		}
	}
	if (f)
		fclose(f);
	waitpid(child, &status, 0);
	return 0;
}

/* ---- container prune ---------------------------------------------------------------- */

int cmd_container_prune(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, 0, 'f' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct err err = { 0 };
	char **ids;
	size_t n;
	long long freed = 0;
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "fh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
	}
	if (cmd_store(ctx, &err) < 0 || storage_container_list(&ctx->store, &ids, &n, &err) < 0)
		return cmd_fail_err(&err);
	puts("Deleted Containers:");
	for (size_t i = 0; i < n; i++) {
		struct storage_container ct;
		char rel[128];
		json_t *st;
		const char *s;
		if (storage_container_lookup(&ctx->store, ids[i], &ct, &err) < 0)
			continue;
		st = cmd_container_state(ctx, &ct);
		s = ctr_status(st);
		if (!strcmp(s, "exited") || !strcmp(s, "dead") || !strcmp(s, "created")) {
			snprintf(rel, sizeof(rel), "containers/%s", ct.id);
			long long sz = fs_du_at(ctx->store.root_fd, rel);
			err_clear(&err);
			if (storage_container_delete(&ctx->store, &ct, &err) == 0) {
				puts(ct.id);
				freed += sz > 0 ? sz : 0;
			}
		}
		json_decref(st);
	}
	storage_strv_free(ids, n);
	printf("\nTotal reclaimed space: %lldB\n", freed);
	return 0;
}
