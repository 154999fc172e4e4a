/* save_internal: the pure parts of image/save.c (names, media types and the
 * JSON documents of docker-archive and OCI archives), kept apart so they can
 * be tested without a store. Not for use outside image/. */
#ifndef MYDOCKER_IMAGE_SAVE_INTERNAL_H
#define MYDOCKER_IMAGE_SAVE_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

#include "base/digest.h"
#include "base/err.h"
#include "image/image.h"

/* image_layer_write_tar without the entries whose relative paths ("etc/hosts")
 * are in skip (NULL-terminated or NULL); a skipped directory is skipped whole. */
int image_layer_write_tar_skip(int src_dirfd, enum whiteout_form wf, const char *compression,
			       const char *const *skip, image_write_fn wr, void *wctx,
			       struct image_tar_result *res, struct err *err) WUR;

#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

/* One blob as a descriptor names it. */
struct save_blob {
	char digest[DIGEST_BUF];
	long long size;
};

/* The OCI layer media type for a compression ("none", "gzip", "zstd"). */
const char *save_layer_media(const char *compression);

/* Split a familiar "repo:tag" name into repo and tag; -1 for a digest
 * reference (it cannot be a RepoTag) or one that does not fit. */
int save_repo_tag(const char *name, char *repo, size_t rlen, char *tag, size_t tlen);

/* An OCI image manifest (schema 2) for a config and its layers. */
json_t *save_oci_manifest(const struct save_blob *config, const struct save_blob *layers, size_t n,
			  const char *layer_media);

/* An index.json descriptor of a manifest; name (familiar) adds the
 * annotations Docker 25 writes: io.containerd.image.name (full reference)
 * and org.opencontainers.image.ref.name (ref_name). */
json_t *save_index_entry(const struct save_blob *manifest, const char *name, const char *ref_name);

/* Replace rootfs.diff_ids of a config (a layer that no longer hashes as
 * its config says); returns 0 or -1 with err. */
int save_config_set_diff_ids(json_t *config, char (*diff_ids)[DIGEST_BUF], size_t n,
			     struct err *err) WUR;

#endif
