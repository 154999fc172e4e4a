/* Graph drivers: how a container's root is built from read-only layer
 * directories and a private writable layer. One ops table per driver. */
#ifndef MYDOCKER_STORAGE_DRIVER_H
#define MYDOCKER_STORAGE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "storage/storage.h"

struct graph_mount_req {
	const char *const *lowers; /* host paths of layer diff dirs, TOP FIRST */
	size_t n_lowers;
	const char *upper;     /* container's writable dir (exists, empty at first) */
	const char *work;      /* overlay workdir (exists); others ignore */
	const char *merged;    /* mount point (exists) */
	const char *short_dir; /* a dir where the driver may create short symlinks
				  to keep mount data under a page (overlay) */
	bool volatile_upper;   /* the upper dir is disposable: skip syncs (overlay) */
};

struct graph_driver {
	const char *name;
	enum whiteout_form whiteouts;
	/* 1 if this kernel/filesystem can use the driver at store_root. */
	int (*supported)(const char *store_root);
	/* Make merged show lowers + upper. vfs copies the lowers into upper
	 * (applying whiteouts) once and bind-mounts upper on merged. */
	int (*mount)(const struct graph_mount_req *req, struct err *err);
	int (*umount)(const char *merged, struct err *err);
};

extern const struct graph_driver graph_driver_overlay;
extern const struct graph_driver graph_driver_aufs;
extern const struct graph_driver graph_driver_vfs;

/* By name, or NULL. */
const struct graph_driver *graph_driver_by_name(const char *name);
/* overlay, else aufs, else vfs. */
const struct graph_driver *graph_driver_pick(const char *store_root);

#endif
