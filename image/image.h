/* image: image formats and transport. References, layer unpacking (one
 * pass: decompress, hash, write safely), flat rootfs import, docker-archive
 * and OCI load, image configs. Writes to the store only through storage.h. */
#ifndef MYDOCKER_IMAGE_H
#define MYDOCKER_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "base/digest.h"
#include "base/err.h"
#include "storage/storage.h"

/* ---- references (image/ref.c) ---------------------------------------- */

/* Docker's grammar: [domain[:port]/]path[:tag][@sha256:hex]. domain is
 * "docker.io" when absent; a single-component path on docker.io gets
 * "library/". tag is "latest" when neither tag nor digest is given. */
struct image_ref {
	char domain[256];
	char path[256];
	char tag[129];
	char digest[DIGEST_BUF];
};
int image_ref_parse(const char *s, struct image_ref *ref, struct err *err) WUR;
/* The familiar name Docker prints and the store keys refs by:
 * "busybox:latest", "127.0.0.1:5000/x/y:v1", "repo@sha256:..." */
int image_ref_familiar(const struct image_ref *ref, char *out, size_t len);
/* parse + familiar in one step. */
int image_ref_normalize(const char *s, char *out, size_t len, struct err *err) WUR;

/* ---- one layer (image/unpack.c) -------------------------------------- */

/* Pull-style input, as libarchive's read callback: set *buf, return bytes,
 * 0 at end, -1 on error (with errno). */
typedef ssize_t (*image_read_fn)(void *ctx, const void **buf);

struct image_unpack_result {
	char diff_id[DIGEST_BUF];     /* sha256 of the uncompressed tar */
	char blob_digest[DIGEST_BUF]; /* sha256 of the bytes as read */
	long long blob_size;          /* bytes as read */
	long long size;               /* bytes of file content written */
	long long entries;
	char compression[16]; /* "none", "gzip", "zstd", "xz", "bzip2" */
};

/* Read a (possibly compressed) layer tar once: hash the raw bytes and the
 * decompressed tar as they stream, and write every entry beneath dest_dirfd
 * (an empty directory) without ever leaving it: absolute names and ".."
 * are rejected, parents are resolved with RESOLVE_IN_ROOT, hard links must
 * point inside the layer. OCI whiteouts become `wf`'s form. Ownership,
 * modes (incl. setuid), xattrs, hard links, symlinks, devices, fifos and
 * mtimes are kept. A non-tar, truncated or hostile input fails with one
 * clear message; the caller discards dest. */
int image_layer_unpack(image_read_fn rd, void *ctx, int dest_dirfd, enum whiteout_form wf,
		       struct image_unpack_result *res, struct err *err) WUR;
/* Same, from a file descriptor. */
int image_layer_unpack_fd(int fd, int dest_dirfd, enum whiteout_form wf,
			  struct image_unpack_result *res, struct err *err) WUR;

/* ---- import / load (image/archive.c, image/load.c) -------------------- */

/* Progress lines ("Loaded image: busybox:latest", "Layer sha256:... already
 * exists") go to this callback so cmd/ owns the output. */
typedef void (*image_print_fn)(void *ctx, const char *line);

struct image_import_opts {
	const char *tag; /* normalized ref or NULL */
	const char *
		*changes; /* Dockerfile-like "CMD ..." / "ENV ..." lines, NULL-terminated or NULL */
	const char *message;
	image_print_fn print;
	void *print_ctx;
};
/* A flat rootfs tar (any compression) -> one-layer image. */
int image_import(struct store *s, int fd, const struct image_import_opts *o,
		 char image_id[DIGEST_BUF], struct err *err) WUR;

/* docker-archive or OCI layout (dir or tar). path NULL = stdin. Prints
 * "Loaded image: NAME" / "Loaded image ID: sha256:..." lines. */
int image_load(struct store *s, const char *path, image_print_fn print, void *print_ctx,
	       struct err *err) WUR;

/* ---- configs (image/config.c) ---------------------------------------- */

/* The parsed parts of an image config the runtime needs. Heap strings and
 * NULL-terminated vectors; image_config_release frees them. */
struct image_config {
	char **env, **cmd, **entrypoint;
	char *working_dir, *user;
	char **volumes; /* keys of config.Volumes */
	char **diff_ids;
	size_t n_diff_ids;
	char *os, *architecture;
};
/* Validate and parse: must be an object with rootfs.type "layers" and valid
 * diff_ids. */
int image_config_parse(const char *json, size_t len, struct image_config *c, struct err *err) WUR;
void image_config_release(struct image_config *c);
/* Chain ids for diff_ids (out: n entries of DIGEST_BUF). */
int image_chain_ids(char *const *diff_ids, size_t n, char (*out)[DIGEST_BUF]) WUR;

/* ---- layer -> tar (image/tar_writer.c) --------------------------------- */

/* Push-style output: write all len bytes or return -1 with errno. */
typedef int (*image_write_fn)(void *ctx, const void *buf, size_t len);

struct image_tar_result {
	char diff_id[DIGEST_BUF];     /* sha256 of the uncompressed tar */
	char blob_digest[DIGEST_BUF]; /* sha256 of the bytes written */
	long long blob_size;
	long long size; /* uncompressed tar bytes */
};

/* Write the directory src_dirfd (a layer's diff dir or a container's upper
 * dir) as a reproducible layer tar: entries sorted by name, PAX format,
 * fixed uid/gid/mode/mtime from the files, no atime/ctime, hard links as
 * links. Whiteouts in form wf become OCI ".wh." entries (overlay 0:0 char
 * devices -> ".wh.NAME"; trusted.overlay.opaque=y -> ".wh..wh..opq").
 * compression: "none", "gzip" or "zstd". Hashes while writing. */
int image_layer_write_tar(int src_dirfd, enum whiteout_form wf, const char *compression,
			  image_write_fn wr, void *wctx, struct image_tar_result *res,
			  struct err *err) WUR;

/* ---- a stored layer -> its original tar (image/tar_split_replay.c) ------ */

/* The layer chain_id as a tar, hashed and compressed like
 * image_layer_write_tar. A layer unpacked with a tar-split record (kept
 * beside diff/ when image_layer_unpack ran in a store staging dir) gets its
 * original tar back byte for byte, checked against its diff_id: a
 * mismatch (the stored files were modified) is an error. A layer without
 * one gets the regenerated tar, whose diff_id may differ from the stored
 * one (the caller then rewrites the config). */
int image_layer_write_stored(struct store *s, const char *chain_id, const char *compression,
			     image_write_fn wr, void *wctx, struct image_tar_result *res,
			     struct err *err) WUR;

/* ---- registries (image/registry*.c, image/pull.c, image/push.c) -------- */

/* Per-layer progress of a pull or push, for a terminal display. */
struct image_layer_progress {
	char id[13];          /* first 12 hex of the blob digest */
	const char *status;   /* "Waiting", "Downloading", "Pull complete", "Already exists", ... */
	long long cur, total; /* bytes; total 0 = unknown */
};
/* Called every ~100 ms while transfers run, and once more with done set. */
typedef void (*image_progress_fn)(void *ctx, const struct image_layer_progress *rows, size_t n,
				  bool done);

struct image_registry_opts {
	const char *const *insecure; /* host[:port] allowed over plain HTTP, NULL-terminated */
	const char *auth_file;       /* NULL = $MYDOCKER_CONFIG or ~/.config/mydocker/auth.json */
	const char *platform;        /* "os/arch[/variant]", NULL = linux/<host arch> */
	bool oci;                    /* push: OCI manifest instead of Docker schema 2 */
	image_print_fn print;        /* status lines ("latest: Pulling from ...") */
	void *print_ctx;
	image_progress_fn progress; /* NULL: per-layer result lines go to print */
	void *progress_ctx;
};

/* docker pull: resolve ref (tag or digest) through an index to the
 * platform's manifest, download the missing layers in parallel, each
 * verified against its digest while it is unpacked, and commit config,
 * layers and the ref in one step: a failed or interrupted pull leaves the
 * store as it was. */
int image_pull(struct store *s, const char *ref, const struct image_registry_opts *o,
	       char image_id[DIGEST_BUF], struct err *err) WUR;
/* docker push of the local image named ref: layers (gzip) and config the
 * registry lacks are uploaded, then the manifest under ref's tag. digest:
 * the manifest's digest; size its length. */
int image_push(struct store *s, const char *ref, const struct image_registry_opts *o,
	       char digest[DIGEST_BUF], long long *size, struct err *err) WUR;
/* Check user/pass against the registry at host, then store them (0600). */
int image_registry_login(const char *host, const char *user, const char *pass,
			 const struct image_registry_opts *o, struct err *err) WUR;
/* 1 when credentials for host were removed, 0 when there were none. */
int image_registry_logout(const char *host, const char *auth_file, struct err *err) WUR;

/* ---- commit and save (image/save.c) ------------------------------------ */

struct image_commit_opts {
	const char *parent_id;      /* the container's image */
	const char *created_by;     /* the container's command (history) */
	const char *author;         /* NULL = none */
	const char *message;        /* history comment, NULL = none */
	const char *const *changes; /* like import's, NULL-terminated or NULL */
	const char *tag;            /* normalized ref or NULL */
	const char *const *skip;    /* paths ("etc/hosts") left out, NULL-terminated or NULL */
};
/* A container's upper dir (the store's whiteout form) -> one new layer on
 * the parent image: its tar is streamed into the unpacker (one pass, no tar
 * file), hashed and stored in the driver's form with a tar-split; a chain id
 * already stored (same content, same layer) is not stored twice. The config
 * is the parent's with the diff_id appended, a history entry and the
 * changes applied. */
int image_commit(struct store *s, int upper_dirfd, const struct image_commit_opts *o,
		 char image_id[DIGEST_BUF], struct err *err) WUR;

enum image_archive_format {
	IMAGE_ARCHIVE_DOCKER,
	IMAGE_ARCHIVE_OCI
};

struct image_save_opts {
	enum image_archive_format format;
	const char *compression; /* "gzip" (NULL), "zstd" or "none" */
	image_print_fn warn;     /* warnings for the user, may be NULL */
	void *warn_ctx;
};
/* Write n images as one archive to out_fd: ids[i] with names[i] (a
 * normalized ref, or NULL when saved by id); an id may repeat with other
 * names. docker-archive is what docker 25 writes (manifest.json,
 * repositories, blobs/sha256/, index.json, oci-layout); oci-archive is an
 * OCI image layout. Layers shared by several images are written once. */
int image_save(struct store *s, const char *const *ids, const char *const *names, size_t n,
	       const struct image_save_opts *o, int out_fd, struct err *err) WUR;

#endif
