/* cmd: the command-line front end. Only cmd/ prints user-facing errors and
 * chooses exit codes; the modules below return struct err. */
#ifndef MYDOCKER_CMD_H
#define MYDOCKER_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include <jansson.h>

#include "base/err.h"
#include "storage/storage.h"

#define EXIT_USAGE 125

struct cmd_ctx {
	const char *root;   /* --root / MYDOCKER_ROOT / /var/lib/mydocker */
	const char *driver; /* --storage-driver or NULL */
	struct store store;
	bool store_open;
	const char *name; /* the command's name, for messages */
	int argc;         /* the whole command line, for a re-exec */
	char **argv;
};

struct cmd_def {
	const char *name;
	int (*fn)(struct cmd_ctx *ctx, int argc, char **argv);
	const char *summary;
	const char *usage; /* full --help text */
	bool seal;         /* re-exec from a sealed memfd first (enters containers) */
};

/* Open ctx->store once (creating the store on first use). */
int cmd_store(struct cmd_ctx *ctx, struct err *err) WUR;

/* Print "mydocker: <msg>" (one line) and return 125. */
int cmd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print err's message and return 125. */
int cmd_fail_err(const struct err *err);

/* getopt_long wrapper with Docker-like messages: returns the option, -1 at
 * the end, or prints one line and returns '?' (caller returns 125). Pass
 * shortopts WITHOUT the leading '+'/':'; stop_at_arg=true stops at the first
 * positional (run/exec). --help is handled by the caller via 'h'. */
int cmd_getopt(struct cmd_ctx *ctx, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, bool stop_at_arg);
/* Print the usage of ctx->name and return 0. */
int cmd_help(struct cmd_ctx *ctx);
/* Check positional count: at least min, at most max (-1 = any). Prints and
 * returns 125 on mismatch, 0 when fine. */
int cmd_nargs(struct cmd_ctx *ctx, int n, int min, int max);

/* Resolve an image argument: a name (normalized), a full or short id. */
int cmd_resolve_image(struct cmd_ctx *ctx, const char *arg, char id[DIGEST_BUF],
		      struct err *err) WUR;

/* Parse "64m", "1g", "1024" (bytes); -1 on error. */
long long cmd_parse_size(const char *s);

/* Command handlers (one file per family). */
int cmd_import(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_load(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_images(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_rmi(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_tag(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_inspect(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_image(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_run(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_stats(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_volume(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_network(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_info(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_ps(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_rm(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_container(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_version(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_commit(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_save(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_export(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_history(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_diff(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_push(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_login(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_logout(struct cmd_ctx *ctx, int argc, char **argv);

const struct cmd_def *cmd_lookup(const char *name);

/* One sub-command of a family ("image ls"): fn, or else the top-level
 * command named by as, which brings its name, usage and seal flag. */
struct cmd_sub {
	const char *name;
	const char *as; /* with fn: ctx->name for its messages (NULL: the family's) */
	int (*fn)(struct cmd_ctx *ctx, int argc, char **argv);
};
/* Run the sub-command argv[1] of the family ctx->name from subs. Without
 * one: the usage and 125; an unknown one: one line and 125. */
int cmd_dispatch(struct cmd_ctx *ctx, int argc, char **argv, const struct cmd_sub *subs, size_t n);
/* The whole CLI: global flags, then the command. Returns the exit code. */
int cmd_main(int argc, char **argv);

struct storage_container;
/* state.json of a container, with a dead runner's "running" corrected. */
json_t *cmd_container_state(struct cmd_ctx *ctx, const struct storage_container *c);
/* docker inspect's object for a container; NULL with err set. */
json_t *cmd_container_inspect(struct cmd_ctx *ctx, const struct storage_container *c,
			      struct err *err);

#endif
