/* main: global flags, the command table, dispatch (main() itself is in
 * cmd/entry.c so unit tests can link everything else). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cmd/cmd.h"
#include "runtime/runtime.h"
#include "storage/storage.h"

static const struct cmd_def commands[] = {
	{ "run", cmd_run, "Create and run a new container from an image",
	  "Usage:  mydocker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n", true },
	{ "import", cmd_import, "Import the contents from a tarball to create a filesystem image",
	  "Usage:  mydocker import [OPTIONS] file|- [REPOSITORY[:TAG]]\n\n"
	  "Options:\n"
	  "  -c, --change list      Apply Dockerfile instruction to the created image\n"
	  "  -m, --message string   Set commit message for imported image\n", false },
	{ "load", cmd_load, "Load an image from a tar archive or STDIN",
	  "Usage:  mydocker load [OPTIONS]\n\n"
	  "Options:\n"
	  "  -i, --input string   Read from tar archive file (or OCI layout dir), instead of STDIN\n"
	  "  -q, --quiet          Suppress the load output\n", false },
	{ "images", cmd_images, "List images",
	  "Usage:  mydocker images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
	  "Options:\n"
	  "  -a, --all             Show all images\n"
	  "      --digests         Show digests\n"
	  "      --no-trunc        Don't truncate output\n"
	  "  -q, --quiet           Only show image IDs\n", false },
	{ "rmi", cmd_rmi, "Remove one or more images",
	  "Usage:  mydocker rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
	  "Options:\n"
	  "  -f, --force      Force removal of the image\n", false },
	{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
	  "Usage:  mydocker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n", false },
	{ "inspect", cmd_inspect, "Return low-level information on images, containers or volumes",
	  "Usage:  mydocker inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n"
	  "Options:\n"
	  "  -f, --format string   Print only the value of a top-level key, e.g. {{.Id}}\n"
	  "      --type string     Only inspect objects of this type (image, container, volume)\n", false },
	{ "image", cmd_image, "Manage images",
	  "Usage:  mydocker image COMMAND\n\n"
	  "Commands:\n"
	  "  import, inspect, load, ls, prune, rm, tag\n", false },
	{ "volume", cmd_volume, "Manage volumes",
	  "Usage:  mydocker volume COMMAND\n\n"
	  "Commands:\n"
	  "  create [NAME]      Create a volume\n"
	  "  inspect NAME...    Display detailed information on one or more volumes\n"
	  "  ls [-q]            List volumes\n"
	  "  prune [-f]         Remove all unused volumes\n"
	  "  rm [-f] NAME...    Remove one or more volumes\n", false },
	{ "ps", cmd_ps, "List containers",
	  "Usage:  mydocker ps [OPTIONS]\n\n"
	  "Options:\n"
	  "  -a, --all             Show all containers (default shows just running)\n"
	  "      --no-trunc        Don't truncate output\n"
	  "  -q, --quiet           Only display container IDs\n", false },
	{ "rm", cmd_rm, "Remove one or more containers",
	  "Usage:  mydocker rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	  "Options:\n"
	  "  -f, --force     Force the removal of a running container (uses SIGKILL)\n"
	  "  -v, --volumes   Remove anonymous volumes associated with the container\n", false },
	{ "container", cmd_container, "Manage containers",
	  "Usage:  mydocker container COMMAND\n\n"
	  "Commands:\n"
	  "  inspect, ls, rm, run\n", false },
	{ "pull", cmd_pull, "Download an image from a registry",
	  "Usage:  mydocker pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
	  "Options:\n"
	  "      --insecure-registry host[:port]  Allow plain HTTP to this registry (repeatable;\n"
	  "                                       127.0.0.0/8 and localhost always are)\n"
	  "      --platform string                Pull this platform (os/arch[/variant])\n"
	  "  -q, --quiet                          Suppress verbose output\n\n"
	  "Credentials from 'mydocker login' ($MYDOCKER_CONFIG or ~/.config/mydocker/auth.json).\n", false },
	{ "push", cmd_push, "Upload an image to a registry",
	  "Usage:  mydocker push [OPTIONS] NAME[:TAG]\n\n"
	  "Options:\n"
	  "      --format string                  Manifest format: docker (schema 2, default) or oci\n"
	  "      --insecure-registry host[:port]  Allow plain HTTP to this registry (repeatable)\n"
	  "  -q, --quiet                          Suppress verbose output\n", false },
	{ "login", cmd_login, "Log in to a registry",
	  "Usage:  mydocker login [OPTIONS] [SERVER]\n\n"
	  "Options:\n"
	  "  -p, --password string                Password\n"
	  "      --password-stdin                 Take the password from stdin\n"
	  "  -u, --username string                Username\n"
	  "      --insecure-registry host[:port]  Allow plain HTTP to this registry (repeatable)\n\n"
	  "Stores credentials (mode 0600) in $MYDOCKER_CONFIG or ~/.config/mydocker/auth.json.\n", false },
	{ "logout", cmd_logout, "Log out from a registry",
	  "Usage:  mydocker logout [SERVER]\n", false },
	{ "commit", cmd_commit, "Create a new image from a container's changes",
	  "Usage:  mydocker commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
	  "Options:\n"
	  "  -a, --author string    Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")\n"
	  "  -c, --change list      Apply Dockerfile instruction to the created image\n"
	  "  -m, --message string   Commit message\n"
	  "  -o, --output string    Also write the new image as a docker-archive tar\n"
	  "  -p, --pause            Pause container during commit (default true; a no-op\n"
	  "                         for an exited container; running ones cannot be\n"
	  "                         paused until the freezer lands: use --pause=false)\n", false },
	{ "save", cmd_save, "Save one or more images to a tar archive (streamed to STDOUT by default)",
	  "Usage:  mydocker save [OPTIONS] IMAGE [IMAGE...]\n\n"
	  "Options:\n"
	  "      --compress string   Layer compression: gzip, zstd or none (default gzip)\n"
	  "      --format string     docker-archive or oci-archive (default docker-archive)\n"
	  "  -o, --output string     Write to a file, instead of STDOUT\n", false },
	{ "export", cmd_export, "Export a container's filesystem as a tar archive",
	  "Usage:  mydocker export [OPTIONS] CONTAINER\n\n"
	  "Options:\n"
	  "  -o, --output string   Write to a file, instead of STDOUT\n", false },
	{ "history", cmd_history, "Show the history of an image",
	  "Usage:  mydocker history [OPTIONS] IMAGE\n\n"
	  "Options:\n"
	  "  -H, --human           Print sizes and dates in human readable format (default true)\n"
	  "      --no-trunc        Don't truncate output\n"
	  "  -q, --quiet           Only show image IDs\n", false },
	{ "diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem",
	  "Usage:  mydocker diff CONTAINER\n", false },
	{ "info", cmd_info, "Display system-wide information", "Usage:  mydocker info\n", false },
	{ "version", cmd_version, "Show the mydocker version information",
	  "Usage:  mydocker version\n", false },
};

const struct cmd_def *cmd_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs("Usage:  mydocker [OPTIONS] COMMAND\n\n"
	      "A daemonless container engine\n\n"
	      "Options:\n"
	      "      --root string            Store directory (default /var/lib/mydocker, or $MYDOCKER_ROOT)\n"
	      "      --storage-driver string  overlay, aufs or vfs (default: first that works)\n"
	      "  -l, --log-level string       debug, info, warn, error, fatal (default warn)\n"
	      "  -v, --version                Print version information and quit\n\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'mydocker COMMAND --help' for more information on a command.\n", f);
}

/* Global flags come before the command, as with docker. */
static int parse_globals(struct cmd_ctx *ctx, int argc, char **argv, int *idx)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *val = NULL;
		const char *eq = strchr(a, '=');
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
		char key[64];

		if (klen >= sizeof(key))
			return cmd_fail("unknown flag: %s", a);
		memcpy(key, a, klen);
		key[klen] = '\0';
		if (!strcmp(key, "-h") || !strcmp(key, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(key, "-v") || !strcmp(key, "--version")) {
			printf("mydocker version %s\n", MYDOCKER_VERSION);
			exit(0);
		}
		if (strcmp(key, "--root") && strcmp(key, "--storage-driver") &&
		    strcmp(key, "--log-level") && strcmp(key, "-l"))
			return cmd_fail("unknown flag: %s (see 'mydocker --help')", a);
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return cmd_fail("flag needs an argument: %s", a);
		if (!strcmp(key, "--root")) {
			if (val[0] == '\0')
				return cmd_fail("--root: empty path");
			ctx->root = val;
		} else if (!strcmp(key, "--storage-driver")) {
			ctx->driver = val;
		} else if (log_set_level(val) < 0) {
			return cmd_fail("invalid --log-level %s: use debug, info, warn, error or fatal",
					val);
		}
	}
	*idx = i;
	return 0;
}

int cmd_main(int argc, char **argv)
{
	struct cmd_ctx ctx = { 0 };
	const struct cmd_def *def;
	int idx = 1, rc;
	const char *env_root = getenv("MYDOCKER_ROOT");

	ctx.root = env_root && *env_root ? env_root : "/var/lib/mydocker";
	if (parse_globals(&ctx, argc, argv, &idx) != 0)
		return EXIT_USAGE;
	if (idx >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	def = cmd_lookup(argv[idx]);
	if (!def)
		return cmd_fail("'%s' is not a mydocker command. (see 'mydocker --help')",
				argv[idx]);
	ctx.name = def->name;
	if (def->seal) {
		struct err err = { 0 };
		/* Before anything else: the process that enters a container must
		 * be a sealed copy of us (CVE-2019-5736). */
		if (runtime_ensure_sealed_self(argc, argv, &err) < 0)
			return cmd_fail_err(&err);
	}
	rc = def->fn(&ctx, argc - idx, argv + idx);
	if (ctx.store_open)
		storage_close(&ctx.store);
	return rc;
}
