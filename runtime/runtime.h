/* runtime: turns a container spec into a running, isolated process.
 *
 * Knows nothing of images or the store: it gets a rootfs path (already
 * union-mounted by storage/), the process to run, mounts and options. The
 * caller (cmd/) builds the spec from the image config and the command line. */
#ifndef MYDOCKER_RUNTIME_H
#define MYDOCKER_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

enum runtime_mount_type {
	RT_MOUNT_BIND,  /* source: host path */
	RT_MOUNT_TMPFS, /* source ignored; options e.g. "size=64m,mode=1777" */
};

struct runtime_mount {
	enum runtime_mount_type type;
	char *source;      /* host path for binds */
	char *destination; /* absolute path inside the container */
	bool readonly;
	char *options; /* tmpfs data, or NULL */
};

struct runtime_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct runtime_idmap {
	uint32_t container_id, host_id, size;
};

enum runtime_netmode {
	RT_NET_NONE,   /* new netns with only lo */
	RT_NET_HOST,   /* share the host's netns */
	RT_NET_BRIDGE, /* new netns with lo and the veth of spec->net */
};

/* One device cgroup rule, as in `--device-cgroup-rule "c 1:3 rwm"`. */
struct runtime_device_rule {
	char type;            /* 'a' (all), 'c' or 'b' */
	int64_t major, minor; /* -1 = '*' */
	char access[4];       /* non-empty subset of "rwm" */
};

/* Resource limits, Docker's units and meanings; 0 / NULL = not set. The
 * container always gets its own cgroup: <cgroup_parent>/<cgroup_name>
 * below every hierarchy (runtime/cgroup/). */
struct runtime_resources {
	int64_t memory;                      /* bytes (-m) */
	int64_t memory_swap;                 /* memory+swap bytes; -1 unlimited; 0 = 2 x memory */
	int64_t memory_reservation;          /* bytes, soft limit */
	int64_t nano_cpus;                   /* --cpus x 1e9; excludes cpu_quota/cpu_period */
	int64_t cpu_quota;                   /* us per period; -1 unlimited */
	int64_t cpu_period;                  /* us (1000..1000000), 0 = kernel's 100000 */
	int64_t cpu_shares;                  /* relative weight (2..262144) */
	char *cpuset_cpus, *cpuset_mems;     /* "0-2,4"; NULL = the parent's */
	int64_t pids_limit;                  /* > 0 limit; -1 unlimited */
	int64_t blkio_weight;                /* 10..1000 */
	struct runtime_device_rule *devices; /* allowed besides Docker's defaults */
	size_t n_devices;
	char *cgroup_parent; /* relative to each hierarchy's root; NULL = "mydocker" */
	char *cgroup_name;   /* the leaf (the container id); NULL = "ctr-<pid>" */
};

struct runtime_net; /* runtime/net/net.h */

struct runtime_spec {
	/* Filesystem */
	char *rootfs; /* absolute host path of the merged root */
	bool readonly_rootfs;
	struct runtime_mount *mounts;
	size_t n_mounts;
	/* Files written into the container's /etc: host paths to bind. NULL = none. */
	char *hostname_path, *hosts_path, *resolv_path;

	/* Process */
	char **argv;       /* argv[0] resolved against PATH inside the container */
	char **env;        /* NULL-terminated "K=V" */
	char *cwd;         /* absolute, default "/" */
	char *user;        /* "uid[:gid]", "name[:group]" or NULL (root): resolved in rootfs */
	char **add_groups; /* NULL-terminated, or NULL */
	bool terminal;     /* allocate a pty; the caller's stdin is a terminal */
	bool interactive;  /* keep stdin attached */
	bool init;         /* run a tiny reaper as PID 1 (--init) */

	/* Isolation */
	char *hostname;
	enum runtime_netmode netmode;
	bool userns;
	struct runtime_idmap uidmap, gidmap; /* used when userns */

	/* Security */
	bool privileged;
	char **cap_add;  /* NULL-terminated names like "NET_ADMIN" or "CAP_NET_ADMIN", "ALL" */
	char **cap_drop; /* same */
	bool no_new_privs;
	bool seccomp; /* Docker's default profile; false = unconfined */
	/* A host directory the runtime may keep derived data in (compiled
	 * seccomp filters, runtime/seccomp_cache.c): private to the caller,
	 * created 0700 if missing. NULL = no cache. */
	char *cache_dir;
	struct runtime_rlimit *rlimits;
	size_t n_rlimits;
	char **masked_paths;   /* NULL = Docker's defaults (ignored when privileged) */
	char **readonly_paths; /* NULL = Docker's defaults (ignored when privileged) */

	/* Limits; NULL = none (the container still gets its own cgroup). */
	const struct runtime_resources *resources;

	/* Network for RT_NET_BRIDGE (runtime/net/net.h): the parent plugs this
	 * veth into the child's netns before on_created. NULL = none. */
	const struct runtime_net *net;

	/* Hooks for the caller, run in the parent between clone and the child's
	 * exec (cgroups, network plug-in). Return 0 or -1 with err set. */
	int (*on_created)(pid_t pid, void *data, struct err *err);
	void *hook_data;
};

struct runtime_result {
	int exit_code;   /* Docker's convention: code, or 128+signal */
	pid_t pid;       /* host pid of the container's init */
	bool oom_killed; /* the kernel's OOM killer killed a process of it */
};

/* Start the container and wait for it, forwarding signals and (with
 * terminal) relaying a pty. Errors before the user's process runs come back
 * in err with code set so cmd/ can pick 125/126/127:
 *   err->code == ENOENT for "executable file not found" -> 127
 *   err->code == EACCES for "permission denied"          -> 126
 *   anything else                                      -> 125 */
int runtime_run(const struct runtime_spec *spec, struct runtime_result *res, struct err *err) WUR;

/* runtime_run split for a monitor (cmd/monitor.c): clone and set up the
 * container, return once its process was exec'd. res->pid is its host
 * pid, *master_fd the pty master with spec->terminal (else -1). The
 * container inherits the caller's stdio (unless terminal); the caller
 * blocks SIGCHLD, reaps the pid and forwards signals itself. */
int runtime_start(const struct runtime_spec *spec, struct runtime_result *res, int *master_fd,
		  struct err *err) WUR;

/* exec: run spec->argv inside the running container whose init is
 * init_pid: joins its cgroups and every namespace (pidfd + setns), its
 * root, the security of spec (caps, seccomp, no_new_privs, user), with
 * spec->env/cwd/user/terminal/interactive. rootfs and mounts are
 * ignored. detach: return once exec'd (res->pid set). Else relay the
 * terminal, forward signals, wait; res->exit_code as runtime_run. */
int runtime_exec(pid_t init_pid, const struct runtime_spec *spec, bool detach,
		 struct runtime_result *res, struct err *err) WUR;

/* err->code of "the command cannot be found" / "cannot be executed": not
 * errno values, so that an ENOENT or EACCES from set-up (a missing mount
 * source, say) is not mistaken for them. */
#define RUNTIME_ERR_NOT_FOUND 10127
#define RUNTIME_ERR_CANNOT_EXEC 10126

/* Map a runtime_run error to Docker's exit code (125/126/127). */
int runtime_exit_code_for(const struct err *err);

/* Check limits the way Docker does ("Minimum memory limit allowed is 6MB",
 * --memory-swap below -m, ...): 0, or -1 with a one-line message. */
int runtime_resources_check(const struct runtime_resources *r, struct err *err) WUR;
/* Parse "c 1:3 rwm" / "a *:* m" (--device-cgroup-rule): 0 or -1 with err. */
int runtime_device_rule_parse(const char *s, struct runtime_device_rule *rule, struct err *err) WUR;

/* Remove the cgroup <parent>/<name> (parent NULL = "mydocker") below every
 * hierarchy, after killing what is left in it; a missing one is not an
 * error. For `rm` of a container whose runner died. */
int runtime_cgroup_remove(const char *parent, const char *name, struct err *err) WUR;
/* For runtime_start's caller, once the container's init was reaped (same
 * process and resources as for runtime_start): res->oom_killed from the
 * cgroup's OOM count (res may be NULL), then the cgroup removed. */
void runtime_cgroup_release(const struct runtime_resources *r, struct runtime_result *res);
/* Remove every cgroup below <parent> that holds no process and is older
 * than a few seconds (so a run between mkdir and joining is left alone):
 * the leftovers of runners that were killed. The next command calls it.
 * With stamp_dir (the store's cache dir) it looks at most once every few
 * seconds, recorded in <stamp_dir>/cgroup-prune; NULL: every time. */
void runtime_cgroup_prune(const char *parent, const char *stamp_dir);

/* What `stats` shows, read from the cgroups of a running container's init
 * (found through /proc/<pid>/cgroup). */
struct runtime_cgroup_stats {
	uint64_t cpu_ns;    /* CPU time used */
	uint64_t mem_usage; /* bytes, page cache not counted (as docker) */
	uint64_t mem_limit; /* bytes; the host's memory when unlimited */
	uint64_t pids;
	uint64_t blk_read, blk_write; /* bytes */
};
int runtime_cgroup_stats(pid_t pid, struct runtime_cgroup_stats *st, struct err *err) WUR;

/* Parse "NET_ADMIN"/"CAP_NET_ADMIN"/"ALL": 0 if known. Used to validate flags early. */
int runtime_cap_valid(const char *name);

/* The CVE-2019-5736 defence: re-exec the running binary from a sealed
 * memfd before anything enters a container. Called first thing in main()
 * for commands that start container processes; no-op if already sealed. */
int runtime_ensure_sealed_self(int argc, char **argv, struct err *err) WUR;

#endif
