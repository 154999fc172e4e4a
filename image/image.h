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
	const char *tag;      /* normalized ref or NULL */
	const char **changes; /* Dockerfile-like "CMD ..." / "ENV ..." lines, NULL-terminated or NULL */
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

#endif
