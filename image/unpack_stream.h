/* unpack_stream: the input side of image_layer_unpack (image/unpack_stream.c):
 * a layer blob read once, decompressed, handed to a tar reader, and hashed
 * on the way (blob digest and diff_id). Private to image/. */
#ifndef MYDOCKER_IMAGE_UNPACK_STREAM_H
#define MYDOCKER_IMAGE_UNPACK_STREAM_H

#include "base/err.h"
#include "image/image.h"

struct archive;
struct image_tar_split;

struct image_layer_stream;

/* Start reading rd/ctx: detect the compression (gzip, zstd, xz, bzip2 or
 * none, all in-process) and open the tar reader. Every uncompressed byte
 * also goes to split (may be NULL). */
int image_layer_stream_open(image_read_fn rd, void *ctx, struct image_tar_split *split,
			    struct image_layer_stream **out, struct err *err) WUR;
/* The tar reader: entries and their data come from here. */
struct archive *image_layer_stream_tar(struct image_layer_stream *s);
/* Why the tar reader failed, as one line (read error, empty, truncated, not
 * a tar, bad compressed data). Returns -1. */
int image_layer_stream_error(struct image_layer_stream *s, struct err *err);
/* After the last entry: read and hash what follows the tar's end, then fill
 * res's blob_digest, diff_id, blob_size and compression. */
int image_layer_stream_finish(struct image_layer_stream *s, struct image_unpack_result *res,
			      struct err *err) WUR;
/* Accepts NULL. */
void image_layer_stream_free(struct image_layer_stream *s);

#endif
