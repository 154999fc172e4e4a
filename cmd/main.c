/* main: global flags, the command table, dispatch (main() itself is in
 * cmd/entry.c so unit tests can link everything else). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cmd/cmd.h"
#include "cmd/lifecycle.h"
#include "runtime/runtime.h"
#include "storage/storage.h"

static const struct cmd_def commands[] = {
	{ "run", cmd_run, "Create and run a new container from an image",
	  "Usage:  mydocker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n", true },
	{ "import", cmd_import, "Import the contents from a tarball to create a filesystem image",
	  "Usage:  mydocker import [OPTIONS] file|- [REPOSITORY[:TAG]]\n\n"
	  "Options:\n"
	  "  -c, --change list      Apply Dockerfile instruction to the created image\n"
	  "  -m, --message string   Set commit message for imported image\n",
	  false },
	{ "load", cmd_load, "Load an image from a tar archive or STDIN",
	  "Usage:  mydocker load [OPTIONS]\n\n"
	  "Options:\n"
	  "  -i, --input string   Read from tar archive file (or OCI layout dir), instead of STDIN\n"
	  "  -q, --quiet          Suppress the load output\n",
	  false },
	{ "images", cmd_images, "List images",
	  "Usage:  mydocker images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
	  "Options:\n"
	  "  -a, --all             Show all images\n"
	  "      --digests         Show digests\n"
	  "      --no-trunc        Don't truncate output\n"
	  "  -q, --quiet           Only show image IDs\n",
	  false },
	{ "rmi", cmd_rmi, "Remove one or more images",
	  "Usage:  mydocker rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
	  "Options:\n"
	  "  -f, --force      Force removal of the image\n",
	  false },
	{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
	  "Usage:  mydocker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n", false },
	{ "inspect", cmd_inspect, "Return low-level information on images, containers or volumes",
	  "Usage:  mydocker inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n"
	  "Options:\n"
	  "  -f, --format string   Print only the value of a top-level key, e.g. {{.Id}}\n"
	  "      --type string     Only inspect objects of this type (image, container, volume)\n",
	  false },
	{ "image", cmd_image, "Manage images",
	  "Usage:  mydocker image COMMAND\n\n"
	  "Commands:\n"
	  "  import, inspect, load, ls, prune, rm, tag\n",
	  false },
	{ "volume", cmd_volume, "Manage volumes",
	  "Usage:  mydocker volume COMMAND\n\n"
	  "Commands:\n"
	  "  create [NAME]      Create a volume\n"
	  "  inspect NAME...    Display detailed information on one or more volumes\n"
	  "  ls [-q]            List volumes\n"
	  "  prune [-a] [-f]    Remove unused anonymous volumes (-a: every unused one)\n"
	  "  rm [-f] NAME...    Remove one or more volumes\n",
	  false },
	{ "network", cmd_network, "Manage networks",
	  "Usage:  mydocker network COMMAND\n\n"
	  "Commands:\n"
	  "  connect [--ip IP] NETWORK CONTAINER   Connect a running container to a network\n"
	  "  create [--subnet CIDR] [--gateway IP] [-d bridge] NETWORK\n"
	  "                                        Create a network (a Linux bridge br-<id>)\n"
	  "  disconnect NETWORK CONTAINER          Disconnect a container from a network\n"
	  "  inspect NETWORK...                    Display detailed information on networks\n"
	  "  ls [-q]                               List networks\n"
	  "  prune [-f]                            Remove all unused user networks\n"
	  "  rm NETWORK...                         Remove one or more networks\n\n"
	  "The default network \"bridge\" (Linux bridge mydocker0) takes the first free\n"
	  "subnet of 172.17-31.0.0/16, 192.168.N.0/20, or $MYDOCKER_BRIDGE_SUBNET.\n",
	  false },
	{ "ps", cmd_ps, "List containers",
	  "Usage:  mydocker ps [OPTIONS]\n\n"
	  "Options:\n"
	  "  -a, --all             Show all containers (default shows just running)\n"
	  "      --no-trunc        Don't truncate output\n"
	  "  -q, --quiet           Only display container IDs\n",
	  false },
	{ "stats", cmd_stats, "Display a live stream of container(s) resource usage statistics",
	  "Usage:  mydocker stats [OPTIONS] [CONTAINER...]\n\n"
	  "Options:\n"
	  "  -a, --all         Show all running containers (the default)\n"
	  "      --no-stream   Disable streaming stats and only pull the first result\n"
	  "      --no-trunc    Do not truncate output\n",
	  false },
	{ "rm", cmd_rm, "Remove one or more containers",
	  "Usage:  mydocker rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	  "Options:\n"
	  "  -f, --force     Force the removal of a running container (uses SIGKILL)\n"
	  "  -v, --volumes   Remove anonymous volumes associated with the container\n",
	  false },
	/* Container lifecycle (cmd/lifecycle.c, ps.c, logs.c, exec.c, attach.c, ctr_misc.c). */
	{ "create", cmd_create, "Create a new container",
	  "Usage:  mydocker create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n(the options of run)\n",
	  true },
	{ "start", cmd_start, "Start one or more stopped containers",
	  "Usage:  mydocker start [OPTIONS] CONTAINER [CONTAINER...]\n\nOptions:\n"
	  "  -a, --attach        Attach STDOUT/STDERR and forward signals\n"
	  "  -i, --interactive   Attach container's STDIN\n",
	  true },
	{ "stop", cmd_stop, "Stop one or more running containers",
	  "Usage:  mydocker stop [OPTIONS] CONTAINER [CONTAINER...]\n\nOptions:\n"
	  "  -t, --time int   Seconds to wait before killing it (default: StopTimeout or 10)\n",
	  false },
	{ "restart", cmd_restart, "Restart one or more containers",
	  "Usage:  mydocker restart [OPTIONS] CONTAINER [CONTAINER...]\n\nOptions:\n"
	  "  -t, --time int   Seconds to wait for stop before killing it\n",
	  true },
	{ "kill", cmd_kill, "Kill one or more running containers",
	  "Usage:  mydocker kill [OPTIONS] CONTAINER [CONTAINER...]\n\nOptions:\n"
	  "  -s, --signal string   Signal to send to the container (default \"KILL\")\n",
	  false },
	{ "pause", cmd_pause, "Pause all processes within one or more containers",
	  "Usage:  mydocker pause CONTAINER [CONTAINER...]\n", false },
	{ "unpause", cmd_unpause, "Unpause all processes within one or more containers",
	  "Usage:  mydocker unpause CONTAINER [CONTAINER...]\n", false },
	{ "wait", cmd_wait, "Block until one or more containers stop, then print their exit codes",
	  "Usage:  mydocker wait CONTAINER [CONTAINER...]\n", false },
	{ "logs", cmd_logs, "Fetch the logs of a container",
	  "Usage:  mydocker logs [OPTIONS] CONTAINER\n\nOptions:\n"
	  "  -f, --follow         Follow log output\n"
	  "      --since string   Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)\n"
	  "  -n, --tail string    Number of lines to show from the end of the logs (default \"all\")\n"
	  "  -t, --timestamps     Show timestamps\n"
	  "      --until string   Show logs before a timestamp or relative time\n",
	  false },
	{ "exec", cmd_exec, "Execute a command in a running container",
	  "Usage:  mydocker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nOptions:\n"
	  "  -d, --detach          Detached mode: run command in the background\n"
	  "  -e, --env list        Set environment variables\n"
	  "  -i, --interactive     Keep STDIN open even if not attached\n"
	  "      --privileged      Give extended privileges to the command\n"
	  "  -t, --tty             Allocate a pseudo-TTY\n"
	  "  -u, --user string     Username or UID (format: <name|uid>[:<group|gid>])\n"
	  "  -w, --workdir string  Working directory inside the container\n",
	  true },
	{ "attach", cmd_attach, "Attach to a running container's output (and input with -i)",
	  "Usage:  mydocker attach [--no-stdin] CONTAINER\n\nDetach with ctrl-p ctrl-q.\n", false },
	{ "top", cmd_top, "Display the running processes of a container",
	  "Usage:  mydocker top CONTAINER [ps OPTIONS]\n", false },
	{ "port", cmd_port, "List port mappings or a specific mapping for the container",
	  "Usage:  mydocker port CONTAINER [PRIVATE_PORT[/PROTO]]\n", false },
	{ "rename", cmd_rename, "Rename a container",
	  "Usage:  mydocker rename CONTAINER NEW_NAME\n", false },
	{ "container", cmd_container, "Manage containers",
	  "Usage:  mydocker container COMMAND\n\n"
	  "Commands:\n"
	  "  attach, create, exec, inspect, kill, logs, ls, pause, port, prune, rename,\n"
	  "  restart, rm, run, start, stop, top, unpause, wait\n",
	  false },
	{ "pull", cmd_pull, "Download an image from a registry",
	  "Usage:  mydocker pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
	  "Options:\n"
	  "      --insecure-registry host[:port]  Allow plain HTTP to this registry (repeatable;\n"
	  "                                       127.0.0.0/8 and localhost always are)\n"
	  "      --platform string                Pull this platform (os/arch[/variant])\n"
	  "  -q, --quiet                          Suppress verbose output\n\n"
	  "Credentials from 'mydocker login' ($MYDOCKER_CONFIG or ~/.config/mydocker/auth.json).\n",
	  false },
	{ "push", cmd_push, "Upload an image to a registry",
	  "Usage:  mydocker push [OPTIONS] NAME[:TAG]\n\n"
	  "Options:\n"
	  "      --format string                  Manifest format: docker (schema 2, default) or oci\n"
	  "      --insecure-registry host[:port]  Allow plain HTTP to this registry (repeatable)\n"
	  "  -q, --quiet                          Suppress verbose output\n",
	  false },
	{ "login", cmd_login, "Log in to a registry",
	  "Usage:  mydocker login [OPTIONS] [SERVER]\n\n"
	  "Options:\n"
	  "  -p, --password string                Password\n"
	  "      --password-stdin                 Take the password from stdin\n"
	  "  -u, --username string                Username\n"
	  "      --insecure-registry host[:port]  Allow plain HTTP to this registry (repeatable)\n\n"
	  "Stores credentials (mode 0600) in $MYDOCKER_CONFIG or ~/.config/mydocker/auth.json.\n",
	  false },
	{ "logout", cmd_logout, "Log out from a registry", "Usage:  mydocker logout [SERVER]\n",
	  false },
	{ "commit", cmd_commit, "Create a new image from a container's changes",
	  "Usage:  mydocker commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
	  "Options:\n"
	  "  -a, --author string    Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")\n"
	  "  -c, --change list      Apply Dockerfile instruction to the created image\n"
	  "  -m, --message string   Commit message\n"
	  "  -o, --output string    Also write the new image as a docker-archive tar\n"
	  "  -p, --pause            Pause (freeze) a running container during commit\n"
	  "                         (default true; --pause=false to commit it live)\n",
	  false },
	{ "save", cmd_save,
	  "Save one or more images to a tar archive (streamed to STDOUT by default)",
	  "Usage:  mydocker save [OPTIONS] IMAGE [IMAGE...]\n\n"
	  "Options:\n"
	  "      --compress string   Layer compression: gzip, zstd or none (default gzip)\n"
	  "      --format string     docker-archive or oci-archive (default docker-archive)\n"
	  "  -o, --output string     Write to a file, instead of STDOUT\n",
	  false },
	{ "export", cmd_export, "Export a container's filesystem as a tar archive",
	  "Usage:  mydocker export [OPTIONS] CONTAINER\n\n"
	  "Options:\n"
	  "  -o, --output string   Write to a file, instead of STDOUT\n",
	  false },
	{ "history", cmd_history, "Show the history of an image",
	  "Usage:  mydocker history [OPTIONS] IMAGE\n\n"
	  "Options:\n"
	  "  -H, --human           Print sizes and dates in human readable format (default true)\n"
	  "      --no-trunc        Don't truncate output\n"
	  "  -q, --quiet           Only show image IDs\n",
	  false },
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
			return cmd_fail(
				"invalid --log-level %s: use debug, info, warn, error or fatal",
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
	ctx.argc = argc;
	ctx.argv = argv;
	if (parse_globals(&ctx, argc, argv, &idx) != 0)
		return EXIT_USAGE;
	if (idx >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	ctr_note_self_exe();
	/* What the per-container monitor runs us for (cmd/monitor.c):
	 * internal, not listed. */
	if (!strncmp(argv[idx], "__", 2)) {
		ctx.name = argv[idx];
		rc = ctr_internal_main(&ctx, argc, argv, idx);
		if (ctx.store_open)
			storage_close(&ctx.store);
		return rc;
	}
	def = cmd_lookup(argv[idx]);
	if (!def)
		return cmd_fail("'%s' is not a mydocker command. (see 'mydocker --help')",
				argv[idx]);
	ctx.name = def->name;
	/* `CMD --help` never acts, whatever CMD's own parsing does with it
	 * (run and create print their fuller option list themselves). */
	if (idx + 1 < argc && !strcmp(argv[idx + 1], "--help") && strcmp(def->name, "run") &&
	    strcmp(def->name, "create"))
		return cmd_help(&ctx);
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
