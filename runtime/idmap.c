/* idmap: the rootfs and bind sources of a container with its own user
 * namespace, prepared by the parent as detached mounts (open_tree(2)
 * OPEN_TREE_CLONE) that the child attaches with move_mount(2). Files owned
 * by host ids outside the container's map are shown through an idmapped
 * mount (mount_setattr(2) MOUNT_ATTR_IDMAP): host id k appears as
 * container id k, and what the container creates is stored as k again, so
 * nothing on the host is chowned and the image's layers stay shareable. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/internal.h"
#include "base/banned.h"

static int write_map(pid_t pid, const char *file, const struct runtime_idmap *m, struct err *err)
{
	char path[64], line[96];
	int n = snprintf(line, sizeof(line), "%u %u %u\n", m->container_id, m->host_id, m->size);
	cleanup_close int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	if (write(fd, line, (size_t)n) != n)
		return err_sys(err, errno, "write %s", path);
	return 0;
}

/* Written by us, root in the parent namespace, so no "setgroups deny" is
 * needed first (user_namespaces(7)). */
int rt_idmap_write_maps(pid_t pid, const struct runtime_spec *spec, struct err *err)
{
	if (write_map(pid, "uid_map", &spec->uidmap, err) < 0 ||
	    write_map(pid, "gid_map", &spec->gidmap, err) < 0)
		return -1;
	return 0;
}

/* A user namespace with the container's maps, for MOUNT_ATTR_IDMAP before
 * the container exists: an idmapped mount only uses the namespace's maps,
 * so a short-lived one does. Its process waits on a pipe until the
 * namespace is opened, then exits. */
static int userns_open(const struct runtime_spec *spec, struct err *err)
{
	cleanup_close int rd = -1, wr = -1, ns_fd = -1;
	int p[2], rc;
	char path[64], c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	rd = p[0];
	wr = p[1];
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return err_sys(err, errno, "create a user namespace for idmapped mounts");
	if (pid == 0) {
		close(wr);
		while (read(rd, &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	rc = rt_idmap_write_maps(pid, spec, err);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (rc == 0) {
		ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fd < 0)
			rc = err_sys(err, errno, "open %s", path);
	}
	close(TAKE_FD(wr));
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return rc < 0 ? -1 : TAKE_FD(ns_fd);
}

/* What the parent carries through rt_detached_prepare. */
struct prep {
	const struct runtime_spec *spec;
	int userns_fd; /* opened on first need */
};

/* An owner inside the map is already the container's (a rootfs chowned
 * for it): shown as is. Any other owner would show as the overflow id. */
static bool needs_idmap(const struct runtime_spec *spec, uid_t uid)
{
	const struct runtime_idmap *m = &spec->uidmap;

	return uid < m->host_id || uid - m->host_id >= m->size;
}

static int prep_userns(struct prep *p, struct err *err)
{
	if (p->userns_fd < 0)
		p->userns_fd = userns_open(p->spec, err);
	return p->userns_fd;
}

/* Make the detached tree fd (and every mount below it) idmapped: all or
 * nothing. -1 with errno. */
static int set_idmap(const struct prep *p, int fd)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP,
				   .userns_fd = (uint64_t)p->userns_fd };

	return mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
}

static int clone_tree(const char *path)
{
	return open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
}

/* A bind source (a volume, /etc/hosts...): a recursive clone, idmapped
 * when its owner is outside the map, like the rootfs, so that the
 * container's root can use a root-owned volume as it would without a user
 * namespace (and, as then, writes to it as host root). A tree the kernel
 * cannot idmap (proc, an overlay, FUSE below it) stays as on the host:
 * usable as "other", never an error. */
static int detach_source(struct prep *p, const char *path, struct err *err)
{
	cleanup_close int fd = clone_tree(path);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(err, errno, "bind source %s", path);
	if (!needs_idmap(p->spec, st.st_uid))
		return TAKE_FD(fd);
	if (prep_userns(p, err) < 0)
		return -1;
	(void)set_idmap(p, fd);
	return TAKE_FD(fd);
}

static bool is_overlay(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC;
}

/* The rootfs. An overlay mount cannot itself be idmapped (EINVAL): it is
 * rebuilt on idmapped layers in place (runtime/idmap_overlay.c), and then
 * a plain clone shows the container's ids. It is not cloned before that:
 * a clone would keep the old overlay alive beside the new one. */
static int detach_root(struct prep *p, const char *rootfs, struct err *err)
{
	cleanup_close int fd = -1;
	struct stat st;
	bool idmap;

	if (stat(rootfs, &st) < 0)
		return err_sys(err, errno, "open rootfs %s", rootfs);
	idmap = needs_idmap(p->spec, st.st_uid);
	if (idmap && prep_userns(p, err) < 0)
		return -1;
	if (idmap && is_overlay(rootfs)) {
		if (rt_overlay_idmap(rootfs, p->userns_fd, &p->spec->uidmap, &p->spec->gidmap,
				     err) < 0)
			return -1;
		idmap = false;
	}
	fd = clone_tree(rootfs);
	if (fd < 0)
		return err_sys(err, errno, "open rootfs %s", rootfs);
	if (idmap && set_idmap(p, fd) < 0)
		return err_sys(err, errno, "idmapped mount of rootfs %s", rootfs);
	return TAKE_FD(fd);
}

static int detach_binds(struct prep *p, struct rt_detached *d, struct err *err)
{
	const struct runtime_spec *spec = p->spec;

	if (!spec->n_mounts)
		return 0;
	d->bind_fd = malloc(spec->n_mounts * sizeof(*d->bind_fd));
	if (!d->bind_fd)
		return err_set(err, ENOMEM, "out of memory");
	d->n_bind = spec->n_mounts;
	for (size_t i = 0; i < spec->n_mounts; i++)
		d->bind_fd[i] = -1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct runtime_mount *m = &spec->mounts[i];
		if (m->type != RT_MOUNT_BIND || !m->source)
			continue;
		d->bind_fd[i] = detach_source(p, m->source, err);
		if (d->bind_fd[i] < 0)
			return -1;
	}
	return 0;
}

static int detach_etc(struct prep *p, struct rt_detached *d, struct err *err)
{
	const char *files[3] = { p->spec->hostname_path, p->spec->hosts_path,
				 p->spec->resolv_path };

	for (size_t i = 0; i < 3; i++) {
		if (!files[i])
			continue;
		d->etc_fd[i] = detach_source(p, files[i], err);
		if (d->etc_fd[i] < 0)
			return -1;
	}
	return 0;
}

void rt_detached_init(struct rt_detached *d)
{
	*d = (struct rt_detached){ .root_fd = -1, .etc_fd = { -1, -1, -1 } };
}

int rt_detached_prepare(const struct runtime_spec *spec, struct rt_detached *d, struct err *err)
{
	struct prep p = { .spec = spec, .userns_fd = -1 };
	int rc = 0;

	rt_detached_init(d);
	if (!spec->userns)
		return 0;
	d->root_fd = detach_root(&p, spec->rootfs, err);
	if (d->root_fd < 0 || detach_binds(&p, d, err) < 0 || detach_etc(&p, d, err) < 0)
		rc = -1;
	if (p.userns_fd >= 0)
		close(p.userns_fd);
	if (rc < 0)
		rt_detached_release(d);
	return rc;
}

/* Closing a detached mount that was never attached unmounts it; the child
 * holds its own references from clone(2). */
void rt_detached_release(struct rt_detached *d)
{
	if (d->root_fd >= 0)
		close(d->root_fd);
	for (size_t i = 0; i < 3; i++) {
		if (d->etc_fd[i] >= 0)
			close(d->etc_fd[i]);
	}
	for (size_t i = 0; i < d->n_bind; i++) {
		if (d->bind_fd[i] >= 0)
			close(d->bind_fd[i]);
	}
	free(d->bind_fd);
	rt_detached_init(d);
}

int rt_detached_attach(int mnt_fd, int target_fd, const char *what, struct err *err)
{
	if (move_mount(mnt_fd, "", target_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return err_sys(err, errno, "attach %s", what);
	return 0;
}

/* The child cannot look the rootfs up by its host path: the store's 0700
 * directories belong to an id its namespace does not map. So the clone is
 * stacked on "/" of its (already private) mount namespace, where nothing
 * needs a lookup; path walks still start beneath it, at the host's root,
 * until pivot_root makes the clone the root. */
int rt_detached_attach_root(int mnt_fd, struct err *err)
{
	int fd;

	if (move_mount(mnt_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(err, errno, "attach the rootfs");
	fd = openat(mnt_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open the rootfs");
	return fd;
}
