/* storage/container: container records and their writable layers. */
#ifndef MYDOCKER_STORAGE_CONTAINER_H
#define MYDOCKER_STORAGE_CONTAINER_H

#include <limits.h>
#include <stdbool.h>
#include <jansson.h>

#include "base/err.h"
#include "storage/storage.h"

/* containers/<64-hex id>/ holds config.json (what was asked), state.json
 * (what is), upper/ work/ merged/ (the writable layer and the union
 * mount point) and, for later issues, ctr.log. Names are unique; a
 * generated one is adjective_surname as in Docker. */
struct storage_container {
	char id[65];
	char name[128];
	char image_id[DIGEST_BUF];
	char dir[PATH_MAX];    /* host path of containers/<id> */
	char merged[PATH_MAX]; /* host path of the mount point */
	/* HostConfig.AutoRemove (--rm): the record dies with the container, so
	 * its writes skip fsync and overlay mounts it "volatile" (no sync of
	 * the upper filesystem at unmount, which costs ~100 ms on ext4). */
	bool transient;
};

/* Create the record: a fresh id, the name (NULL = generated; taken name ->
 * error "Conflict. The container name \"/x\" is already in use"), the dirs,
 * and config.json = config (borrowed). Takes the store lock. */
int storage_container_create(struct store *s, const char *name, const char *image_id,
			     json_t *config, struct storage_container *c, struct err *err) WUR;
/* Mount the union of the image's layers (chain ids, base first) and the
 * container's upper layer at merged, with the store's driver. */
int storage_container_mount(struct store *s, const struct storage_container *c,
			    char *const *chain_ids, size_t n, struct err *err) WUR;
int storage_container_umount(struct store *s, const struct storage_container *c,
			     struct err *err) WUR;
/* Unmount if needed and remove the record and its layer. */
int storage_container_delete(struct store *s, const struct storage_container *c,
			     struct err *err) WUR;
/* Write state.json atomically (borrowed object). */
int storage_container_set_state(struct store *s, const struct storage_container *c, json_t *state,
				struct err *err) WUR;
/* Find by full id, unique id prefix or name. */
int storage_container_lookup(struct store *s, const char *arg, struct storage_container *c,
			     struct err *err) WUR;
/* All container ids. */
int storage_container_list(struct store *s, char ***ids, size_t *n, struct err *err) WUR;
/* config.json of a container; caller decrefs. */
json_t *storage_container_config(struct store *s, const struct storage_container *c,
				 struct err *err);
/* true if any container record uses image_id. */
bool storage_image_in_use(struct store *s, const char *image_id);

/* ---- volumes: volumes/<name>/_data ------------------------------------- */
struct storage_volume {
	char name[256];
	char data[PATH_MAX]; /* host path of _data */
	bool created;        /* true if this call created it */
};
/* name NULL = anonymous (64-hex). Names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. Existing
 * volume: returned as is. volumes/ is 0700, _data 0755 (never 0777). */
int storage_volume_create(struct store *s, const char *name, json_t *labels, bool anonymous,
			  struct storage_volume *v, struct err *err) WUR;
int storage_volume_get(struct store *s, const char *name, struct storage_volume *v,
		       struct err *err) WUR;
/* Refuses a volume used by a container unless force. */
int storage_volume_remove(struct store *s, const char *name, bool force, struct err *err) WUR;
int storage_volume_list(struct store *s, char ***names, size_t *n, struct err *err) WUR;
/* volume.json (name, created, anonymous, labels); caller decrefs. */
json_t *storage_volume_info(struct store *s, const char *name, struct err *err);
/* Copy the image's content at ctr_path (in the merged rootfs) into an empty,
 * newly created volume, like Docker does on first use. */
int storage_volume_copy_up(const char *merged, const char *ctr_path, const struct storage_volume *v,
			   struct err *err) WUR;

#endif
