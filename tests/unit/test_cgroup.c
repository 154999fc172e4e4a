/* test_cgroup: the cgroup backends against temporary directories laid out
 * like the kernel's hierarchies (this machine's kernel is hybrid v1, so the
 * v2 paths are verified here only), hierarchy detection from mountinfo
 * fixtures, stats parsing, and the v2 device BPF program: built always,
 * and as root loaded, attached to a scratch cgroup of the real v2
 * hierarchy and checked against open(2) of /dev/null and /dev/zero. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "runtime/cgroup/cgroup.h"

#define MB (1LL << 20)

static char tmp[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/mydocker-cgunit.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	struct err err = { 0 };

	(void)state;
	return fs_rm_rf_at(AT_FDCWD, tmp, &err);
}

static void put(const char *dir, const char *file, const char *content)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void expect(const char *dir, const char *file, const char *want)
{
	char buf[4096];

	assert_int_equal(rt_cg_read(dir, file, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void mkd(const char *path)
{
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* What the kernel shows in a new v2 cgroup: the interface files. */
static void v2_dir(const char *dir)
{
	static const char *const files[] = {
		"cgroup.procs", "cgroup.subtree_control",
		"memory.max",   "memory.swap.max",
		"memory.low",   "cpu.weight",
		"cpu.max",      "cpuset.cpus",
		"cpuset.mems",  "pids.max",
		"io.weight",    "memory.events",
	};

	mkd(dir);
	put(dir, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(dir, files[i], "");
}

static void v2_cgroup(struct rt_cgroup *cg)
{
	struct rt_cg_layout l = { .mode = RT_CG_V2 };
	struct err err = { 0 };
	char d[512];

	snprintf(l.unified, sizeof(l.unified), "%s", tmp);
	put(tmp, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(tmp, "cgroup.subtree_control", "");
	snprintf(d, sizeof(d), "%s/mydocker", tmp);
	v2_dir(d);
	snprintf(d, sizeof(d), "%s/mydocker/c1", tmp);
	v2_dir(d);
	assert_int_equal(rt_cg_init(cg, &l, NULL, "c1", &err), 0);
	assert_ptr_equal(cg->ops, &rt_cg_v2_ops);
	assert_string_equal(cg->rel, "mydocker/c1");
}

static void test_v2_create_enables_controllers(void **state)
{
	struct rt_cgroup cg;
	struct err err = { 0 };
	char d[512];

	(void)state;
	v2_cgroup(&cg);
	assert_int_equal(cg.ops->create(&cg, &err), 0);
	assert_true(cg.made_unified);
	/* Enabled top-down in the root and in mydocker/, all in one write. */
	expect(tmp, "cgroup.subtree_control", "+cpu +cpuset +io +memory +pids +hugetlb");
	snprintf(d, sizeof(d), "%s/mydocker", tmp);
	expect(d, "cgroup.subtree_control", "+cpu +cpuset +io +memory +pids +hugetlb");
	/* Already enabled: nothing written. */
	put(tmp, "cgroup.subtree_control", "cpu cpuset io memory pids hugetlb\n");
	assert_int_equal(rt_cg_v2_enable(tmp, &err), 0);
	expect(tmp, "cgroup.subtree_control", "cpu cpuset io memory pids hugetlb\n");
}

static void test_v2_set_values(void **state)
{
	struct rt_cgroup cg;
	struct runtime_resources r = { .memory = 64 * MB,
				       .memory_reservation = 32 * MB,
				       .nano_cpus = 500000000,
				       .cpu_shares = 1024,
				       .cpuset_cpus = (char *)"0",
				       .cpuset_mems = (char *)"0",
				       .pids_limit = 50,
				       .blkio_weight = 500 },
				 e;
	struct err err = { 0 };
	char leaf[512];

	(void)state;
	v2_cgroup(&cg);
	snprintf(leaf, sizeof(leaf), "%s/mydocker/c1", tmp);
	rt_cg_resources_effective(&r, &e);
	assert_int_equal(rt_cg_v2_set(leaf, &e, &err), 0);
	expect(leaf, "memory.max", "67108864");
	expect(leaf, "memory.swap.max", "67108864"); /* 2 x 64m memory+swap -> 64m swap */
	expect(leaf, "memory.low", "33554432");
	expect(leaf, "cpu.max", "50000 100000");
	expect(leaf, "cpu.weight", "39");
	expect(leaf, "cpuset.cpus", "0");
	expect(leaf, "cpuset.mems", "0");
	expect(leaf, "pids.max", "50");
	expect(leaf, "io.weight", "default 4950");
}

static void test_v2_set_unlimited(void **state)
{
	struct runtime_resources r = { .memory = 64 * MB,
				       .memory_swap = -1,
				       .cpu_quota = -1,
				       .cpu_period = 50000,
				       .pids_limit = -1,
				       .blkio_weight = 100 };
	struct rt_cgroup cg;
	struct err err = { 0 };
	char leaf[512];

	(void)state;
	v2_cgroup(&cg);
	snprintf(leaf, sizeof(leaf), "%s/mydocker/c1", tmp);
	put(leaf, "io.bfq.weight", "");
	assert_int_equal(rt_cg_v2_set(leaf, &r, &err), 0);
	expect(leaf, "memory.swap.max", "max");
	expect(leaf, "cpu.max", "max 50000");
	expect(leaf, "pids.max", "max");
	expect(leaf, "io.bfq.weight", "100"); /* BFQ: blkio's own scale */
	/* Nothing set: nothing written. */
	put(leaf, "memory.max", "max\n");
	assert_int_equal(rt_cg_v2_set(leaf, &(struct runtime_resources){ 0 }, &err), 0);
	expect(leaf, "memory.max", "max\n");
}

static void test_v2_set_missing_file(void **state)
{
	struct runtime_resources r = { .memory = 64 * MB };
	struct rt_cgroup cg;
	struct err err = { 0 };
	char leaf[512], path[600];

	(void)state;
	v2_cgroup(&cg);
	snprintf(leaf, sizeof(leaf), "%s/mydocker/c1", tmp);
	snprintf(path, sizeof(path), "%s/memory.max", leaf);
	unlink(path);
	/* No memory controller there: one clear error, no file created. */
	assert_int_equal(rt_cg_v2_set(leaf, &r, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "memory.max"));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_v2_join_oom_destroy(void **state)
{
	struct rt_cgroup cg;
	struct err err = { 0 };
	char leaf[512], path[600];

	(void)state;
	v2_cgroup(&cg);
	assert_int_equal(cg.ops->create(&cg, &err), 0);
	snprintf(leaf, sizeof(leaf), "%s/mydocker/c1", tmp);
	assert_int_equal(cg.ops->join(&cg, 4242, &err), 0);
	expect(leaf, "cgroup.procs", "4242");
	assert_int_equal(cg.ops->oom_kills(&cg), 0);
	put(leaf, "memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\n");
	assert_int_equal(cg.ops->oom_kills(&cg), 1);
	/* A real cgroup directory is empty to rmdir(2): make it so. */
	put(leaf, "cgroup.procs", "");
	assert_int_equal(fs_rm_rf_at(AT_FDCWD, leaf, &err), 0);
	mkd(leaf);
	assert_int_equal(cg.ops->destroy(&cg, &err), 0);
	assert_false(cg.made_unified);
	snprintf(path, sizeof(path), "%s/mydocker", tmp);
	assert_int_equal(access(leaf, F_OK), -1);
	assert_int_equal(access(path, F_OK), 0); /* the shared parent stays */
}

static void test_init_paths(void **state)
{
	struct rt_cg_layout l = { .mode = RT_CG_HYBRID, .n_v1 = 1 };
	struct rt_cgroup cg;
	struct err err = { 0 };

	(void)state;
	assert_int_equal(rt_cg_init(&cg, &l, "/custom//parent/", "abc", &err), 0);
	assert_string_equal(cg.rel, "custom/parent/abc");
	assert_ptr_equal(cg.ops, &rt_cg_v1_ops);
	assert_int_equal(rt_cg_init(&cg, &l, "a/../..", "abc", &err), -1);
	assert_int_equal(rt_cg_init(&cg, &l, NULL, "a/b", &err), -1);
}

static void write_fixture(const char *name, const char *content, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", tmp, name);
	put(tmp, name, content);
}

static void test_detect_hybrid(void **state)
{
	char mi[512], cg[512];
	struct rt_cg_layout l;
	struct err err = { 0 };

	(void)state;
	write_fixture(
		"mountinfo",
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		"34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset,clone_children\n"
		"35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		"36 31 0:32 /sub /mnt/memsub rw - cgroup cgroup rw,memory\n"
		"40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n",
		mi, sizeof(mi));
	write_fixture(
		"cgroup",
		"9:name=systemd:/user.slice\n4:memory:/x\n3:cpuset:/\n1:cpu,cpuacct:/\n0::/\n", cg,
		sizeof(cg));
	assert_int_equal(rt_cg_detect_from(mi, cg, false, &l, &err), 0);
	assert_int_equal(l.mode, RT_CG_HYBRID);
	assert_string_equal(l.unified, "/sys/fs/cgroup/unified");
	assert_int_equal(l.n_v1, 4);
	assert_int_equal(rt_cg_v1_find(&l, "memory"), 1);
	assert_string_equal(l.v1[1].mount, "/sys/fs/cgroup/memory");
	assert_int_equal(rt_cg_v1_find(&l, "cpuacct"), 3);
	assert_string_equal(l.v1[3].mount, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(l.v1[0].opts, "name=systemd");
	assert_int_equal(rt_cg_v1_find(&l, "pids"), -1);
}

static void test_detect_v2_and_v1(void **state)
{
	char mi[512], cg[512];
	struct rt_cg_layout l;
	struct err err = { 0 };

	(void)state;
	write_fixture("mi2", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", mi,
		      sizeof(mi));
	write_fixture("cg2", "0::/user.slice/session-1.scope\n", cg, sizeof(cg));
	assert_int_equal(rt_cg_detect_from(mi, cg, false, &l, &err), 0);
	assert_int_equal(l.mode, RT_CG_V2);
	assert_string_equal(l.unified, "/sys/fs/cgroup");
	/* Pure v1; inside a cgroup namespace mount roots read "/..". */
	write_fixture("mi1", "32 31 0:29 /../.. /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
		      mi, sizeof(mi));
	write_fixture("cg1", "8:pids:/\n", cg, sizeof(cg));
	assert_int_equal(rt_cg_detect_from(mi, cg, false, &l, &err), 0);
	assert_int_equal(l.mode, RT_CG_V1);
	assert_string_equal(l.v1[0].mount, "/sys/fs/cgroup/pids");
	/* Nothing mounted. */
	write_fixture("mi0", "", mi, sizeof(mi));
	assert_int_equal(rt_cg_detect_from(mi, cg, false, &l, &err), -1);
}

static void v1_hier(struct rt_cg_layout *l, const char *name, const char *opts)
{
	struct rt_cg_hier *h = &l->v1[l->n_v1++];

	snprintf(h->mount, sizeof(h->mount), "%s/%s", tmp, name);
	snprintf(h->opts, sizeof(h->opts), "%s", opts);
	mkd(h->mount);
}

static void test_v1_set_values(void **state)
{
	static const char *const files[] = {
		"memory.limit_in_bytes",
		"memory.memsw.limit_in_bytes",
		"memory.soft_limit_in_bytes",
		"cpu.shares",
		"cpu.cfs_period_us",
		"cpu.cfs_quota_us",
		"pids.max",
		"devices.deny",
		"devices.allow",
		"cpuset.cpus",
		"cpuset.mems",
	};
	struct runtime_resources r = { .memory = 16 * MB,
				       .nano_cpus = 500000000,
				       .cpu_shares = 512,
				       .pids_limit = 50,
				       .cpuset_cpus = (char *)"0" },
				 e;
	struct rt_cg_layout l = { .mode = RT_CG_V1 };
	struct rt_cgroup cg;
	struct err err = { 0 };
	char d[512];

	(void)state;
	v1_hier(&l, "memory", "memory");
	v1_hier(&l, "cpu,cpuacct", "cpu,cpuacct");
	v1_hier(&l, "pids", "pids");
	v1_hier(&l, "devices", "devices");
	v1_hier(&l, "cpuset", "cpuset");
	assert_int_equal(rt_cg_init(&cg, &l, NULL, "c1", &err), 0);
	for (size_t i = 0; i < l.n_v1; i++) {
		snprintf(d, sizeof(d), "%s/mydocker", l.v1[i].mount);
		mkd(d);
		snprintf(d, sizeof(d), "%s/mydocker/c1", l.v1[i].mount);
		mkd(d);
		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
			put(d, files[k], "");
		cg.made[i] = true;
	}
	rt_cg_resources_effective(&r, &e);
	assert_int_equal(rt_cg_v1_set(&cg, &e, &err), 0);
	snprintf(d, sizeof(d), "%s/memory/mydocker/c1", tmp);
	expect(d, "memory.limit_in_bytes", "16777216");
	expect(d, "memory.memsw.limit_in_bytes", "33554432"); /* v1 counts memory+swap */
	snprintf(d, sizeof(d), "%s/cpu,cpuacct/mydocker/c1", tmp);
	expect(d, "cpu.cfs_period_us", "100000");
	expect(d, "cpu.cfs_quota_us", "50000");
	expect(d, "cpu.shares", "512");
	snprintf(d, sizeof(d), "%s/pids/mydocker/c1", tmp);
	expect(d, "pids.max", "50");
	snprintf(d, sizeof(d), "%s/cpuset/mydocker/c1", tmp);
	expect(d, "cpuset.cpus", "0");
	snprintf(d, sizeof(d), "%s/devices/mydocker/c1", tmp);
	expect(d, "devices.deny", "a");
	expect(d, "devices.allow", "c 10:200 rwm"); /* the last of Docker's list */
	cg.privileged = true;
	assert_int_equal(rt_cg_v1_set(&cg, &e, &err), 0);
	expect(d, "devices.allow", "a");
}

static void test_stats_v2(void **state)
{
	struct rt_cg_layout l = { .mode = RT_CG_V2 };
	struct runtime_cgroup_stats st;
	struct err err = { 0 };
	char d[512], pc[512];

	(void)state;
	snprintf(l.unified, sizeof(l.unified), "%s", tmp);
	snprintf(d, sizeof(d), "%s/mydocker", tmp);
	mkd(d);
	snprintf(d, sizeof(d), "%s/mydocker/c1", tmp);
	mkd(d);
	put(d, "memory.current", "10485760\n");
	put(d, "memory.stat", "anon 1\nfile 5\ninactive_file 2097152\nactive_file 0\n");
	put(d, "memory.max", "67108864\n");
	put(d, "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
	put(d, "pids.current", "7\n");
	put(d, "io.stat",
	    "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n"
	    "8:16 rbytes=1 wbytes=2 rios=1 wios=1\n");
	write_fixture("pcg", "0::/mydocker/c1\n", pc, sizeof(pc));
	assert_int_equal(rt_cg_stats_read(&l, pc, &st, &err), 0);
	assert_int_equal(st.mem_usage, 10485760 - 2097152);
	assert_int_equal(st.mem_limit, 67108864);
	assert_int_equal(st.cpu_ns, 2500000);
	assert_int_equal(st.pids, 7);
	assert_int_equal(st.blk_read, 4097);
	assert_int_equal(st.blk_write, 8194);
	/* Unlimited: the host's memory. */
	put(d, "memory.max", "max\n");
	assert_int_equal(rt_cg_stats_read(&l, pc, &st, &err), 0);
	assert_true(st.mem_limit > 67108864);
}

static void test_bpf_build(void **state)
{
	struct bpf_insn insns[256];
	struct runtime_device_rule all = { 'a', -1, -1, "rwm" };
	int n;

	(void)state;
	/* Prologue 6 + 2 per rule at least + epilogue 2. */
	n = rt_cg_bpf_build(&all, 1, insns, 256);
	assert_int_equal(n, 6 + 2 + 2);
	assert_int_equal(insns[n - 1].code, BPF_JMP | BPF_EXIT);
	n = rt_cg_bpf_build(rt_cg_default_devices, rt_cg_n_default_devices, insns, 256);
	assert_true(n > 30);
	/* "c 1:3 rwm": type, major, minor checks then return 1. */
	assert_int_equal(rt_cg_bpf_build(&rt_cg_default_devices[2], 1, insns, 256), 6 + 5 + 2);
	assert_int_equal(insns[6].imm, BPF_DEVCG_DEV_CHAR);
	assert_int_equal(insns[6].off, 4); /* skips the rest of the block */
	assert_int_equal(rt_cg_bpf_build(rt_cg_default_devices, rt_cg_n_default_devices, insns, 8),
			 -1);
}

/* In a child moved into dir: open /dev/null and /dev/zero. */
static int try_devices(const char *dir)
{
	char num[32];
	struct err err = { 0 };
	pid_t pid = fork();
	int st, nul, zero;

	if (pid == 0) {
		snprintf(num, sizeof(num), "%d", (int)getpid());
		if (rt_cg_write(dir, "cgroup.procs", num, &err) < 0)
			_exit(10);
		nul = open("/dev/null", O_RDONLY);
		zero = open("/dev/zero", O_RDONLY);
		_exit(nul >= 0 && zero < 0 && errno == EPERM ? 0 : 11);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_bpf_attach_real(void **state)
{
	struct runtime_device_rule null_only = { 'c', 1, 3, "rwm" };
	struct rt_cg_layout l;
	struct err err = { 0 };
	char dir[512];
	int fd, rc;

	(void)state;
	if (geteuid() != 0 || rt_cg_detect(&l, &err) < 0 || !l.unified[0]) {
		skip();
		return;
	}
	snprintf(dir, sizeof(dir), "%s/mydocker-unit-%d", l.unified, (int)getpid());
	assert_int_equal(mkdir(dir, 0755), 0);
	fd = rt_cg_bpf_attach(dir, &null_only, 1, &err);
	rc = fd >= 0 ? try_devices(dir) : -2;
	if (fd >= 0)
		close(fd);
	rmdir(dir);
	if (fd < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(rc, 0);
}

/* runtime_cgroup_prune runs on every `run`: it looks at most once per
 * interval, and a stamp from the future (clock set back) does not hold it. */
static void test_prune_throttle(void **state)
{
	time_t t0 = 1700000000;

	(void)state;
	assert_true(rt_cg_prune_due(NULL, t0));
	assert_true(rt_cg_prune_due(tmp, t0));
	assert_false(rt_cg_prune_due(tmp, t0));
	assert_false(rt_cg_prune_due(tmp, t0 + RT_CG_PRUNE_INTERVAL - 1));
	assert_true(rt_cg_prune_due(tmp, t0 + RT_CG_PRUNE_INTERVAL));
	assert_false(rt_cg_prune_due(tmp, t0 + RT_CG_PRUNE_INTERVAL));
	assert_true(rt_cg_prune_due(tmp, t0 - 100));
	assert_false(rt_cg_prune_due(tmp, t0 - 99));
	/* No place for the stamp: no throttle. */
	assert_true(rt_cg_prune_due("/nonexistent/mydocker", t0));
	assert_true(rt_cg_prune_due("/nonexistent/mydocker", t0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v2_create_enables_controllers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v2_set_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_set_unlimited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_set_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_join_oom_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_hybrid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect_v2_and_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_set_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_throttle, setup, teardown),
		cmocka_unit_test(test_bpf_build),
		cmocka_unit_test(test_bpf_attach_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
