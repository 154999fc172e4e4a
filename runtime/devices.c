/* devices: the container's /dev: a small tmpfs, never the host's /dev. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/internal.h"
#include "base/banned.h"

struct dev_node {
	const char *name;
	unsigned int major, minor;
};

/* Docker's default device set; everything else stays out of reach. */
static const struct dev_node dev_nodes[] = {
	{ "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const char *const dev_links[][2] = {
	{ "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	{ "core", "/proc/kcore" },       { "ptmx", "pts/ptmx" },
};

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* Mount fstype on dir_fd/name (created 0755 if missing, never through a
 * symlink: the tmpfs is ours, but keep the rule everywhere). */
static int mount_in(int dir_fd, const char *name, const char *fstype, unsigned long flags,
		    const char *data, struct err *err)
{
	cleanup_close int fd = -1;
	char p[32];

	if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir /dev/%s", name);
	fd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open /dev/%s", name);
	fd_path(p, sizeof(p), fd);
	if (mount(fstype, p, fstype, flags, data) < 0)
		return err_sys(err, errno, "mount %s on /dev/%s", fstype, name);
	return 0;
}

/* A user namespace may not mknod(2) (it needs CAP_MKNOD in the initial
 * namespace): bind the host's node over an empty file instead, as runc does. */
static int bind_host_node(int dev_fd, const char *name, struct err *err)
{
	cleanup_close int src_fd = -1, dst_fd = -1;
	char host[64], sp[32], dp[32];

	snprintf(host, sizeof(host), "/dev/%s", name);
	src_fd = open(host, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (src_fd < 0)
		return err_sys(err, errno, "open host %s", host);
	dst_fd = openat(dev_fd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (dst_fd < 0)
		return err_sys(err, errno, "create /dev/%s", name);
	fd_path(sp, sizeof(sp), src_fd);
	fd_path(dp, sizeof(dp), dst_fd);
	if (mount(sp, dp, NULL, MS_BIND, NULL) < 0)
		return err_sys(err, errno, "bind host %s", host);
	return 0;
}

static int make_node(int dev_fd, const struct dev_node *d, struct err *err)
{
	if (mknodat(dev_fd, d->name, S_IFCHR | 0666, makedev(d->major, d->minor)) < 0) {
		if (errno == EPERM)
			return bind_host_node(dev_fd, d->name, err);
		return err_sys(err, errno, "mknod /dev/%s", d->name);
	}
	/* mknod honours the umask; the nodes must be 0666 whatever it is. */
	if (fchmodat(dev_fd, d->name, 0666, 0) < 0)
		return err_sys(err, errno, "chmod /dev/%s", d->name);
	return 0;
}

static int make_nodes_and_links(int dev_fd, struct err *err)
{
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		if (make_node(dev_fd, &dev_nodes[i], err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		if (symlinkat(dev_links[i][1], dev_fd, dev_links[i][0]) < 0)
			return err_sys(err, errno, "symlink /dev/%s", dev_links[i][0]);
	}
	return 0;
}

/* gid=5 (tty) only when it names something: in a user namespace a gid that
 * is not mapped makes the devpts mount fail. */
static bool tty_gid_usable(const struct runtime_spec *spec)
{
	if (!spec->userns)
		return true;
	return spec->gidmap.container_id <= 5 && 5 - spec->gidmap.container_id < spec->gidmap.size;
}

/* devpts with newinstance: the container's ptys are its own, not the
 * host's (mount(8), "devpts"; Documentation/filesystems/devpts.rst). */
static int mount_devpts(const struct runtime_spec *spec, int dev_fd, struct err *err)
{
	const unsigned long flags = MS_NOSUID | MS_NOEXEC;

	if (tty_gid_usable(spec) && mount_in(dev_fd, "pts", "devpts", flags,
					     "newinstance,ptmxmode=0666,mode=0620,gid=5", err) == 0)
		return 0;
	return mount_in(dev_fd, "pts", "devpts", flags, "newinstance,ptmxmode=0666,mode=0620", err);
}

static int open_dev_dir(int root_fd, struct err *err)
{
	struct stat st;
	int fd;

	/* A symlinked /dev in the image would put our tmpfs somewhere else. */
	if (fstatat(root_fd, "dev", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		return err_set(err, EINVAL,
			       "rootfs /dev is not a directory: refusing to mount on it");
	if (mkdirat(root_fd, "dev", 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir /dev");
	fd = openat(root_fd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open /dev");
	return fd;
}

int rt_devices_setup(const struct runtime_spec *spec, int root_fd, struct err *err)
{
	cleanup_close int mnt_fd = open_dev_dir(root_fd, err);
	cleanup_close int dev_fd = -1;
	char p[32];

	if (mnt_fd < 0)
		return -1;
	fd_path(p, sizeof(p), mnt_fd);
	if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
		return err_sys(err, errno, "mount tmpfs on /dev");
	/* mnt_fd still names the directory under the tmpfs: reopen. */
	dev_fd = openat(root_fd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dev_fd < 0)
		return err_sys(err, errno, "open /dev");
	if (make_nodes_and_links(dev_fd, err) < 0 || mount_devpts(spec, dev_fd, err) < 0)
		return -1;
	if (mount_in(dev_fd, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     "mode=1777,size=65536k", err) < 0)
		return -1;
	return mount_in(dev_fd, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
}
