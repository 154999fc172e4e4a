/* run: options of `mydocker run` and the steps from image to process. */
#ifndef MYDOCKER_CMD_RUN_H
#define MYDOCKER_CMD_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cmd/cmd.h"
#include "runtime/runtime.h"

/* A growable NULL-terminated string vector. */
struct strv {
	char **v;
	size_t n, cap;
};
int strv_push(struct strv *s, const char *str);
void strv_free(struct strv *s);

struct run_opts {
	const char *name, *workdir, *user, *hostname, *entrypoint, *network;
	bool has_entrypoint;
	bool rm, interactive, tty, readonly, privileged, init, no_new_privs, seccomp;
	bool userns;
	struct runtime_idmap uidmap, gidmap;
	struct strv env, env_files, volumes, tmpfs, cap_add, cap_drop, group_add, labels, ulimits;
	const char *image;
	char **args; /* command after the image */
	int n_args;
};

/* Parse argv of `run`; returns 0, or the exit code to return (help: 0 with
 * *done set; bad flag: 125). */
int run_parse(struct cmd_ctx *ctx, int argc, char **argv, struct run_opts *o, bool *done);
void run_opts_release(struct run_opts *o);

/* Mounts of a run: -v, --tmpfs and the image's VOLUME entries, resolved to
 * runtime mounts (named/anonymous volumes created in the store). Fills
 * mounts (heap array) and the "Mounts" JSON for config.json. */
struct run_mounts {
	struct runtime_mount *m;
	size_t n;
	json_t *json; /* array */
	struct strv new_volumes; /* created by this run: copy-up targets */
	struct strv new_dests;
};
int run_mounts_build(struct cmd_ctx *ctx, const struct run_opts *o, char **image_volumes,
		     struct run_mounts *rm, struct err *err) WUR;
/* Copy image content into volumes this run created (needs the rootfs). */
int run_mounts_copy_up(struct cmd_ctx *ctx, struct run_mounts *rm, const char *merged,
		       struct err *err) WUR;
void run_mounts_release(struct run_mounts *rm);
/* Remove the anonymous volumes listed in a config's Mounts (rm -v / --rm). */
void run_remove_anonymous_volumes(struct cmd_ctx *ctx, json_t *mounts);

#endif
