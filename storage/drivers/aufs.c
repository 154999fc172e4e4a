/* aufs: the union filesystem of older Docker hosts (Ubuntu kernels). It is
 * not in mainline Linux, so this driver follows Docker's aufs driver
 * (daemon/graphdriver/aufs/mount.go) and is used only where aufs exists. */
#include "storage/drivers/driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "storage/drivers/private.h"

#define AUFS_OPTS ",dio,xino=/dev/shm/aufs.xino"

static int aufs_supported(const char *store_root)
{
	(void)store_root;
	return graph_fs_listed("aufs");
}

/* Append ":DIR=ro+wh" to buf at *pos if it fits within cap; false if not. */
static bool add_branch(char *buf, size_t cap, size_t *pos, const char *dir)
{
	int n = snprintf(buf + *pos, cap - *pos, ":%s=ro+wh", dir);

	if (n < 0 || (size_t)n >= cap - *pos) {
		buf[*pos] = '\0';
		return false;
	}
	*pos += (size_t)n;
	return true;
}

static int aufs_append(const char *dir, const char *merged, struct err *err)
{
	cleanup_free char *data = NULL;

	if (asprintf(&data, "append:%s=ro+wh", dir) < 0)
		return err_sys(err, ENOMEM, "aufs mount data");
	if (mount("none", merged, "aufs", MS_REMOUNT, data) < 0)
		return err_sys(err, errno, "aufs: append branch %s on %s", dir, merged);
	return 0;
}

/* Mount data is limited to a page: as many branches as fit (top first),
 * then the rest appended one remount at a time, bottom-most last. */
static int aufs_mount(const struct graph_mount_req *req, struct err *err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), cap = page - sizeof(AUFS_OPTS), pos, i;
	cleanup_free char *data = malloc(page);
	int n;

	if (!data)
		return err_sys(err, ENOMEM, "aufs mount data");
	n = snprintf(data, cap, "br:%s=rw", req->upper);
	if (n < 0 || (size_t)n >= cap)
		/* cppcheck-suppress memleak ; data is cleanup_free */
		return err_set(err, ENAMETOOLONG, "aufs: path too long: %s", req->upper);
	pos = (size_t)n;
	for (i = 0; i < req->n_lowers; i++)
		if (!add_branch(data, cap, &pos, req->lowers[i]))
			break;
	if (i == 0 && req->n_lowers > 0)
		return err_set(err, ENAMETOOLONG, "aufs: path too long: %s", req->lowers[0]);
	memcpy(data + pos, AUFS_OPTS, sizeof(AUFS_OPTS));
	if (mount("none", req->merged, "aufs", 0, data) < 0)
		return err_sys(err, errno, "aufs: mount on %s", req->merged);
	for (; i < req->n_lowers; i++) {
		if (aufs_append(req->lowers[i], req->merged, err) < 0) {
			umount2(req->merged, MNT_DETACH);
			return -1;
		}
	}
	return 0;
}

static int aufs_umount(const char *merged, struct err *err)
{
	return graph_umount_detach(merged, err);
}

const struct graph_driver graph_driver_aufs = {
	.name = "aufs",
	.whiteouts = WHITEOUT_OCI,
	.supported = aufs_supported,
	.mount = aufs_mount,
	.umount = aufs_umount,
};
