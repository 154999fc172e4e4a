/* storage: the on-disk store (see docs/store.md): blobs by digest, unpacked
 * layers by chain ID, image records and refs, container records, volumes,
 * staging, locking, and the graph drivers that union-mount layers. */
#ifndef MYDOCKER_STORAGE_H
#define MYDOCKER_STORAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "base/digest.h"
#include "base/err.h"

/* How a layer directory records deletions. overlay: 0:0 char devices and
 * trusted.overlay.opaque=y; OCI: ".wh.NAME" files and ".wh..wh..opq"
 * (aufs reads these natively; vfs applies them when it copies). */
enum whiteout_form {
	WHITEOUT_OVERLAY,
	WHITEOUT_OCI
};

struct graph_driver; /* storage/drivers/driver.h */

struct store {
	char root[PATH_MAX];
	int root_fd;
	int lock_fd; /* the store lock file, flock()ed while lock_depth > 0 */
	int lock_depth;
	const struct graph_driver *driver;
};

/* Open (and create) the store at root with the named driver (NULL = pick:
 * overlay, else aufs, else vfs; a store remembers its driver). Cleans
 * staging left by dead processes and rolls back their half-done commits. */
int storage_open(struct store *s, const char *root, const char *driver, struct err *err) WUR;
void storage_close(struct store *s);
const char *storage_driver_name(const struct store *s);
enum whiteout_form storage_whiteout_form(const struct store *s);

/* The store lock (flock on root/lock), reentrant within a process. Held for
 * short metadata changes, never while unpacking. */
int storage_lock(struct store *s, struct err *err) WUR;
void storage_unlock(struct store *s);

/* A private staging dir under tmp/, flock()ed for its owner's lifetime so
 * cleanup at the next command can tell a dead owner from a live one. */
struct storage_staging {
	char name[64];
	char path[PATH_MAX];
	int dirfd;
	int lock_fd;
};
int storage_staging_new(struct store *s, struct storage_staging *st, struct err *err) WUR;
void storage_staging_discard(struct store *s, struct storage_staging *st);

/* starttime of pid (field 22 of /proc/PID/stat, proc(5)), to tell a live
 * process from a later one that reused its pid; 0 if it is gone or a zombie. */
unsigned long long storage_proc_start(pid_t pid);

/* Blobs: immutable bytes by digest (configs, manifests). */
int storage_blob_put(struct store *s, const void *data, size_t len, char digest[DIGEST_BUF],
		     struct err *err) WUR;
int storage_blob_get(struct store *s, const char *digest, char **data, size_t *len,
		     struct err *err) WUR;
bool storage_blob_has(struct store *s, const char *digest);

/* Layers: layers/<chain hex>/{diff/,layer.json}. */
struct storage_layer {
	char chain_id[DIGEST_BUF];
	char diff_id[DIGEST_BUF];
	char parent[DIGEST_BUF];      /* "" for a base layer */
	char blob_digest[DIGEST_BUF]; /* the blob it came from, "" if none */
	char blob_media_type[128];
	long long size;      /* unpacked bytes */
	long long blob_size; /* compressed bytes, 0 if unknown */
};
bool storage_layer_exists(struct store *s, const char *chain_id);
int storage_layer_get(struct store *s, const char *chain_id, struct storage_layer *out,
		      struct err *err) WUR;
/* Host path of a layer's diff dir. */
int storage_layer_diff_path(struct store *s, const char *chain_id, char *buf, size_t len);

/* A staged layer "<name>" may have the tar-split record of the tar it came
 * from beside it, "<name>" STORAGE_TAR_SPLIT_SUFFIX; it is installed with
 * the layer as layers/<hex>/STORAGE_TAR_SPLIT_FILE (image/tar_split.h). */
#define STORAGE_TAR_SPLIT_SUFFIX ".tar-split.zst"
#define STORAGE_TAR_SPLIT_FILE "tar-split.zst"

/* Commit staged layers and an image atomically w.r.t. crashes: each
 * staged[i] is the name of a directory directly inside st that holds the
 * unpacked layer content itself (it becomes layers/<chain>/diff). Under the
 * store lock: records the plan in st (txn.json), renames the layers that do
 * not exist yet into layers/, stores the config blob, writes the image
 * record and the refs, then drops the plan. *exists tells whether the image
 * was already stored (then only the tags change). Layers already present
 * are not installed twice. A crash half-way is undone by storage_open's
 * cleanup. */
struct storage_commit {
	const struct storage_layer *layers; /* n entries, base first */
	const char *const *staged;          /* n subdir names in st, NULL entry = already present */
	size_t n;
	const char *config; /* image config JSON bytes */
	size_t config_len;
	const char *manifest; /* optional manifest JSON, NULL if none */
	size_t manifest_len;
	const char *const *tags; /* normalized "repo:tag", NULL-terminated or NULL */
};
int storage_image_commit(struct store *s, struct storage_staging *st,
			 const struct storage_commit *c, char image_id[DIGEST_BUF], bool *exists,
			 struct err *err) WUR;

/* Images: images/<hex>.json = {"config": digest, "manifest": digest|null,
 * "layers": [chain ids], "created": unix time of arrival}. */
bool storage_image_exists(struct store *s, const char *image_id);
/* All image ids (heap array of heap strings). */
int storage_image_list(struct store *s, char ***ids, size_t *n, struct err *err) WUR;
/* The stored record; caller json_decref()s. */
json_t *storage_image_record(struct store *s, const char *image_id, struct err *err);
/* Remove the record, its refs and the layers/blobs nothing else uses. Caller
 * has checked containers. Takes the lock. */
int storage_image_delete(struct store *s, const char *image_id, struct err *err) WUR;

/* Refs: images/refs.json {"busybox:latest": "sha256:..."}. Names are
 * normalized "repo:tag" (see image_ref_normalize). */
json_t *storage_refs_load(struct store *s, struct err *err); /* object, caller decrefs */
int storage_ref_set(struct store *s, const char *name, const char *image_id, struct err *err) WUR;
int storage_ref_delete(struct store *s, const char *name, struct err *err) WUR;
/* The image id a ref name points at, or "" if none. */
int storage_ref_lookup(struct store *s, const char *name, char id[DIGEST_BUF]);
/* Resolve a user's image argument: an exact ref key (cmd/ normalizes names
 * with image_ref_normalize first), a full id, "sha256:" + id, or a unique id
 * prefix. 0 and id set, or -1 with err ("No such image: X"). */
int storage_image_resolve(struct store *s, const char *arg, char id[DIGEST_BUF],
			  struct err *err) WUR;

/* Free an array from storage_*_list. */
void storage_strv_free(char **v, size_t n);

#endif
