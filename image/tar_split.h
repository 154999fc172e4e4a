/* tar_split: keep what it takes to write a layer tar again byte for byte
 * (so its diff_id, and the image ID, survive save/push) without keeping the
 * tar: its raw non-content bytes plus, per regular file, a reference to the
 * unpacked file. Private to image/ and its unit tests. */
#ifndef MYDOCKER_IMAGE_TAR_SPLIT_H
#define MYDOCKER_IMAGE_TAR_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/digest.h"
#include "base/err.h"
#include "image/image.h"

struct archive_entry;

/* Beside a staged layer dir "<name>", its record is "<name>.tar-split.zst";
 * storage_image_commit installs it as layers/<hex>/tar-split.zst. */
#define TAR_SPLIT_SUFFIX STORAGE_TAR_SPLIT_SUFFIX
#define TAR_SPLIT_FILE STORAGE_TAR_SPLIT_FILE

/* The file, after zstd: "MDTSPLIT1\n", then records until 'E':
 *   'R' u32le n, n bytes      raw tar bytes, verbatim
 *   'Z' u64le n               n zero bytes (padding, header gaps, end blocks)
 *   'F' u16le n, n bytes path, u64le size
 *                             a regular file's content: diff/<path>
 *   'E' u64le total, 71 bytes diff_id
 *                             end: the tar's length and sha256 */
#define TAR_SPLIT_MAGIC "MDTSPLIT1\n"

struct image_tar_split;

/* ---- recording, driven by image_layer_unpack (image/tar_split.c) ------- */

/* Start a record for a layer being unpacked into dest_dirfd, but only when
 * dest is a layer dir inside a store staging dir (storage_staging_new);
 * NULL otherwise or on any failure: the layer is then stored without one. */
struct image_tar_split *image_tar_split_begin(int dest_dirfd);
/* Record into dirfd/name (dirfd is taken over); NULL on failure. */
struct image_tar_split *image_tar_split_open(int dirfd, const char *name);
/* Every byte of the uncompressed tar, in order (trailing bytes included). */
void image_tar_split_feed(struct image_tar_split *ts, const void *buf, size_t len);
/* The unpacker wrote entry e at path (clean, relative): cross-checks what
 * the record says against what libarchive saw. */
void image_tar_split_note(struct image_tar_split *ts, struct archive_entry *e, const char *path);
/* Something written earlier was replaced or removed: the files no longer
 * hold every entry's content, so no record is kept. */
void image_tar_split_spoil(struct image_tar_split *ts);
/* Finish (diff_id of the tar) or abandon (diff_id NULL) and free. A record
 * that is spoiled, inconsistent or failed to write is removed. Returns true
 * when a record was kept. All of these accept ts == NULL. */
bool image_tar_split_end(struct image_tar_split *ts, const char *diff_id);

/* ---- replay (image/tar_split_replay.c) --------------------------------- */

/* Write the tar the record in split_fd describes, file content read beneath
 * diff_dirfd, as image_layer_write_tar would (compression, hashes, sizes).
 * Fails if a file changed size or the bytes do not hash to the recorded
 * diff_id. */
int image_tar_split_replay(int split_fd, int diff_dirfd, const char *compression, image_write_fn wr,
			   void *wctx, struct image_tar_result *res, struct err *err) WUR;

#endif
