/* mount: /sys/fs/cgroup inside the container. Runs in the child after
 * unshare(CLONE_NEWCGROUP) and before pivot_root, so a fresh cgroup mount
 * is rooted at the container's own cgroup (cgroup_namespaces(7)): the
 * container sees its limits and nothing of the host's tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

#define FD_PATH_LEN 32

static void fd_path(char *buf, int fd)
{
	snprintf(buf, FD_PATH_LEN, "/proc/self/fd/%d", fd);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* One v1 hierarchy at dir_fd/name, mounted by its controllers: the kernel
 * finds the existing hierarchy (cgroups(7), "Mounting v1 controllers"). */
static int mount_v1(int dir_fd, const struct rt_cg_hier *h, unsigned long flags, struct err *err)
{
	const char *name = base_name(h->mount);
	cleanup_close int fd = -1;
	char p[FD_PATH_LEN];

	if (mkdirat(dir_fd, name, 0555) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir /sys/fs/cgroup/%s", name);
	fd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open /sys/fs/cgroup/%s", name);
	fd_path(p, fd);
	if (mount("cgroup", p, "cgroup", flags, h->opts) < 0) {
		/* systemd's named hierarchy only tracks processes. */
		if (!strncmp(h->opts, "name=", 5))
			return 0;
		return err_sys(err, errno, "mount cgroup %s", h->opts);
	}
	return 0;
}

/* "cpu" -> "cpu,cpuacct" for a co-mounted hierarchy, as on the host. */
static void link_comounted(int dir_fd, const struct rt_cg_hier *h)
{
	char c[128], *save = NULL;
	const char *name = base_name(h->mount);

	snprintf(c, sizeof(c), "%s", h->opts);
	for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, name) && !strchr(t, '=') && symlinkat(name, dir_fd, t) < 0 &&
		    errno != EEXIST)
			log_debug("cgroup: link /sys/fs/cgroup/%s: %s", t, strerror(errno));
	}
}

static int mount_v1_all(const struct rt_cg_layout *l, int root_fd, int cg_fd, unsigned long flags,
			struct err *err)
{
	const unsigned long tflags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	cleanup_close int dir_fd = -1;
	char p[FD_PATH_LEN];

	fd_path(p, cg_fd);
	if (mount("tmpfs", p, "tmpfs", tflags, "mode=755") < 0)
		return err_sys(err, errno, "mount tmpfs on /sys/fs/cgroup");
	/* cg_fd still names the covered directory: resolve again for the tmpfs. */
	dir_fd = fs_open_in_root(root_fd, "/sys/fs/cgroup", O_RDONLY | O_DIRECTORY, 0);
	if (dir_fd < 0)
		return err_sys(err, errno, "open /sys/fs/cgroup");
	for (size_t i = 0; i < l->n_v1; i++) {
		if (mount_v1(dir_fd, &l->v1[i], flags, err) < 0)
			return -1;
		link_comounted(dir_fd, &l->v1[i]);
	}
	if (!(flags & MS_RDONLY))
		return 0;
	fd_path(p, dir_fd);
	if (mount(NULL, p, NULL, MS_REMOUNT | MS_RDONLY | tflags, "mode=755") < 0)
		return err_sys(err, errno, "remount /sys/fs/cgroup read-only");
	return 0;
}

int rt_cgroup_mount(const struct runtime_spec *spec, int root_fd, struct err *err)
{
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	cleanup_close int cg_fd = -1;
	struct rt_cg_layout l;
	char p[FD_PATH_LEN];

	if (!spec->privileged)
		flags |= MS_RDONLY;
	if (rt_cg_detect(&l, err) < 0)
		return -1;
	cg_fd = fs_open_in_root(root_fd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY, 0);
	if (cg_fd < 0)
		return err_sys(err, errno, "open /sys/fs/cgroup in the rootfs");
	if (l.mode != RT_CG_V2)
		return mount_v1_all(&l, root_fd, cg_fd, flags, err);
	fd_path(p, cg_fd);
	if (mount("cgroup2", p, "cgroup2", flags, NULL) < 0)
		return err_sys(err, errno, "mount cgroup2 on /sys/fs/cgroup");
	return 0;
}
