/* runtime internals shared by the files of runtime/; not for other modules. */
#ifndef MYDOCKER_RUNTIME_INTERNAL_H
#define MYDOCKER_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "runtime/runtime.h"

/* ---- security (runtime/caps.c, runtime/seccomp.c) --------------------- */

/* Everything that allocates or can fail on bad input is computed in the
 * parent before clone (rt_security_prepare); the child only applies it. */
struct rt_security {
	uint64_t bounding;  /* capability bit masks (bit n = CAP n) */
	uint64_t effective; /* for root; a non-root user gets 0 eff/perm */
	bool no_new_privs;
	void *seccomp_bpf; /* struct sock_fprog *, NULL = unconfined */
};
int rt_security_prepare(const struct runtime_spec *spec, struct rt_security *sec,
			struct err *err) WUR;
void rt_security_release(struct rt_security *sec);
/* In the child, after pivot_root, as root still. Order inside:
 * seccomp first when !no_new_privs (loading needs CAP_SYS_ADMIN then),
 * bounding set, setgroups/setgid/setuid (keeping caps only for uid 0),
 * eff/perm/inh = mask for uid 0 and empty otherwise, ambient cleared,
 * no_new_privs, then seccomp when no_new_privs. */
int rt_security_apply(const struct rt_security *sec, uid_t uid, gid_t gid, const gid_t *groups,
		      size_t n_groups, struct err *err) WUR;
/* Docker's default capability mask (0xa80425fb). */
uint64_t rt_caps_default(void);
/* "NET_ADMIN" / "CAP_NET_ADMIN" (any case) -> number, -1 if unknown. */
int rt_cap_from_name(const char *name);

/* ---- seccomp (runtime/seccomp.c, runtime/seccomp_profile.c) ------------ */

/* Docker's default profile as data: syscalls allowed outright, and those
 * allowed only when a capability is in the set. The conditional rules
 * (personality, socket, clone, clone3) are code in seccomp.c. */
struct rt_seccomp_capgroup {
	int cap;                  /* CAP_* number */
	const char *const *names; /* NULL-terminated */
};
extern const char *const rt_seccomp_allow[];                    /* NULL-terminated */
extern const struct rt_seccomp_capgroup rt_seccomp_cap_allow[]; /* ends with names NULL */
/* Compile the default profile for capability mask caps into a heap
 * struct sock_fprog (*prog); free it with rt_seccomp_free. */
int rt_seccomp_build(uint64_t caps, void **prog, struct err *err) WUR;
void rt_seccomp_free(void *prog);
/* rt_seccomp_build through a cache of compiled programs in
 * <cache_dir>/seccomp/ (runtime/seccomp_cache.c); cache_dir NULL = build.
 * A cache that cannot be read or written is only a slower start. */
int rt_seccomp_get(uint64_t caps, const char *cache_dir, void **prog, struct err *err) WUR;
/* Install prog in the calling thread (needs no_new_privs or CAP_SYS_ADMIN). */
int rt_seccomp_load(const void *prog, struct err *err) WUR;

/* ---- users (runtime/user.c) --------------------------------------------- */

struct rt_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	size_t n_groups;
	char home[256];
};
/* Resolve "uid[:gid]" / "name[:group]" (NULL = root) against the
 * container's /etc/passwd and /etc/group, read beneath root_fd (the new
 * root after pivot_root, i.e. open("/")). Numeric ids need no entry;
 * unknown names are an error ("unable to find user NAME"). */
int rt_user_resolve(int root_fd, const char *spec, char *const *add_groups, struct rt_user *u,
		    struct err *err) WUR;

/* ---- rlimits (runtime/caps.c) ------------------------------------------- */
int rt_rlimits_apply(const struct runtime_spec *spec, struct err *err) WUR;

/* ---- sealed self (runtime/sealed.c) ------------------------------------- */
/* 1 if /proc/self/exe is a sealed memfd. */
int rt_self_is_sealed(void);

/* ---- user namespace mounts (runtime/idmap.c, runtime/idmap_overlay.c) ----- */
/* Write spec->uidmap and spec->gidmap as pid's uid_map and gid_map. */
int rt_idmap_write_maps(pid_t pid, const struct runtime_spec *spec, struct err *err) WUR;

/* With spec->userns the child cannot look up host paths below directories
 * only host root may enter (the store is 0700), and files owned by host ids
 * outside its map would show as the overflow id. So the parent, before
 * clone, makes detached mounts (open_tree(2) OPEN_TREE_CLONE) of the rootfs
 * and of every bind source, idmapped (MOUNT_ATTR_IDMAP) when their owner
 * is outside spec->uidmap; the child inherits them and attaches them
 * (rt_detached_attach*). An overlay rootfs is remounted in place on
 * idmapped layers (rt_overlay_idmap): while the container runs, the host
 * sees it with the container's host ids; its upper dir keeps the ids as in
 * the container (root's files are 0:0 on disk), like the image layers.
 * Without userns every fd is -1. */
struct rt_detached {
	int root_fd;   /* the rootfs */
	int etc_fd[3]; /* hostname_path, hosts_path, resolv_path */
	int *bind_fd;  /* per spec->mounts[i] (-1: tmpfs), n_bind of them */
	size_t n_bind;
};
void rt_detached_init(struct rt_detached *d);
int rt_detached_prepare(const struct runtime_spec *spec, struct rt_detached *d,
			struct err *err) WUR;
/* Close the parent's fds (the child keeps its copies); idempotent. */
void rt_detached_release(struct rt_detached *d);
/* In the child: attach the detached mount mnt_fd onto target_fd. */
int rt_detached_attach(int mnt_fd, int target_fd, const char *what, struct err *err) WUR;
/* In the child, its mounts private: attach the rootfs clone on top of "/";
 * returns an O_PATH fd of it, the new root for pivot_root. */
int rt_detached_attach_root(int mnt_fd, struct err *err) WUR;
/* Replace the overlay mounted at rootfs with the same overlay on layers
 * idmapped with userns_fd; 0, or -1 with the old mount back in place. */
int rt_overlay_idmap(const char *rootfs, int userns_fd, const struct runtime_idmap *uid,
		     const struct runtime_idmap *gid, struct err *err) WUR;

/* ---- rootfs (runtime/rootfs.c) -------------------------------------------- */
/* In the child, in its new mount namespace: everything from making / private
 * to pivot_root, masked/read-only paths, and the final read-only remount.
 * det: the parent's detached mounts (all -1 without a user namespace). */
int rt_rootfs_setup(const struct runtime_spec *spec, const struct rt_detached *det,
		    struct err *err) WUR;

/* ---- devices (runtime/devices.c) ------------------------------------------ */
/* In the child before pivot_root: /dev as a tmpfs beneath root_fd with the
 * minimal nodes and links, devpts, /dev/shm and /dev/mqueue. */
int rt_devices_setup(const struct runtime_spec *spec, int root_fd, struct err *err) WUR;

/* ---- exec (runtime/exec.c) ------------------------------------------------ */
/* The process environment: spec->env plus Docker's HOSTNAME, HOME, PATH and
 * (with a tty) TERM when not given. For the child about to exec, whose
 * memory execve(2) replaces: not meant to be freed. NULL with err. */
char **rt_exec_env(const struct runtime_spec *spec, const struct rt_user *u, struct err *err);
/* After execve(2) failed with e: "exec: \"argv0\": ..." in err, coded
 * RUNTIME_ERR_NOT_FOUND (ENOENT, 127) or RUNTIME_ERR_CANNOT_EXEC (126). -1. */
int rt_exec_failed(const char *argv0, int e, struct err *err);
/* Find argv[0] in PATH (from env, default Docker's) inside the new root.
 * ENOENT -> "exec: \"x\": executable file not found in $PATH"; EACCES ->
 * permission denied. Writes the resolved path into out. */
int rt_exec_lookup(const char *argv0, char *const *env, char *out, size_t len, struct err *err) WUR;

#endif
