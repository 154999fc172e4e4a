/* inspect: containers, images and volumes, like docker inspect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/format.h"
#include "cmd/images_util.h"
#include "storage/container.h"

static json_t *inspect_one(struct cmd_ctx *ctx, const char *arg, const char *type, struct err *err)
{
	struct storage_container c;
	char id[DIGEST_BUF];

	if (!type || !strcmp(type, "container")) {
		if (storage_container_lookup(&ctx->store, arg, &c, err) == 0)
			return cmd_container_inspect(ctx, &c, err);
	}
	if (!type || !strcmp(type, "image")) {
		err_clear(err);
		if (cmd_resolve_image(ctx, arg, id, err) == 0)
			return images_inspect(ctx, id, err);
	}
	if (!type || !strcmp(type, "volume")) {
		json_t *v = storage_volume_info(&ctx->store, arg, err);
		if (v)
			return v;
	}
	err_set(err, ENOENT, "No such object: %s", arg);
	return NULL;
}

int cmd_inspect(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, 0, 'f' },
					      { "type", required_argument, 0, 'T' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *format = NULL, *type = NULL;
	struct err err = { 0 };
	json_t *all;
	int c, rc = 0;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "f:h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'f')
			format = optarg;
		if (c == 'T')
			type = optarg;
	}
	if (type && strcmp(type, "container") && strcmp(type, "image") && strcmp(type, "volume"))
		return cmd_fail("inspect: invalid --type \"%s\"", type);
	if (cmd_nargs(ctx, argc - optind, 1, -1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	all = json_array();
	for (int i = optind; i < argc; i++) {
		json_t *o;
		err_clear(&err);
		o = inspect_one(ctx, argv[i], type, &err);
		if (!o) {
			rc = cmd_fail_err(&err);
			continue;
		}
		if (format) {
			char *s = fmt_template(format, o);
			puts(s ? s : "");
			free(s);
			json_decref(o);
		} else {
			json_array_append_new(all, o);
		}
	}
	if (!format)
		fmt_print_json(all);
	json_decref(all);
	return rc ? 1 : 0;
}
