/* tar_writer: a layer or container directory -> a reproducible layer tar
 * (the inverse of unpack.c): entries sorted by name, PAX, numeric owners,
 * whole-second mtimes, no atime/ctime; driver whiteouts back to OCI ".wh."
 * names; hashed as written and optionally compressed. */
#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "image/commit_stream.h"
#include "image/image_internal.h"
#include "image/save_internal.h"

/* Big reads keep syscalls rare (headers are gathered in struct image_outbuf). */
#define READ_BUF (1 << 20)
#define XATTR_LIST_MAX_BYTES 65536
/* Read-ahead window: files ahead of the one being written, bytes of each. */
#define PREFETCH_FILES 16
#define PREFETCH_MAX (1 << 20)

/* Inodes with more than one link, by (dev, ino): the first path written. */
struct link_slot {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct tw {
	struct archive *tar, *z; /* z: raw writer with the compression filter */
	struct archive_entry *e;
	struct digest_ctx diff, blob;
	bool diff_open, blob_open, compress;
	bool unhashed; /* no diff_id: the consumer hashes the stream itself */
	image_write_fn wr;
	void *wctx;
	struct image_outbuf out;
	char *rbuf;
	long long size, blob_size;
	enum whiteout_form wf;
	const char *const *skip; /* relative paths left out, NULL-terminated */
	struct link_slot *links;
	size_t n_links, cap_links; /* cap is a power of two */
	char path[PATH_MAX];       /* current entry, relative to the root */
	struct err *err;
};

/* ---- output: hash, compress, buffer ------------------------------------ */

/* Final bytes: hashed (when compressed) and counted, then buffered. */
static int out_emit(struct tw *t, const void *buf, size_t len)
{
	if (t->compress)
		digest_update(&t->blob, buf, len);
	t->blob_size += (long long)len;
	return image_outbuf_write(&t->out, buf, len);
}

static la_ssize_t z_out(struct archive *a, void *ctx, const void *buf, size_t len)
{
	(void)a;
	return out_emit(ctx, buf, len) < 0 ? -1 : (la_ssize_t)len;
}

/* The uncompressed tar: its digest is the diff_id. */
static la_ssize_t tar_out(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct tw *t = ctx;

	(void)a;
	if (!t->unhashed)
		digest_update(&t->diff, buf, len);
	t->size += (long long)len;
	if (!t->compress)
		return out_emit(t, buf, len) < 0 ? -1 : (la_ssize_t)len;
	if (archive_write_data(t->z, buf, len) != (la_ssize_t)len)
		return -1;
	return (la_ssize_t)len;
}

/* ---- setup -------------------------------------------------------------- */

static int open_compressor(struct tw *t, const char *compression, struct err *err)
{
	if (digest_init(&t->blob) < 0)
		return err_sys(err, ENOMEM, "write layer tar: hash");
	t->blob_open = true;
	return image_compressor_open(&t->z, compression, z_out, t, err);
}

static int tw_open(struct tw *t, const char *compression, struct err *err)
{
	if (image_compression_check(&compression, err) < 0)
		return -1;
	t->rbuf = malloc(READ_BUF);
	t->e = archive_entry_new();
	t->tar = archive_write_new();
	if (image_outbuf_init(&t->out, t->wr, t->wctx) < 0 || !t->rbuf || !t->e || !t->tar)
		return err_sys(err, ENOMEM, "write layer tar");
	if (digest_init(&t->diff) < 0)
		return err_sys(err, ENOMEM, "write layer tar: hash");
	t->diff_open = true;
	t->compress = strcmp(compression, "none") != 0;
	if (t->compress && open_compressor(t, compression, err) < 0)
		return -1;
	/* Restricted PAX: plain ustar headers unless a name, size, id or
	 * xattr needs an extension, so the bytes depend on the files only. */
	if (archive_write_set_format_pax_restricted(t->tar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(t->tar, 0) != ARCHIVE_OK ||
	    archive_write_open(t->tar, t, NULL, tar_out, NULL) != ARCHIVE_OK)
		return err_set(err, EIO, "write layer tar: %s", archive_error_string(t->tar));
	return 0;
}

static void tw_release(struct tw *t)
{
	if (t->tar)
		archive_write_free(t->tar);
	if (t->z)
		archive_write_free(t->z);
	if (t->e)
		archive_entry_free(t->e);
	if (t->diff_open)
		digest_release(&t->diff);
	if (t->blob_open)
		digest_release(&t->blob);
	for (size_t i = 0; i < t->cap_links; i++)
		free(t->links[i].path);
	free(t->links);
	image_outbuf_release(&t->out);
	free(t->rbuf);
}

/* An archive call failed: the output's errno if it was ours, else libarchive's words. */
static int tw_fail(struct tw *t, struct archive *a, const char *what)
{
	if (t->out.werr)
		return err_sys(t->err, t->out.werr, "write layer tar: %s", what);
	return err_set(t->err, EIO, "write layer tar: %s: %s", what,
		       archive_error_string(a) ?: "error");
}

static int tw_finish(struct tw *t, struct image_tar_result *res)
{
	if (archive_write_close(t->tar) != ARCHIVE_OK)
		return tw_fail(t, t->tar, "finish");
	if (t->compress && archive_write_close(t->z) != ARCHIVE_OK)
		return tw_fail(t, t->z, "finish compression");
	if (image_outbuf_flush(&t->out) < 0)
		return tw_fail(t, t->tar, "finish");
	if (!t->unhashed) {
		digest_final(&t->diff, res->diff_id);
		t->diff_open = false;
	}
	if (t->compress) {
		digest_final(&t->blob, res->blob_digest);
		t->blob_open = false;
	} else {
		memcpy(res->blob_digest, res->diff_id, DIGEST_BUF);
	}
	res->size = t->size;
	res->blob_size = t->blob_size;
	return 0;
}

/* ---- hard links ---------------------------------------------------------- */

static size_t link_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;
	return (size_t)(h ^ (h >> 29));
}

static struct link_slot *link_slot(struct link_slot *v, size_t cap, dev_t dev, ino_t ino)
{
	size_t i = link_hash(dev, ino) & (cap - 1);

	while (v[i].path && !(v[i].dev == dev && v[i].ino == ino))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int links_grow(struct tw *t)
{
	size_t cap = t->cap_links ? t->cap_links * 2 : 256;
	struct link_slot *nv = calloc(cap, sizeof(*nv));

	if (!nv)
		return -1;
	for (size_t i = 0; i < t->cap_links; i++) {
		if (t->links[i].path)
			*link_slot(nv, cap, t->links[i].dev, t->links[i].ino) = t->links[i];
	}
	free(t->links);
	t->links = nv;
	t->cap_links = cap;
	return 0;
}

/* The path written earlier for this inode, or NULL after recording this one. */
static const char *link_seen(struct tw *t, const struct stat *st)
{
	struct link_slot *s;

	if ((t->n_links + 1) * 2 > t->cap_links && links_grow(t) < 0)
		return (errno = ENOMEM), NULL;
	s = link_slot(t->links, t->cap_links, st->st_dev, st->st_ino);
	if (s->path)
		return s->path;
	if (!(s->path = strdup(t->path)))
		return (errno = ENOMEM), NULL;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	t->n_links++;
	errno = 0;
	return NULL;
}

/* ---- one entry ------------------------------------------------------------ */

struct src {
	int dirfd;
	const char *name;
	struct stat st;
	bool opaque; /* overlay's trusted.overlay.opaque=y on a directory */
};

static int name_push(struct tw *t, size_t *saved, const char *name)
{
	size_t len = strlen(t->path), n = strlen(name);

	*saved = len;
	if (len + n + 2 > sizeof(t->path))
		return err_set(t->err, ENAMETOOLONG, "write layer tar: path too long: %s%s",
			       t->path, name);
	memcpy(t->path + len, name, n + 1);
	return 0;
}

static void proc_path(char *buf, size_t len, const struct src *s)
{
	snprintf(buf, len, "/proc/self/fd/%d/%s", s->dirfd, s->name);
}

static int add_xattr(struct tw *t, struct src *s, const char *proc, const char *key)
{
	char val[65536];
	ssize_t n = lgetxattr(proc, key, val, sizeof(val));

	if (n < 0 && (errno == ENODATA || errno == ENOTSUP))
		return 0;
	if (n < 0)
		return err_sys(t->err, errno, "write layer tar: read xattr %s of %s", key, t->path);
	/* overlay's own state never goes into a tar (unpack refuses it too);
	 * the opaque marker is turned into ".wh..wh..opq" instead. */
	if (image_xattr_forbidden(key)) {
		if (S_ISDIR(s->st.st_mode) && n == 1 && val[0] == 'y' &&
		    (!strcmp(key, "trusted.overlay.opaque") || !strcmp(key, "user.overlay.opaque")))
			s->opaque = t->wf == WHITEOUT_OVERLAY;
		return 0;
	}
	archive_entry_xattr_add_entry(t->e, key, val, (size_t)n);
	return 0;
}

/* Keys come sorted so equal files give equal headers. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static __attribute__((noinline)) int add_xattrs(struct tw *t, struct src *s)
{
	char proc[PATH_MAX + 32], list[XATTR_LIST_MAX_BYTES];
	const char *keys[512];
	size_t nk = 0;
	ssize_t n;

	proc_path(proc, sizeof(proc), s);
	n = llistxattr(proc, list, sizeof(list));
	if (n < 0 && errno == ENOTSUP)
		return 0;
	if (n < 0)
		return err_sys(t->err, errno, "write layer tar: list xattrs of %s", t->path);
	for (ssize_t off = 0; off < n && nk < 512; off += (ssize_t)strlen(list + off) + 1)
		keys[nk++] = list + off;
	if (nk > 1)
		qsort(keys, nk, sizeof(keys[0]), cmp_str);
	for (size_t i = 0; i < nk; i++) {
		if (add_xattr(t, s, proc, keys[i]) < 0)
			return -1;
	}
	return 0;
}

static __attribute__((noinline)) void header_init(struct tw *t, const char *path,
						  const struct stat *st)
{
	archive_entry_clear(t->e);
	archive_entry_copy_pathname(t->e, path);
	archive_entry_set_mode(t->e, st->st_mode);
	archive_entry_set_uid(t->e, st->st_uid);
	archive_entry_set_gid(t->e, st->st_gid);
	/* Whole seconds, no atime/ctime: what Docker writes, and what keeps
	 * the digest stable across copies of the same tree. */
	archive_entry_set_mtime(t->e, st->st_mtim.tv_sec, 0);
}

static int header_write(struct tw *t)
{
	if (archive_write_header(t->tar, t->e) != ARCHIVE_OK)
		return tw_fail(t, t->tar, t->path);
	return 0;
}

/* An empty regular file standing for a deletion (".wh.NAME", ".wh..wh..opq"),
 * mode 0, owned by root, mtime 0. */
static __attribute__((noinline)) int write_marker(struct tw *t, const char *dir_prefix,
						  const char *name, const struct stat *st)
{
	char path[PATH_MAX];
	struct stat m = *st;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", dir_prefix, name) >= sizeof(path))
		return err_set(t->err, ENAMETOOLONG, "write layer tar: path too long: %s", path);
	/* Normalized: the unpacker makes a marker a device or an xattr and
	 * cannot keep its times, so anything else would change the digest
	 * each time a layer is stored and saved again. */
	m.st_mode = S_IFREG;
	m.st_uid = m.st_gid = 0;
	m.st_mtim.tv_sec = 0;
	header_init(t, path, &m);
	archive_entry_set_size(t->e, 0);
	return header_write(t);
}

static int write_data(struct tw *t, int fd, off_t size)
{
	off_t left = size;

	while (left > 0) {
		ssize_t n = read(fd, t->rbuf, left < READ_BUF ? (size_t)left : READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(t->err, errno, "write layer tar: read %s", t->path);
		if (n == 0)
			return err_set(t->err, EIO, "write layer tar: %s shrank while being read",
				       t->path);
		if (archive_write_data(t->tar, t->rbuf, (size_t)n) != n)
			return tw_fail(t, t->tar, t->path);
		left -= n;
	}
	return 0;
}

static int write_regular(struct tw *t, struct src *s)
{
	cleanup_close int fd = -1;
	const char *first = NULL;

	if (s->st.st_nlink > 1) {
		first = link_seen(t, &s->st);
		if (!first && errno)
			return err_sys(t->err, errno, "write layer tar");
	}
	if (first) {
		archive_entry_copy_hardlink(t->e, first);
		archive_entry_set_size(t->e, 0);
		return header_write(t);
	}
	/* O_NOATIME: reading a layer must not change it (root may use it).
	 * O_NONBLOCK: a file a running container swapped for a fifo since we
	 * listed it must not block the commit; the fstat below refuses it. */
	fd = openat(s->dirfd, s->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME | O_NONBLOCK);
	if (fd < 0 && errno == EPERM)
		fd = openat(s->dirfd, s->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_sys(t->err, errno, "write layer tar: open %s", t->path);
	{
		struct stat now;
		if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode) || now.st_ino != s->st.st_ino)
			return err_set(t->err, EAGAIN,
				       "write layer tar: %s changed while it was read", t->path);
	}
	archive_entry_set_size(t->e, s->st.st_size);
	if (header_write(t) < 0)
		return -1;
	return write_data(t, fd, s->st.st_size);
}

static int write_symlink(struct tw *t, struct src *s)
{
	char target[PATH_MAX + 1];
	ssize_t n = readlinkat(s->dirfd, s->name, target, sizeof(target));

	if (n < 0)
		return err_sys(t->err, errno, "write layer tar: readlink %s", t->path);
	if ((size_t)n >= sizeof(target))
		return err_set(t->err, ENAMETOOLONG, "write layer tar: link target of %s too long",
			       t->path);
	target[n] = '\0';
	archive_entry_copy_symlink(t->e, target);
	return header_write(t);
}

static int walk_dir(struct tw *t, int dirfd);

static int write_dir(struct tw *t, struct src *s)
{
	cleanup_close int fd = -1;
	size_t saved;
	int rc;

	if (header_write(t) < 0)
		return -1;
	fd = openat(s->dirfd, s->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(t->err, errno, "write layer tar: open %s", t->path);
	if (name_push(t, &saved, "/") < 0)
		return -1;
	/* First child: an unpacker that applies the marker as it meets it
	 * must not hide this layer's own entries of the directory. */
	rc = s->opaque ? write_marker(t, t->path, WHITEOUT_OPAQUE, &s->st) : 0;
	if (rc == 0)
		rc = walk_dir(t, fd);
	t->path[saved] = '\0';
	return rc;
}

/* What a name in a layer of form wf stands for. */
enum kind {
	K_SKIP,
	K_ENTRY,
	K_WHITEOUT
};

static enum kind classify(const struct tw *t, const struct src *s)
{
	enum whiteout_kind k = image_whiteout_classify(s->name, NULL);

	if (S_ISSOCK(s->st.st_mode))
		return K_SKIP; /* tar cannot hold sockets (Docker skips them too) */
	if (t->wf == WHITEOUT_OVERLAY)
		return S_ISCHR(s->st.st_mode) && s->st.st_rdev == 0 ? K_WHITEOUT : K_ENTRY;
	/* OCI form: markers are kept as they are; aufs' own ".wh..wh.*"
	 * bookkeeping (plnk, orph, aufs) carries no deletion. */
	return k == WHITEOUT_KIND_META || k == WHITEOUT_KIND_BAD ? K_SKIP : K_ENTRY;
}

static bool skipped(const struct tw *t)
{
	for (size_t i = 0; t->skip && t->skip[i]; i++) {
		if (strcmp(t->skip[i], t->path) == 0)
			return true;
	}
	return false;
}

/* Out of line: its path buffer must not sit in every recursion frame. */
static __attribute__((noinline)) int write_whiteout(struct tw *t, const char *name,
						    const struct stat *st)
{
	char prefix[PATH_MAX];

	snprintf(prefix, sizeof(prefix), "%s%s", t->path, WHITEOUT_PREFIX);
	return write_marker(t, prefix, name, st);
}

static int write_entry(struct tw *t, int dirfd, const char *name)
{
	struct src s = { .dirfd = dirfd, .name = name };
	size_t saved;
	enum kind k;
	int rc;

	if (fstatat(dirfd, name, &s.st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(t->err, errno, "write layer tar: stat %s%s", t->path, name);
	k = classify(t, &s);
	if (k == K_SKIP)
		return 0;
	/* Checked before hard links: overlayfs shares one whiteout inode. */
	if (k == K_WHITEOUT)
		return write_whiteout(t, name, &s.st);
	if (name_push(t, &saved, name) < 0)
		return -1;
	if (skipped(t)) {
		t->path[saved] = '\0';
		return 0;
	}
	header_init(t, t->path, &s.st);
	rc = add_xattrs(t, &s);
	if (rc == 0) {
		if (S_ISREG(s.st.st_mode))
			rc = write_regular(t, &s);
		else if (S_ISDIR(s.st.st_mode))
			rc = write_dir(t, &s);
		else if (S_ISLNK(s.st.st_mode))
			rc = write_symlink(t, &s);
		else {
			archive_entry_set_rdev(t->e, s.st.st_rdev);
			rc = header_write(t);
		}
	}
	t->path[saved] = '\0';
	return rc;
}

/* ---- directories ------------------------------------------------------------ */

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int names_push(char ***v, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		char **nv = realloc(*v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		*v = nv;
		*cap = nc;
	}
	if (!((*v)[*n] = strdup(name)))
		return -1;
	(*n)++;
	return 0;
}

/* The names of a directory, sorted bytewise (Go's filepath.Walk order). */
static int list_sorted(struct tw *t, int dirfd, char ***out, size_t *n)
{
	int fd = dup(dirfd);
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return err_sys(t->err, errno, "write layer tar: read dir %s", t->path);
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (names_push(out, n, &cap, de->d_name) < 0) {
			closedir(d);
			return err_sys(t->err, ENOMEM, "write layer tar");
		}
	}
	if (errno) {
		int e = errno;
		closedir(d);
		return err_sys(t->err, e, "write layer tar: read dir %s", t->path);
	}
	closedir(d);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_str);
	return 0;
}

/* An OCI-form opaque marker goes first, for the reason in write_dir. */
static void opaque_first(char **v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i], WHITEOUT_OPAQUE) == 0) {
			char *m = v[i];
			memmove(v + 1, v, i * sizeof(*v));
			v[0] = m;
			return;
		}
	}
}

/* Cold caches: reading one small file after the other keeps one disk
 * request in flight and the disk idle in between. Asking for the next few
 * regular files early (POSIX_FADV_WILLNEED starts readahead without
 * waiting) keeps several in flight. Only a hint: failures are ignored, and
 * nothing but regular files is opened (opening a device can have effects),
 * and O_NONBLOCK: a file swapped for a fifo meanwhile must not block us. */
static void prefetch(int dirfd, const char *name)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME | O_NONBLOCK);
	if (fd < 0)
		return;
	posix_fadvise(fd, 0, st.st_size < PREFETCH_MAX ? st.st_size : PREFETCH_MAX,
		      POSIX_FADV_WILLNEED);
	close(fd);
}

static int walk_dir(struct tw *t, int dirfd)
{
	char **names;
	size_t n;
	int rc = 0;

	if (list_sorted(t, dirfd, &names, &n) < 0)
		return -1;
	if (t->wf == WHITEOUT_OCI)
		opaque_first(names, n);
	for (size_t i = 0; i < n && i < PREFETCH_FILES; i++)
		prefetch(dirfd, names[i]);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i + PREFETCH_FILES < n)
			prefetch(dirfd, names[i + PREFETCH_FILES]);
		rc = write_entry(t, dirfd, names[i]);
	}
	names_free(names, n);
	return rc;
}

static int write_tar(struct tw *t, int src_dirfd, const char *compression,
		     struct image_tar_result *res)
{
	int rc;

	memset(res, 0, sizeof(*res));
	rc = tw_open(t, compression, t->err);
	/* The root itself is not an entry: a layer describes what is below it. */
	if (rc == 0)
		rc = walk_dir(t, src_dirfd);
	if (rc == 0)
		rc = tw_finish(t, res);
	tw_release(t);
	return rc;
}

int image_layer_write_tar_skip(int src_dirfd, enum whiteout_form wf, const char *compression,
			       const char *const *skip, image_write_fn wr, void *wctx,
			       struct image_tar_result *res, struct err *err)
{
	struct tw t = { .wr = wr, .wctx = wctx, .wf = wf, .skip = skip, .err = err };

	return write_tar(&t, src_dirfd, compression, res);
}

/* SHA-256 is most of this writer's CPU time: skip it when the bytes are
 * hashed anyway on the other side (image_layer_write_unpack). */
int image_layer_write_tar_unhashed(int src_dirfd, enum whiteout_form wf, const char *const *skip,
				   image_write_fn wr, void *wctx, struct image_tar_result *res,
				   struct err *err)
{
	struct tw t = {
		.wr = wr, .wctx = wctx, .wf = wf, .skip = skip, .err = err, .unhashed = true
	};

	return write_tar(&t, src_dirfd, "none", res);
}

int image_layer_write_tar(int src_dirfd, enum whiteout_form wf, const char *compression,
			  image_write_fn wr, void *wctx, struct image_tar_result *res,
			  struct err *err)
{
	return image_layer_write_tar_skip(src_dirfd, wf, compression, NULL, wr, wctx, res, err);
}
