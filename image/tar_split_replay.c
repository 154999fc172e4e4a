/* tar_split_replay: a stored layer back to its original tar bytes, from its
 * tar-split record and its unpacked files, verified against its diff_id;
 * layers without a record get image_layer_write_tar's regenerated tar. */
#include "image/tar_split.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "image/image_internal.h"

#define IO_BUF (1 << 20)

/* ---- output: hash, compress, write ---------------------------------------- */

struct sink {
	struct digest_ctx diff, blob;
	bool diff_open, blob_open;
	struct archive *z; /* compressor, NULL for "none" */
	struct image_outbuf out;
	long long size, blob_size;
};

static int emit(struct sink *s, const void *buf, size_t len)
{
	if (s->z)
		digest_update(&s->blob, buf, len);
	s->blob_size += (long long)len;
	return image_outbuf_write(&s->out, buf, len);
}

static la_ssize_t z_out(struct archive *a, void *ctx, const void *buf, size_t len)
{
	(void)a;
	return emit(ctx, buf, len) < 0 ? -1 : (la_ssize_t)len;
}

static int sink_put(struct sink *s, const void *buf, size_t len, struct err *err)
{
	digest_update(&s->diff, buf, len);
	s->size += (long long)len;
	if (!s->z ? emit(s, buf, len) == 0 : archive_write_data(s->z, buf, len) == (la_ssize_t)len)
		return 0;
	if (s->out.werr)
		return err_sys(err, s->out.werr, "write layer tar");
	return err_set(err, EIO, "write layer tar: %s", archive_error_string(s->z) ?: "error");
}

static int sink_open(struct sink *s, const char *compression, image_write_fn wr, void *wctx,
		     struct err *err)
{
	if (image_compression_check(&compression, err) < 0)
		return -1;
	if (image_outbuf_init(&s->out, wr, wctx) < 0 || digest_init(&s->diff) < 0)
		return err_sys(err, ENOMEM, "write layer tar");
	s->diff_open = true;
	if (strcmp(compression, "none") == 0)
		return 0;
	if (digest_init(&s->blob) < 0)
		return err_sys(err, ENOMEM, "write layer tar: hash");
	s->blob_open = true;
	return image_compressor_open(&s->z, compression, z_out, s, err);
}

static int sink_finish(struct sink *s, struct image_tar_result *res, struct err *err)
{
	if (s->z && archive_write_close(s->z) != ARCHIVE_OK)
		return s->out.werr ? err_sys(err, s->out.werr, "write layer tar") :
				     err_set(err, EIO, "write layer tar: finish compression: %s",
					     archive_error_string(s->z) ?: "error");
	if (image_outbuf_flush(&s->out) < 0)
		return err_sys(err, s->out.werr, "write layer tar");
	digest_final(&s->diff, res->diff_id);
	s->diff_open = false;
	if (s->blob_open) {
		digest_final(&s->blob, res->blob_digest);
		s->blob_open = false;
	} else {
		memcpy(res->blob_digest, res->diff_id, DIGEST_BUF);
	}
	res->size = s->size;
	res->blob_size = s->blob_size;
	return 0;
}

static void sink_release(struct sink *s)
{
	if (s->z)
		archive_write_free(s->z);
	if (s->diff_open)
		digest_release(&s->diff);
	if (s->blob_open)
		digest_release(&s->blob);
	image_outbuf_release(&s->out);
}

/* ---- input: the zstd-compressed record ----------------------------------------- */

struct reader {
	struct archive *a;
	unsigned char *buf;
	size_t pos, len;
};

static int reader_open(struct reader *r, int fd, struct err *err)
{
	struct archive_entry *e;

	if (!(r->buf = malloc(IO_BUF)) || !(r->a = archive_read_new()))
		return err_sys(err, ENOMEM, "read tar-split");
	archive_read_support_filter_zstd(r->a);
	archive_read_support_format_raw(r->a);
	if (archive_read_open_fd(r->a, fd, 64 * 1024) != ARCHIVE_OK ||
	    archive_read_next_header(r->a, &e) != ARCHIVE_OK)
		return err_set(err, EIO, "read tar-split: %s",
			       archive_error_string(r->a) ?: "error");
	return 0;
}

/* Up to max bytes in place; 0 at the end. */
static ssize_t reader_some(struct reader *r, const unsigned char **p, size_t max)
{
	size_t k;

	if (r->pos == r->len) {
		la_ssize_t n = archive_read_data(r->a, r->buf, IO_BUF);
		if (n < 0)
			return -1;
		r->pos = 0;
		r->len = (size_t)n;
		if (n == 0)
			return 0;
	}
	k = r->len - r->pos < max ? r->len - r->pos : max;
	*p = r->buf + r->pos;
	r->pos += k;
	return (ssize_t)k;
}

static int reader_exact(struct reader *r, void *dst, size_t len, struct err *err)
{
	unsigned char *d = dst;
	const unsigned char *p;

	while (len > 0) {
		ssize_t n = reader_some(r, &p, len);
		if (n <= 0)
			return err_set(err, EIO, "read tar-split: %s",
				       n < 0 ? archive_error_string(r->a) ?: "error" : "truncated");
		memcpy(d, p, (size_t)n);
		d += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- replay -------------------------------------------------------------------- */

struct replay {
	struct reader rd;
	struct sink out;
	int diff_fd;
	char *io;
	char path[PATH_MAX];
};

static int replay_raw(struct replay *rp, struct err *err)
{
	unsigned char n4[4];
	const unsigned char *p;
	uint64_t left;

	if (reader_exact(&rp->rd, n4, 4, err) < 0)
		return -1;
	left = get_le(n4, 4);
	while (left > 0) {
		ssize_t n = reader_some(&rp->rd, &p, left < IO_BUF ? (size_t)left : IO_BUF);
		if (n <= 0)
			return err_set(err, EIO, "read tar-split: truncated");
		if (sink_put(&rp->out, p, (size_t)n, err) < 0)
			return -1;
		left -= (uint64_t)n;
	}
	return 0;
}

static int replay_zeros(struct replay *rp, struct err *err)
{
	static const unsigned char zero[64 * 1024];
	unsigned char n8[8];
	uint64_t left;

	if (reader_exact(&rp->rd, n8, 8, err) < 0)
		return -1;
	for (left = get_le(n8, 8); left > 0;) {
		size_t k = left < sizeof(zero) ? (size_t)left : sizeof(zero);
		if (sink_put(&rp->out, zero, k, err) < 0)
			return -1;
		left -= k;
	}
	return 0;
}

/* RESOLVE_BENEATH + NO_SYMLINKS: a stored layer's symlinks are the image's,
 * never followed on the host (as when it was unpacked). */
static int open_beneath(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

static int copy_file(struct replay *rp, long long size, struct err *err)
{
	cleanup_close int fd = open_beneath(rp->diff_fd, rp->path);
	struct stat st;

	if (fd < 0)
		return err_sys(err, errno, "layer file %s", rp->path);
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "layer file %s", rp->path);
	if (!S_ISREG(st.st_mode) || st.st_size != size)
		return err_set(err, EIO, "layer file %s changed since the layer was stored",
			       rp->path);
	while (size > 0) {
		ssize_t n = read(fd, rp->io, size < IO_BUF ? (size_t)size : IO_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? err_sys(err, errno, "read layer file %s", rp->path) :
				       err_set(err, EIO,
					       "layer file %s changed since the layer was stored",
					       rp->path);
		if (sink_put(&rp->out, rp->io, (size_t)n, err) < 0)
			return -1;
		size -= n;
	}
	return 0;
}

static int replay_file(struct replay *rp, struct err *err)
{
	unsigned char n2[2], s8[8];
	size_t n;

	if (reader_exact(&rp->rd, n2, 2, err) < 0)
		return -1;
	n = (size_t)get_le(n2, 2);
	if (n == 0 || n >= sizeof(rp->path))
		return err_set(err, EIO, "read tar-split: corrupt file record");
	if (reader_exact(&rp->rd, rp->path, n, err) < 0 || reader_exact(&rp->rd, s8, 8, err) < 0)
		return -1;
	rp->path[n] = '\0';
	if (strlen(rp->path) != n || get_le(s8, 8) > (uint64_t)INT64_MAX)
		return err_set(err, EIO, "read tar-split: corrupt file record");
	return copy_file(rp, (long long)get_le(s8, 8), err);
}

/* The end record: the tar written must be the one recorded. */
static int replay_end(struct replay *rp, struct image_tar_result *res, struct err *err)
{
	unsigned char end[8 + DIGEST_LEN];
	char want[DIGEST_BUF];

	if (reader_exact(&rp->rd, end, sizeof(end), err) < 0)
		return -1;
	memcpy(want, end + 8, DIGEST_LEN);
	want[DIGEST_LEN] = '\0';
	if (sink_finish(&rp->out, res, err) < 0)
		return -1;
	if ((uint64_t)res->size != get_le(end, 8) || strcmp(res->diff_id, want) != 0)
		return err_set(err, EIO, "layer files no longer reproduce its tar (%s, not %s)",
			       res->diff_id, want);
	return 0;
}

static int replay_run(struct replay *rp, struct image_tar_result *res, struct err *err)
{
	char magic[sizeof(TAR_SPLIT_MAGIC) - 1];

	if (reader_exact(&rp->rd, magic, sizeof(magic), err) < 0)
		return -1;
	if (memcmp(magic, TAR_SPLIT_MAGIC, sizeof(magic)) != 0)
		return err_set(err, EIO, "read tar-split: not a tar-split record");
	for (;;) {
		unsigned char t;
		int rc;
		if (reader_exact(&rp->rd, &t, 1, err) < 0)
			return -1;
		if (t == 'E')
			return replay_end(rp, res, err);
		rc = t == 'R' ? replay_raw(rp, err) :
		     t == 'Z' ? replay_zeros(rp, err) :
		     t == 'F' ? replay_file(rp, err) :
				err_set(err, EIO, "read tar-split: corrupt record");
		if (rc < 0)
			return -1;
	}
}

int image_tar_split_replay(int split_fd, int diff_dirfd, const char *compression, image_write_fn wr,
			   void *wctx, struct image_tar_result *res, struct err *err)
{
	struct replay rp = { .diff_fd = diff_dirfd };
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (sink_open(&rp.out, compression, wr, wctx, err) == 0 &&
	    reader_open(&rp.rd, split_fd, err) == 0) {
		if (!(rp.io = malloc(IO_BUF)))
			err_sys(err, ENOMEM, "write layer tar");
		else
			rc = replay_run(&rp, res, err);
	}
	sink_release(&rp.out);
	if (rp.rd.a)
		archive_read_free(rp.rd.a);
	free(rp.rd.buf);
	free(rp.io);
	return rc;
}

/* ---- the public entry point ---------------------------------------------------- */

int image_layer_write_stored(struct store *s, const char *chain_id, const char *compression,
			     image_write_fn wr, void *wctx, struct image_tar_result *res,
			     struct err *err)
{
	char diff[PATH_MAX], split[PATH_MAX];
	cleanup_close int dfd = -1, sfd = -1;
	struct storage_layer l;
	char *slash;

	if (storage_layer_get(s, chain_id, &l, err) < 0)
		return -1;
	if (storage_layer_diff_path(s, chain_id, diff, sizeof(diff)) < 0)
		return err_set(err, ENAMETOOLONG, "layer %.19s: path too long", chain_id);
	if ((dfd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(err, errno, "open layer %.19s", chain_id);
	/* The record lives beside diff/ (see TAR_SPLIT_FILE). */
	slash = strrchr(diff, '/');
	snprintf(split, sizeof(split), "%.*s/" TAR_SPLIT_FILE, (int)(slash - diff), diff);
	sfd = open(split, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (sfd < 0 && errno != ENOENT)
		return err_sys(err, errno, "open %s", split);
	if (sfd < 0)
		return image_layer_write_tar(dfd, storage_whiteout_form(s), compression, wr, wctx,
					     res, err);
	if (image_tar_split_replay(sfd, dfd, compression, wr, wctx, res, err) < 0)
		return err_prefix(err, "layer %.19s", chain_id);
	if (strcmp(res->diff_id, l.diff_id) != 0)
		return err_set(err, EIO,
			       "layer %.19s: its tar hashes to %.19s, not to its diff_id "
			       "%.19s: the stored layer was modified",
			       chain_id, res->diff_id, l.diff_id);
	return 0;
}
