/* image_internal: helpers shared inside image/ and by its unit tests; not
 * part of the module's API (that is image/image.h). */
#ifndef MYDOCKER_IMAGE_INTERNAL_H
#define MYDOCKER_IMAGE_INTERNAL_H

#include <archive.h>
#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "storage/storage.h"

/* ---- whiteouts (image/whiteout.c): pure, no I/O ---------------------- */

/* What an entry's base name says about deletions (OCI image spec, "Whiteouts"). */
enum whiteout_kind {
	WHITEOUT_KIND_NONE,   /* an ordinary name */
	WHITEOUT_KIND_OPAQUE, /* ".wh..wh..opq": hide everything below the dir */
	WHITEOUT_KIND_FILE,   /* ".wh.NAME": hide NAME */
	WHITEOUT_KIND_META,   /* other ".wh..wh.*": aufs internals, ignored */
	WHITEOUT_KIND_BAD,    /* ".wh." with NAME "", "." or "..": hostile */
};

/* What the unpacker does with such an entry for a given layer form. */
enum whiteout_action {
	WHITEOUT_ACT_ENTRY,      /* write it as the tar says */
	WHITEOUT_ACT_OPAQUE,     /* trusted.overlay.opaque=y on the parent dir */
	WHITEOUT_ACT_CHARDEV,    /* 0:0 char device NAME, owned 0:0, mode 0 */
	WHITEOUT_ACT_EMPTY_FILE, /* keep the marker as an empty regular file */
	WHITEOUT_ACT_SKIP,
	WHITEOUT_ACT_REJECT,
};

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

/* Classify a base name (no '/'); for WHITEOUT_KIND_FILE, *target (if not
 * NULL) points at NAME inside base. */
enum whiteout_kind image_whiteout_classify(const char *base, const char **target);
enum whiteout_action image_whiteout_action(enum whiteout_kind kind, enum whiteout_form wf);
/* True for xattrs a layer tar must not carry: they are overlayfs' own
 * state (opaque, redirect, metacopy...), and an image that could set them
 * could forge whiteouts or redirect lookups to other layers. */
bool image_xattr_forbidden(const char *name);

/* ---- entry names (image/unpack.c) ------------------------------------ */

/* Turn a tar entry name into a clean relative path ("./a//b/" -> "a/b").
 * Absolute names and ".." components fail with errno EXDEV (they would
 * escape the layer), an empty name with EINVAL, a too long one with
 * ENAMETOOLONG. "." and empty components are dropped, so "./" and "."
 * become "" (the layer root itself). */
int image_entry_name_clean(const char *name, char *out, size_t len);

/* ---- layer tar output (image/outbuf.c) -------------------------------- */

/* Bytes on their way to an image_write_fn, in order: small pieces (tar
 * headers, compressor output) are gathered into one buffer, pieces of half
 * its size or more go straight through after what was gathered. */
#define IMAGE_OUTBUF_SIZE (1 << 20)
struct image_outbuf {
	image_write_fn wr;
	void *wctx;
	unsigned char *buf;
	size_t len;
	int werr; /* errno of the failed wr(), once one failed */
};
/* -1 when out of memory. */
int image_outbuf_init(struct image_outbuf *o, image_write_fn wr, void *wctx) WUR;
/* -1 (o->werr set) when wr() failed. */
int image_outbuf_write(struct image_outbuf *o, const void *buf, size_t len) WUR;
/* Everything gathered goes out. */
int image_outbuf_flush(struct image_outbuf *o) WUR;
void image_outbuf_release(struct image_outbuf *o);

/* "none", "gzip" or "zstd" (NULL or "" = "none") into *name; one clear
 * error otherwise. */
int image_compression_check(const char **name, struct err *err) WUR;
/* A raw-format libarchive writer compressing with name ("gzip"/"zstd") into
 * out(ctx, ...), set up so the blob is reproducible: no gzip time stamp, no
 * block padding. Every layer writer uses it, so equal tars give equal
 * blobs. *z is set even on failure (caller frees it). */
int image_compressor_open(struct archive **z, const char *name, archive_write_callback *out,
			  void *ctx, struct err *err) WUR;
/* An image_write_fn onto a file descriptor: ctx points at the int fd. */
int image_write_fd(void *ctx, const void *buf, size_t len);

#endif
