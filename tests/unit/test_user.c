/* test_user: --user / --group-add resolution against an image's /etc/passwd
 * and /etc/group, in a fresh temp rootfs per test. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/internal.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
			     "# a comment line\n"
			     "broken line without fields\n"
			     "user:x:1000:1000:Linux User,,,:/home/user:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
			     "nohome:x:1001:1001::::\n"
			     "app:x:1234:1234:app"; /* no trailing newline, no home */

static const char group[] = "root:x:0:\n"
			    "wheel:x:10:root,user\n"
			    "audio:x:29:user\n"
			    "user:x:1000:\n"
			    "nogroup:x:65534:\n"
			    "staff:x:50:app,userx\n"
			    "docker:x:999:user";

struct fixture {
	char dir[64];
	int root_fd;
};

static void write_file(const char *dir, const char *name, const char *data)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char etc[96];

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/mydocker-test-user.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(etc, sizeof(etc), "%s/etc", fx->dir);
	if (mkdir(etc, 0755) < 0)
		return -1;
	write_file(fx->dir, "etc/passwd", passwd);
	write_file(fx->dir, "etc/group", group);
	fx->root_fd = open(fx->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	*state = fx;
	return fx->root_fd < 0 ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	close(fx->root_fd);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct rt_user resolve_ok(void **state, const char *spec, char *const *add)
{
	struct fixture *fx = *state;
	struct rt_user u;
	struct err err = { 0 };

	if (rt_user_resolve(fx->root_fd, spec, add, &u, &err) != 0)
		fail_msg("resolve %s: %s", spec ? spec : "(null)", err.msg);
	return u;
}

static void assert_groups(const struct rt_user *u, size_t n, const gid_t *want)
{
	assert_int_equal(u->n_groups, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(u->groups[i], want[i]);
}

static void test_default_root(void **state)
{
	struct rt_user u = resolve_ok(state, NULL, NULL);
	static const gid_t want[] = { 0, 10 };

	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/root");
	assert_groups(&u, 2, want);
}

static void test_numeric(void **state)
{
	struct rt_user u = resolve_ok(state, "1000", NULL);
	static const gid_t want[] = { 1000, 10, 29, 999 };
	static const gid_t want2[] = { 1000 };

	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_string_equal(u.home, "/home/user");
	assert_groups(&u, 4, want);
	/* An explicit group: only that group, as in runc/Docker. */
	u = resolve_ok(state, "1000:1000", NULL);
	assert_int_equal(u.gid, 1000);
	assert_groups(&u, 1, want2);
}

static void test_unknown_uid(void **state)
{
	struct rt_user u = resolve_ok(state, "4242", NULL);
	static const gid_t want[] = { 0 };
	static const gid_t want2[] = { 77 };

	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
	assert_groups(&u, 1, want);
	u = resolve_ok(state, "4242:77", NULL);
	assert_int_equal(u.gid, 77);
	assert_groups(&u, 1, want2);
}

static void test_names(void **state)
{
	struct rt_user u = resolve_ok(state, "nobody", NULL);
	static const gid_t want_app[] = { 1234, 50 };

	assert_int_equal(u.uid, 65534);
	assert_int_equal(u.gid, 65534);
	assert_string_equal(u.home, "/nonexistent");
	u = resolve_ok(state, "nobody:nogroup", NULL);
	assert_int_equal(u.gid, 65534);
	u = resolve_ok(state, "daemon:wheel", NULL);
	assert_int_equal(u.uid, 1);
	assert_int_equal(u.gid, 10);
	u = resolve_ok(state, "user:1234", NULL);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1234);
	/* Last line without newline or home; "userx" must not match "user". */
	u = resolve_ok(state, "app", NULL);
	assert_int_equal(u.uid, 1234);
	assert_string_equal(u.home, "/");
	assert_groups(&u, 2, want_app);
	u = resolve_ok(state, "nohome", NULL);
	assert_string_equal(u.home, "/");
}

static void test_add_groups(void **state)
{
	char *add[] = { "audio", "4000", "wheel", NULL };
	struct rt_user u = resolve_ok(state, "1001:1001", add);
	static const gid_t want[] = { 1001, 29, 4000, 10 };

	assert_groups(&u, 4, want);
}

static void expect_error(void **state, const char *spec, char *const *add, const char *msg)
{
	struct fixture *fx = *state;
	struct rt_user u;
	struct err err = { 0 };

	assert_int_equal(rt_user_resolve(fx->root_fd, spec, add, &u, &err), -1);
	assert_string_equal(err.msg, msg);
}

static void test_errors(void **state)
{
	char *add[] = { "nosuchgroup", NULL };

	expect_error(state, "alice", NULL,
		     "unable to find user alice: no matching entries in passwd file");
	expect_error(state, "user:nosuch", NULL,
		     "unable to find group nosuch: no matching entries in group file");
	expect_error(state, "0", add,
		     "unable to find group nosuchgroup: no matching entries in group file");
	expect_error(state, ":0", NULL, "invalid user \":0\": expected uid[:gid] or name[:group]");
	expect_error(state, "1000:", NULL,
		     "invalid user \"1000:\": expected uid[:gid] or name[:group]");
	expect_error(state, "-1", NULL,
		     "unable to find user -1: no matching entries in passwd file");
}

/* No /etc at all: numeric ids still work, names do not. */
static void test_no_files(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	struct rt_user u;

	snprintf(path, sizeof(path), "%s/etc/passwd", fx->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/etc/group", fx->dir);
	assert_int_equal(unlink(path), 0);
	u = resolve_ok(state, "5:6", NULL);
	assert_int_equal(u.uid, 5);
	assert_int_equal(u.gid, 6);
	u = resolve_ok(state, NULL, NULL);
	assert_string_equal(u.home, "/root");
	expect_error(state, "root", NULL,
		     "unable to find user root: no matching entries in passwd file");
}

/* A symlinked /etc/passwd pointing at an absolute path resolves inside the
 * rootfs (RESOLVE_IN_ROOT), never to the host's file. */
static void test_symlink_stays_in_root(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	struct rt_user u;

	snprintf(path, sizeof(path), "%s/etc/passwd", fx->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/../../../../etc/other-passwd", path), 0);
	write_file(fx->dir, "etc/other-passwd", "alice:x:4321:4321::/home/alice:/bin/sh\n");
	u = resolve_ok(state, "alice", NULL);
	assert_int_equal(u.uid, 4321);
	expect_error(state, "root", NULL,
		     "unable to find user root: no matching entries in passwd file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_stays_in_root, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
