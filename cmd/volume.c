/* volume: create, ls, inspect, rm, prune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/format.h"
#include "storage/container.h"

static int parse_simple(struct cmd_ctx *ctx, int argc, char **argv, const char *shortopts,
			const struct option *opts, int *flags)
{
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, shortopts, opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h') {
			cmd_help(ctx);
			return -1;
		}
		for (int i = 0; opts[i].name; i++)
			if (opts[i].val == c && opts[i].flag == NULL &&
			    opts[i].has_arg == no_argument)
				*flags |= 1 << i;
	}
	return 0;
}

static int vol_create(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "label", required_argument, 0, 'l' },
					      { "driver", required_argument, 0, 'd' },
					      { "name", required_argument, 0, 'n' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	json_t *labels = json_object();
	const char *name = NULL;
	struct storage_volume v;
	struct err err = { 0 };
	int c, rc;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "l:d:h", opts, false)) != -1) {
		if (c == '?' || c == 'h') {
			json_decref(labels);
			return c == 'h' ? cmd_help(ctx) : EXIT_USAGE;
		}
		if (c == 'd' && strcmp(optarg, "local")) {
			json_decref(labels);
			return cmd_fail("volume create: driver \"%s\" not found (only \"local\")",
					optarg);
		}
		if (c == 'n')
			name = optarg;
		if (c == 'l') {
			char *eq = strchr(optarg, '=');
			if (eq)
				*eq = '\0';
			json_object_set_new(labels, optarg, json_string(eq ? eq + 1 : ""));
		}
	}
	if (cmd_nargs(ctx, argc - optind, 0, 1)) {
		json_decref(labels);
		return EXIT_USAGE;
	}
	if (argc > optind)
		name = argv[optind];
	rc = cmd_store(ctx, &err) < 0 ||
	     storage_volume_create(&ctx->store, name, labels, name == NULL, &v, &err) < 0;
	json_decref(labels);
	if (rc)
		return cmd_fail_err(&err);
	puts(v.name);
	return 0;
}

static int vol_ls(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "quiet", no_argument, 0, 'q' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	char **names = NULL;
	size_t n = 0;
	struct err err = { 0 };
	int flags = 0, rc = parse_simple(ctx, argc, argv, "qh", opts, &flags);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (cmd_nargs(ctx, argc - optind, 0, 0))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 || storage_volume_list(&ctx->store, &names, &n, &err) < 0)
		return cmd_fail_err(&err);
	if (!(flags & 1))
		printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
	for (size_t i = 0; i < n; i++) {
		if (flags & 1)
			puts(names[i]);
		else
			printf("%-10s%s\n", "local", names[i]);
	}
	storage_strv_free(names, n);
	return 0;
}

static int vol_inspect(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, 0, 'f' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *format = NULL;
	struct err err = { 0 };
	json_t *all = json_array();
	int c, rc = 0;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "f:h", opts, false)) != -1) {
		if (c == '?' || c == 'h') {
			json_decref(all);
			return c == 'h' ? cmd_help(ctx) : EXIT_USAGE;
		}
		format = optarg;
	}
	if (cmd_nargs(ctx, argc - optind, 1, -1) || cmd_store(ctx, &err) < 0) {
		json_decref(all);
		return err.code ? cmd_fail_err(&err) : EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		json_t *info = storage_volume_info(&ctx->store, argv[i], &err);
		if (!info) {
			cmd_fail("Error: No such volume: %s", argv[i]);
			rc = 1;
			continue;
		}
		if (format) {
			char *s = fmt_template(format, info);
			puts(s ? s : "");
			free(s);
			json_decref(info);
		} else {
			json_array_append_new(all, info);
		}
	}
	if (!format)
		fmt_print_json(all);
	json_decref(all);
	return rc;
}

static int vol_rm(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, 0, 'f' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct err err = { 0 };
	int flags = 0, rc = parse_simple(ctx, argc, argv, "fh", opts, &flags);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (cmd_nargs(ctx, argc - optind, 1, -1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	for (int i = optind; i < argc; i++) {
		err_clear(&err);
		if (storage_volume_remove(&ctx->store, argv[i], flags & 1, &err) < 0)
			rc = cmd_fail_err(&err);
		else
			puts(argv[i]);
	}
	return rc ? 1 : 0;
}

static int vol_prune(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, 0, 'a' },
					      { "force", no_argument, 0, 'f' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	char **names = NULL;
	size_t n = 0;
	struct err err = { 0 };
	int flags = 0, rc = parse_simple(ctx, argc, argv, "afh", opts, &flags);
	bool header = false;

	if (rc)
		return rc < 0 ? 0 : rc;
	if (cmd_nargs(ctx, argc - optind, 0, 0))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 || storage_volume_list(&ctx->store, &names, &n, &err) < 0)
		return cmd_fail_err(&err);
	for (size_t i = 0; i < n; i++) {
		json_t *info = storage_volume_info(&ctx->store, names[i], &err);
		/* Docker 23+: only anonymous volumes unless --all. */
		bool anon = info && json_is_true(json_object_get(info, "Anonymous"));
		json_decref(info);
		err_clear(&err);
		if ((!anon && !(flags & 1)) ||
		    storage_volume_remove(&ctx->store, names[i], false, &err) < 0)
			continue;
		if (!header)
			puts("Deleted Volumes:");
		header = true;
		puts(names[i]);
	}
	storage_strv_free(names, n);
	printf("%sTotal reclaimed space: 0B\n", header ? "\n" : "");
	return 0;
}

int cmd_volume(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct cmd_sub subs[] = {
		{ "create", NULL, vol_create }, { "ls", NULL, vol_ls },
		{ "list", NULL, vol_ls },       { "inspect", NULL, vol_inspect },
		{ "rm", NULL, vol_rm },         { "remove", NULL, vol_rm },
		{ "prune", NULL, vol_prune },
	};

	return cmd_dispatch(ctx, argc, argv, subs, sizeof(subs) / sizeof(subs[0]));
}
