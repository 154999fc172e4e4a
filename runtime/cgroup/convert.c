/* convert: Docker's resource values -> cgroup file values (runc's formulas),
 * Docker's checks and defaults, and device rules. Pure functions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

#define MIN_MEMORY (6LL << 20) /* Docker's linuxMinMemory */
#define DEFAULT_PERIOD 100000

/* Docker's default allow-list (moby oci/defaults.go, runc's AllowedDevices). */
const struct runtime_device_rule rt_cg_default_devices[] = {
	{ 'c', -1, -1, "m" }, { 'b', -1, -1, "m" },    /* mknod of anything */
	{ 'c', 1, 3, "rwm" }, { 'c', 1, 8, "rwm" },    /* null, random */
	{ 'c', 1, 7, "rwm" }, { 'c', 5, 0, "rwm" },    /* full, tty */
	{ 'c', 1, 5, "rwm" }, { 'c', 1, 9, "rwm" },    /* zero, urandom */
	{ 'c', 5, 1, "rwm" }, { 'c', 136, -1, "rwm" }, /* console, pts */
	{ 'c', 5, 2, "rwm" }, { 'c', 10, 200, "rwm" }, /* ptmx, tun */
};
const size_t rt_cg_n_default_devices =
	sizeof(rt_cg_default_devices) / sizeof(rt_cg_default_devices[0]);

uint64_t rt_cg_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t rt_cg_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + (weight - 10) * 9999 / 990;
}

int64_t rt_cg_nano_cpus_to_quota(int64_t nano_cpus, int64_t period)
{
	return nano_cpus * period / 1000000000LL;
}

int rt_cg_swap_v2(int64_t memory, int64_t memory_swap, int64_t *out, struct err *err)
{
	*out = 0;
	if (memory_swap == 0)
		return 0;
	if (memory_swap < 0) {
		*out = -1;
		return 0;
	}
	if (memory <= 0)
		return err_set(err, EINVAL, "unable to set swap limit without memory limit");
	if (memory_swap < memory)
		return err_set(err, EINVAL,
			       "memory+swap limit (%lld) should be >= memory limit (%lld)",
			       (long long)memory_swap, (long long)memory);
	*out = memory_swap - memory;
	return 0;
}

void rt_cg_resources_effective(const struct runtime_resources *r, struct runtime_resources *out)
{
	*out = *r;
	/* The daemon's rule: -m alone allows as much swap again. */
	if (out->memory > 0 && out->memory_swap == 0)
		out->memory_swap = out->memory * 2;
	if (out->nano_cpus > 0) {
		out->cpu_period = DEFAULT_PERIOD;
		out->cpu_quota = rt_cg_nano_cpus_to_quota(out->nano_cpus, DEFAULT_PERIOD);
	}
}

void rt_cg_limit_str(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

static int check_memory(const struct runtime_resources *r, struct err *err)
{
	if (r->memory < 0 || r->memory_reservation < 0)
		return err_set(err, EINVAL, "invalid memory value: must be positive");
	if (r->memory > 0 && r->memory < MIN_MEMORY)
		return err_set(err, EINVAL, "Minimum memory limit allowed is 6MB");
	if (r->memory_swap > 0 && r->memory == 0)
		return err_set(
			err, EINVAL,
			"You should always set the Memory limit when using Memoryswap limit, see usage");
	if (r->memory_swap > 0 && r->memory_swap < r->memory)
		return err_set(
			err, EINVAL,
			"Minimum memoryswap limit should be larger than memory limit, see usage");
	if (r->memory > 0 && r->memory_reservation > r->memory)
		return err_set(
			err, EINVAL,
			"Minimum memory limit can not be less than memory reservation limit, see usage");
	return 0;
}

static int check_cpu(const struct runtime_resources *r, struct err *err)
{
	if (r->nano_cpus < 0)
		return err_set(err, EINVAL, "invalid --cpus: must be positive");
	if (r->nano_cpus > 0 && r->cpu_period)
		return err_set(err, EINVAL,
			       "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (r->nano_cpus > 0 && r->cpu_quota)
		return err_set(err, EINVAL,
			       "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	if (r->nano_cpus > 0 && rt_cg_nano_cpus_to_quota(r->nano_cpus, DEFAULT_PERIOD) < 1000)
		return err_set(err, EINVAL, "Range of CPUs is from 0.01 to the number of CPUs");
	if (r->cpu_period && (r->cpu_period < 1000 || r->cpu_period > 1000000))
		return err_set(
			err, EINVAL,
			"CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)");
	if (r->cpu_quota > 0 && r->cpu_quota < 1000)
		return err_set(err, EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (r->cpu_shares < 0)
		return err_set(err, EINVAL, "invalid --cpu-shares: must be positive");
	return 0;
}

static bool cpuset_ok(const char *s)
{
	return s == NULL || (s[0] && strspn(s, "0123456789,-") == strlen(s));
}

int runtime_resources_check(const struct runtime_resources *r, struct err *err)
{
	if (!r)
		return 0;
	if (check_memory(r, err) < 0 || check_cpu(r, err) < 0)
		return -1;
	if (r->blkio_weight && (r->blkio_weight < 10 || r->blkio_weight > 1000))
		return err_set(err, EINVAL, "Range of blkio weight is from 10 to 1000");
	if (!cpuset_ok(r->cpuset_cpus) || !cpuset_ok(r->cpuset_mems))
		return err_set(err, EINVAL, "invalid cpuset \"%s\": want a list like 0-2,4",
			       cpuset_ok(r->cpuset_cpus) ? r->cpuset_mems : r->cpuset_cpus);
	if (r->cgroup_parent && (strstr(r->cgroup_parent, "..") || !r->cgroup_parent[0]))
		return err_set(err, EINVAL, "invalid --cgroup-parent \"%s\"", r->cgroup_parent);
	if (r->cgroup_name &&
	    (strchr(r->cgroup_name, '/') || !strcmp(r->cgroup_name, "..") || !r->cgroup_name[0]))
		return err_set(err, EINVAL, "invalid cgroup name \"%s\"", r->cgroup_name);
	return 0;
}

/* "1", "*" -> number or -1. */
static int parse_devnum(const char *s, size_t n, int64_t *out)
{
	char *end;
	long v;

	if (n == 1 && s[0] == '*') {
		*out = -1;
		return 0;
	}
	if (n == 0 || strspn(s, "0123456789") < n)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end != s + n || v > 0xfffff)
		return -1;
	*out = v;
	return 0;
}

static int parse_access(const char *s, char *out)
{
	size_t n = 0;

	if (!*s || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (!strchr("rwm", *s) || memchr(out, *s, n))
			return -1;
		out[n++] = *s;
	}
	out[n] = '\0';
	return 0;
}

int runtime_device_rule_parse(const char *s, struct runtime_device_rule *rule, struct err *err)
{
	char type, nums[64], access[8];
	const char *colon;

	memset(rule, 0, sizeof(*rule));
	if (sscanf(s, " %c %63s %7s", &type, nums, access) != 3 || !strchr("acb", type))
		goto bad;
	colon = strchr(nums, ':');
	if (!colon || parse_devnum(nums, (size_t)(colon - nums), &rule->major) < 0 ||
	    parse_devnum(colon + 1, strlen(colon + 1), &rule->minor) < 0 ||
	    parse_access(access, rule->access) < 0)
		goto bad;
	rule->type = type;
	return 0;
bad:
	return err_set(
		err, EINVAL,
		"invalid device cgroup rule \"%s\": want TYPE MAJOR:MINOR ACCESS, e.g. \"c 1:3 rwm\"",
		s);
}

void rt_cg_rule_str(const struct runtime_device_rule *r, char *buf, size_t len)
{
	char maj[24] = "*", min[24] = "*";

	if (r->major >= 0)
		snprintf(maj, sizeof(maj), "%lld", (long long)r->major);
	if (r->minor >= 0)
		snprintf(min, sizeof(min), "%lld", (long long)r->minor);
	snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, r->access);
}
