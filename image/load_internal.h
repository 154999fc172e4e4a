/* load_internal: image/'s private parsers for docker-archive and OCI index
 * files, and the config helpers import and load share. Pure functions over
 * bytes, testable without a store. Not for use outside image/. */
#ifndef MYDOCKER_IMAGE_LOAD_INTERNAL_H
#define MYDOCKER_IMAGE_LOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "base/digest.h"
#include "base/err.h"

/* Largest JSON document (manifest.json, index.json, config, manifest) we
 * hold in memory; a hostile archive must not make us allocate more. */
#define LOAD_JSON_MAX (4u << 20)
/* All JSON held from one tar together: many configs, still bounded. */
#define LOAD_HELD_MAX (64u << 20)

#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"

/* One image described by a docker-archive manifest.json entry or an OCI
 * manifest. Paths are relative to the archive root and already validated;
 * expected digests are "" when the format does not say. */
struct load_image {
	char *config_path;
	char config_digest[DIGEST_BUF];
	size_t n_layers;
	char **layer_paths;
	char (*layer_digests)[DIGEST_BUF];
	char **layer_media; /* media type per layer */
	char **tags;        /* as written in the archive, NULL-terminated */
	size_t n_tags;
	char *manifest; /* the OCI manifest bytes, NULL for docker-archive */
	size_t manifest_len;
};
void load_image_release(struct load_image *im);
void load_images_free(struct load_image *v, size_t n);

/* An index.json entry. ref_name is the org.opencontainers.image.ref.name
 * annotation or NULL. */
struct load_desc {
	char digest[DIGEST_BUF];
	char media_type[128];
	char os[32], arch[32];
	char *ref_name;
};
void load_descs_free(struct load_desc *v, size_t n);

/* 1 if p is a plain relative path: not empty, not absolute, no "." or ".."
 * component, no empty component (CVE-2014-9358: names from manifest.json
 * must never lead out of the archive). */
int load_path_valid(const char *p);
/* "blobs/sha256/<hex>" for a valid digest, else -1 with err. */
int load_blob_path(const char *digest, char *buf, size_t len, struct err *err) WUR;
/* The digest a path name implies: "blobs/sha256/<hex>" or "<hex>.json"
 * (docker-archive configs). 0 and out set, or -1 when the name says none. */
int load_path_digest(const char *path, char out[DIGEST_BUF]);

/* manifest.json of docker save (both the pre-25 layout and the 25+ one
 * whose paths are blobs/sha256/<hex>). */
int load_docker_manifest_parse(const char *json, size_t len, struct load_image **out, size_t *n,
			       struct err *err) WUR;
/* index.json (or a nested index blob): its manifests[]. */
int load_oci_index_parse(const char *json, size_t len, struct load_desc **out, size_t *n,
			 struct err *err) WUR;
/* The entry of a nested index to load: linux/amd64 (the host's arch), else
 * the only one; -1 when neither. */
int load_oci_index_pick(const struct load_desc *v, size_t n, const char *arch);
/* An OCI (or Docker schema2) image manifest into im (paths = blob paths). */
int load_oci_manifest_parse(const char *json, size_t len, struct load_image *im,
			    struct err *err) WUR;
/* 1 if an index entry's media type is an index (OCI or Docker list). */
int load_media_is_index(const char *media_type);
/* 1 if a layer media type is a tar layer we can unpack. */
int load_media_is_layer(const char *media_type);

/* ---- archive sources (archive.c) ------------------------------------ */

struct archive;
struct archive_entry;

/* One entry of the outer tar. */
struct load_entry {
	char *name; /* cleaned archive path */
	char *link; /* symlink/hard link target as an archive path, or NULL */
	char *data; /* small JSON held from pass 1, or NULL */
	size_t len;
};

/* Where the archive's files come from: a tar (file_fd) or a dir (dir_fd). */
struct load_source {
	int file_fd, dir_fd;
	off_t start;
	struct load_entry *ents;
	size_t n_ents;
	size_t held; /* bytes of JSON held, at most LOAD_HELD_MAX */
};

/* Open the tar (any compression) at src->start for one pass. */
struct archive *load_source_tar_open(struct load_source *src, struct err *err);
/* 1 = an entry, 0 = end, -1 = a broken archive (err set). */
int load_source_next(struct archive *a, struct archive_entry **e, struct err *err) WUR;
/* Pass 1 over a tar: the entry table and the small JSON files. */
int load_source_scan(struct load_source *src, struct err *err) WUR;
/* The regular-file entry a path names, links followed (within the archive). */
const struct load_entry *load_source_find(const struct load_source *src, const char *path);
/* A copy of a small file (at most LOAD_JSON_MAX); path already validated. */
int load_source_read(const struct load_source *src, const char *path, char **out, size_t *len,
		     struct err *err) WUR;
bool load_source_has(const struct load_source *src, const char *path);
/* Close the fds and free the table. */
void load_source_release(struct load_source *src);

/* ---- configs (config.c) --------------------------------------------- */

/* GOARCH name of the running machine ("amd64", "arm64", ...). */
const char *image_host_arch(void);
/* Apply one Dockerfile-like --change line (CMD, ENTRYPOINT, ENV, WORKDIR,
 * USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL) to a config's "config" object.
 * Anything else: "invalid --change: ...". */
int image_config_change(json_t *config, const char *line, struct err *err) WUR;
/* A new one-layer image config for import (see image_import). Returns a new
 * reference or NULL with err. */
json_t *image_config_new_import(const char *diff_id, const char *const *changes,
				const char *message, struct err *err);

#endif
