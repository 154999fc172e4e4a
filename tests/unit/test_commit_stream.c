/* Unit tests of image_layer_write_unpack (image/commit_stream.c): the
 * streamed tar is the one image_layer_write_tar writes, the layer comes out
 * as unpack makes it, whiteouts survive the trip, and a failure on either
 * side is reported as that side's one message without a hang. Root-only
 * cases skip without root. */
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fs.h"
#include "image/commit_stream.h"
#include "image/image.h"

struct fx {
	char dir[64];
	int src, dst; /* dir/src and dir/dst */
	bool mounted; /* dir/dst is a small tmpfs */
};

static int open_sub(const char *dir, const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(mkdir(p, 0755), 0);
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/mydocker-unit-cs-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->src = open_sub(f->dir, "src");
	f->dst = open_sub(f->dir, "dst");
	assert_true(f->src >= 0 && f->dst >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	char p[128];

	close(f->src);
	close(f->dst);
	snprintf(p, sizeof(p), "%s/dst", f->dir);
	if (f->mounted)
		assert_int_equal(umount2(p, MNT_DETACH), 0);
	assert_int_equal(fs_rm_rf_at(AT_FDCWD, f->dir, &e), 0);
	free(f);
	return 0;
}

static void put(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* n bytes of a pattern that no block repeats. */
static void put_big(int dirfd, const char *name, size_t n)
{
	char *data = malloc(n);

	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	put(dirfd, name, data, n);
	free(data);
}

/* Files, dirs, links and a file bigger than the whole ring. */
static void make_tree(int fd)
{
	assert_int_equal(mkdirat(fd, "etc", 0755), 0);
	assert_int_equal(mkdirat(fd, "etc/sub", 0700), 0);
	put(fd, "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 26);
	put(fd, "etc/sub/b", "bee", 3);
	put(fd, "a.txt", "hello", 5);
	assert_int_equal(linkat(fd, "a.txt", fd, "etc/hard", 0), 0);
	assert_int_equal(symlinkat("../a.txt", fd, "etc/link"), 0);
	assert_int_equal(mkfifoat(fd, "fifo", 0644), 0);
	put_big(fd, "big", (9u << 20) + 123);
}

static int count_write(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	*(long long *)ctx += (long long)len;
	return 0;
}

/* The diff_id and size image_layer_write_tar gives for dirfd. */
static void plain_tar(int dirfd, enum whiteout_form wf, struct image_tar_result *res)
{
	struct err e = { 0 };
	long long n = 0;

	if (image_layer_write_tar(dirfd, wf, "none", count_write, &n, res, &e) != 0)
		fail_msg("write tar: %s", e.msg);
	assert_int_equal(n, res->size);
}

static void stream(struct fx *f, enum whiteout_form wf, const char *const *skip,
		   struct image_tar_result *tar, struct image_unpack_result *un)
{
	struct err e = { 0 };

	if (image_layer_write_unpack(f->src, wf, skip, f->dst, tar, un, &e) != 0)
		fail_msg("write+unpack: %s", e.msg);
}

static void test_same_tar_as_writer_and_round_trip(void **state)
{
	struct fx *f = *state;
	struct image_tar_result plain, tar, back;
	struct image_unpack_result un;
	struct stat a, b;

	make_tree(f->src);
	plain_tar(f->src, WHITEOUT_OCI, &plain);
	stream(f, WHITEOUT_OCI, NULL, &tar, &un);
	assert_string_equal(tar.diff_id, plain.diff_id);
	assert_string_equal(tar.blob_digest, plain.diff_id);
	assert_string_equal(un.diff_id, plain.diff_id);
	assert_int_equal(tar.size, plain.size);
	assert_int_equal(tar.blob_size, plain.size);
	assert_int_equal(un.blob_size, plain.size);
	/* The stored layer gives the same tar back. */
	plain_tar(f->dst, WHITEOUT_OCI, &back);
	assert_string_equal(back.diff_id, plain.diff_id);
	assert_int_equal(fstatat(f->dst, "etc/hard", &a, 0), 0);
	assert_int_equal(fstatat(f->dst, "a.txt", &b, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(fstatat(f->dst, "big", &a, 0), 0);
	assert_int_equal(a.st_size, (9 << 20) + 123);
}

static void test_reproducible(void **state)
{
	struct fx *f = *state;
	struct image_tar_result t1, t2;
	struct image_unpack_result un;
	struct err e = { 0 };
	char p[128];

	make_tree(f->src);
	stream(f, WHITEOUT_OCI, NULL, &t1, &un);
	close(f->dst);
	snprintf(p, sizeof(p), "%s/dst", f->dir);
	assert_int_equal(fs_rm_rf_at(AT_FDCWD, p, &e), 0);
	f->dst = open_sub(f->dir, "dst");
	stream(f, WHITEOUT_OCI, NULL, &t2, &un);
	assert_string_equal(t1.diff_id, t2.diff_id);
}

static void test_skip(void **state)
{
	struct fx *f = *state;
	const char *skip[] = { "etc/passwd", "etc/sub", NULL };
	struct image_tar_result tar;
	struct image_unpack_result un;
	struct stat st;

	make_tree(f->src);
	stream(f, WHITEOUT_OCI, skip, &tar, &un);
	assert_int_equal(fstatat(f->dst, "etc/passwd", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(f->dst, "etc/sub", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(f->dst, "etc/link", &st, AT_SYMLINK_NOFOLLOW), 0);
}

/* Overlay whiteouts and opaque dirs: OCI markers in the tar, overlay's form
 * again in the layer. */
static void test_overlay_whiteouts(void **state)
{
	struct fx *f = *state;
	struct image_tar_result plain, tar;
	struct image_unpack_result un;
	struct stat st;
	char v = 0;
	int d;

	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdirat(f->src, "d", 0755), 0);
	put(f->src, "d/kept", "x", 1);
	assert_int_equal(mknodat(f->src, "gone", S_IFCHR, makedev(0, 0)), 0);
	d = openat(f->src, "d", O_RDONLY | O_DIRECTORY);
	if (fsetxattr(d, "trusted.overlay.opaque", "y", 1, 0) != 0) {
		close(d);
		skip(); /* no trusted xattrs on this filesystem */
	}
	close(d);
	plain_tar(f->src, WHITEOUT_OVERLAY, &plain);
	stream(f, WHITEOUT_OVERLAY, NULL, &tar, &un);
	assert_string_equal(tar.diff_id, plain.diff_id);
	assert_int_equal(fstatat(f->dst, "gone", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	d = openat(f->dst, "d", O_RDONLY | O_DIRECTORY);
	assert_true(d >= 0);
	assert_int_equal(fgetxattr(d, "trusted.overlay.opaque", &v, 1), 1);
	assert_int_equal(v, 'y');
	close(d);
}

/* The writer fails: its message, not the unpacker's "stream ended". */
static void test_writer_error_reported(void **state)
{
	struct fx *f = *state;
	struct image_tar_result tar;
	struct image_unpack_result un;
	struct err e = { 0 };
	char p[128];
	int path_fd;

	snprintf(p, sizeof(p), "%s/src", f->dir);
	path_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC); /* cannot be listed */
	assert_true(path_fd >= 0);
	assert_int_equal(
		image_layer_write_unpack(path_fd, WHITEOUT_OCI, NULL, f->dst, &tar, &un, &e), -1);
	close(path_fd);
	assert_non_null(strstr(e.msg, "write layer tar: read dir"));
	assert_int_equal(e.code, EBADF);
}

/* The unpacker fails at once while the writer still has megabytes to go:
 * the writer, blocked on a full ring, must be let go. */
static void test_unpacker_error_early(void **state)
{
	struct fx *f = *state;
	struct image_tar_result tar;
	struct image_unpack_result un;
	struct err e = { 0 };
	int file_fd;

	make_tree(f->src);
	file_fd = openat(f->src, "a.txt", O_RDONLY | O_CLOEXEC); /* not a directory */
	assert_true(file_fd >= 0);
	assert_int_equal(
		image_layer_write_unpack(f->src, WHITEOUT_OCI, NULL, file_fd, &tar, &un, &e), -1);
	close(file_fd);
	assert_non_null(strstr(e.msg, "open layer directory"));
}

/* The unpacker fails midway (a full filesystem): its error, no hang. */
static void test_unpacker_error_midway(void **state)
{
	struct fx *f = *state;
	struct image_tar_result tar;
	struct image_unpack_result un;
	struct err e = { 0 };
	char p[128];

	if (geteuid() != 0)
		skip();
	snprintf(p, sizeof(p), "%s/dst", f->dir);
	close(f->dst);
	if (mount("mydocker-unit-cs", p, "tmpfs", 0, "size=2m") != 0)
		skip();
	f->mounted = true;
	f->dst = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dst >= 0);
	make_tree(f->src);
	put_big(f->src, "zz-more", 6u << 20);
	assert_int_equal(
		image_layer_write_unpack(f->src, WHITEOUT_OCI, NULL, f->dst, &tar, &un, &e), -1);
	assert_int_equal(e.code, ENOSPC);
	assert_null(strstr(e.msg, "write layer tar"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_tar_as_writer_and_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reproducible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_error_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpacker_error_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpacker_error_midway, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
