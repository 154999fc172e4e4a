/* container commands available so far: ps, rm, container inspect. Detached
 * containers and the rest of the lifecycle come with the monitor. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/format.h"
#include "cmd/run.h"
#include "storage/container.h"
#include "storage/storage_internal.h"

json_t *cmd_container_state(struct cmd_ctx *ctx, const struct storage_container *c)
{
	char rel[PATH_MAX];
	struct err e = { 0 };
	json_t *st;

	snprintf(rel, sizeof(rel), "containers/%s/state.json", c->id);
	st = storage_json_read(&ctx->store, rel, &e);
	if (!st)
		st = json_pack("{s:s, s:b, s:i, s:i}", "Status", "created", "Running", 0, "Pid", 0,
			       "ExitCode", 0);
	/* A "running" container whose process is gone died with its runner. */
	if (json_is_true(json_object_get(st, "Running"))) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
		if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
			json_object_set_new(st, "Status", json_string("exited"));
			json_object_set_new(st, "Running", json_false());
		}
	}
	return st;
}

json_t *cmd_container_inspect(struct cmd_ctx *ctx, const struct storage_container *c,
			      struct err *err)
{
	json_t *cfg = storage_container_config(&ctx->store, c, err), *args, *cmd;

	if (!cfg)
		return NULL;
	cmd = json_object_get(json_object_get(cfg, "Config"), "Cmd");
	args = json_array();
	for (size_t i = 1; i < json_array_size(cmd); i++)
		json_array_append(args, json_array_get(cmd, i));
	json_object_set_new(cfg, "Id", json_string(c->id));
	json_object_set_new(cfg, "Name", json_pack("s++", "/", c->name, ""));
	json_object_set(cfg, "Path", json_array_get(cmd, 0) ?: json_string(""));
	json_object_set_new(cfg, "Args", args);
	json_object_set_new(cfg, "State", cmd_container_state(ctx, c));
	json_object_set_new(cfg, "GraphDriver",
			    json_pack("{s:s, s:{s:s}}", "Name", storage_driver_name(&ctx->store),
				      "Data", "MergedDir", c->merged));
	return cfg;
}

static void ps_row(struct cmd_ctx *ctx, const struct storage_container *c, bool quiet,
		   bool no_trunc)
{
	struct err e = { 0 };
	json_t *cfg = storage_container_config(&ctx->store, c, &e);
	json_t *st = cmd_container_state(ctx, c), *cmd;
	char command[64] = "", status[96], ago[64];
	size_t used = 0, i;
	json_t *v;

	if (quiet) {
		printf("%.*s\n", no_trunc ? 64 : 12, c->id);
		goto out;
	}
	cmd = json_object_get(json_object_get(cfg, "Config"), "Cmd");
	json_array_foreach(cmd, i, v) {
		used += (size_t)snprintf(command + used, used < sizeof(command) ? sizeof(command) - used : 0,
					 "%s%s", i ? " " : "\"", json_string_value(v));
		if (used >= sizeof(command))
			break;
	}
	if (!no_trunc && strlen(command) > 20)
		command[19] = '\0';
	snprintf(command + strlen(command), sizeof(command) - strlen(command), "…\"");
	fmt_ago(fmt_parse_time(json_string_value(json_object_get(cfg, "Created"))), ago, sizeof(ago));
	if (json_is_true(json_object_get(st, "Running")))
		snprintf(status, sizeof(status), "Up");
	else if (!strcmp(json_string_value(json_object_get(st, "Status")) ?: "", "created"))
		snprintf(status, sizeof(status), "Created");
	else {
		char fin[64];
		fmt_ago(fmt_parse_time(json_string_value(json_object_get(st, "FinishedAt"))), fin,
			sizeof(fin));
		snprintf(status, sizeof(status), "Exited (%d) %s",
			 (int)json_integer_value(json_object_get(st, "ExitCode")), fin);
	}
	printf("%-14.*s %-20s %-22s %-16s %-26s %-7s %s\n", no_trunc ? 64 : 12, c->id,
	       json_string_value(json_object_get(cfg, "ImageName")) ?: "", command, ago, status, "",
	       c->name);
out:
	json_decref(cfg);
	json_decref(st);
}

int cmd_ps(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, 0, 'a' },
					      { "quiet", no_argument, 0, 'q' },
					      { "no-trunc", no_argument, 0, 'T' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	bool all = false, quiet = false, no_trunc = false;
	char **ids = NULL;
	size_t n = 0;
	struct err err = { 0 };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "aqh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		all |= c == 'a';
		quiet |= c == 'q';
		no_trunc |= c == 'T';
	}
	if (cmd_nargs(ctx, argc - optind, 0, 0))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 || storage_container_list(&ctx->store, &ids, &n, &err) < 0)
		return cmd_fail_err(&err);
	if (!quiet)
		printf("%-14s %-20s %-22s %-16s %-26s %-7s %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
		       "CREATED", "STATUS", "PORTS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		struct storage_container ct;
		json_t *st;
		if (storage_container_lookup(&ctx->store, ids[i], &ct, &err) < 0)
			continue;
		st = cmd_container_state(ctx, &ct);
		if (all || json_is_true(json_object_get(st, "Running")))
			ps_row(ctx, &ct, quiet, no_trunc);
		json_decref(st);
	}
	storage_strv_free(ids, n);
	return 0;
}

static int rm_one(struct cmd_ctx *ctx, const char *arg, bool force, bool volumes,
		  struct err *err)
{
	struct storage_container c;
	json_t *st, *cfg;
	int rc;

	if (storage_container_lookup(&ctx->store, arg, &c, err) < 0)
		return -1;
	st = cmd_container_state(ctx, &c);
	if (json_is_true(json_object_get(st, "Running"))) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
		if (!force) {
			json_decref(st);
			return err_set(err, EBUSY,
				       "cannot remove container \"%s\": container is running: stop the container before removing or force remove",
				       arg);
		}
		kill(pid, SIGKILL);
		for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
			usleep(10000);
	}
	json_decref(st);
	cfg = storage_container_config(&ctx->store, &c, err);
	rc = storage_container_delete(&ctx->store, &c, err);
	if (rc == 0 && volumes && cfg)
		run_remove_anonymous_volumes(ctx, json_object_get(cfg, "Mounts"));
	json_decref(cfg);
	return rc;
}

int cmd_rm(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, 0, 'f' },
					      { "volumes", no_argument, 0, 'v' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	bool force = false, volumes = false;
	struct err err = { 0 };
	int c, rc = 0;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "fvh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		force |= c == 'f';
		volumes |= c == 'v';
	}
	if (cmd_nargs(ctx, argc - optind, 1, -1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	for (int i = optind; i < argc; i++) {
		err_clear(&err);
		if (rm_one(ctx, argv[i], force, volumes, &err) < 0)
			rc = cmd_fail_err(&err);
		else
			puts(argv[i]);
	}
	return rc ? 1 : 0;
}

int cmd_container(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *name, *as;
	} sub[] = { { "ls", "ps" }, { "list", "ps" }, { "ps", "ps" }, { "rm", "rm" },
		    { "remove", "rm" }, { "run", "run" }, { "inspect", "inspect" } };

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return argc < 2 ? (cmd_help(ctx), EXIT_USAGE) : cmd_help(ctx);
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (!strcmp(argv[1], sub[i].name)) {
			const struct cmd_def *d = cmd_lookup(sub[i].as);
			ctx->name = d->name;
			return d->fn(ctx, argc - 1, argv + 1);
		}
	}
	return cmd_fail("container: unknown command \"%s\" (see 'mydocker container --help')",
			argv[1]);
}
