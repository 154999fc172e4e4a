/* test_caps: capability names, Docker's default set, --cap-add/--cap-drop
 * combinations, rlimits, and (as root, in a forked child) the real effect of
 * rt_security_apply on /proc/self/status. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/internal.h"

#define BIT(n) (UINT64_C(1) << (n))

static uint64_t kernel_all(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = 40;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	return last >= 63 ? UINT64_MAX : BIT(last + 1) - 1;
}

static void test_default_mask(void **state)
{
	(void)state;
	assert_int_equal(rt_caps_default(), 0xa80425fbULL);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(rt_cap_from_name("NET_ADMIN"), CAP_NET_ADMIN);
	assert_int_equal(rt_cap_from_name("CAP_NET_ADMIN"), 12);
	assert_int_equal(rt_cap_from_name("cap_net_admin"), 12);
	assert_int_equal(rt_cap_from_name("Net_Admin"), 12);
	assert_int_equal(rt_cap_from_name("chown"), 0);
	assert_int_equal(rt_cap_from_name("CHECKPOINT_RESTORE"), 40);
	assert_int_equal(rt_cap_from_name("FOO"), -1);
	assert_int_equal(rt_cap_from_name("CAP_"), -1);
	assert_int_equal(rt_cap_from_name(""), -1);
	assert_int_equal(rt_cap_from_name("ALL"), -1);
	assert_int_equal(rt_cap_from_name("12"), -1); /* no numbers, unlike cap_from_name */
	assert_int_equal(runtime_cap_valid("ALL"), 0);
	assert_int_equal(runtime_cap_valid("all"), 0);
	assert_int_equal(runtime_cap_valid("sys_admin"), 0);
	assert_int_equal(runtime_cap_valid("CAP_FOO"), -1);
}

/* Prepare with the given lists (NULL-terminated arrays or NULL). */
static uint64_t prepared(char **add, char **drop, bool privileged)
{
	struct runtime_spec spec = { .cap_add = add, .cap_drop = drop, .privileged = privileged };
	struct rt_security sec;
	struct err err = { 0 };

	assert_int_equal(rt_security_prepare(&spec, &sec, &err), 0);
	assert_null(sec.seccomp_bpf);
	assert_int_equal(sec.bounding, sec.effective);
	rt_security_release(&sec);
	return sec.bounding;
}

static void test_add_drop(void **state)
{
	char *all[] = { "ALL", NULL }, *net_admin[] = { "NET_ADMIN", NULL };
	char *chown_[] = { "CAP_CHOWN", NULL }, *two[] = { "chown", "cap_kill", NULL };
	uint64_t def = rt_caps_default();

	(void)state;
	assert_int_equal(prepared(NULL, NULL, false), def);
	assert_int_equal(prepared(net_admin, NULL, false), def | BIT(12));
	assert_int_equal(prepared(NULL, chown_, false), def & ~BIT(0));
	assert_int_equal(prepared(NULL, two, false), def & ~(BIT(0) | BIT(5)));
	assert_int_equal(prepared(NULL, all, false), 0);
	assert_int_equal(prepared(net_admin, all, false), BIT(12));
	assert_int_equal(prepared(all, NULL, false), kernel_all());
	assert_int_equal(prepared(all, chown_, false), kernel_all() & ~BIT(0));
	/* Docker drops first, then appends the adds: add wins over drop. */
	assert_int_equal(prepared(chown_, chown_, false), def);
	assert_int_equal(prepared(NULL, all, true), kernel_all());
}

static void test_unknown(void **state)
{
	char *bad[] = { "NET_ADMIN", "foo", NULL }, *bad2[] = { "cap_bar", NULL };
	struct runtime_spec spec = { .cap_add = bad };
	struct rt_security sec;
	struct err err = { 0 };

	(void)state;
	assert_int_equal(rt_security_prepare(&spec, &sec, &err), -1);
	assert_string_equal(err.msg, "unknown capability: \"CAP_FOO\"");
	spec.cap_add = NULL;
	spec.cap_drop = bad2;
	assert_int_equal(rt_security_prepare(&spec, &sec, &err), -1);
	assert_string_equal(err.msg, "unknown capability: \"CAP_BAR\"");
}

static void test_seccomp_prepared(void **state)
{
	struct runtime_spec spec = { .seccomp = true, .no_new_privs = true };
	struct rt_security sec;
	struct err err = { 0 };

	(void)state;
	assert_int_equal(rt_security_prepare(&spec, &sec, &err), 0);
	assert_non_null(sec.seccomp_bpf);
	assert_true(sec.no_new_privs);
	rt_security_release(&sec);
	assert_null(sec.seccomp_bpf);
	rt_security_release(&sec); /* idempotent */
	spec.privileged = true;    /* privileged: unconfined */
	assert_int_equal(rt_security_prepare(&spec, &sec, &err), 0);
	assert_null(sec.seccomp_bpf);
}

/* Run fn in a child; its exit status is the test's verdict. */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int rlimit_lower(void *arg)
{
	struct runtime_rlimit rl = { RLIMIT_NOFILE, 64, 128 };
	struct runtime_spec spec = { .rlimits = &rl, .n_rlimits = 1 };
	struct err err = { 0 };
	struct rlimit r;

	(void)arg;
	if (rt_rlimits_apply(&spec, &err) < 0 || getrlimit(RLIMIT_NOFILE, &r) < 0)
		return 1;
	return r.rlim_cur == 64 && r.rlim_max == 128 ? 0 : 2;
}

/* Without CAP_SYS_RESOURCE (as in a container) raising the hard limit fails
 * with a message naming the limit. */
static int rlimit_raise(void *arg)
{
	struct rlimit cur;
	struct runtime_rlimit rl = { RLIMIT_NOFILE, 0, 0 };
	struct runtime_spec spec = { .rlimits = &rl, .n_rlimits = 1 };
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	struct err err = { 0 };

	(void)arg;
	if (getrlimit(RLIMIT_NOFILE, &cur) < 0 || cur.rlim_max == RLIM_INFINITY)
		return 0;
	if (capset(&hdr, data) < 0) /* drop everything, CAP_SYS_RESOURCE included */
		return 1;
	rl.soft = rl.hard = (uint64_t)cur.rlim_max + 1;
	if (rt_rlimits_apply(&spec, &err) == 0 || err.code != EPERM)
		return 2;
	return strncmp(err.msg, "setrlimit RLIMIT_NOFILE: ", 25) == 0 ? 0 : 3;
}

static void test_rlimits(void **state)
{
	struct runtime_rlimit rl = { RLIMIT_NOFILE, 10, 5 };
	struct runtime_spec spec = { .rlimits = &rl, .n_rlimits = 1 };
	struct err err = { 0 };

	(void)state;
	assert_int_equal(in_child(rlimit_lower, NULL), 0);
	assert_int_equal(in_child(rlimit_raise, NULL), 0);
	assert_int_equal(rt_rlimits_apply(&spec, &err), -1);
	assert_string_equal(err.msg, "setrlimit RLIMIT_NOFILE: soft limit 10 exceeds hard limit 5");
}

/* "CapEff:\t00000000a80425fb" -> value (Cap* fields are hex, the rest
 * decimal); UINT64_MAX when missing. */
static uint64_t status_field(const char *key)
{
	int base = strncmp(key, "Cap", 3) == 0 ? 16 : 10;
	char line[256];
	uint64_t v = UINT64_MAX;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, base);
	fclose(f);
	return v;
}

struct apply_case {
	uid_t uid;
	bool nnp;
	uint64_t eff, bnd;
};

static int apply_child(void *arg)
{
	const struct apply_case *c = arg;
	struct runtime_spec spec = { .seccomp = true, .no_new_privs = c->nnp };
	struct rt_security sec;
	struct err err = { 0 };
	gid_t groups[] = { 10 };

	if (rt_security_prepare(&spec, &sec, &err) < 0)
		return 10;
	if (rt_security_apply(&sec, c->uid, c->uid, groups, 1, &err) < 0) {
		fprintf(stderr, "apply: %s\n", err.msg);
		return 11;
	}
	rt_security_release(&sec);
	if (status_field("CapEff") != c->eff || status_field("CapPrm") != c->eff)
		return 12;
	if (status_field("CapBnd") != c->bnd || status_field("CapInh") != 0 ||
	    status_field("CapAmb") != 0)
		return 13;
	if (status_field("NoNewPrivs") != (c->nnp ? 1 : 0) || status_field("Seccomp") != 2)
		return 14;
	if (getuid() != c->uid || getgid() != c->uid || getgroups(0, NULL) != 1)
		return 15;
	return 0;
}

static void test_apply(void **state)
{
	struct apply_case root = { 0, false, 0xa80425fb, 0xa80425fb };
	struct apply_case root_nnp = { 0, true, 0xa80425fb, 0xa80425fb };
	struct apply_case user = { 1000, false, 0, 0xa80425fb };
	struct apply_case user_nnp = { 1000, true, 0, 0xa80425fb };

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(apply_child, &root), 0);
	assert_int_equal(in_child(apply_child, &root_nnp), 0);
	assert_int_equal(in_child(apply_child, &user), 0);
	assert_int_equal(in_child(apply_child, &user_nnp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_mask),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_add_drop),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_seccomp_prepared),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
