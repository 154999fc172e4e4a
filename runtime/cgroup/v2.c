/* v2: the unified hierarchy (Documentation/admin-guide/cgroup-v2.rst):
 * controllers enabled top-down through cgroup.subtree_control, limits in
 * the v2 files with runc's conversions, devices through a BPF program. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

/* What a container may use, where the parent offers it. */
static const char *const wanted[] = { "cpu", "cpuset", "io", "memory", "pids", "hugetlb" };

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += n) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
	}
	return false;
}

int rt_cg_v2_enable(const char *dir, struct err *err)
{
	char avail[1024], on[1024], all[256] = "";
	size_t n = 0;

	if (rt_cg_read(dir, "cgroup.controllers", avail, sizeof(avail)) < 0)
		return err_sys(err, errno, "read %s/cgroup.controllers", dir);
	if (rt_cg_read(dir, "cgroup.subtree_control", on, sizeof(on)) < 0)
		on[0] = '\0';
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (word_in(avail, wanted[i]) && !word_in(on, wanted[i]))
			n += (size_t)snprintf(all + n, sizeof(all) - n, "%s+%s", n ? " " : "",
					      wanted[i]);
	}
	if (!n || rt_cg_write(dir, "cgroup.subtree_control", all, err) == 0)
		return 0;
	/* One at a time, as runc falls back to: a controller the kernel
	 * refuses here (e.g. in a threaded subtree) must not cost the others. */
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		char op[32];
		struct err e = { 0 };
		if (!word_in(avail, wanted[i]) || word_in(on, wanted[i]))
			continue;
		snprintf(op, sizeof(op), "+%s", wanted[i]);
		if (rt_cg_write(dir, "cgroup.subtree_control", op, &e) < 0)
			log_debug("cgroup: %s", e.msg);
	}
	err_clear(err);
	return 0;
}

static int v2_create_once(struct rt_cgroup *cg, struct err *err)
{
	char path[RT_CG_PATH * 2];
	size_t n;

	snprintf(path, sizeof(path), "%s", cg->layout.unified);
	n = strlen(path);
	for (const char *p = cg->rel; *p;) {
		size_t l = strcspn(p, "/");
		if (n + 1 + l + 1 > sizeof(path))
			return err_set(err, ENAMETOOLONG, "cgroup path too long");
		if (rt_cg_v2_enable(path, err) < 0)
			return -1;
		path[n++] = '/';
		memcpy(path + n, p, l);
		n += l;
		path[n] = '\0';
		if (rt_cg_mkdir(path, err) < 0)
			return -1;
		p += l;
		p += *p == '/';
	}
	cg->made_unified = true;
	return 0;
}

/* Another container's teardown may rmdir our shared, empty parent between
 * our mkdir of it and of our leaf (rt_cg_remove_parent): start over. */
static int v2_create(struct rt_cgroup *cg, struct err *err)
{
	for (int tries = 0;; tries++) {
		err_clear(err);
		if (v2_create_once(cg, err) == 0)
			return 0;
		if (err->code != ENOENT || tries == 3)
			return -1;
	}
}

static int write_num(const char *dir, const char *file, int64_t v, struct err *err)
{
	char buf[32];

	rt_cg_limit_str(v, buf, sizeof(buf));
	return rt_cg_write(dir, file, buf, err);
}

static int set_memory(const char *leaf, const struct runtime_resources *r, struct err *err)
{
	int64_t swap;

	if (rt_cg_swap_v2(r->memory, r->memory_swap, &swap, err) < 0)
		return -1;
	if (r->memory > 0 && write_num(leaf, "memory.max", r->memory, err) < 0)
		return -1;
	/* memory.swap.max is absent without swap accounting. */
	if (swap && rt_cg_exists(leaf, "memory.swap.max") &&
	    write_num(leaf, "memory.swap.max", swap, err) < 0)
		return -1;
	if (r->memory_reservation > 0 &&
	    write_num(leaf, "memory.low", r->memory_reservation, err) < 0)
		return -1;
	return 0;
}

static int set_cpu(const char *leaf, const struct runtime_resources *r, struct err *err)
{
	char max[64], quota[32];

	if (r->cpu_shares &&
	    write_num(leaf, "cpu.weight", (int64_t)rt_cg_shares_to_weight((uint64_t)r->cpu_shares),
		      err) < 0)
		return -1;
	if (!r->cpu_quota && !r->cpu_period)
		return 0;
	/* cpu.max is "$MAX $PERIOD"; "max" is no limit. */
	rt_cg_limit_str(r->cpu_quota > 0 ? r->cpu_quota : -1, quota, sizeof(quota));
	snprintf(max, sizeof(max), "%s %lld", quota,
		 (long long)(r->cpu_period ? r->cpu_period : 100000));
	return rt_cg_write(leaf, "cpu.max", max, err);
}

static int set_io(const char *leaf, const struct runtime_resources *r, struct err *err)
{
	char v[32];

	/* BFQ takes blkio's own range (runc does the same); io.weight, the
	 * 1..10000 scale. */
	if (rt_cg_exists(leaf, "io.bfq.weight"))
		return write_num(leaf, "io.bfq.weight", r->blkio_weight, err);
	snprintf(v, sizeof(v), "default %llu",
		 (unsigned long long)rt_cg_blkio_to_io_weight((uint64_t)r->blkio_weight));
	return rt_cg_write(leaf, "io.weight", v, err);
}

int rt_cg_v2_set(const char *leaf, const struct runtime_resources *r, struct err *err)
{
	if (!r)
		return 0;
	if (set_memory(leaf, r, err) < 0 || set_cpu(leaf, r, err) < 0)
		return -1;
	if (r->cpuset_cpus && rt_cg_write(leaf, "cpuset.cpus", r->cpuset_cpus, err) < 0)
		return -1;
	if (r->cpuset_mems && rt_cg_write(leaf, "cpuset.mems", r->cpuset_mems, err) < 0)
		return -1;
	if (r->pids_limit && write_num(leaf, "pids.max", r->pids_limit, err) < 0)
		return -1;
	if (r->blkio_weight && set_io(leaf, r, err) < 0)
		return -1;
	return 0;
}

/* Docker's defaults then the caller's rules, in one array for the program. */
static int device_rules(const struct runtime_resources *r, struct runtime_device_rule *out,
			size_t max, struct err *err)
{
	size_t n = 0, extra = r ? r->n_devices : 0;

	if (rt_cg_n_default_devices + extra > max)
		return err_set(err, E2BIG, "too many device cgroup rules (%zu)", extra);
	memcpy(out, rt_cg_default_devices, rt_cg_n_default_devices * sizeof(*out));
	n = rt_cg_n_default_devices;
	for (size_t i = 0; i < extra; i++)
		out[n++] = r->devices[i];
	return (int)n;
}

static int v2_set(struct rt_cgroup *cg, const struct runtime_resources *r, struct err *err)
{
	struct runtime_device_rule rules[128];
	char leaf[RT_CG_PATH * 2];
	int n;

	if (rt_cg_leaf(cg, cg->layout.unified, leaf, sizeof(leaf)) < 0)
		return err_set(err, ENAMETOOLONG, "cgroup path too long");
	if (rt_cg_v2_set(leaf, r, err) < 0)
		return -1;
	if (cg->privileged)
		return 0;
	n = device_rules(r, rules, sizeof(rules) / sizeof(rules[0]), err);
	if (n < 0)
		return -1;
	cg->bpf_fd = rt_cg_bpf_attach(leaf, rules, (size_t)n, err);
	return cg->bpf_fd < 0 ? -1 : 0;
}

static int v2_join(struct rt_cgroup *cg, pid_t pid, struct err *err)
{
	char leaf[RT_CG_PATH * 2], num[24];

	if (rt_cg_leaf(cg, cg->layout.unified, leaf, sizeof(leaf)) < 0)
		return err_set(err, ENAMETOOLONG, "cgroup path too long");
	snprintf(num, sizeof(num), "%d", (int)pid);
	return rt_cg_write(leaf, "cgroup.procs", num, err);
}

static uint64_t v2_oom_kills(struct rt_cgroup *cg)
{
	char leaf[RT_CG_PATH * 2];
	uint64_t n = 0;

	if (rt_cg_leaf(cg, cg->layout.unified, leaf, sizeof(leaf)) == 0)
		rt_cg_read_key(leaf, "memory.events", "oom_kill", &n);
	return n;
}

static int v2_destroy(struct rt_cgroup *cg, struct err *err)
{
	char leaf[RT_CG_PATH * 2];

	if (cg->bpf_fd >= 0)
		close(cg->bpf_fd);
	cg->bpf_fd = -1;
	if (!cg->made_unified || rt_cg_leaf(cg, cg->layout.unified, leaf, sizeof(leaf)) < 0)
		return 0;
	/* cgroup.kill (Linux 5.14) kills the whole subtree at once. */
	if (rt_cg_exists(leaf, "cgroup.kill")) {
		struct err e = { 0 };
		if (rt_cg_write(leaf, "cgroup.kill", "1", &e) < 0)
			log_debug("cgroup: %s", e.msg);
	}
	if (rt_cg_rmdir(leaf, err) < 0)
		return -1;
	rt_cg_remove_parent(leaf);
	cg->made_unified = false;
	return 0;
}

const struct rt_cg_ops rt_cg_v2_ops = {
	.name = "cgroupfs v2",
	.create = v2_create,
	.set = v2_set,
	.join = v2_join,
	.oom_kills = v2_oom_kills,
	.destroy = v2_destroy,
};
