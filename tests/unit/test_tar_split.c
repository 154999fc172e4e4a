/* test_tar_split: tars written by GNU tar (gnu, posix, ustar) and Python's
 * tarfile are unpacked into a staging-like dir, then replayed from their
 * tar-split and the unpacked files: the bytes must be the original ones.
 * Also: when no record is kept (duplicates, not staged), tampering, and
 * image_layer_write_stored on a real store. Device nodes need root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "image/image.h"
#include "image/image_internal.h"
#include "image/tar_split.h"
#include "storage/storage.h"

struct fixture {
	char tmp[64];
	char stage[96]; /* has a .lock, like a storage staging dir */
	int stage_fd;
};

struct buf {
	char *data;
	size_t len, cap;
};

/* ---- helpers ----------------------------------------------------------- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	pid_t pid;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-ec", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int mem_write(void *ctx, const void *p, size_t len)
{
	struct buf *b = ctx;

	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		char *n = realloc(b->data, cap);
		if (!n)
			return -1;
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

static void read_file(const char *path, struct buf *b)
{
	struct err e = { 0 };

	memset(b, 0, sizeof(*b));
	assert_int_equal(fs_read_all(AT_FDCWD, path, &b->data, &b->len, 64 << 20, &e), 0);
}

static bool is_root(void)
{
	return geteuid() == 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/mydocker-tsplit-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->stage, sizeof(f->stage), "%s/stage", f->tmp);
	assert_int_equal(mkdir(f->stage, 0700), 0);
	f->stage_fd = open(f->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->stage_fd >= 0);
	assert_int_equal(sh("touch %s/.lock", f->stage), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->stage_fd);
	sh("rm -rf %s", f->tmp);
	free(f);
	return 0;
}

/* A tree with what layer tars hold: nested dirs, names longer than 100
 * (and 255) bytes, empty and >512 KiB files, hard and symbolic links, a
 * fifo, sparse files (one with more holes than a GNU header holds) and, as
 * root, device nodes. */
static void make_tree(const struct fixture *f, bool very_long)
{
	static const char l60[] = "d123456789012345678901234567890123456789012345678901234567890";
	/* Over 255 bytes: no ustar prefix split can hold it. */
	static const char very_long_path[] =
		"p=v/$(printf %0100d 0)/$(printf %0100d 1)/$(printf %080d 2) && mkdir -p $p && "
		"echo v >$p/file-with-a-rather-long-name-too";
	int rc = sh(
		"cd %s && mkdir -p tree/dir/sub tree/%s/%s && cd tree && "
		"echo hello >dir/a.txt && : >empty && echo deep >dir/sub/x && "
		"head -c 700000 /dev/urandom >dir/big.bin && "
		"echo long >%s/%s/f0123456789012345678901234567890 && "
		"ln dir/a.txt dir/hard.txt && ln -s a.txt dir/sym && mkfifo fifo && "
		"truncate -s 3M sparse && printf data | dd of=sparse bs=1 seek=1500000 "
		"conv=notrunc 2>/dev/null && truncate -s 9M sparse2 && for i in 1 2 3 4 5 6 7 8; "
		"do printf x$i | dd of=sparse2 bs=1 seek=${i}000000 conv=notrunc 2>/dev/null; "
		"done && %s && %s",
		f->tmp, l60, l60, l60, l60, very_long ? very_long_path : "true",
		is_root() ? "mknod chr c 1 3 && mknod blk b 7 200" : "true");

	assert_int_equal(rc, 0);
}

/* Unpack tar (a file in tmp) into stage/layer; returns the layer's dirfd. */
static int unpack(const struct fixture *f, const char *tar, enum whiteout_form wf,
		  struct image_unpack_result *res)
{
	char path[160];
	struct err e = { 0 };
	int fd, dfd;

	sh("rm -rf %s/layer %s/layer" TAR_SPLIT_SUFFIX, f->stage, f->stage);
	assert_int_equal(mkdirat(f->stage_fd, "layer", 0755), 0);
	dfd = openat(f->stage_fd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	snprintf(path, sizeof(path), "%s/%s", f->tmp, tar);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	if (image_layer_unpack_fd(fd, dfd, wf, res, &e) != 0)
		fail_msg("unpack %s: %s", tar, e.msg);
	close(fd);
	return dfd;
}

static bool has_split(const struct fixture *f)
{
	return faccessat(f->stage_fd, "layer" TAR_SPLIT_SUFFIX, F_OK, 0) == 0;
}

static int replay(const struct fixture *f, int dfd, const char *comp, struct buf *out,
		  struct image_tar_result *res, struct err *e)
{
	int sfd = openat(f->stage_fd, "layer" TAR_SPLIT_SUFFIX, O_RDONLY | O_CLOEXEC);
	int rc;

	assert_true(sfd >= 0);
	memset(out, 0, sizeof(*out));
	rc = image_tar_split_replay(sfd, dfd, comp, mem_write, out, res, e);
	close(sfd);
	return rc;
}

/* unpack + replay gives the original bytes, for every compression. */
static void check_roundtrip(const struct fixture *f, const char *tar, const char *orig,
			    enum whiteout_form wf)
{
	struct image_unpack_result ur;
	struct image_tar_result tr;
	struct buf want, got;
	struct err e = { 0 };
	char path[160];
	struct stat st;
	int dfd = unpack(f, tar, wf, &ur);

	assert_true(has_split(f));
	/* File content is referenced, not copied (dir/big.bin is random). */
	assert_int_equal(fstatat(f->stage_fd, "layer" TAR_SPLIT_SUFFIX, &st, 0), 0);
	assert_true(st.st_size < 100000);
	snprintf(path, sizeof(path), "%s/%s", f->tmp, orig);
	read_file(path, &want);
	if (replay(f, dfd, "none", &got, &tr, &e) != 0)
		fail_msg("replay %s: %s", tar, e.msg);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	assert_string_equal(tr.diff_id, ur.diff_id);
	assert_int_equal(tr.size, (long long)want.len);
	free(got.data);
	for (int i = 0; i < 2; i++) {
		const char *comp = i ? "zstd" : "gzip";
		char blob[DIGEST_BUF];
		if (replay(f, dfd, comp, &got, &tr, &e) != 0)
			fail_msg("replay %s as %s: %s", tar, comp, e.msg);
		assert_string_equal(tr.diff_id, ur.diff_id);
		assert_int_equal(digest_buf(got.data, got.len, blob), 0);
		assert_string_equal(tr.blob_digest, blob);
		assert_int_equal(tr.blob_size, (long long)got.len);
		free(got.data);
	}
	free(want.data);
	close(dfd);
}

/* ---- formats ---------------------------------------------------------------- */

static void gnu_tar(const struct fixture *f, const char *format, const char *tar)
{
	make_tree(f, strcmp(format, "ustar") != 0);
	assert_int_equal(sh("cd %s && tar --format=%s %s -C tree -cf %s .", f->tmp, format,
			    strcmp(format, "ustar") ? "--sparse" : "", tar),
			 0);
}

static void test_gnu_format(void **state)
{
	gnu_tar(*state, "gnu", "t.tar");
	check_roundtrip(*state, "t.tar", "t.tar", WHITEOUT_OCI);
}

static void test_posix_format(void **state)
{
	gnu_tar(*state, "posix", "t.tar");
	check_roundtrip(*state, "t.tar", "t.tar", WHITEOUT_OCI);
}

static void test_ustar_format(void **state)
{
	gnu_tar(*state, "ustar", "t.tar");
	check_roundtrip(*state, "t.tar", "t.tar", WHITEOUT_OCI);
}

static void test_oldgnu_format(void **state)
{
	gnu_tar(*state, "oldgnu", "t.tar");
	check_roundtrip(*state, "t.tar", "t.tar", WHITEOUT_OCI);
}

/* Python's tarfile: other padding (a 10 KiB record), other PAX records. */
static void python_tar(const struct fixture *f, const char *format)
{
	make_tree(f, true);
	assert_int_equal(sh("cd %s && python3 -c 'import tarfile; "
			    "t = tarfile.open(\"p.tar\", \"w\", format=tarfile.%s); "
			    "t.add(\"tree\", arcname=\".\"); t.close()'",
			    f->tmp, format),
			 0);
	check_roundtrip(f, "p.tar", "p.tar", WHITEOUT_OCI);
}

static void test_python_gnu(void **state)
{
	python_tar(*state, "GNU_FORMAT");
}

static void test_python_pax(void **state)
{
	python_tar(*state, "PAX_FORMAT");
}

static void test_python_ustar(void **state)
{
	struct fixture *f = *state;

	make_tree(f, false);
	assert_int_equal(sh("cd %s && python3 -c 'import tarfile; "
			    "t = tarfile.open(\"p.tar\", \"w\", format=tarfile.USTAR_FORMAT); "
			    "t.add(\"tree\", arcname=\"tree\"); t.close()'",
			    f->tmp),
			 0);
	check_roundtrip(f, "p.tar", "p.tar", WHITEOUT_OCI);
}

/* The tar as decompressed is what comes back, whatever the blob was. */
static void test_compressed_input(void **state)
{
	struct fixture *f = *state;

	gnu_tar(f, "posix", "t.tar");
	assert_int_equal(sh("cd %s && gzip -k t.tar && zstd -q t.tar", f->tmp), 0);
	check_roundtrip(f, "t.tar.gz", "t.tar", WHITEOUT_OCI);
	check_roundtrip(f, "t.tar.zst", "t.tar", WHITEOUT_OCI);
}

/* OCI whiteouts: kept as markers (OCI form) or turned into 0:0 devices and
 * an opaque xattr (overlay form, root only): raw bytes either way. */
static void test_whiteouts(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(sh("cd %s && mkdir -p w/dir && echo keep >w/dir/k && : >w/.wh.gone && "
			    ": >w/dir/.wh..wh..opq && tar -C w -cf w.tar .",
			    f->tmp),
			 0);
	check_roundtrip(f, "w.tar", "w.tar", WHITEOUT_OCI);
	if (is_root())
		check_roundtrip(f, "w.tar", "w.tar", WHITEOUT_OVERLAY);
}

/* ---- when no record is kept ---------------------------------------------------- */

/* The second a.txt replaces the first: its content is gone from the layer. */
static void test_duplicate_drops_record(void **state)
{
	struct fixture *f = *state;
	struct image_unpack_result ur;

	make_tree(f, false);
	assert_int_equal(sh("cd %s && tar -C tree -cf d.tar dir/a.txt && echo other >x && "
			    "tar -C tree -rf d.tar dir/a.txt",
			    f->tmp),
			 0);
	close(unpack(f, "d.tar", WHITEOUT_OCI, &ur));
	assert_false(has_split(f));
}

/* Outside a staging dir nothing is written beside the destination. */
static void test_not_staged(void **state)
{
	struct fixture *f = *state;
	struct image_unpack_result ur;
	struct err e = { 0 };
	char path[160];
	int fd, dfd;

	make_tree(f, false);
	assert_int_equal(sh("cd %s && tar -C tree -cf t.tar . && mkdir plain", f->tmp), 0);
	snprintf(path, sizeof(path), "%s/plain", f->tmp);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/t.tar", f->tmp);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(image_layer_unpack_fd(fd, dfd, WHITEOUT_OCI, &ur, &e), 0);
	close(fd);
	close(dfd);
	snprintf(path, sizeof(path), "%s/plain" TAR_SPLIT_SUFFIX, f->tmp);
	assert_int_equal(access(path, F_OK), -1);
}

/* A failed unpack leaves no record behind. */
static void test_failed_unpack_no_record(void **state)
{
	struct fixture *f = *state;
	struct image_unpack_result ur;
	struct err e = { 0 };
	char path[160];
	int fd, dfd;

	make_tree(f, false);
	assert_int_equal(
		sh("cd %s && tar -C tree -cf t.tar . && head -c 5000 t.tar >cut.tar", f->tmp), 0);
	assert_int_equal(mkdirat(f->stage_fd, "layer", 0755), 0);
	dfd = openat(f->stage_fd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/cut.tar", f->tmp);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(image_layer_unpack_fd(fd, dfd, WHITEOUT_OCI, &ur, &e), -1);
	close(fd);
	close(dfd);
	assert_false(has_split(f));
}

/* ---- tampering and corruption ---------------------------------------------------- */

static void test_modified_file_fails(void **state)
{
	struct fixture *f = *state;
	struct image_unpack_result ur;
	struct image_tar_result tr;
	struct err e = { 0 };
	struct buf got;
	int dfd;

	make_tree(f, false);
	assert_int_equal(sh("cd %s && tar -C tree -cf t.tar .", f->tmp), 0);
	dfd = unpack(f, "t.tar", WHITEOUT_OCI, &ur);
	/* Same size, other bytes: only the digest can tell. */
	assert_int_equal(sh("printf dEep >%s/layer/dir/sub/x && echo >>%s/layer/dir/sub/x",
			    f->stage, f->stage),
			 0);
	assert_int_equal(replay(f, dfd, "none", &got, &tr, &e), -1);
	assert_non_null(strstr(e.msg, "no longer reproduce"));
	free(got.data);
	/* Another size: caught before reading. */
	assert_int_equal(sh("echo longer-now >%s/layer/dir/sub/x", f->stage), 0);
	assert_int_equal(replay(f, dfd, "none", &got, &tr, &e), -1);
	assert_non_null(strstr(e.msg, "dir/sub/x changed"));
	free(got.data);
	close(dfd);
}

/* A symlink planted where a file was is not followed out of the layer. */
static void test_symlink_not_followed(void **state)
{
	struct fixture *f = *state;
	struct image_unpack_result ur;
	struct image_tar_result tr;
	struct err e = { 0 };
	struct buf got;
	int dfd;

	make_tree(f, false);
	assert_int_equal(sh("cd %s && tar -C tree -cf t.tar .", f->tmp), 0);
	dfd = unpack(f, "t.tar", WHITEOUT_OCI, &ur);
	assert_int_equal(sh("cd %s/layer/dir/sub && rm x && ln -s /etc/hostname x", f->stage), 0);
	assert_int_equal(replay(f, dfd, "none", &got, &tr, &e), -1);
	assert_int_equal(e.code, ELOOP);
	free(got.data);
	close(dfd);
}

static void test_truncated_record_fails(void **state)
{
	struct fixture *f = *state;
	struct image_unpack_result ur;
	struct image_tar_result tr;
	struct err e = { 0 };
	struct buf got;
	int dfd;

	make_tree(f, false);
	assert_int_equal(sh("cd %s && tar -C tree -cf t.tar .", f->tmp), 0);
	dfd = unpack(f, "t.tar", WHITEOUT_OCI, &ur);
	assert_int_equal(sh("cd %s && zstd -qdc layer" TAR_SPLIT_SUFFIX " | head -c 3000 | "
			    "zstd -q >x && mv x layer" TAR_SPLIT_SUFFIX,
			    f->stage),
			 0);
	assert_int_equal(replay(f, dfd, "none", &got, &tr, &e), -1);
	assert_non_null(strstr(e.msg, "tar-split"));
	free(got.data);
	close(dfd);
}

/* ---- through a store ----------------------------------------------------------------- */

static void test_write_stored(void **state)
{
	struct fixture *f = *state;
	struct image_import_opts o = { 0 };
	struct image_tar_result tr;
	struct store s;
	struct err e = { 0 };
	struct buf want, got = { 0 };
	char root[128], path[256], id[DIGEST_BUF], chain[DIGEST_BUF];
	int fd;

	make_tree(f, true);
	assert_int_equal(sh("cd %s && tar --format=gnu -C tree -cf t.tar .", f->tmp), 0);
	snprintf(root, sizeof(root), "%s/store", f->tmp);
	assert_int_equal(storage_open(&s, root, "vfs", &e), 0);
	snprintf(path, sizeof(path), "%s/t.tar", f->tmp);
	read_file(path, &want);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (image_import(&s, fd, &o, id, &e) != 0)
		fail_msg("import: %s", e.msg);
	close(fd);
	/* One layer: its chain id is its diff_id, the tar's digest. */
	assert_int_equal(digest_buf(want.data, want.len, chain), 0);
	if (image_layer_write_stored(&s, chain, "none", mem_write, &got, &tr, &e) != 0)
		fail_msg("write_stored: %s", e.msg);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	assert_string_equal(tr.diff_id, chain);
	free(got.data);

	/* Without its record the layer is regenerated: another tar, no error. */
	snprintf(path, sizeof(path), "%s/layers/%s/" TAR_SPLIT_FILE, root, digest_hex(chain));
	assert_int_equal(unlink(path), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(image_layer_write_stored(&s, chain, "none", mem_write, &got, &tr, &e), 0);
	assert_string_not_equal(tr.diff_id, chain);
	free(got.data);
	free(want.data);
	storage_close(&s);
}

/* ---- the output buffer under replay and the tar writer ------------------ */

static int fail_write(void *ctx, const void *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
	errno = ENOSPC;
	return -1;
}

/* Small, big (goes straight through), small, and enough small ones to
 * overflow: the bytes come out in the order they went in (both writers
 * once let a big piece overtake gathered headers). */
static void test_outbuf_keeps_order(void **state)
{
	size_t big = IMAGE_OUTBUF_SIZE / 2, small = 1000, n_small = IMAGE_OUTBUF_SIZE / small + 3;
	unsigned char *in = malloc(big + small);
	struct buf got = { 0 };
	struct image_outbuf o;
	size_t off = 0;

	(void)state;
	assert_non_null(in);
	assert_int_equal(image_outbuf_init(&o, mem_write, &got), 0);
	memset(in, 'a', small);
	assert_int_equal(image_outbuf_write(&o, in, small), 0);
	memset(in, 'b', big);
	assert_int_equal(image_outbuf_write(&o, in, big), 0);
	for (size_t i = 0; i < n_small; i++) {
		memset(in, 'c' + (int)(i % 20), small);
		assert_int_equal(image_outbuf_write(&o, in, small), 0);
	}
	assert_int_equal(image_outbuf_flush(&o), 0);
	assert_int_equal(got.len, small + big + n_small * small);
	for (size_t i = 0; i < small; i++)
		assert_int_equal(got.data[off++], 'a');
	for (size_t i = 0; i < big; i++)
		assert_int_equal(got.data[off++], 'b');
	for (size_t i = 0; i < n_small; i++)
		for (size_t k = 0; k < small; k++)
			assert_int_equal(got.data[off++], 'c' + (int)(i % 20));
	image_outbuf_release(&o);
	free(got.data);
	free(in);
}

static void test_outbuf_write_error(void **state)
{
	static const unsigned char big[IMAGE_OUTBUF_SIZE / 2];
	struct image_outbuf o;

	(void)state;
	assert_int_equal(image_outbuf_init(&o, fail_write, NULL), 0);
	assert_int_equal(image_outbuf_write(&o, "x", 1), 0); /* only gathered */
	assert_int_equal(image_outbuf_write(&o, big, sizeof(big)), -1);
	assert_int_equal(o.werr, ENOSPC);
	image_outbuf_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gnu_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_posix_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ustar_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oldgnu_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python_gnu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python_pax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python_ustar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compressed_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_drops_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_staged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_unpack_no_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modified_file_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_record_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_stored, setup, teardown),
		cmocka_unit_test(test_outbuf_keeps_order),
		cmocka_unit_test(test_outbuf_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
