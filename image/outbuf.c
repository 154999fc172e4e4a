/* outbuf: the last stage of writing a layer tar (tar_writer.c,
 * tar_split_replay.c): bytes on their way to an image_write_fn, and that
 * function for a plain fd (save, push). */
#include "image/image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive_entry.h>

#include "base/banned.h"

int image_outbuf_init(struct image_outbuf *o, image_write_fn wr, void *wctx)
{
	*o = (struct image_outbuf){ .wr = wr, .wctx = wctx };
	o->buf = malloc(IMAGE_OUTBUF_SIZE);
	return o->buf ? 0 : -1;
}

static int write_out(struct image_outbuf *o, const void *buf, size_t len)
{
	if (o->wr(o->wctx, buf, len) < 0) {
		o->werr = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

int image_outbuf_flush(struct image_outbuf *o)
{
	if (o->len && write_out(o, o->buf, o->len) < 0)
		return -1;
	o->len = 0;
	return 0;
}

int image_outbuf_write(struct image_outbuf *o, const void *buf, size_t len)
{
	bool direct = len >= IMAGE_OUTBUF_SIZE / 2;

	/* Flush first whenever the piece goes out directly: gathered bytes
	 * must never be overtaken. */
	if ((direct || o->len + len > IMAGE_OUTBUF_SIZE) && image_outbuf_flush(o) < 0)
		return -1;
	if (direct)
		return write_out(o, buf, len);
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

int image_write_fd(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void image_outbuf_release(struct image_outbuf *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = 0;
}

int image_compression_check(const char **name, struct err *err)
{
	if (!*name || !**name)
		*name = "none";
	if (strcmp(*name, "none") && strcmp(*name, "gzip") && strcmp(*name, "zstd"))
		return err_set(err, EINVAL, "unknown compression %.32s: use none, gzip or zstd",
			       *name);
	return 0;
}

static int add_filter(struct archive *z, const char *name)
{
	int r;

	if (strcmp(name, "gzip") == 0) {
		r = archive_write_add_filter_gzip(z);
		/* No time stamp in the gzip header: the blob must be reproducible. */
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(z, "gzip", "timestamp", NULL);
		return r;
	}
	r = archive_write_add_filter_zstd(z);
	/* ARCHIVE_WARN: libarchive runs the external zstd program instead. */
	return r == ARCHIVE_WARN ? ARCHIVE_OK : r;
}

int image_compressor_open(struct archive **z, const char *name, archive_write_callback *out,
			  void *ctx, struct err *err)
{
	struct archive_entry *e;
	int r;

	if (!(*z = archive_write_new()))
		return err_sys(err, ENOMEM, "write layer tar");
	/* Unblocked: no zero padding after the compressed stream. */
	if (archive_write_set_format_raw(*z) != ARCHIVE_OK || add_filter(*z, name) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(*z, 0) != ARCHIVE_OK ||
	    archive_write_open(*z, ctx, NULL, out, NULL) != ARCHIVE_OK)
		return err_set(err, EIO, "write layer tar: %s compression: %s", name,
			       archive_error_string(*z) ?: "unavailable");
	if (!(e = archive_entry_new()))
		return err_sys(err, ENOMEM, "write layer tar");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "layer.tar");
	r = archive_write_header(*z, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return err_set(err, EIO, "write layer tar: %s", archive_error_string(*z));
	return 0;
}
