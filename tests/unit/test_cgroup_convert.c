/* test_cgroup_convert: every unit conversion of runtime/cgroup (runc's
 * formulas), Docker's checks and defaults, device rule parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/cgroup/cgroup.h"

#define MB (1LL << 20)

static void test_shares_to_weight(void **state)
{
	(void)state;
	assert_int_equal(rt_cg_shares_to_weight(0), 0); /* unset */
	assert_int_equal(rt_cg_shares_to_weight(2), 1);
	assert_int_equal(rt_cg_shares_to_weight(1), 1); /* clamped to 2 */
	assert_int_equal(rt_cg_shares_to_weight(1024), 39);
	assert_int_equal(rt_cg_shares_to_weight(512), 20);
	assert_int_equal(rt_cg_shares_to_weight(262144), 10000);
	assert_int_equal(rt_cg_shares_to_weight(1000000), 10000);
}

static void test_blkio_to_io_weight(void **state)
{
	(void)state;
	assert_int_equal(rt_cg_blkio_to_io_weight(0), 0);
	assert_int_equal(rt_cg_blkio_to_io_weight(10), 1);
	assert_int_equal(rt_cg_blkio_to_io_weight(500), 4950);
	assert_int_equal(rt_cg_blkio_to_io_weight(1000), 10000);
}

static void test_nano_cpus(void **state)
{
	(void)state;
	assert_int_equal(rt_cg_nano_cpus_to_quota(500000000, 100000), 50000);
	assert_int_equal(rt_cg_nano_cpus_to_quota(1500000000, 100000), 150000);
	assert_int_equal(rt_cg_nano_cpus_to_quota(10000000, 100000), 1000); /* 0.01 */
}

static void test_swap_v2(void **state)
{
	struct err err = { 0 };
	int64_t out;

	(void)state;
	assert_int_equal(rt_cg_swap_v2(64 * MB, 0, &out, &err), 0);
	assert_int_equal(out, 0); /* not set */
	assert_int_equal(rt_cg_swap_v2(64 * MB, -1, &out, &err), 0);
	assert_int_equal(out, -1); /* max */
	assert_int_equal(rt_cg_swap_v2(64 * MB, 128 * MB, &out, &err), 0);
	assert_int_equal(out, 64 * MB); /* v2 counts swap alone */
	assert_int_equal(rt_cg_swap_v2(64 * MB, 64 * MB, &out, &err), 0);
	assert_int_equal(out, 0);
	assert_int_equal(rt_cg_swap_v2(0, 128 * MB, &out, &err), -1);
	assert_non_null(strstr(err.msg, "without memory limit"));
	assert_int_equal(rt_cg_swap_v2(128 * MB, 64 * MB, &out, &err), -1);
}

static void test_effective(void **state)
{
	struct runtime_resources r = { .memory = 64 * MB, .nano_cpus = 500000000 }, e;

	(void)state;
	rt_cg_resources_effective(&r, &e);
	assert_int_equal(e.memory_swap, 128 * MB); /* Docker: 2 x memory */
	assert_int_equal(e.cpu_period, 100000);
	assert_int_equal(e.cpu_quota, 50000);
	r.memory_swap = -1;
	rt_cg_resources_effective(&r, &e);
	assert_int_equal(e.memory_swap, -1);
	r = (struct runtime_resources){ .cpu_quota = 20000, .cpu_period = 50000 };
	rt_cg_resources_effective(&r, &e);
	assert_int_equal(e.cpu_quota, 20000);
	assert_int_equal(e.cpu_period, 50000);
	assert_int_equal(e.memory_swap, 0);
}

static void test_limit_str(void **state)
{
	char b[32];

	(void)state;
	rt_cg_limit_str(-1, b, sizeof(b));
	assert_string_equal(b, "max");
	rt_cg_limit_str(100, b, sizeof(b));
	assert_string_equal(b, "100");
}

static void expect_bad(struct runtime_resources r, const char *msg)
{
	struct err err = { 0 };

	assert_int_equal(runtime_resources_check(&r, &err), -1);
	assert_non_null(strstr(err.msg, msg));
}

static void test_check(void **state)
{
	struct err err = { 0 };
	struct runtime_resources ok = { .memory = 64 * MB,
					.memory_swap = -1,
					.nano_cpus = 500000000,
					.pids_limit = 50,
					.blkio_weight = 500,
					.cpuset_cpus = (char *)"0-1,3" };

	(void)state;
	assert_int_equal(runtime_resources_check(&ok, &err), 0);
	assert_int_equal(runtime_resources_check(NULL, &err), 0);
	expect_bad((struct runtime_resources){ .memory = MB },
		   "Minimum memory limit allowed is 6MB");
	expect_bad((struct runtime_resources){ .memory_swap = 64 * MB }, "always set the Memory");
	expect_bad((struct runtime_resources){ .memory = 64 * MB, .memory_swap = 32 * MB },
		   "memoryswap limit should be larger");
	expect_bad((struct runtime_resources){ .memory = 64 * MB, .memory_reservation = 128 * MB },
		   "reservation");
	expect_bad((struct runtime_resources){ .nano_cpus = 500000000, .cpu_period = 100000 },
		   "Nano CPUs and CPU Period");
	expect_bad((struct runtime_resources){ .nano_cpus = 500000000, .cpu_quota = 1000 },
		   "Nano CPUs and CPU Quota");
	expect_bad((struct runtime_resources){ .cpu_period = 500 }, "CPU cfs period");
	expect_bad((struct runtime_resources){ .cpu_quota = 500 }, "CPU cfs quota");
	expect_bad((struct runtime_resources){ .blkio_weight = 5 }, "blkio weight");
	expect_bad((struct runtime_resources){ .cpuset_cpus = (char *)"0;1" }, "invalid cpuset");
	expect_bad((struct runtime_resources){ .cgroup_parent = (char *)"../x" }, "cgroup-parent");
}

static void test_device_rules(void **state)
{
	struct runtime_device_rule r;
	struct err err = { 0 };
	char s[64];

	(void)state;
	assert_int_equal(runtime_device_rule_parse("c 1:3 rwm", &r, &err), 0);
	assert_int_equal(r.type, 'c');
	assert_int_equal(r.major, 1);
	assert_int_equal(r.minor, 3);
	assert_string_equal(r.access, "rwm");
	rt_cg_rule_str(&r, s, sizeof(s));
	assert_string_equal(s, "c 1:3 rwm");
	assert_int_equal(runtime_device_rule_parse("b *:* m", &r, &err), 0);
	assert_int_equal(r.major, -1);
	rt_cg_rule_str(&r, s, sizeof(s));
	assert_string_equal(s, "b *:* m");
	assert_int_equal(runtime_device_rule_parse("c 136:* rw", &r, &err), 0);
	assert_int_equal(r.minor, -1);
	assert_int_equal(runtime_device_rule_parse("x 1:3 r", &r, &err), -1);
	assert_int_equal(runtime_device_rule_parse("c 1 r", &r, &err), -1);
	assert_int_equal(runtime_device_rule_parse("c 1:3 rwx", &r, &err), -1);
	assert_int_equal(runtime_device_rule_parse("c 1:3 rr", &r, &err), -1);
	assert_int_equal(runtime_device_rule_parse("c a:3 r", &r, &err), -1);
	assert_non_null(strstr(err.msg, "invalid device cgroup rule"));
}

static void test_default_devices(void **state)
{
	char s[64];

	(void)state;
	/* Docker's list: 2 mknod rules and 10 devices. */
	assert_int_equal(rt_cg_n_default_devices, 12);
	rt_cg_rule_str(&rt_cg_default_devices[0], s, sizeof(s));
	assert_string_equal(s, "c *:* m");
	rt_cg_rule_str(&rt_cg_default_devices[9], s, sizeof(s));
	assert_string_equal(s, "c 136:* rwm");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_to_weight),
		cmocka_unit_test(test_blkio_to_io_weight),
		cmocka_unit_test(test_nano_cpus),
		cmocka_unit_test(test_swap_v2),
		cmocka_unit_test(test_effective),
		cmocka_unit_test(test_limit_str),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_device_rules),
		cmocka_unit_test(test_default_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
