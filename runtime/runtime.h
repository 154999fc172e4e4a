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
	RT_NET_BRIDGE, /* new netns; the network module plugs in a veth (later issue) */
};

struct runtime_spec {
	/* Filesystem */
	char *rootfs; /* absolute host path of the merged root */
	bool readonly_rootfs;
	struct runtime_mount *mounts;
	size_t n_mounts;
	/* Files written into the container's /etc: host paths to bind. NULL = none. */
	char *hostname_path, *hosts_path, *resolv_path;

	/* Process */
	char **argv; /* argv[0] resolved against PATH inside the container */
	char **env;  /* NULL-terminated "K=V" */
	char *cwd;   /* absolute, default "/" */
	char *user;  /* "uid[:gid]", "name[:group]" or NULL (root): resolved in rootfs */
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
	bool seccomp;    /* Docker's default profile; false = unconfined */
	struct runtime_rlimit *rlimits;
	size_t n_rlimits;
	char **masked_paths;   /* NULL = Docker's defaults (ignored when privileged) */
	char **readonly_paths; /* NULL = Docker's defaults (ignored when privileged) */

	/* Hooks for the caller, run in the parent between clone and the child's
	 * exec (cgroups, network plug-in). Return 0 or -1 with err set. */
	int (*on_created)(pid_t pid, void *data, struct err *err);
	void *hook_data;
};

struct runtime_result {
	int exit_code;    /* Docker's convention: code, or 128+signal */
	pid_t pid;        /* host pid of the container's init */
};

/* Start the container and wait for it, forwarding signals and (with
 * terminal) relaying a pty. Errors before the user's process runs come back
 * in err with code set so cmd/ can pick 125/126/127:
 *   err->code == ENOENT for "executable file not found" -> 127
 *   err->code == EACCES for "permission denied"          -> 126
 *   anything else                                      -> 125 */
int runtime_run(const struct runtime_spec *spec, struct runtime_result *res, struct err *err) WUR;

/* Map a runtime_run error to Docker's exit code (125/126/127). */
int runtime_exit_code_for(const struct err *err);

/* Parse "NET_ADMIN"/"CAP_NET_ADMIN"/"ALL": 0 if known. Used to validate flags early. */
int runtime_cap_valid(const char *name);

/* The CVE-2019-5736 defence: re-exec the running binary from a sealed
 * memfd before anything enters a container. Called first thing in main()
 * for commands that start container processes; no-op if already sealed. */
int runtime_ensure_sealed_self(int argc, char **argv, struct err *err) WUR;

#endif
