/* unpack_stream: a layer blob as the tar reader sees it: read once,
 * decompressed in-process, and hashed as it passes (the blob digest over
 * the bytes as read, the diff_id over the uncompressed tar). */
#include "image/unpack_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"
#include "base/digest.h"
#include "image/tar_split.h"

/* SHA-256 beside the unpacking: a block is hashed on a helper thread while
 * libarchive parses it and we write files from it. Before the next read,
 * which may reuse the block, the stream waits for the hash (hasher_wait).
 * Without a thread it hashes inline. */
struct hasher {
	struct digest_ctx dig;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const void *buf;
	size_t len;
	bool started, busy, quit;
};

/* The caller's bytes, hashed as they pass (blob digest and size). */
struct raw_src {
	image_read_fn rd;
	void *ctx;
	struct hasher h;
	long long size;
	bool eof;
	int err; /* errno of a failed rd() */
};

/* The decompressed stream handed to the tar reader, hashed (diff_id)
 * unless it is the raw stream itself (no compression). */
struct tar_src {
	struct archive *raw;
	struct hasher h;
	bool hash;
	bool failed;
	char msg[256];                 /* the decompressor's error when failed */
	struct image_tar_split *split; /* records the tar for save/push, or NULL */
};

struct image_layer_stream {
	struct raw_src raw;
	struct tar_src tar;
	struct archive *raw_a;   /* decompressor: the blob as one "data" entry */
	struct archive *tar_a;   /* tar reader on the decompressed bytes */
	const char *compression; /* filter_name() of raw_a */
};

/* ---- errors from libarchive ---------------------------------------------- */

static bool contains(const char *s, const char *word)
{
	return s && strcasestr(s, word) != NULL;
}

static int stream_error(struct image_layer_stream *s, struct archive *a, struct err *err)
{
	const char *msg = s->tar.failed ? s->tar.msg : archive_error_string(a);

	if (s->raw.err)
		return err_sys(err, s->raw.err, "read layer");
	if (s->raw.eof && s->raw.size == 0)
		return err_set(err, EINVAL, "invalid layer tar: empty input");
	if (contains(msg, "truncated") || contains(msg, "premature") ||
	    contains(msg, "unexpected end"))
		return err_set(err, EINVAL, "invalid layer tar: truncated archive");
	if (contains(msg, "unrecognized archive format"))
		return err_set(err, EINVAL, "invalid layer tar: not a tar archive");
	return err_set(err, EINVAL, "invalid layer tar: %s", msg ? msg : "read error");
}

/* ---- hashing ---------------------------------------------------------------- */

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->busy && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->busy)
			break;
		pthread_mutex_unlock(&h->mu);
		digest_update(&h->dig, h->buf, h->len);
		pthread_mutex_lock(&h->mu);
		h->busy = false;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int hasher_init(struct hasher *h)
{
	if (digest_init(&h->dig) < 0)
		return -1;
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return 0;
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		pthread_mutex_destroy(&h->mu);
		return 0;
	}
	h->started = pthread_create(&h->thread, NULL, hasher_main, h) == 0;
	if (!h->started) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
	}
	return 0;
}

/* The last block handed over is hashed: its buffer may be reused now. */
static void hasher_wait(struct hasher *h)
{
	if (!h->started)
		return;
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

static void hasher_add(struct hasher *h, const void *buf, size_t len)
{
	if (!h->started) {
		digest_update(&h->dig, buf, len);
		return;
	}
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	h->buf = buf;
	h->len = len;
	h->busy = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void hasher_stop(struct hasher *h)
{
	if (!h->started)
		return;
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	h->quit = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	h->started = false;
}

static void hasher_final(struct hasher *h, char out[DIGEST_BUF])
{
	hasher_stop(h);
	digest_final(&h->dig, out);
}

static void hasher_release(struct hasher *h)
{
	hasher_stop(h);
	digest_release(&h->dig);
}

/* ---- the two streams ------------------------------------------------------- */

static ssize_t raw_read(struct archive *a, void *data, const void **buf)
{
	struct raw_src *src = data;
	ssize_t n;

	if (src->eof)
		return 0;
	hasher_wait(&src->h);
	errno = 0;
	n = src->rd(src->ctx, buf);
	if (n < 0) {
		src->err = errno ? errno : EIO;
		if (a)
			archive_set_error(a, src->err, "read layer: %s", strerror(src->err));
		return -1;
	}
	if (n == 0) {
		src->eof = true;
		return 0;
	}
	hasher_add(&src->h, *buf, (size_t)n);
	src->size += n;
	return n;
}

/* The tar reader's input: blocks of the raw reader's single "data" entry,
 * i.e. the decompressed bytes, without a copy. */
static ssize_t tar_read(struct archive *a, void *data, const void **buf)
{
	struct tar_src *t = data;
	size_t size;
	la_int64_t off;
	int r;

	if (t->hash)
		hasher_wait(&t->h);
	r = archive_read_data_block(t->raw, buf, &size, &off);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN) {
		const char *m = archive_error_string(t->raw);
		t->failed = true;
		snprintf(t->msg, sizeof(t->msg), "%s", m ? m : "decompression failed");
		if (a)
			archive_set_error(a, archive_errno(t->raw), "%s", t->msg);
		return -1;
	}
	if (t->hash)
		hasher_add(&t->h, *buf, size);
	image_tar_split_feed(t->split, *buf, size);
	return (ssize_t)size;
}

static const char *filter_name(struct archive *a)
{
	switch (archive_filter_code(a, 0)) {
	case ARCHIVE_FILTER_GZIP: return "gzip";
	case ARCHIVE_FILTER_ZSTD: return "zstd";
	case ARCHIVE_FILTER_XZ: return "xz";
	case ARCHIVE_FILTER_BZIP2: return "bzip2";
	default: return "none";
	}
}

/* Only the compressions layers use, all in-process: archive_read_support_
 * filter_all() would also run external programs (lrzip, lzop...) on
 * untrusted input. */
static int open_raw(struct image_layer_stream *s, struct err *err)
{
	struct archive_entry *e;

	if (!(s->raw_a = archive_read_new()))
		return err_set(err, ENOMEM, "unpack layer: out of memory");
	s->tar.raw = s->raw_a;
	archive_read_support_filter_gzip(s->raw_a);
	archive_read_support_filter_zstd(s->raw_a);
	archive_read_support_filter_xz(s->raw_a);
	archive_read_support_filter_bzip2(s->raw_a);
	archive_read_support_format_raw(s->raw_a);
	if (archive_read_open(s->raw_a, &s->raw, NULL, raw_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(s->raw_a, &e) != ARCHIVE_OK)
		return stream_error(s, s->raw_a, err);
	s->compression = filter_name(s->raw_a);
	/* Uncompressed, the tar is the blob: one hash gives both digests. */
	s->tar.hash = strcmp(s->compression, "none") != 0;
	if (s->tar.hash && hasher_init(&s->tar.h) < 0)
		return err_set(err, ENOMEM, "unpack layer: cannot init sha256");
	return 0;
}

static int open_tar(struct image_layer_stream *s, struct err *err)
{
	if (!(s->tar_a = archive_read_new()))
		return err_set(err, ENOMEM, "unpack layer: out of memory");
	archive_read_support_format_tar(s->tar_a);
	if (archive_read_open(s->tar_a, &s->tar, NULL, tar_read, NULL) != ARCHIVE_OK)
		return stream_error(s, s->tar_a, err);
	return 0;
}

int image_layer_stream_open(image_read_fn rd, void *ctx, struct image_tar_split *split,
			    struct image_layer_stream **out, struct err *err)
{
	struct image_layer_stream *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return err_set(err, ENOMEM, "unpack layer: out of memory");
	s->raw.rd = rd;
	s->raw.ctx = ctx;
	s->tar.split = split;
	if (hasher_init(&s->raw.h) < 0) {
		free(s);
		return err_set(err, ENOMEM, "unpack layer: cannot init sha256");
	}
	if (open_raw(s, err) < 0 || open_tar(s, err) < 0) {
		image_layer_stream_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

struct archive *image_layer_stream_tar(struct image_layer_stream *s)
{
	return s->tar_a;
}

int image_layer_stream_error(struct image_layer_stream *s, struct err *err)
{
	return stream_error(s, s->tar_a, err);
}

/* Both digests must cover every byte, also what follows the tar's end
 * marker (padding, or a compressor's trailer). */
static int drain(struct image_layer_stream *s, struct err *err)
{
	const void *buf;
	ssize_t n;

	while ((n = tar_read(NULL, &s->tar, &buf)) > 0)
		;
	if (n < 0)
		return stream_error(s, s->tar_a, err);
	while ((n = raw_read(NULL, &s->raw, &buf)) > 0)
		;
	if (n < 0)
		return stream_error(s, s->tar_a, err);
	return 0;
}

int image_layer_stream_finish(struct image_layer_stream *s, struct image_unpack_result *res,
			      struct err *err)
{
	if (drain(s, err) < 0)
		return -1;
	if (s->raw.size == 0)
		return err_set(err, EINVAL, "invalid layer tar: empty input");
	hasher_final(&s->raw.h, res->blob_digest);
	if (s->tar.hash)
		hasher_final(&s->tar.h, res->diff_id);
	else
		memcpy(res->diff_id, res->blob_digest, DIGEST_BUF);
	res->blob_size = s->raw.size;
	snprintf(res->compression, sizeof(res->compression), "%s", s->compression);
	return 0;
}

void image_layer_stream_free(struct image_layer_stream *s)
{
	if (!s)
		return;
	/* The hashers may still read the archives' buffers. */
	hasher_stop(&s->raw.h);
	hasher_stop(&s->tar.h);
	archive_read_free(s->tar_a);
	archive_read_free(s->raw_a);
	hasher_release(&s->raw.h);
	hasher_release(&s->tar.h);
	free(s);
}
