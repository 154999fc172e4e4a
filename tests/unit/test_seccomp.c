/* test_seccomp: Docker's default profile compiles, and once loaded (in a
 * forked child) denies what Docker denies while ordinary calls still work. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/internal.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#define BIT(n) (UINT64_C(1) << (n))

static void test_builds(void **state)
{
	struct err err = { 0 };
	void *prog = NULL;
	const struct sock_fprog *fp;

	(void)state;
	assert_int_equal(rt_seccomp_build(rt_caps_default(), &prog, &err), 0);
	fp = prog;
	assert_non_null(fp);
	assert_true(fp->len > 10 && fp->len <= BPF_MAXINSNS);
	assert_ptr_equal(fp->filter, (const void *)(fp + 1));
	rt_seccomp_free(prog);
	assert_int_equal(rt_seccomp_build(UINT64_MAX, &prog, &err), 0);
	rt_seccomp_free(prog);
	rt_seccomp_free(NULL);
}

static void test_profile_tables(void **state)
{
	bool getpid_ = false, keyctl = false;

	(void)state;
	for (size_t i = 0; rt_seccomp_allow[i]; i++) {
		getpid_ |= strcmp(rt_seccomp_allow[i], "getpid") == 0;
		keyctl |= strcmp(rt_seccomp_allow[i], "keyctl") == 0;
		assert_string_not_equal(rt_seccomp_allow[i], "mount");
		assert_string_not_equal(rt_seccomp_allow[i], "unshare");
	}
	assert_true(getpid_);
	assert_false(keyctl);
}

/* errno of a raw syscall, 0 on success. */
static int sys_errno(long rc)
{
	return rc < 0 ? errno : 0;
}

/* In a child: load the filter for caps, then probe. Returns a step number
 * that failed, 0 when all held. */
static int probe(uint64_t caps)
{
	struct err err = { 0 };
	void *prog = NULL;
	int status;
	pid_t pid;

	if (rt_seccomp_build(caps, &prog, &err) < 0)
		return 1;
	/* no_new_privs: so this works without CAP_SYS_ADMIN too. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || rt_seccomp_load(prog, &err) < 0)
		return 2;
	rt_seccomp_free(prog);
	if (syscall(SYS_getpid) != getpid() || getpid() <= 0)
		return 3;
	if (sys_errno(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0)) != EPERM)
		return 4;
	if (sys_errno(syscall(SYS_add_key, "user", "x", "y", 1, -3)) != EPERM)
		return 5;
	if (sys_errno(personality(0xffffffff)) != 0 || sys_errno(personality(0x0400000)) != EPERM)
		return 7;
	/* glibc's fork is clone without namespace flags: must still work. */
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 8;
	if (caps & BIT(CAP_SYS_ADMIN))
		return sys_errno(syscall(SYS_clone3, NULL, 0)) == ENOSYS ? 9 : 0;
	if (sys_errno(mount("none", "/nonexistent-mydocker", "tmpfs", 0, NULL)) != EPERM)
		return 6;
	if (sys_errno(unshare(CLONE_NEWUSER)) != EPERM)
		return 10;
	if (sys_errno(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)) != EPERM)
		return 11;
	if (sys_errno(syscall(SYS_clone3, NULL, 0)) != ENOSYS)
		return 12;
	return 0;
}

static int run_probe(uint64_t caps)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(probe(caps));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_default_denies(void **state)
{
	(void)state;
	assert_int_equal(run_probe(rt_caps_default()), 0);
}

/* With CAP_SYS_ADMIN the namespace calls are no longer filtered (they may
 * still fail for other reasons, but not with the filter's ENOSYS). */
static void test_sys_admin_allows(void **state)
{
	(void)state;
	assert_int_equal(run_probe(rt_caps_default() | BIT(CAP_SYS_ADMIN)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builds),
		cmocka_unit_test(test_profile_tables),
		cmocka_unit_test(test_default_denies),
		cmocka_unit_test(test_sys_admin_allows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
