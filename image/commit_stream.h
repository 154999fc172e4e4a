/* commit_stream: a directory -> its layer tar -> the layer unpacked, in one
 * pass (image/commit_stream.c). Private to image/ and its unit tests. */
#ifndef MYDOCKER_IMAGE_COMMIT_STREAM_H
#define MYDOCKER_IMAGE_COMMIT_STREAM_H

#include "base/err.h"
#include "image/image.h"

/* image_layer_write_tar_skip(src_dirfd, wf, "none", skip) fed straight into
 * image_layer_unpack(dest_dirfd, wf), the writer on a second thread: the
 * source is read once and the layer written once, the two overlapping.
 * unpacked is the unpacker's result; tar the writer's sizes with the
 * unpacker's digests: the diff_id is the sha256 of exactly the tar that was
 * unpacked (and that its tar-split records when dest is a staged layer).
 * The bytes are hashed once, by the unpacker. On failure err holds the side
 * that failed first; dest is left half-written for the caller to discard. */
int image_layer_write_unpack(int src_dirfd, enum whiteout_form wf, const char *const *skip,
			     int dest_dirfd, struct image_tar_result *tar,
			     struct image_unpack_result *unpacked, struct err *err) WUR;

/* image_layer_write_tar_skip, uncompressed, for a consumer that hashes the
 * stream itself: res gets the sizes, its digests stay empty. */
int image_layer_write_tar_unhashed(int src_dirfd, enum whiteout_form wf, const char *const *skip,
				   image_write_fn wr, void *wctx, struct image_tar_result *res,
				   struct err *err) WUR;

#endif
