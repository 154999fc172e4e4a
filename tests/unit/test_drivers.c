/* test_drivers: the vfs tree copy with OCI whiteouts (no root), and, as
 * root, real overlay and vfs mounts: whiteouts, opaque dirs, copy-up,
 * rename of a lower dir, 200-layer images by both mount paths. */
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
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fs.h"
#include "storage/drivers/driver.h"
#include "storage/drivers/private.h"

static char tmp[256];

/* Paths below the test's temp dir, from a ring of buffers. */
static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *P(const char *fmt, ...)
{
	static char ring[8][4096];
	static int k;
	char rel[3500];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	k = (k + 1) % 8;
	snprintf(ring[k], sizeof(ring[k]), "%s/%s", tmp, rel);
	return ring[k];
}

static void put(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void md(const char *path, mode_t mode)
{
	assert_int_equal(mkdir(path, mode), 0);
}

static char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int run(char *const argv[])
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool mounted_below_tmp(void)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[8192];
	bool found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, tmp))
			found = true;
	fclose(f);
	return found;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/mydocker-ut-drivers.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

/* Unmount whatever a failed test left, then remove the tree. */
static int teardown(void **state)
{
	struct err err;
	(void)state;

	for (int i = 0; i < 8 && mounted_below_tmp(); i++) {
		FILE *f = fopen("/proc/self/mounts", "re");
		char dev[4096], mnt[4096];
		while (f && fscanf(f, "%4095s %4095s %*[^\n]", dev, mnt) == 2)
			if (strstr(mnt, tmp))
				umount2(mnt, MNT_DETACH);
		if (f)
			fclose(f);
	}
	unsetenv("MYDOCKER_OVERLAY_LEGACY");
	return fs_rm_rf_at(AT_FDCWD, tmp, &err);
}

static bool is_root(void)
{
	return geteuid() == 0;
}

/* ---- vfs tree copy (no root needed) ------------------------------------ */

/* base layer l0 and top layer l1 in OCI whiteout form */
static void make_oci_layers(void)
{
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	md(P("l0"), 0755);
	put(P("l0/a.txt"), "a", 0644);
	put(P("l0/gone.txt"), "x", 0644);
	md(P("l0/gonedir"), 0755);
	put(P("l0/gonedir/f"), "x", 0644);
	md(P("l0/opq"), 0755);
	put(P("l0/opq/old.txt"), "old", 0644);
	md(P("l0/keep"), 0750);
	put(P("l0/keep/k.txt"), "k", 0600);
	put(P("l0/hard1"), "hh", 0644);
	assert_int_equal(link(P("l0/hard1"), P("l0/hard2")), 0);
	assert_int_equal(symlink("a.txt", P("l0/sym")), 0);
	put(P("l0/suid"), "#!/bin/sh\n", 04755);
	assert_int_equal(mkfifo(P("l0/fifo"), 0640), 0);
	assert_int_equal(setxattr(P("l0/a.txt"), "user.mydocker", "v1", 2, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, P("l0/gone.txt"), old, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, P("l0/keep/k.txt"), old, 0), 0);

	md(P("l1"), 0755);
	put(P("l1/.wh.gone.txt"), "", 0644);
	put(P("l1/.wh.gonedir"), "", 0644);
	md(P("l1/opq"), 0711);
	put(P("l1/opq/.wh..wh..opq"), "", 0644);
	put(P("l1/opq/new.txt"), "new", 0644);
	md(P("l1/keep"), 0750);
	put(P("l1/keep/k2.txt"), "k2", 0644);
	put(P("l1/sym"), "now a file", 0644); /* replaces the lower symlink */
	assert_int_equal(utimensat(AT_FDCWD, P("l1/keep"), old, 0), 0);
}

static void copy_layers(const char *dst)
{
	struct tree_copy_opts opts = { .whiteouts = true, .root_meta = true };
	struct err err = { 0 };
	int dfd = open(dst, O_RDONLY | O_DIRECTORY);

	for (int i = 0; i < 2; i++) {
		int sfd = open(P("l%d", i), O_RDONLY | O_DIRECTORY);
		int rc = tree_copy(sfd, dfd, &opts, &err);
		if (rc < 0)
			print_error("tree_copy: %s\n", err.msg);
		assert_int_equal(rc, 0);
		close(sfd);
	}
	close(dfd);
}

static void test_vfs_copy_whiteouts(void **state)
{
	struct stat st, st2;
	char val[16];
	(void)state;

	make_oci_layers();
	md(P("up"), 0700);
	copy_layers(P("up"));

	assert_string_equal(slurp(P("up/a.txt")), "a");
	assert_int_equal(lgetxattr(P("up/a.txt"), "user.mydocker", val, sizeof(val)), 2);
	assert_false(exists(P("up/gone.txt")));
	assert_false(exists(P("up/.wh.gone.txt")));
	assert_false(exists(P("up/gonedir")));
	/* opaque: the lower content is gone, the layer's own is there */
	assert_false(exists(P("up/opq/old.txt")));
	assert_false(exists(P("up/opq/.wh..wh..opq")));
	assert_string_equal(slurp(P("up/opq/new.txt")), "new");
	assert_int_equal(stat(P("up/opq"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	/* merged dir: both layers' files, top layer's metadata */
	assert_string_equal(slurp(P("up/keep/k.txt")), "k");
	assert_string_equal(slurp(P("up/keep/k2.txt")), "k2");
	assert_int_equal(stat(P("up/keep"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(stat(P("up/keep/k.txt"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	/* hard link pair stays one inode */
	assert_int_equal(stat(P("up/hard1"), &st), 0);
	assert_int_equal(stat(P("up/hard2"), &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(st.st_nlink, 2);
	/* a symlink of a lower layer replaced by a file */
	assert_int_equal(lstat(P("up/sym"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(stat(P("up/suid"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(lstat(P("up/fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
}

static void test_copy_symlink_and_root_meta(void **state)
{
	struct tree_copy_opts opts = { .root_meta = true };
	struct err err = { 0 };
	char buf[64];
	struct stat st;
	int sfd, dfd;
	(void)state;

	md(P("src"), 01750);
	assert_int_equal(chmod(P("src"), 01750), 0);
	assert_int_equal(symlink("/etc/passwd", P("src/abs")), 0);
	put(P("src/.wh.kept"), "", 0644); /* no whiteout mode: an ordinary file */
	md(P("dst"), 0755);
	sfd = open(P("src"), O_RDONLY | O_DIRECTORY);
	dfd = open(P("dst"), O_RDONLY | O_DIRECTORY);
	assert_int_equal(tree_copy(sfd, dfd, &opts, &err), 0);
	close(sfd);
	close(dfd);
	assert_int_equal(readlink(P("dst/abs"), buf, sizeof(buf)), 11);
	assert_true(exists(P("dst/.wh.kept")));
	assert_int_equal(stat(P("dst"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 01750);
}

static void test_driver_table(void **state)
{
	(void)state;
	assert_ptr_equal(graph_driver_by_name("overlay"), &graph_driver_overlay);
	assert_ptr_equal(graph_driver_by_name("overlay2"), &graph_driver_overlay);
	assert_ptr_equal(graph_driver_by_name("aufs"), &graph_driver_aufs);
	assert_ptr_equal(graph_driver_by_name("vfs"), &graph_driver_vfs);
	assert_null(graph_driver_by_name("btrfs"));
	assert_null(graph_driver_by_name(NULL));
	assert_int_equal(graph_driver_vfs.whiteouts, WHITEOUT_OCI);
	assert_int_equal(graph_driver_overlay.whiteouts, WHITEOUT_OVERLAY);
	assert_true(graph_driver_vfs.supported(tmp));
	/* aufs is not in mainline kernels */
	assert_int_equal(graph_driver_aufs.supported(tmp), graph_fs_listed("aufs"));
	if (is_root() && graph_fs_listed("overlay"))
		assert_ptr_equal(graph_driver_pick(tmp), &graph_driver_overlay);
	else
		assert_non_null(graph_driver_pick(tmp));
}

static void test_umount_not_mounted(void **state)
{
	struct err err = { 0 };
	(void)state;

	if (!is_root()) /* umount2(2) is EPERM without CAP_SYS_ADMIN */
		skip();
	md(P("m"), 0755);
	assert_int_equal(graph_driver_overlay.umount(P("m"), &err), 0);
	assert_int_equal(graph_driver_vfs.umount(P("nonexistent"), &err), 0);
}

/* ---- root only: real mounts --------------------------------------------- */

static void mount_req(struct graph_mount_req *req, const char *const *lowers, size_t n)
{
	static char up[4096], wk[4096], mg[4096], sd[4096];

	snprintf(up, sizeof(up), "%s", P("upper"));
	snprintf(wk, sizeof(wk), "%s", P("work"));
	snprintf(mg, sizeof(mg), "%s", P("merged"));
	snprintf(sd, sizeof(sd), "%s", P("l"));
	md(up, 0755);
	md(wk, 0700);
	md(mg, 0755);
	*req = (struct graph_mount_req){ lowers, n, up, wk, mg, sd, false };
}

static void do_mount(const struct graph_driver *d, const struct graph_mount_req *req)
{
	struct err err = { 0 };
	int rc = d->mount(req, &err);

	if (rc < 0)
		print_error("%s mount: %s\n", d->name, err.msg);
	assert_int_equal(rc, 0);
}

static void do_umount(const struct graph_driver *d, const char *merged)
{
	struct err err = { 0 };

	assert_int_equal(d->umount(merged, &err), 0);
	assert_false(mounted_below_tmp());
}

/* l0 (base) plain; l1 (top) with an overlay whiteout and an opaque dir. */
static void make_overlay_layers(void)
{
	md(P("l0"), 0755);
	put(P("l0/deleteme"), "d", 0644);
	put(P("l0/whited"), "w", 0644);
	md(P("l0/opq"), 0755);
	put(P("l0/opq/hidden"), "h", 0644);
	md(P("l0/dir1"), 0755);
	put(P("l0/dir1/x"), "x", 0644);
	md(P("l0/dir2"), 0755);
	put(P("l0/dir2/y"), "y", 0644);
	put(P("l0/renameme"), "r", 0644);
	md(P("l1"), 0755);
	assert_int_equal(mknod(P("l1/whited"), S_IFCHR | 0000, makedev(0, 0)), 0);
	md(P("l1/opq"), 0755);
	assert_int_equal(setxattr(P("l1/opq"), "trusted.overlay.opaque", "y", 1, 0), 0);
	put(P("l1/opq/visible"), "v", 0644);
}

static void check_overlay_semantics(void)
{
	struct graph_mount_req req;
	const char *lowers[2];
	char l0[4096], l1[4096];
	struct stat st;
	int rc;

	make_overlay_layers();
	snprintf(l1, sizeof(l1), "%s", P("l1"));
	snprintf(l0, sizeof(l0), "%s", P("l0"));
	lowers[0] = l1; /* top first */
	lowers[1] = l0;
	mount_req(&req, lowers, 2);
	do_mount(&graph_driver_overlay, &req);

	assert_false(exists(P("merged/whited")));
	assert_false(exists(P("merged/opq/hidden")));
	assert_true(exists(P("merged/opq/visible")));
	/* writes land in upper, never in a lower */
	put(P("merged/newfile"), "n", 0644);
	assert_true(exists(P("upper/newfile")));
	assert_false(exists(P("l0/newfile")) || exists(P("l1/newfile")));
	/* deleting a lower file leaves a 0:0 char device in upper */
	assert_int_equal(unlink(P("merged/deleteme")), 0);
	assert_int_equal(lstat(P("upper/deleteme"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	assert_true(exists(P("l0/deleteme")));
	/* rename of a lower file: copy-up + whiteout */
	assert_int_equal(rename(P("merged/renameme"), P("merged/renamed")), 0);
	assert_string_equal(slurp(P("upper/renamed")), "r");
	assert_int_equal(lstat(P("upper/renameme"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* rename(2) of a lower dir is EXDEV unless redirect_dir is on (Docker's
	 * default): mv copes by copying. Either way mv must work. */
	rc = rename(P("merged/dir1"), P("merged/probe"));
	assert_true(rc == 0 || errno == EXDEV);
	if (rc == 0)
		assert_int_equal(rename(P("merged/probe"), P("merged/dir1")), 0);
	assert_int_equal(run((char *const[]){ "mv", (char *)P("merged/dir1"),
					      (char *)P("merged/moved1"), NULL }),
			 0);
	assert_int_equal(run((char *const[]){ "busybox", "mv", (char *)P("merged/dir2"),
					      (char *)P("merged/moved2"), NULL }),
			 0);
	assert_string_equal(slurp(P("merged/moved1/x")), "x");
	assert_string_equal(slurp(P("merged/moved2/y")), "y");
	assert_false(exists(P("merged/dir1")) || exists(P("merged/dir2")));
	assert_true(exists(P("l0/dir1/x")) && exists(P("l0/dir2/y")));
	do_umount(&graph_driver_overlay, req.merged);
}

static void test_overlay_semantics_fsapi(void **state)
{
	(void)state;
	if (!is_root() || !graph_fs_listed("overlay"))
		skip();
	check_overlay_semantics();
}

static void test_overlay_semantics_legacy(void **state)
{
	(void)state;
	if (!is_root() || !graph_fs_listed("overlay"))
		skip();
	setenv("MYDOCKER_OVERLAY_LEGACY", "1", 1);
	check_overlay_semantics();
}

#define DEEP 200

/* 200 layers in 120-character dirs: the classic option string would be
 * ~30 KiB, far over a page. */
static void check_deep(bool legacy)
{
	static char names[DEEP][256];
	const char *lowers[DEEP];
	struct graph_mount_req req;
	char dots[121];

	memset(dots, 'd', 120);
	dots[120] = '\0';
	for (int i = 0; i < DEEP; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%03d", i);
		memcpy(dots, num, 3);
		snprintf(names[i], sizeof(names[i]), "%s", P("%s", dots));
		md(names[i], 0755);
		put(P("%s/f%03d", dots, i), num, 0644);
		put(P("%s/common", dots), num, 0644);
		lowers[i] = names[i]; /* index 0 is the top */
	}
	if (legacy)
		setenv("MYDOCKER_OVERLAY_LEGACY", "1", 1);
	mount_req(&req, lowers, DEEP);
	do_mount(&graph_driver_overlay, &req);
	for (int i = 0; i < DEEP; i++)
		assert_true(exists(P("merged/f%03d", i)));
	assert_string_equal(slurp(P("merged/common")), "000");
	/* the short links are only made by the mount(2) path */
	assert_int_equal(exists(P("l/l199")), legacy);
	do_umount(&graph_driver_overlay, req.merged);
}

static void test_overlay_deep_fsapi(void **state)
{
	(void)state;
	if (!is_root() || !graph_fs_listed("overlay"))
		skip();
	check_deep(false);
}

static void test_overlay_deep_legacy(void **state)
{
	(void)state;
	if (!is_root() || !graph_fs_listed("overlay"))
		skip();
	check_deep(true);
}

static void test_vfs_mount(void **state)
{
	struct graph_mount_req req;
	const char *lowers[2];
	char l0[4096], l1[4096];
	(void)state;

	if (!is_root())
		skip();
	make_oci_layers();
	snprintf(l1, sizeof(l1), "%s", P("l1"));
	snprintf(l0, sizeof(l0), "%s", P("l0"));
	lowers[0] = l1;
	lowers[1] = l0;
	mount_req(&req, lowers, 2);
	do_mount(&graph_driver_vfs, &req);
	assert_true(exists(P("upper.mydocker-vfs-done")));
	assert_false(exists(P("merged/gone.txt")));
	assert_string_equal(slurp(P("merged/opq/new.txt")), "new");
	put(P("merged/mine"), "m", 0644);
	assert_true(exists(P("upper/mine")));
	do_umount(&graph_driver_vfs, req.merged);
	/* a second mount keeps the container's changes: no second copy */
	do_mount(&graph_driver_vfs, &req);
	assert_true(exists(P("merged/mine")));
	do_umount(&graph_driver_vfs, req.merged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vfs_copy_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_symlink_and_root_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_umount_not_mounted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_semantics_fsapi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_semantics_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_deep_fsapi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_deep_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vfs_mount, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
