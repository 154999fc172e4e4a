/* rootfs: the container's mounts, from private propagation to pivot_root and
 * the masked / read-only paths. Runs in the child's new mount namespace.
 * Every target inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT)
 * and mounted through /proc/self/fd/N, so a symlink planted in an image or a
 * volume can never turn a mount onto a host path (CVE-2021-30465). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/internal.h"
#include "base/banned.h"

#define FD_PATH_LEN 32

/* Docker's defaults (moby oci/defaults.go). */
static const char *const default_masked[] = {
	"/proc/asound",
	"/proc/acpi",
	"/proc/interrupts",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
	NULL,
};
static const char *const default_readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static void fd_path(char *buf, int fd)
{
	snprintf(buf, FD_PATH_LEN, "/proc/self/fd/%d", fd);
}

/* Remount path read-only. A bind remount replaces all per-mount flags, and
 * in a user namespace the kernel refuses to clear nosuid/nodev/noexec or
 * change atime flags it locked (mount(2), EPERM): carry them over from
 * statvfs(3). */
static int remount_ro(const char *path, const char *what, struct err *err)
{
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return err_sys(err, errno, "statvfs %s", what);
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	else if (!(sv.f_flag & ST_NOATIME))
		flags |= MS_STRICTATIME;
	if (mount(NULL, path, NULL, flags, NULL) < 0)
		return err_sys(err, errno, "remount %s read-only", what);
	return 0;
}

/* Reopen path beneath root_fd (after a mount on it the old fd still names
 * the covered inode) and remount that mount read-only. */
static int remount_ro_in(int root_fd, const char *path, struct err *err)
{
	cleanup_close int fd = fs_open_in_root(root_fd, path, O_PATH, 0);
	char p[FD_PATH_LEN];

	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	fd_path(p, fd);
	return remount_ro(p, path, err);
}

/* Read-only for a whole bind tree (the host's /sys carries cgroup mounts
 * beneath it): mount_setattr(2) AT_RECURSIVE changes only MOUNT_ATTR_RDONLY
 * and leaves the other flags as they are. */
static int rec_readonly(int root_fd, const char *path, struct err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	cleanup_close int fd = fs_open_in_root(root_fd, path, O_PATH, 0);

	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return err_sys(err, errno, "make %s read-only", path);
	return 0;
}

/* Lexically clean an absolute path ("//a/./b/../c" -> "/a/c"). */
static int clean_path(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (len < 2 || in[0] != '/')
		return -1;
	out[n++] = '/';
	while (*in) {
		size_t l;
		while (*in == '/')
			in++;
		l = strcspn(in, "/");
		if (l == 0 || (l == 1 && in[0] == '.')) {
			in += l;
			continue;
		}
		if (l == 2 && in[0] == '.' && in[1] == '.') {
			while (n > 1 && out[--n - 1] != '/')
				;
			in += l;
			continue;
		}
		if (n + l + 2 > len)
			return -1;
		if (n > 1)
			out[n++] = '/';
		memcpy(out + n, in, l);
		n += l;
		in += l;
	}
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return 0;
}

/* Nothing may be mounted over /proc or beneath it: a volume there could hide
 * the masks or replace /proc/self/attr (CVE-2019-19921 class). */
static int check_destination(const char *dest, struct err *err)
{
	char clean[PATH_MAX];

	if (!dest || clean_path(dest, clean, sizeof(clean)) < 0)
		return err_set(err, EINVAL,
			       "invalid mount destination %s: must be an absolute path",
			       dest ? dest : "(null)");
	if (strcmp(clean, "/proc") == 0 || strncmp(clean, "/proc/", 6) == 0)
		return err_set(err, EINVAL, "invalid mount destination %s: not allowed under /proc",
			       dest);
	return 0;
}

/* The destination of a file bind: resolved in root, created empty if
 * missing (with its parent directories), as Docker does. */
static int open_file_dest(int root_fd, const char *dest)
{
	char parent[PATH_MAX], base[NAME_MAX + 1];
	cleanup_close int dir_fd = -1;
	int fd = fs_open_in_root(root_fd, dest, O_PATH, 0);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (fs_split_path(dest, parent, sizeof(parent), base, sizeof(base)) < 0) {
		errno = EINVAL;
		return -1;
	}
	dir_fd = fs_mkdirs_in_root(root_fd, parent, 0755);
	if (dir_fd < 0)
		return -1;
	fd = openat(dir_fd, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno != EEXIST)
		return -1;
	if (fd >= 0)
		close(fd);
	return fs_open_in_root(root_fd, dest, O_PATH, 0);
}

/* Open the mount target: a directory for directory sources and tmpfs, a
 * file for file sources. Refuse one that resolved into a proc mount (a
 * symlink to /proc planted in the image). */
static int open_dest(int root_fd, const char *dest, bool dir, struct err *err)
{
	int fd = dir ? fs_mkdirs_in_root(root_fd, dest, 0755) : open_file_dest(root_fd, dest);
	struct statfs sf;

	if (fd < 0)
		return err_sys(err, errno, "mount destination %s", dest);
	if (fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC) {
		close(fd);
		return err_set(err, EINVAL, "invalid mount destination %s: resolves under /proc",
			       dest);
	}
	return fd;
}

/* mnt_fd: the parent's detached clone of the source (runtime/idmap.c), or
 * -1 to bind the source by its path. */
static int bind_one(int root_fd, const struct runtime_mount *m, int mnt_fd, struct err *err)
{
	cleanup_close int src_fd = mnt_fd >= 0 ? -1 : open(m->source, O_PATH | O_CLOEXEC);
	cleanup_close int dst_fd = -1;
	char sp[FD_PATH_LEN], dp[FD_PATH_LEN];
	struct stat st;

	if ((mnt_fd < 0 && src_fd < 0) || fstat(mnt_fd >= 0 ? mnt_fd : src_fd, &st) < 0)
		return err_sys(err, errno, "bind source %s", m->source);
	dst_fd = open_dest(root_fd, m->destination, S_ISDIR(st.st_mode), err);
	if (dst_fd < 0)
		return -1;
	if (mnt_fd >= 0) {
		if (rt_detached_attach(mnt_fd, dst_fd, m->destination, err) < 0)
			return -1;
	} else {
		fd_path(sp, src_fd);
		fd_path(dp, dst_fd);
		if (mount(sp, dp, NULL, MS_BIND | MS_REC, NULL) < 0)
			return err_sys(err, errno, "bind %s on %s", m->source, m->destination);
	}
	if (m->readonly)
		return remount_ro_in(root_fd, m->destination, err);
	return 0;
}

static int tmpfs_one(int root_fd, const struct runtime_mount *m, struct err *err)
{
	cleanup_close int dst_fd = open_dest(root_fd, m->destination, true, err);
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (m->readonly ? MS_RDONLY : 0);
	char dp[FD_PATH_LEN];

	if (dst_fd < 0)
		return -1;
	fd_path(dp, dst_fd);
	if (mount("tmpfs", dp, "tmpfs", flags, m->options) < 0)
		return err_sys(err, errno, "mount tmpfs on %s", m->destination);
	return 0;
}

static int mount_volumes(const struct runtime_spec *spec, const struct rt_detached *det,
			 int root_fd, struct err *err)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct runtime_mount *m = &spec->mounts[i];
		int rc;
		if (check_destination(m->destination, err) < 0)
			return -1;
		if (m->type == RT_MOUNT_TMPFS)
			rc = tmpfs_one(root_fd, m, err);
		else if (!m->source)
			rc = err_set(err, EINVAL, "bind mount on %s has no source", m->destination);
		else
			rc = bind_one(root_fd, m, i < det->n_bind ? det->bind_fd[i] : -1, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* /etc/hostname, /etc/hosts, /etc/resolv.conf: the caller's files, bound
 * over the image's (created if missing), as Docker does. */
static int bind_etc_files(const struct runtime_spec *spec, const struct rt_detached *det,
			  int root_fd, struct err *err)
{
	const struct runtime_mount files[] = {
		{ .type = RT_MOUNT_BIND,
		  .source = spec->hostname_path,
		  .destination = (char *)"/etc/hostname" },
		{ .type = RT_MOUNT_BIND,
		  .source = spec->hosts_path,
		  .destination = (char *)"/etc/hosts" },
		{ .type = RT_MOUNT_BIND,
		  .source = spec->resolv_path,
		  .destination = (char *)"/etc/resolv.conf" },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i].source && bind_one(root_fd, &files[i], det->etc_fd[i], err) < 0)
			return -1;
	}
	return 0;
}

/* Open rootfs/name as a real directory: a symlink there (e.g. /proc ->
 * /host/path) would send the mount elsewhere (CVE-2019-16884 class). */
static int open_top_dir(int root_fd, const char *name, struct err *err)
{
	struct stat st;
	int fd;

	if (fstatat(root_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return err_set(err, ELOOP,
				       "rootfs /%s is a symlink: refusing to mount %s on it", name,
				       name);
		if (!S_ISDIR(st.st_mode))
			return err_set(err, ENOTDIR, "rootfs /%s is not a directory", name);
	} else if (errno != ENOENT || mkdirat(root_fd, name, 0555) < 0) {
		return err_sys(err, errno, "create /%s in rootfs", name);
	}
	fd = openat(root_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open /%s in rootfs", name);
	return fd;
}

static int mount_proc(int root_fd, struct err *err)
{
	cleanup_close int fd = open_top_dir(root_fd, "proc", err);
	cleanup_close int check_fd = -1;
	char p[FD_PATH_LEN];
	struct statfs sf;

	if (fd < 0)
		return -1;
	fd_path(p, fd);
	/* proc(5) of our new PID namespace; nosuid,nodev,noexec as Docker. */
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return err_sys(err, errno, "mount proc");
	/* Check that what is now at /proc is the proc we mounted. */
	check_fd = openat(root_fd, "proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (check_fd < 0 || fstatfs(check_fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return err_set(err, EINVAL, "/proc in the rootfs is not procfs after mounting it");
	return 0;
}

/* sysfs read-only. Mounting sysfs needs the network namespace to be ours
 * (sysfs(5)): in a user namespace sharing the host's, bind the host's /sys
 * read-only instead, as runc does. */
static int mount_sys(int root_fd, struct err *err)
{
	const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	cleanup_close int fd = open_top_dir(root_fd, "sys", err);
	char p[FD_PATH_LEN];

	if (fd < 0)
		return -1;
	fd_path(p, fd);
	if (mount("sysfs", p, "sysfs", flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return err_sys(err, errno, "mount sysfs");
	if (mount("/sys", p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(err, errno, "bind /sys");
	return rec_readonly(root_fd, "/sys", err);
}

/* pivot_root(".", ".") stacks the old root on top of the new one (see
 * pivot_root(2), NOTES): no directory is needed in the image to park it,
 * and a lazy unmount of "." then drops the host's tree from our namespace.
 * Everything is MS_PRIVATE already, so the unmount cannot propagate. */
static int pivot(int root_fd, struct err *err)
{
	if (fchdir(root_fd) < 0)
		return err_sys(err, errno, "chdir to rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return err_sys(err, errno, "chdir /");
	return 0;
}

/* /dev/null as we made it, checked to be the null device before anything
 * is hidden under it: a container that swapped it for a symlink or another
 * file would otherwise choose what the masks expose (CVE-2025-31133). */
static int open_null(int root_fd, struct err *err)
{
	int fd = fs_open_in_root(root_fd, "/dev/null", O_PATH | O_NOFOLLOW, 0);
	struct stat st;

	if (fd < 0)
		return err_sys(err, errno, "open /dev/null");
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		return err_set(err, EPERM,
			       "/dev/null is not the null device: refusing to mask paths");
	}
	return fd;
}

/* Masked files get /dev/null bound over them, directories an empty
 * read-only tmpfs; a path the kernel does not have is skipped. */
static int mask_one(int root_fd, int null_fd, const char *path, struct err *err)
{
	cleanup_close int fd = fs_open_in_root(root_fd, path, O_PATH | O_NOFOLLOW, 0);
	char p[FD_PATH_LEN], np[FD_PATH_LEN];
	struct stat st;

	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 :
							       err_sys(err, errno, "mask %s", path);
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "stat %s", path);
	fd_path(p, fd);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
		    0)
			return err_sys(err, errno, "mask %s", path);
		return 0;
	}
	fd_path(np, null_fd);
	if (mount(np, p, NULL, MS_BIND, NULL) < 0)
		return err_sys(err, errno, "mask %s", path);
	return 0;
}

static int readonly_one(int root_fd, const char *path, struct err *err)
{
	cleanup_close int fd = fs_open_in_root(root_fd, path, O_PATH | O_NOFOLLOW, 0);
	char p[FD_PATH_LEN];

	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 :
							       err_sys(err, errno, "open %s", path);
	fd_path(p, fd);
	/* A bind onto itself makes the path its own mount, which can then be
	 * made read-only alone. */
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(err, errno, "bind %s", path);
	return remount_ro_in(root_fd, path, err);
}

static int protect_paths(const struct runtime_spec *spec, struct err *err)
{
	const char *const *masked = spec->masked_paths ? (const char *const *)spec->masked_paths :
							 default_masked;
	const char *const *ro = spec->readonly_paths ? (const char *const *)spec->readonly_paths :
						       default_readonly;
	cleanup_close int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int null_fd = -1;

	if (spec->privileged)
		return 0;
	if (root_fd < 0)
		return err_sys(err, errno, "open /");
	null_fd = open_null(root_fd, err);
	if (null_fd < 0)
		return -1;
	for (size_t i = 0; masked[i]; i++) {
		if (mask_one(root_fd, null_fd, masked[i], err) < 0)
			return -1;
	}
	for (size_t i = 0; ro[i]; i++) {
		if (readonly_one(root_fd, ro[i], err) < 0)
			return -1;
	}
	return 0;
}

/* The new root as a mount point of its own: pivot_root(2) wants new_root to
 * be one. MS_PRIVATE everywhere first: pivot_root refuses shared mounts and
 * nothing we mount may propagate back to the host (mount_namespaces(7)). */
static int prepare_root(const char *rootfs, const struct rt_detached *det, struct err *err)
{
	int fd;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(err, errno, "make mounts private");
	if (det->root_fd >= 0)
		return rt_detached_attach_root(det->root_fd, err);
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(err, errno, "bind rootfs %s", rootfs);
	fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open rootfs %s", rootfs);
	return fd;
}

int rt_rootfs_setup(const struct runtime_spec *spec, const struct rt_detached *det, struct err *err)
{
	cleanup_close int root_fd = -1;

	if (!spec->rootfs || spec->rootfs[0] != '/')
		return err_set(err, EINVAL, "rootfs must be an absolute path");
	root_fd = prepare_root(spec->rootfs, det, err);
	if (root_fd < 0)
		return -1;
	/* Kernel filesystems first, then volumes, so a volume under /dev lands
	 * on our tmpfs, as in runc's mount order. */
	if (mount_proc(root_fd, err) < 0 || mount_sys(root_fd, err) < 0 ||
	    rt_cgroup_mount(spec, root_fd, err) < 0 || rt_devices_setup(spec, root_fd, err) < 0 ||
	    mount_volumes(spec, det, root_fd, err) < 0 ||
	    bind_etc_files(spec, det, root_fd, err) < 0 || pivot(root_fd, err) < 0)
		return -1;
	if (protect_paths(spec, err) < 0)
		return -1;
	if (spec->readonly_rootfs)
		return remount_ro("/", "/", err);
	return 0;
}
