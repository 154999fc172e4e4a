/* driver: the graph driver table, choice of a default, shared helpers. */
#include "storage/drivers/driver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "storage/drivers/private.h"

/* Order of preference for a new store, as Docker's priority list. */
static const struct graph_driver *const drivers[] = {
	&graph_driver_overlay,
	&graph_driver_aufs,
	&graph_driver_vfs,
};

const struct graph_driver *graph_driver_by_name(const char *name)
{
	if (!name)
		return NULL;
	/* Docker users know the overlay driver as "overlay2". */
	if (strcmp(name, "overlay2") == 0)
		name = "overlay";
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

const struct graph_driver *graph_driver_pick(const char *store_root)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i]->supported(store_root))
			return drivers[i];
	return &graph_driver_vfs;
}

bool graph_fs_listed(const char *fstype)
{
	cleanup_fclose FILE *f = fopen("/proc/filesystems", "re");
	char line[256];

	if (!f)
		return false;
	/* Lines are "nodev\toverlay" or "\text4". */
	while (fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		tab[strcspn(tab, "\n")] = '\0';
		if (strcmp(tab + 1, fstype) == 0)
			return true;
	}
	return false;
}

int graph_umount_detach(const char *merged, struct err *err)
{
	/* MNT_DETACH: a process still inside (a stuck exec) must not make rm
	 * fail; the mount goes away when its last user does (umount(2)). */
	if (umount2(merged, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT)
		return 0;
	return err_sys(err, errno, "unmount %s", merged);
}
