/* v1: one directory per hierarchy (memory, cpu, cpuacct, cpuset, pids,
 * blkio, devices, freezer, name=systemd, ...), limits in the legacy files
 * (Documentation/admin-guide/cgroup-v1/). On a hybrid host the v2
 * hierarchy is joined too, but only on a best-effort basis: it holds no
 * controller we need, and crun's refusal to run there is what we avoid. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

/* A new cpuset cgroup starts with empty cpus and mems, and a process can
 * not join it until both are set: copy them from the parent, as runc does. */
static int cpuset_inherit(const char *dir, const char *parent, struct err *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

	for (size_t i = 0; i < 2; i++) {
		char cur[4096], up[4096];
		if (rt_cg_read(dir, files[i], cur, sizeof(cur)) == 0 &&
		    strspn(cur, " \n") != strlen(cur))
			continue;
		if (rt_cg_read(parent, files[i], up, sizeof(up)) < 0)
			return err_sys(err, errno, "read %s/%s", parent, files[i]);
		if (rt_cg_write(dir, files[i], up, err) < 0)
			return -1;
	}
	return 0;
}

/* mkdir mount/rel one component at a time. */
static int mkdir_chain_once(const char *mount, const char *rel, bool cpuset, struct err *err)
{
	char path[RT_CG_PATH * 2], parent[RT_CG_PATH * 2];
	size_t n = strlen(mount);

	snprintf(path, sizeof(path), "%s", mount);
	for (const char *p = rel; *p;) {
		size_t l = strcspn(p, "/");
		snprintf(parent, sizeof(parent), "%s", path);
		if (n + 1 + l + 1 > sizeof(path))
			return err_set(err, ENAMETOOLONG, "cgroup path %s/%s too long", mount, rel);
		path[n++] = '/';
		memcpy(path + n, p, l);
		n += l;
		path[n] = '\0';
		if (rt_cg_mkdir(path, err) < 0 || (cpuset && cpuset_inherit(path, parent, err) < 0))
			return -1;
		p += l;
		p += *p == '/';
	}
	return 0;
}

/* Another container's teardown may rmdir our shared, empty parent between
 * our mkdir of it and of our leaf (rt_cg_remove_parent): start over. */
static int mkdir_chain(const char *mount, const char *rel, bool cpuset, struct err *err)
{
	for (int tries = 0;; tries++) {
		err_clear(err);
		if (mkdir_chain_once(mount, rel, cpuset, err) == 0)
			return 0;
		if (err->code != ENOENT || tries == 3)
			return -1;
	}
}

static int v1_create(struct rt_cgroup *cg, struct err *err)
{
	const struct rt_cg_layout *l = &cg->layout;

	for (size_t i = 0; i < l->n_v1; i++) {
		bool named = !strncmp(l->v1[i].opts, "name=", 5);
		bool cpuset = rt_cg_v1_find(l, "cpuset") == (int)i;
		struct err e = { 0 };
		if (mkdir_chain(l->v1[i].mount, cg->rel, cpuset, &e) == 0) {
			cg->made[i] = true;
			continue;
		}
		/* A named hierarchy (systemd's) only tracks processes. */
		if (!named) {
			*err = e;
			return -1;
		}
		log_debug("cgroup: skipping %s: %s", l->v1[i].opts, e.msg);
	}
	if (l->unified[0]) {
		struct err e = { 0 };
		cg->made_unified = mkdir_chain(l->unified, cg->rel, false, &e) == 0;
		if (!cg->made_unified)
			log_debug("cgroup: not using the v2 hierarchy: %s", e.msg);
	}
	return 0;
}

/* The leaf of controller ctrl, or NULL when it is not mounted / not ours. */
static const char *leaf_of(struct rt_cgroup *cg, const char *ctrl, char *buf, size_t len)
{
	int i = rt_cg_v1_find(&cg->layout, ctrl);

	if (i < 0 || !cg->made[i] || rt_cg_leaf(cg, cg->layout.v1[i].mount, buf, len) < 0)
		return NULL;
	return buf;
}

static int set_num(const char *dir, const char *file, int64_t v, struct err *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return rt_cg_write(dir, file, buf, err);
}

static int set_memory(const char *dir, const struct runtime_resources *r, struct err *err)
{
	if (r->memory > 0 && set_num(dir, "memory.limit_in_bytes", r->memory, err) < 0)
		return -1;
	/* memsw exists only with swap accounting (swapaccount=1). */
	if (r->memory_swap && rt_cg_exists(dir, "memory.memsw.limit_in_bytes") &&
	    set_num(dir, "memory.memsw.limit_in_bytes", r->memory_swap < 0 ? -1 : r->memory_swap,
		    err) < 0)
		return -1;
	if (r->memory_reservation > 0 &&
	    set_num(dir, "memory.soft_limit_in_bytes", r->memory_reservation, err) < 0)
		return -1;
	return 0;
}

static int set_cpu(const char *dir, const struct runtime_resources *r, struct err *err)
{
	if (r->cpu_shares && set_num(dir, "cpu.shares", r->cpu_shares, err) < 0)
		return -1;
	/* Period before quota: the kernel checks the quota against it. */
	if (r->cpu_period && set_num(dir, "cpu.cfs_period_us", r->cpu_period, err) < 0)
		return -1;
	if (r->cpu_quota &&
	    set_num(dir, "cpu.cfs_quota_us", r->cpu_quota < 0 ? -1 : r->cpu_quota, err) < 0)
		return -1;
	return 0;
}

static int set_blkio(const char *dir, const struct runtime_resources *r, struct err *err)
{
	/* CFQ's blkio.weight, or BFQ's blkio.bfq.weight on newer kernels. */
	const char *file = rt_cg_exists(dir, "blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";

	if (!rt_cg_exists(dir, file))
		return err_set(
			err, ENOTSUP,
			"--blkio-weight: the kernel has no blkio weight (needs the BFQ scheduler)");
	return set_num(dir, file, r->blkio_weight, err);
}

/* Deny everything, then allow Docker's list and the caller's rules. */
static int set_devices(const char *dir, bool privileged, const struct runtime_resources *r,
		       struct err *err)
{
	char rule[64];

	if (privileged)
		return rt_cg_write(dir, "devices.allow", "a", err);
	if (rt_cg_write(dir, "devices.deny", "a", err) < 0)
		return -1;
	for (size_t i = 0; i < rt_cg_n_default_devices; i++) {
		rt_cg_rule_str(&rt_cg_default_devices[i], rule, sizeof(rule));
		if (rt_cg_write(dir, "devices.allow", rule, err) < 0)
			return -1;
	}
	for (size_t i = 0; r && i < r->n_devices; i++) {
		rt_cg_rule_str(&r->devices[i], rule, sizeof(rule));
		if (rt_cg_write(dir, "devices.allow", rule, err) < 0)
			return -1;
	}
	return 0;
}

static int set_cpuset(const char *dir, const struct runtime_resources *r, struct err *err)
{
	if (r->cpuset_cpus && rt_cg_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
		return -1;
	if (r->cpuset_mems && rt_cg_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
		return -1;
	return 0;
}

int rt_cg_v1_set(struct rt_cgroup *cg, const struct runtime_resources *r, struct err *err)
{
	char d[RT_CG_PATH * 2];
	static const struct runtime_resources none;

	if (leaf_of(cg, "devices", d, sizeof(d)) && set_devices(d, cg->privileged, r, err) < 0)
		return -1;
	if (!r)
		r = &none;
	if (leaf_of(cg, "memory", d, sizeof(d)) && set_memory(d, r, err) < 0)
		return -1;
	if (leaf_of(cg, "cpu", d, sizeof(d)) && set_cpu(d, r, err) < 0)
		return -1;
	if (leaf_of(cg, "cpuset", d, sizeof(d)) && set_cpuset(d, r, err) < 0)
		return -1;
	if (r->pids_limit && leaf_of(cg, "pids", d, sizeof(d))) {
		char v[32];
		rt_cg_limit_str(r->pids_limit, v, sizeof(v));
		if (rt_cg_write(d, "pids.max", v, err) < 0)
			return -1;
	}
	if (r->blkio_weight && leaf_of(cg, "blkio", d, sizeof(d)) && set_blkio(d, r, err) < 0)
		return -1;
	return 0;
}

static int v1_set(struct rt_cgroup *cg, const struct runtime_resources *r, struct err *err)
{
	return rt_cg_v1_set(cg, r, err);
}

static int join_one(struct rt_cgroup *cg, const char *mount, pid_t pid, struct err *err)
{
	char d[RT_CG_PATH * 2], num[24];

	if (rt_cg_leaf(cg, mount, d, sizeof(d)) < 0)
		return err_set(err, ENAMETOOLONG, "cgroup path too long");
	snprintf(num, sizeof(num), "%d", (int)pid);
	return rt_cg_write(d, "cgroup.procs", num, err);
}

static int v1_join(struct rt_cgroup *cg, pid_t pid, struct err *err)
{
	for (size_t i = 0; i < cg->layout.n_v1; i++) {
		if (cg->made[i] && join_one(cg, cg->layout.v1[i].mount, pid, err) < 0)
			return -1;
	}
	if (cg->made_unified) {
		struct err e = { 0 };
		if (join_one(cg, cg->layout.unified, pid, &e) < 0)
			log_debug("cgroup: not joining the v2 hierarchy: %s", e.msg);
	}
	return 0;
}

static uint64_t v1_oom_kills(struct rt_cgroup *cg)
{
	char d[RT_CG_PATH * 2];
	uint64_t n = 0;

	if (leaf_of(cg, "memory", d, sizeof(d)))
		rt_cg_read_key(d, "memory.oom_control", "oom_kill", &n);
	return n;
}

static int v1_destroy(struct rt_cgroup *cg, struct err *err)
{
	char d[RT_CG_PATH * 2];
	int rc = 0;

	/* Our leaves, then the shared parent if no other container uses it. */
	for (size_t i = 0; i < cg->layout.n_v1; i++) {
		if (!cg->made[i] || rt_cg_leaf(cg, cg->layout.v1[i].mount, d, sizeof(d)) < 0) {
			cg->made[i] = false;
			continue;
		}
		if (rt_cg_rmdir(d, err) < 0) {
			rc = -1;
			continue;
		}
		rt_cg_remove_parent(d);
		cg->made[i] = false;
	}
	if (cg->made_unified && rt_cg_leaf(cg, cg->layout.unified, d, sizeof(d)) == 0) {
		if (rt_cg_rmdir(d, err) < 0)
			rc = -1;
		else
			rt_cg_remove_parent(d);
	}
	cg->made_unified = false;
	return rc;
}

const struct rt_cg_ops rt_cg_v1_ops = {
	.name = "cgroupfs v1",
	.create = v1_create,
	.set = v1_set,
	.join = v1_join,
	.oom_kills = v1_oom_kills,
	.destroy = v1_destroy,
};
