/* system: info and version. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <archive.h>
#include <jansson.h>
#include <openssl/opensslv.h>

#include "cmd/cmd.h"
#include "storage/container.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static const char *cgroup_version(void)
{
	struct statfs fs;

	if (statfs("/sys/fs/cgroup", &fs) < 0)
		return "none";
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return "2";
	if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return "1 (hybrid: v2 at /sys/fs/cgroup/unified)";
	return "1";
}

static size_t count(struct store *s, int which)
{
	char **v = NULL;
	size_t n = 0;
	struct err e = { 0 };

	if ((which ? storage_container_list(s, &v, &n, &e) : storage_image_list(s, &v, &n, &e)) < 0)
		return 0;
	storage_strv_free(v, n);
	return n;
}

static int opt_help(struct cmd_ctx *ctx, int argc, char **argv, int max_args)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "h", opts, false)) != -1)
		return c == '?' ? EXIT_USAGE : (cmd_help(ctx), -1);
	return cmd_nargs(ctx, argc - optind, 0, max_args);
}

int cmd_info(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct err err = { 0 };
	struct utsname u;
	int rc = opt_help(ctx, argc, argv, 0);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	uname(&u);
	printf("Client: mydocker %s (daemonless)\n", MYDOCKER_VERSION);
	printf(" Containers: %zu\n", count(&ctx->store, 1));
	printf(" Images: %zu\n", count(&ctx->store, 0));
	printf(" Storage Driver: %s\n", storage_driver_name(&ctx->store));
	printf("  Whiteouts: %s\n", storage_whiteout_form(&ctx->store) == WHITEOUT_OVERLAY ?
					    "overlay (0:0 char devices, trusted.overlay.opaque)" :
					    "OCI (.wh. files)");
	printf(" Cgroup Version: %s\n", cgroup_version());
	printf(" Kernel Version: %s\n", u.release);
	printf(" Operating System: Linux\n Architecture: %s\n", u.machine);
	printf(" Root Dir: %s\n", ctx->store.root);
	printf(" Libraries: %s, %s, jansson %s\n", archive_version_string(), OPENSSL_VERSION_TEXT,
	       JANSSON_VERSION);
	return 0;
}

int cmd_version(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct utsname u;
	int rc = opt_help(ctx, argc, argv, 0);

	if (rc)
		return rc < 0 ? 0 : rc;
	uname(&u);
	printf("Client:\n Version:    %s\n OS/Arch:    linux/%s\n Engine:     daemonless\n",
	       MYDOCKER_VERSION, strcmp(u.machine, "x86_64") ? u.machine : "amd64");
	return 0;
}
