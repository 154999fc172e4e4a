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

/* Network flags (cmd/net_run.c). */
struct run_net_opts {
	const char *mac, *ip;
	struct strv publish, dns, dns_search, dns_opt, add_host;
};

/* Resource flags (cmd/run_resources.c): -m and -c, and these codes. */
enum {
	RUN_OPT_RES_FIRST = 2000,
	RUN_OPT_MEMORY_SWAP = RUN_OPT_RES_FIRST,
	RUN_OPT_MEMORY_RESERVATION,
	RUN_OPT_CPUS,
	RUN_OPT_CPU_PERIOD,
	RUN_OPT_CPU_QUOTA,
	RUN_OPT_CPUSET_CPUS,
	RUN_OPT_CPUSET_MEMS,
	RUN_OPT_PIDS_LIMIT,
	RUN_OPT_BLKIO_WEIGHT,
	RUN_OPT_CGROUP_PARENT,
	RUN_OPT_DEVICE_CGROUP_RULE,
	RUN_OPT_RES_LAST = RUN_OPT_DEVICE_CGROUP_RULE,
};
#define RUN_RESOURCE_LONGOPTS                                                               \
	{ "memory", required_argument, 0, 'm' },                                            \
		{ "memory-swap", required_argument, 0, RUN_OPT_MEMORY_SWAP },               \
		{ "memory-reservation", required_argument, 0, RUN_OPT_MEMORY_RESERVATION }, \
		{ "cpus", required_argument, 0, RUN_OPT_CPUS },                             \
		{ "cpu-shares", required_argument, 0, 'c' },                                \
		{ "cpu-period", required_argument, 0, RUN_OPT_CPU_PERIOD },                 \
		{ "cpu-quota", required_argument, 0, RUN_OPT_CPU_QUOTA },                   \
		{ "cpuset-cpus", required_argument, 0, RUN_OPT_CPUSET_CPUS },               \
		{ "cpuset-mems", required_argument, 0, RUN_OPT_CPUSET_MEMS },               \
		{ "pids-limit", required_argument, 0, RUN_OPT_PIDS_LIMIT },                 \
		{ "blkio-weight", required_argument, 0, RUN_OPT_BLKIO_WEIGHT },             \
		{ "cgroup-parent", required_argument, 0, RUN_OPT_CGROUP_PARENT },           \
	{                                                                                   \
		"device-cgroup-rule", required_argument, 0, RUN_OPT_DEVICE_CGROUP_RULE      \
	}
#define RUN_RESOURCE_USAGE                                                                                         \
	"Resources:\n"                                                                                             \
	"      --blkio-weight uint          Block IO (relative weight), 10 to 1000, or 0 to disable\n"             \
	"      --cgroup-parent string       Parent cgroup for the container (default \"mydocker\")\n"              \
	"      --cpu-period int             Limit CPU CFS (Completely Fair Scheduler) period\n"                    \
	"      --cpu-quota int              Limit CPU CFS (Completely Fair Scheduler) quota\n"                     \
	"  -c, --cpu-shares int             CPU shares (relative weight)\n"                                        \
	"      --cpus decimal               Number of CPUs\n"                                                      \
	"      --cpuset-cpus string         CPUs in which to allow execution (0-3, 0,1)\n"                         \
	"      --cpuset-mems string         MEMs in which to allow execution (0-3, 0,1)\n"                         \
	"      --device-cgroup-rule list    Add a rule to the cgroup allowed devices list\n"                       \
	"  -m, --memory bytes               Memory limit\n"                                                        \
	"      --memory-reservation bytes   Memory soft limit\n"                                                   \
	"      --memory-swap bytes          Swap limit equal to memory plus swap: '-1' to enable unlimited swap\n" \
	"      --pids-limit int             Tune container pids limit (set -1 for unlimited)\n"

/* Take one resource flag into r: 0, or 125 with the message printed. */
int run_resources_opt(struct runtime_resources *r, int c, const char *arg);
/* Docker's checks of the whole set (6MB minimum, ...): 0 or 125 printed. */
int run_resources_check(const struct runtime_resources *r);
void run_resources_release(struct runtime_resources *r);
/* HostConfig fields as docker inspect names them (Memory, NanoCpus, ...). */
void run_resources_to_json(const struct runtime_resources *r, json_t *hostconfig);
/* Back from a HostConfig (a container started again): strings borrow from
 * hostconfig; release with run_resources_release. */
int run_resources_from_json(json_t *hostconfig, struct runtime_resources *r, struct err *err) WUR;
struct storage_container;
/* state.json's OOMKilled after the container's exit. */
void run_resources_record_oom(struct cmd_ctx *ctx, const struct storage_container *c,
			      bool oom_killed);

struct run_opts {
	const char *name, *workdir, *user, *hostname, *entrypoint, *network;
	bool has_entrypoint;
	bool rm, interactive, tty, readonly, privileged, init, no_new_privs, seccomp;
	bool detach;         /* -d: hand the container to a monitor (cmd/monitor.c) */
	const char *restart; /* --restart no|on-failure[:N]|always|unless-stopped */
	bool userns;
	struct runtime_idmap uidmap, gidmap;
	struct strv env, env_files, volumes, tmpfs, cap_add, cap_drop, group_add, labels, ulimits;
	struct run_net_opts net;
	struct runtime_resources res; /* cgroup_name set once the id is known */
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
	json_t *json;            /* array */
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
