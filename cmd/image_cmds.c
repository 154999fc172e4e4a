/* image commands: import, load, images, rmi, tag, image prune, image *. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cmd/cmd.h"
#include "cmd/format.h"
#include "cmd/images_util.h"
#include "image/image.h"
#include "storage/container.h"

static void print_line(void *ctx, const char *line)
{
	if (!ctx || !*(const int *)ctx)
		puts(line);
}

int cmd_import(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "change", required_argument, 0, 'c' },
					      { "message", required_argument, 0, 'm' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *changes[64] = { 0 };
	size_t n_changes = 0;
	struct image_import_opts o = { .print = print_line };
	char tag[512], id[DIGEST_BUF];
	struct err err = { 0 };
	cleanup_close int fd = -1;
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "c:m:h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'c' && n_changes < 63)
			changes[n_changes++] = optarg;
		if (c == 'm')
			o.message = optarg;
	}
	if (cmd_nargs(ctx, argc - optind, 1, 2))
		return EXIT_USAGE;
	o.changes = changes;
	if (argc - optind == 2) {
		if (image_ref_normalize(argv[optind + 1], tag, sizeof(tag), &err) < 0)
			return cmd_fail_err(&err);
		if (strchr(tag, '@'))
			return cmd_fail("import: refusing to create a tag with a digest reference");
		o.tag = tag;
	}
	if (strcmp(argv[optind], "-") == 0) {
		fd = dup(STDIN_FILENO);
	} else {
		fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cmd_fail("import: open %s: %s", argv[optind], strerror(errno));
	}
	if (cmd_store(ctx, &err) < 0 || image_import(&ctx->store, fd, &o, id, &err) < 0)
		return cmd_fail_err(&err);
	puts(id);
	return 0;
}

int cmd_load(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "input", required_argument, 0, 'i' },
					      { "quiet", no_argument, 0, 'q' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *input = NULL;
	struct err err = { 0 };
	int c, quiet = 0;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "i:qh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'i')
			input = optarg;
		if (c == 'q')
			quiet = 1;
	}
	if (cmd_nargs(ctx, argc - optind, 0, 0))
		return EXIT_USAGE;
	if (!input && isatty(STDIN_FILENO))
		return cmd_fail("load: requested load from stdin, but stdin is empty");
	if (input && access(input, R_OK) < 0)
		return cmd_fail("load: open %s: %s", input, strerror(errno));
	if (cmd_store(ctx, &err) < 0 ||
	    image_load(&ctx->store, input, print_line, &quiet, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

int cmd_tag(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	char id[DIGEST_BUF], dst[512];
	struct err err = { 0 };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		return cmd_help(ctx);
	}
	if (cmd_nargs(ctx, argc - optind, 2, 2))
		return EXIT_USAGE;
	if (image_ref_normalize(argv[optind + 1], dst, sizeof(dst), &err) < 0)
		return cmd_fail_err(&err);
	if (strchr(dst, '@'))
		return cmd_fail("tag: refusing to create a tag with a digest reference");
	if (cmd_store(ctx, &err) < 0 || cmd_resolve_image(ctx, argv[optind], id, &err) < 0 ||
	    storage_ref_set(&ctx->store, dst, id, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

/* rmi of one argument, Docker's rules: a name untags; the image goes when
 * no name is left; an id with several names or a container user needs -f. */
static int rmi_one(struct cmd_ctx *ctx, const char *arg, bool force, struct err *err)
{
	char id[DIGEST_BUF], name[512];
	bool by_name = false;
	json_t *refs;
	size_t n_names;

	if (image_ref_normalize(arg, name, sizeof(name), NULL) == 0 &&
	    storage_ref_lookup(&ctx->store, name, id) == 0)
		by_name = true;
	else if (storage_image_resolve(&ctx->store, arg, id, err) < 0)
		return -1;
	refs = storage_refs_load(&ctx->store, err);
	if (!refs)
		return -1;
	n_names = images_names_of(refs, id, NULL, 0);
	json_decref(refs);
	if (by_name && n_names > 1) {
		if (storage_ref_delete(&ctx->store, name, err) < 0)
			return -1;
		printf("Untagged: %s\n", name);
		return 0;
	}
	if (!by_name && n_names > 1 && !force)
		return err_set(
			err, EBUSY,
			"conflict: unable to delete %.12s (must be forced) - image is referenced in multiple repositories",
			id + 7);
	if (!force && storage_image_in_use(&ctx->store, id))
		return err_set(
			err, EBUSY,
			"conflict: unable to remove repository reference \"%s\" (must force) - container is using its referenced image %.12s",
			arg, id + 7);
	images_print_untags(&ctx->store, id);
	if (storage_image_delete(&ctx->store, id, err) < 0)
		return -1;
	printf("Deleted: %s\n", id);
	return 0;
}

int cmd_rmi(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, 0, 'f' },
					      { "no-prune", no_argument, 0, 'P' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct err err = { 0 };
	bool force = false;
	int c, rc = 0;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "fh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'f')
			force = true;
	}
	if (cmd_nargs(ctx, argc - optind, 1, -1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	for (int i = optind; i < argc; i++) {
		err_clear(&err);
		if (rmi_one(ctx, argv[i], force, &err) < 0)
			rc = cmd_fail_err(&err);
	}
	return rc ? 1 : 0;
}

int cmd_images(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, 0, 'a' },
					      { "quiet", no_argument, 0, 'q' },
					      { "digests", no_argument, 0, 'D' },
					      { "no-trunc", no_argument, 0, 'T' },
					      { "format", required_argument, 0, 'F' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct images_opts o = { 0 };
	struct err err = { 0 };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "aqh", opts, false)) != -1) {
		switch (c) {
		case '?': return EXIT_USAGE;
		case 'h': return cmd_help(ctx);
		case 'q': o.quiet = true; break;
		case 'D': o.digests = true; break;
		case 'T': o.no_trunc = true; break;
		case 'F': o.format = optarg; break;
		default: break;
		}
	}
	if (cmd_nargs(ctx, argc - optind, 0, 1))
		return EXIT_USAGE;
	o.filter = argc > optind ? argv[optind] : NULL;
	if (cmd_store(ctx, &err) < 0 || images_list(ctx, &o, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

static int prune(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, 0, 'a' },
					      { "force", no_argument, 0, 'f' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct err err = { 0 };
	bool all = false;
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "afh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h') {
			puts("Usage:  mydocker image prune [-a] [-f]\n\nRemove unused images "
			     "(dangling ones; with -a every image no container uses)");
			return 0;
		}
		if (c == 'a')
			all = true;
	}
	if (cmd_nargs(ctx, argc - optind, 0, 0))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 || images_prune(ctx, all, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

int cmd_image(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct cmd_sub subs[] = {
		{ "ls", "images", NULL },
		{ "list", "images", NULL },
		{ "rm", "rmi", NULL },
		{ "remove", "rmi", NULL },
		{ "import", "import", NULL },
		{ "load", "load", NULL },
		{ "tag", "tag", NULL },
		{ "inspect", "inspect", NULL },
		{ "prune", "image prune", prune },
	};

	return cmd_dispatch(ctx, argc, argv, subs, sizeof(subs) / sizeof(subs[0]));
}
