/* outbuf: the last stage of writing a layer tar (tar_writer.c,
 * tar_split_replay.c): bytes on their way to an image_write_fn, and that
 * function for a plain fd (save, push). */
#include "image/image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
