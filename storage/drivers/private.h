/* drivers/private: helpers shared by the graph drivers and storage/ only:
 * a metadata-preserving tree copy (vfs layers, volume copy-up), unmount. */
#ifndef MYDOCKER_STORAGE_DRIVERS_PRIVATE_H
#define MYDOCKER_STORAGE_DRIVERS_PRIVATE_H

#include <stdbool.h>

#include "base/err.h"

struct tree_copy_opts {
	/* Treat ".wh.NAME" as "remove NAME from dst" and ".wh..wh..opq" as
	 * "clear this dir in dst" instead of copying them (OCI layer form). */
	bool whiteouts;
	/* Also give dst's root dir the owner, mode, xattrs and times of src's. */
	bool root_meta;
};

/* Merge the tree below src_dirfd into dst_dirfd: entries of src replace
 * entries of the same name in dst (directories are merged). Preserves
 * owner, mode (incl. setuid), xattrs, times, symlinks, devices, fifos and
 * hard links within src. Never follows a symlink of either tree. */
int tree_copy(int src_dirfd, int dst_dirfd, const struct tree_copy_opts *opts, struct err *err) WUR;

/* Remove everything inside dirfd (not dirfd itself). */
int tree_clear(int dirfd, struct err *err) WUR;

/* true if the running kernel lists fstype in /proc/filesystems. */
bool graph_fs_listed(const char *fstype);
/* Shared by the drivers: detach merged; "not mounted" is success. */
int graph_umount_detach(const char *merged, struct err *err) WUR;

#endif
