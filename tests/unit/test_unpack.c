/* test_unpack: layer unpacking from tars built in memory with libarchive's
 * writer: entries, metadata, whiteouts, digests, compressions, and hostile
 * archives that must fail without touching anything outside the layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fs.h"
#include "image/image.h"
#include "image/image_internal.h"

#define MTIME 1000000000
#define TAR_CAP (8 << 20)

/* One entry to write; mode includes the file type. */
struct ent {
	const char *name;
	mode_t mode;
	const char *data;     /* regular file content */
	const char *link;     /* symlink target */
	const char *hardlink; /* hard link target */
	unsigned uid, gid;
	const char *xattr, *xattr_val;
};

#define DIR_(n)                                     \
	{                                           \
		.name = (n), .mode = S_IFDIR | 0755 \
	}
#define FILE_(n, d)                                              \
	{                                                        \
		.name = (n), .mode = S_IFREG | 0644, .data = (d) \
	}
#define LINK_(n, t)                                              \
	{                                                        \
		.name = (n), .mode = S_IFLNK | 0777, .link = (t) \
	}
#define HARD_(n, t)                                                  \
	{                                                            \
		.name = (n), .mode = S_IFREG | 0644, .hardlink = (t) \
	}

struct fixture {
	char tmp[64];
	char dest[96], sentinel[96];
	int tmp_fd, dest_fd;
};

struct buf {
	char *data;
	size_t len;
};

/* ---- building archives ------------------------------------------------- */

static void write_ent(struct archive *a, const struct ent *x)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = x->data ? strlen(x->data) : 0;

	archive_entry_set_pathname(e, x->name);
	archive_entry_set_mode(e, x->mode);
	archive_entry_set_uid(e, x->uid);
	archive_entry_set_gid(e, x->gid);
	archive_entry_set_mtime(e, MTIME, 0);
	archive_entry_set_size(e, (la_int64_t)len);
	if (x->link)
		archive_entry_set_symlink(e, x->link);
	if (x->hardlink)
		archive_entry_set_hardlink(e, x->hardlink);
	if (x->xattr)
		archive_entry_xattr_add_entry(e, x->xattr, x->xattr_val, strlen(x->xattr_val));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(a, x->data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static struct buf build_tar(const struct ent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	struct buf b = { .data = malloc(TAR_CAP) };

	assert_non_null(b.data);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, b.data, TAR_CAP, &b.len), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++)
		write_ent(a, &ents[i]);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return b;
}

/* Compress exact bytes (raw format), so diff_id is known: sha256(in). */
static struct buf compress_buf(struct buf in, int filter)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct buf b = { .data = malloc(TAR_CAP) };

	assert_non_null(b.data);
	assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, b.data, TAR_CAP, &b.len), ARCHIVE_OK);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)in.len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, in.data, in.len), (la_ssize_t)in.len);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	return b;
}

/* ---- reading them back ------------------------------------------------- */

struct mem_src {
	const char *p;
	size_t len, pos, chunk;
	bool fail;
};

static ssize_t mem_read(void *ctx, const void **buf)
{
	struct mem_src *m = ctx;
	size_t n = m->len - m->pos;

	if (m->fail && m->pos > 0) {
		errno = EIO;
		return -1;
	}
	if (n > m->chunk)
		n = m->chunk;
	*buf = m->p + m->pos;
	m->pos += n;
	return (ssize_t)n;
}

static int unpack_chunked(struct fixture *f, struct buf b, size_t chunk, enum whiteout_form wf,
			  struct image_unpack_result *res, struct err *err)
{
	struct mem_src m = { .p = b.data, .len = b.len, .chunk = chunk };
	return image_layer_unpack(mem_read, &m, f->dest_fd, wf, res, err);
}

static int unpack(struct fixture *f, struct buf b, enum whiteout_form wf,
		  struct image_unpack_result *res, struct err *err)
{
	return unpack_chunked(f, b, 64 << 10, wf, res, err);
}

static int unpack_ents(struct fixture *f, const struct ent *ents, size_t n, enum whiteout_form wf,
		       struct err *err)
{
	struct buf b = build_tar(ents, n);
	struct image_unpack_result res;
	int rc = unpack(f, b, wf, &res, err);

	free(b.data);
	return rc;
}

static void lstat_at(struct fixture *f, const char *path, struct stat *st)
{
	if (fstatat(f->dest_fd, path, st, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
}

static void assert_missing(struct fixture *f, const char *path)
{
	struct stat st;
	assert_int_equal(fstatat(f->dest_fd, path, &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(errno, ENOENT);
}

static void assert_content(struct fixture *f, const char *path, const char *want)
{
	char *data = NULL;
	size_t len;
	struct err err = { 0 };

	if (fs_read_all(f->dest_fd, path, &data, &len, 1 << 20, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
	free(data);
}

/* ---- fixture: tmp/{dest,sentinel/keep} -------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	memcpy(f->tmp, "/tmp/mydocker-unpack.XXXXXX", sizeof("/tmp/mydocker-unpack.XXXXXX"));
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->tmp);
	snprintf(f->sentinel, sizeof(f->sentinel), "%s/sentinel", f->tmp);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	assert_int_equal(mkdir(f->sentinel, 0755), 0);
	fd = openat(AT_FDCWD, f->sentinel, O_DIRECTORY | O_RDONLY);
	assert_true(fd >= 0);
	close(openat(fd, "keep", O_CREAT | O_WRONLY, 0644));
	close(fd);
	f->tmp_fd = open(f->tmp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	f->dest_fd = open(f->dest, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	assert_true(f->tmp_fd >= 0 && f->dest_fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };

	close(f->dest_fd);
	close(f->tmp_fd);
	if (fs_rm_rf_at(AT_FDCWD, f->tmp, &err) < 0)
		fprintf(stderr, "cleanup: %s\n", err.msg);
	free(f);
	return 0;
}

/* Nothing outside dest: tmp holds dest and sentinel only, and sentinel
 * holds only its empty "keep". */
static void assert_outside_untouched(struct fixture *f)
{
	const char *want_tmp[] = { "dest", "sentinel" }, *want_sen[] = { "keep" };
	const char *dirs[] = { f->tmp, f->sentinel };
	const char **want[] = { want_tmp, want_sen };
	size_t nwant[] = { 2, 1 };
	struct stat st;

	for (int i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;
		size_t n = 0;
		assert_non_null(d);
		while ((de = readdir(d)) != NULL) {
			bool ok = false;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			for (size_t j = 0; j < nwant[i]; j++)
				ok = ok || !strcmp(de->d_name, want[i][j]);
			if (!ok)
				fail_msg("unexpected %s/%s", dirs[i], de->d_name);
			n++;
		}
		closedir(d);
		assert_int_equal(n, nwant[i]);
	}
	assert_int_equal(fstatat(f->tmp_fd, "sentinel/keep", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 0 && st.st_nlink == 1);
}

/* ---- tests --------------------------------------------------------------- */

static void test_name_clean(void **state)
{
	static const char *const ok[][2] = {
		{ "a", "a" },      { "./a", "a" },           { "a/b/", "a/b" },
		{ "a//b", "a/b" }, { "./a/./b", "a/b" },     { ".", "" },
		{ "./", "" },      { "..a/b..", "..a/b.." }, { ".wh..wh..opq", ".wh..wh..opq" },
	};
	static const char *const escapes[] = { "/a",        "/",    "..",     "../x",
					       "a/../../x", "a/..", "./../x", "//etc/passwd" };
	char out[PATH_MAX], small[4];
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(image_entry_name_clean(ok[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, ok[i][1]);
	}
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		assert_int_equal(image_entry_name_clean(escapes[i], out, sizeof(out)), -1);
		assert_int_equal(errno, EXDEV);
	}
	assert_int_equal(image_entry_name_clean("", out, sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(image_entry_name_clean("abcd", small, sizeof(small)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void test_entries(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {
		{ .name = "./", .mode = S_IFDIR | 0751 },
		DIR_("etc"),
		{ .name = "etc/hello",
		  .mode = S_IFREG | 0640,
		  .data = "hello\n",
		  .uid = 1000,
		  .gid = 1001 },
		{ .name = "usr/bin/su",
		  .mode = S_IFREG | 04755,
		  .data = "#!su",
		  .uid = 0,
		  .gid = 0 },
		{ .name = "usr/bin/wall", .mode = S_IFREG | 02755, .data = "w", .gid = 5 },
		LINK_("etc/link", "../etc/hello"),
		LINK_("etc/abs", "/etc/passwd"),
		HARD_("etc/hard", "etc/hello"),
		HARD_("./etc/hard2", "./etc/hello"),
		{ .name = "run/fifo", .mode = S_IFIFO | 0620 },
		{ .name = "ro", .mode = S_IFDIR | 0555 },
		FILE_("ro/inside", "x"),
	};
	struct buf b = build_tar(ents, sizeof(ents) / sizeof(ents[0]));
	struct image_unpack_result res;
	struct err err = { 0 };
	struct stat st, st2;
	char target[64];

	if (unpack(f, b, WHITEOUT_OVERLAY, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(res.entries, 12);
	assert_int_equal(res.size, 6 + 4 + 1 + 1);
	assert_content(f, "etc/hello", "hello\n");
	lstat_at(f, "etc/hello", &st);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_mtim.tv_sec, MTIME);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, 1000);
		assert_int_equal(st.st_gid, 1001);
	}
	lstat_at(f, "etc/hard", &st2);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(st2.st_nlink, 3);
	lstat_at(f, "usr/bin/su", &st);
	assert_int_equal(st.st_mode, S_IFREG | 04755);
	lstat_at(f, "usr/bin/wall", &st);
	if (geteuid() == 0)
		assert_int_equal(st.st_mode, S_IFREG | 02755);
	/* Implied parents: plain 0755 dirs. */
	lstat_at(f, "usr", &st);
	assert_int_equal(st.st_mode, S_IFDIR | 0755);
	lstat_at(f, "etc/link", &st);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_mtim.tv_sec, MTIME);
	assert_int_equal(readlinkat(f->dest_fd, "etc/link", target, sizeof(target)), 12);
	assert_memory_equal(target, "../etc/hello", 12);
	assert_int_equal(readlinkat(f->dest_fd, "etc/abs", target, sizeof(target)), 11);
	lstat_at(f, "run/fifo", &st);
	assert_int_equal(st.st_mode, S_IFIFO | 0620);
	/* Directory times are set last, after their children were added. */
	lstat_at(f, "etc", &st);
	assert_int_equal(st.st_mtim.tv_sec, MTIME);
	lstat_at(f, "ro", &st);
	assert_int_equal(st.st_mode, S_IFDIR | 0555);
	assert_content(f, "ro/inside", "x");
	assert_int_equal(fstat(f->dest_fd, &st), 0);
	assert_int_equal(st.st_mode, S_IFDIR | 0751);
	assert_outside_untouched(f);
	free(b.data);
}

static void check_digests(struct fixture *f, int filter, const char *name, size_t chunk)
{
	char big[70000];
	const struct ent ents[] = { DIR_("d"), FILE_("d/f", "data"), FILE_("big", big) };
	struct buf tar, blob;
	struct image_unpack_result res;
	struct err err = { 0 };
	char want_diff[DIGEST_BUF], want_blob[DIGEST_BUF];

	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + (i * 7919) % 26);
	big[sizeof(big) - 1] = '\0';
	tar = build_tar(ents, 3);
	blob = filter == ARCHIVE_FILTER_NONE ? tar : compress_buf(tar, filter);
	assert_int_equal(digest_buf(tar.data, tar.len, want_diff), 0);
	assert_int_equal(digest_buf(blob.data, blob.len, want_blob), 0);
	if (unpack_chunked(f, blob, chunk, WHITEOUT_OVERLAY, &res, &err) < 0)
		fail_msg("%s: %s", name, err.msg);
	assert_string_equal(res.compression, name);
	assert_string_equal(res.diff_id, want_diff);
	assert_string_equal(res.blob_digest, want_blob);
	assert_int_equal(res.blob_size, blob.len);
	assert_int_equal(res.entries, 3);
	assert_int_equal(res.size, 4 + sizeof(big) - 1);
	assert_content(f, "d/f", "data");
	assert_content(f, "big", big);
	if (blob.data != tar.data)
		free(blob.data);
	free(tar.data);
}

static void test_digest_none(void **state)
{
	check_digests(*state, ARCHIVE_FILTER_NONE, "none", 64 << 10);
}

static void test_digest_none_small_reads(void **state)
{
	check_digests(*state, ARCHIVE_FILTER_NONE, "none", 333);
}

static void test_digest_gzip(void **state)
{
	check_digests(*state, ARCHIVE_FILTER_GZIP, "gzip", 64 << 10);
}

static void test_digest_zstd(void **state)
{
	check_digests(*state, ARCHIVE_FILTER_ZSTD, "zstd", 1000);
}

static void test_digest_xz(void **state)
{
	check_digests(*state, ARCHIVE_FILTER_XZ, "xz", 64 << 10);
}

static void test_digest_bzip2(void **state)
{
	check_digests(*state, ARCHIVE_FILTER_BZIP2, "bzip2", 64 << 10);
}

/* Bytes after the end marker belong to the blob and to the diff. */
static void test_trailing_bytes_hashed(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = { FILE_("f", "x") };
	struct buf tar = build_tar(ents, 1);
	struct image_unpack_result res;
	struct err err = { 0 };
	char want[DIGEST_BUF];

	memset(tar.data + tar.len, 0, 4096);
	tar.len += 4096;
	assert_int_equal(digest_buf(tar.data, tar.len, want), 0);
	assert_int_equal(unpack(f, tar, WHITEOUT_OVERLAY, &res, &err), 0);
	assert_string_equal(res.diff_id, want);
	assert_string_equal(res.blob_digest, want);
	assert_int_equal(res.blob_size, tar.len);
	free(tar.data);
}

static void test_from_fd(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = { FILE_("a/b", "fd!") };
	struct buf tar = build_tar(ents, 1);
	struct buf gz = compress_buf(tar, ARCHIVE_FILTER_GZIP);
	struct image_unpack_result res;
	struct err err = { 0 };
	char want[DIGEST_BUF];
	int fd = openat(f->tmp_fd, ".", O_TMPFILE | O_RDWR, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, gz.data, gz.len), (ssize_t)gz.len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(image_layer_unpack_fd(fd, f->dest_fd, WHITEOUT_OVERLAY, &res, &err), 0);
	assert_int_equal(digest_buf(tar.data, tar.len, want), 0);
	assert_string_equal(res.diff_id, want);
	assert_string_equal(res.compression, "gzip");
	assert_content(f, "a/b", "fd!");
	close(fd);
	free(gz.data);
	free(tar.data);
}

static void test_empty_tar(void **state)
{
	struct fixture *f = *state;
	struct buf tar = build_tar(NULL, 0);
	struct image_unpack_result res;
	struct err err = { 0 };
	DIR *d;
	int n = 0;

	assert_int_equal(unpack(f, tar, WHITEOUT_OVERLAY, &res, &err), 0);
	assert_int_equal(res.entries, 0);
	assert_int_equal(res.blob_size, tar.len);
	d = fdopendir(dup(f->dest_fd));
	while (readdir(d))
		n++;
	closedir(d);
	assert_int_equal(n, 2);
	free(tar.data);
}

static void test_overlay_whiteouts(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {
		DIR_("dir"),
		FILE_("dir/.wh.gone", ""),
		FILE_("dir/.wh..hidden", ""),
		FILE_("new/.wh..wh..opq", ""),
		FILE_(".wh..wh..opq", ""),
		FILE_("dir/.wh..wh.plnk", ""),
		{ .name = "forged",
		  .mode = S_IFDIR | 0755,
		  .xattr = "trusted.overlay.opaque",
		  .xattr_val = "y" },
		{ .name = "kept",
		  .mode = S_IFREG | 0644,
		  .data = "k",
		  .xattr = "user.note",
		  .xattr_val = "v" },
		FILE_("dir/file", "f"),
	};
	struct err err = { 0 };
	struct stat st;
	char val[8], path[128];

	if (geteuid() != 0)
		skip(); /* char devices and trusted.* xattrs need root */
	if (unpack_ents(f, ents, sizeof(ents) / sizeof(ents[0]), WHITEOUT_OVERLAY, &err) < 0)
		fail_msg("%s", err.msg);
	lstat_at(f, "dir/gone", &st);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	assert_int_equal(st.st_mode & 07777, 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	lstat_at(f, "dir/.hidden", &st);
	assert_true(S_ISCHR(st.st_mode));
	assert_missing(f, "dir/.wh.gone");
	assert_missing(f, "dir/.wh..wh.plnk");
	assert_missing(f, "new/.wh..wh..opq");
	assert_missing(f, ".wh..wh..opq");
	assert_int_equal(getxattr(f->dest, "trusted.overlay.opaque", val, sizeof(val)), 1);
	snprintf(path, sizeof(path), "%s/new", f->dest);
	assert_int_equal(getxattr(path, "trusted.overlay.opaque", val, sizeof(val)), 1);
	assert_int_equal(val[0], 'y');
	/* The image's own trusted.overlay.* is dropped, other xattrs kept. */
	snprintf(path, sizeof(path), "%s/forged", f->dest);
	assert_int_equal(getxattr(path, "trusted.overlay.opaque", val, sizeof(val)), -1);
	snprintf(path, sizeof(path), "%s/kept", f->dest);
	assert_int_equal(getxattr(path, "user.note", val, sizeof(val)), 1);
	assert_int_equal(val[0], 'v');
	assert_content(f, "dir/file", "f");
	assert_outside_untouched(f);
}

static void test_oci_whiteouts(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {
		FILE_("dir/.wh.gone", ""),
		FILE_("opq/.wh..wh..opq", ""),
		FILE_("dir/.wh..wh.plnk", ""),
	};
	struct err err = { 0 };
	struct stat st;
	char path[128], v[8];

	if (unpack_ents(f, ents, 3, WHITEOUT_OCI, &err) < 0)
		fail_msg("%s", err.msg);
	lstat_at(f, "dir/.wh.gone", &st);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 0);
	lstat_at(f, "opq/.wh..wh..opq", &st);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 0);
	assert_missing(f, "dir/gone");
	assert_missing(f, "dir/.wh..wh.plnk");
	snprintf(path, sizeof(path), "%s/opq", f->dest);
	assert_int_equal(getxattr(path, "trusted.overlay.opaque", v, sizeof(v)), -1);
}

/* Later entries replace earlier ones, as tar extraction does. */
static void test_replace(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {
		FILE_("a", "first"),
		FILE_("a", "second"),
		DIR_("d"),
		FILE_("d/child", "c"),
		FILE_("d", "now a file"),
		FILE_("e", "file"),
		DIR_("e"),
		FILE_("e/x", "x"),
		DIR_("k"),
		FILE_("k/keep", "kept"),
		{ .name = "k", .mode = S_IFDIR | 0700 },
		LINK_("l", "a"),
		FILE_("l", "not a link"),
	};
	struct err err = { 0 };
	struct stat st;

	if (unpack_ents(f, ents, sizeof(ents) / sizeof(ents[0]), WHITEOUT_OVERLAY, &err) < 0)
		fail_msg("%s", err.msg);
	assert_content(f, "a", "second");
	assert_content(f, "d", "now a file");
	assert_content(f, "e/x", "x");
	assert_content(f, "k/keep", "kept");
	lstat_at(f, "k", &st);
	assert_int_equal(st.st_mode, S_IFDIR | 0700);
	assert_content(f, "l", "not a link");
	assert_outside_untouched(f);
}

/* ---- hostile archives ---------------------------------------------------- */

static void expect_fail(struct fixture *f, const struct ent *ents, size_t n, const char *msg)
{
	struct err err = { 0 };

	if (unpack_ents(f, ents, n, WHITEOUT_OVERLAY, &err) == 0)
		fail_msg("hostile archive accepted (want \"%s\")", msg);
	if (!strstr(err.msg, msg))
		fail_msg("message \"%s\", want \"%s\"", err.msg, msg);
	assert_int_not_equal(err.code, 0);
	assert_null(strchr(err.msg, '\n'));
	assert_outside_untouched(f);
}

static void test_absolute_name(void **state)
{
	struct fixture *f = *state;
	char name[160];
	struct ent ents[] = { FILE_(name, "pwned") };

	snprintf(name, sizeof(name), "%s/pwned", f->sentinel);
	expect_fail(f, ents, 1, "path escapes the layer");
}

static void test_dotdot_name(void **state)
{
	struct fixture *f = *state;
	const struct ent a[] = { FILE_("../x", "pwned") };
	const struct ent b[] = { DIR_("a"), FILE_("a/../../sentinel/pwned", "pwned") };
	const struct ent c[] = { DIR_("../sentinel/d") };

	expect_fail(f, a, 1, "path escapes the layer");
	expect_fail(f, b, 2, "path escapes the layer");
	expect_fail(f, c, 1, "path escapes the layer");
}

static void test_write_through_symlink(void **state)
{
	struct fixture *f = *state;
	char target[160];
	const struct ent abs[] = { LINK_("evil", target), FILE_("evil/f", "pwned") };
	const struct ent rel[] = { LINK_("evil", "../sentinel"), FILE_("evil/keep", "pwned") };
	const struct ent deep[] = { DIR_("a"), LINK_("a/evil", "../../sentinel"),
				    DIR_("a/evil/sub") };
	/* Even a symlink that stays inside is never written through. */
	const struct ent inside[] = { DIR_("real"), LINK_("evil", "real"), FILE_("evil/f", "x") };

	snprintf(target, sizeof(target), "%s", f->sentinel);
	expect_fail(f, abs, 2, "refusing to write through symlink");
	expect_fail(f, rel, 2, "refusing to write through symlink");
	expect_fail(f, deep, 3, "refusing to write through symlink");
	expect_fail(f, inside, 3, "refusing to write through symlink");
}

static void test_hostile_hardlinks(void **state)
{
	struct fixture *f = *state;
	char target[160];
	const struct ent etc[] = { HARD_("h", "/etc/passwd") };
	const struct ent up[] = { HARD_("h", "../../x") };
	const struct ent sen[] = { HARD_("h", "../sentinel/keep") };
	const struct ent abs[] = { HARD_("h", target) };
	const struct ent via[] = { LINK_("evil", "../sentinel"), HARD_("h", "evil/keep") };
	const struct ent missing[] = { HARD_("h", "nothere") };
	const struct ent missing_dir[] = { HARD_("h", "nodir/x") };

	snprintf(target, sizeof(target), "%s/keep", f->sentinel);
	expect_fail(f, etc, 1, "escapes the layer");
	expect_fail(f, up, 1, "escapes the layer");
	expect_fail(f, sen, 1, "escapes the layer");
	expect_fail(f, abs, 1, "escapes the layer");
	expect_fail(f, via, 2, "refusing to write through symlink");
	expect_fail(f, missing, 1, "not in this layer");
	expect_fail(f, missing_dir, 1, "not in this layer");
}

static void test_hostile_whiteouts(void **state)
{
	struct fixture *f = *state;
	const struct ent dot[] = { FILE_(".wh..", "") };
	const struct ent dotdot[] = { FILE_("d/.wh...", "") };
	const struct ent empty[] = { FILE_("d/.wh.", "") };
	const struct ent via[] = { LINK_("evil", "../sentinel"), FILE_("evil/.wh.keep", "") };
	const struct ent opq[] = { LINK_("evil", "../sentinel"), FILE_("evil/.wh..wh..opq", "") };

	expect_fail(f, dot, 1, "invalid whiteout");
	expect_fail(f, dotdot, 1, "invalid whiteout");
	expect_fail(f, empty, 1, "invalid whiteout");
	expect_fail(f, via, 2, "refusing to write through symlink");
	expect_fail(f, opq, 2, "refusing to write through symlink");
}

static void expect_bad_input(struct fixture *f, struct buf b, const char *msg)
{
	struct image_unpack_result res;
	struct err err = { 0 };

	if (unpack(f, b, WHITEOUT_OVERLAY, &res, &err) == 0)
		fail_msg("bad input of %zu bytes accepted (want \"%s\")", b.len, msg);
	assert_string_equal(err.msg, msg);
	assert_outside_untouched(f);
}

static void test_bad_inputs(void **state)
{
	struct fixture *f = *state;
	char big[100000];
	const struct ent ents[] = { FILE_("big", big) };
	struct buf tar, gz, garbage = { .data = malloc(50000), .len = 50000 };
	struct buf empty = { .data = big, .len = 0 };

	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)((i * 2654435761u >> 13) | 1); /* no NUL: strlen sizes it */
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 0; i < garbage.len; i++)
		garbage.data[i] = (char)(i * 40503u >> 7 ^ i);
	tar = build_tar(ents, 1);
	gz = compress_buf(tar, ARCHIVE_FILTER_GZIP);
	gz.len /= 2;
	expect_bad_input(f, gz, "invalid layer tar: truncated archive");
	tar.len = 50000;
	expect_bad_input(f, tar, "invalid layer tar: truncated archive");
	expect_bad_input(f, garbage, "invalid layer tar: not a tar archive");
	expect_bad_input(f, empty, "invalid layer tar: empty input");
	free(tar.data);
	free(gz.data);
	free(garbage.data);
}

static void test_read_error(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = { FILE_("f", "x") };
	struct buf tar = build_tar(ents, 1);
	struct mem_src m = { .p = tar.data, .len = tar.len, .chunk = 100, .fail = true };
	struct image_unpack_result res;
	struct err err = { 0 };

	assert_int_equal(image_layer_unpack(mem_read, &m, f->dest_fd, WHITEOUT_OVERLAY, &res, &err),
			 -1);
	assert_int_equal(err.code, EIO);
	assert_non_null(strstr(err.msg, "read layer"));
	free(tar.data);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_clean),
		T(test_entries),
		T(test_digest_none),
		T(test_digest_none_small_reads),
		T(test_digest_gzip),
		T(test_digest_zstd),
		T(test_digest_xz),
		T(test_digest_bzip2),
		T(test_trailing_bytes_hashed),
		T(test_from_fd),
		T(test_empty_tar),
		T(test_overlay_whiteouts),
		T(test_oci_whiteouts),
		T(test_replace),
		T(test_absolute_name),
		T(test_dotdot_name),
		T(test_write_through_symlink),
		T(test_hostile_hardlinks),
		T(test_hostile_whiteouts),
		T(test_bad_inputs),
		T(test_read_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
