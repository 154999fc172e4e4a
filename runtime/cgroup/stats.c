/* stats: what `mydocker stats` shows, read from a process's cgroups
 * (found through /proc/<pid>/cgroup, so any --cgroup-parent works). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

static uint64_t read_u64(const char *dir, const char *file)
{
	char buf[64];
	unsigned long long v;

	if (rt_cg_read(dir, file, buf, sizeof(buf)) < 0 || sscanf(buf, "%llu", &v) != 1)
		return 0;
	return v;
}

/* A limit: "max" or a v1 "unlimited" (PAGE_COUNTER_MAX) become the host's. */
static uint64_t mem_limit(const char *dir, const char *file)
{
	uint64_t host = host_memory(), v = read_u64(dir, file);

	return v == 0 || v > host ? host : v;
}

/* Docker's usage: without the inactive page cache. */
static uint64_t mem_usage(const char *dir, const char *usage, const char *inactive_key)
{
	uint64_t u = read_u64(dir, usage), inactive = 0;

	if (rt_cg_read_key(dir, "memory.stat", inactive_key, &inactive) == 0 && inactive < u)
		u -= inactive;
	return u;
}

/* blkio.throttle.io_service_bytes: "MAJ:MIN Read N" / "MAJ:MIN Write N". */
static void blkio_v1(const char *dir, struct runtime_cgroup_stats *st)
{
	char buf[8192];

	if (rt_cg_read(dir, "blkio.throttle.io_service_bytes_recursive", buf, sizeof(buf)) < 0 &&
	    rt_cg_read(dir, "blkio.throttle.io_service_bytes", buf, sizeof(buf)) < 0)
		return;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char op[16];
		unsigned long long v;
		if (sscanf(line, "%*s %15s %llu", op, &v) != 2)
			continue;
		if (!strcmp(op, "Read"))
			st->blk_read += v;
		else if (!strcmp(op, "Write"))
			st->blk_write += v;
	}
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ...". */
static void io_v2(const char *dir, struct runtime_cgroup_stats *st)
{
	char buf[8192];

	if (rt_cg_read(dir, "io.stat", buf, sizeof(buf)) < 0)
		return;
	for (char *p = buf; (p = strstr(p, "bytes=")); p += 6) {
		unsigned long long v;
		if (p - buf < 1 || sscanf(p + 6, "%llu", &v) != 1)
			continue;
		if (p[-1] == 'r')
			st->blk_read += v;
		else if (p[-1] == 'w')
			st->blk_write += v;
	}
}

static void read_v1(const char *ctrls, const char *dir, struct runtime_cgroup_stats *st)
{
	char c[128], *save = NULL;

	snprintf(c, sizeof(c), "%s", ctrls);
	for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "memory")) {
			st->mem_usage =
				mem_usage(dir, "memory.usage_in_bytes", "total_inactive_file");
			st->mem_limit = mem_limit(dir, "memory.limit_in_bytes");
		} else if (!strcmp(t, "cpuacct")) {
			st->cpu_ns = read_u64(dir, "cpuacct.usage");
		} else if (!strcmp(t, "pids")) {
			st->pids = read_u64(dir, "pids.current");
		} else if (!strcmp(t, "blkio")) {
			blkio_v1(dir, st);
		}
	}
}

static void read_v2(const char *dir, struct runtime_cgroup_stats *st)
{
	uint64_t usec = 0;

	st->mem_usage = mem_usage(dir, "memory.current", "inactive_file");
	st->mem_limit = mem_limit(dir, "memory.max");
	if (rt_cg_read_key(dir, "cpu.stat", "usage_usec", &usec) == 0)
		st->cpu_ns = usec * 1000;
	st->pids = read_u64(dir, "pids.current");
	io_v2(dir, st);
}

/* One "ID:controllers:path" line of /proc/<pid>/cgroup. */
static void read_line(const struct rt_cg_layout *l, char *line, struct runtime_cgroup_stats *st)
{
	char *ctrls = strchr(line, ':'), *path, dir[RT_CG_PATH * 3];
	int i;

	if (!ctrls || !(path = strchr(++ctrls, ':')))
		return;
	*path++ = '\0';
	if (ctrls[0] == '\0') {
		if (l->mode == RT_CG_V2) {
			snprintf(dir, sizeof(dir), "%s%s", l->unified, path);
			read_v2(dir, st);
		}
		return;
	}
	i = rt_cg_v1_find(l, ctrls);
	if (i < 0)
		return;
	snprintf(dir, sizeof(dir), "%s%s", l->v1[i].mount, path);
	read_v1(ctrls, dir, st);
}

int rt_cg_stats_read(const struct rt_cg_layout *l, const char *proc_cgroup,
		     struct runtime_cgroup_stats *st, struct err *err)
{
	cleanup_fclose FILE *f = fopen(proc_cgroup, "re");
	char line[1024];

	memset(st, 0, sizeof(*st));
	if (!f)
		return err_sys(err, errno, "read %s", proc_cgroup);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		read_line(l, line, st);
	}
	if (!st->mem_limit)
		st->mem_limit = host_memory();
	return 0;
}
