/* vfs: the driver that needs nothing from the kernel: each container gets a
 * full copy of its image's layers, bind-mounted on merged. */
#include "storage/drivers/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "storage/drivers/private.h"

/* Beside upper, not inside: the container must never see or remove it. */
#define VFS_DONE_SUFFIX ".mydocker-vfs-done"

static int vfs_supported(const char *store_root)
{
	(void)store_root;
	return 1;
}

/* Layers are in OCI form (storage_whiteout_form): apply them base first,
 * each one's whiteouts removing what the layers below put in upper. */
static int vfs_populate(const struct graph_mount_req *req, struct err *err)
{
	struct tree_copy_opts opts = { .whiteouts = true, .root_meta = true };
	cleanup_close int upper_fd = open(req->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (upper_fd < 0)
		return err_sys(err, errno, "open %s", req->upper);
	/* A crash during an earlier copy left a partial tree: start again. */
	if (tree_clear(upper_fd, err) < 0)
		return err_prefix(err, "vfs: clear %s", req->upper);
	for (size_t i = req->n_lowers; i-- > 0;) {
		cleanup_close int lower_fd =
			open(req->lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lower_fd < 0)
			return err_sys(err, errno, "open layer %s", req->lowers[i]);
		if (tree_copy(lower_fd, upper_fd, &opts, err) < 0)
			return err_prefix(err, "vfs: copy layer %s", req->lowers[i]);
	}
	/* The marker must not be on disk before the copy it vouches for. */
	if (syncfs(upper_fd) < 0)
		return err_sys(err, errno, "sync %s", req->upper);
	return 0;
}

static int vfs_mount(const struct graph_mount_req *req, struct err *err)
{
	char done[PATH_MAX];
	int fd;

	if (snprintf(done, sizeof(done), "%s%s", req->upper, VFS_DONE_SUFFIX) >= (int)sizeof(done))
		return err_set(err, ENAMETOOLONG, "path too long: %s", req->upper);
	if (access(done, F_OK) < 0) {
		if (vfs_populate(req, err) < 0)
			return -1;
		fd = open(done, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return err_sys(err, errno, "create %s", done);
		close(fd);
	}
	if (mount(req->upper, req->merged, NULL, MS_BIND, NULL) < 0)
		return err_sys(err, errno, "bind %s on %s", req->upper, req->merged);
	return 0;
}

static int vfs_umount(const char *merged, struct err *err)
{
	return graph_umount_detach(merged, err);
}

const struct graph_driver graph_driver_vfs = {
	.name = "vfs",
	.whiteouts = WHITEOUT_OCI,
	.supported = vfs_supported,
	.mount = vfs_mount,
	.umount = vfs_umount,
};
