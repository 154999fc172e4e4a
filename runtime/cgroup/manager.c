/* manager: a container's cgroup from creation to removal, whatever the
 * backend, and the public runtime_cgroup_* entry points for cmd/ (removal of
 * leftovers, pruning). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

/* A cgroup younger than this may belong to a run that has not joined it yet.
 * The prune runs at most every RT_CG_PRUNE_INTERVAL (the same): a leftover
 * then waits at most twice that long. */
#define PRUNE_MIN_AGE RT_CG_PRUNE_INTERVAL

int rt_cg_leaf(const struct rt_cgroup *cg, const char *mount, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", mount, cg->rel);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* "/a//b/" -> "a/b" into out. */
static int clean_rel(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		if (*p == '/' && (n == 0 || out[n - 1] == '/'))
			continue;
		if (n + 1 >= len)
			return -1;
		out[n++] = *p;
	}
	while (n && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return n ? 0 : -1;
}

int rt_cg_init(struct rt_cgroup *cg, const struct rt_cg_layout *l, const char *parent,
	       const char *name, struct err *err)
{
	memset(cg, 0, sizeof(*cg));
	cg->bpf_fd = -1;
	cg->layout = *l;
	cg->ops = l->mode == RT_CG_V2 ? &rt_cg_v2_ops : &rt_cg_v1_ops;
	if (clean_rel(parent ? parent : RT_CG_DEFAULT_PARENT, cg->parent, sizeof(cg->parent)) < 0 ||
	    strstr(cg->parent, ".."))
		return err_set(err, EINVAL, "invalid cgroup parent \"%s\"", parent);
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".."))
		return err_set(err, EINVAL, "invalid cgroup name \"%s\"", name);
	if ((size_t)snprintf(cg->rel, sizeof(cg->rel), "%s/%s", cg->parent, name) >=
	    sizeof(cg->rel))
		return err_set(err, ENAMETOOLONG, "cgroup path %s/%s too long", cg->parent, name);
	return 0;
}

int rt_cgroup_setup(struct rt_cgroup *cg, const struct runtime_spec *spec, struct err *err)
{
	static const struct runtime_resources none;
	const struct runtime_resources *r = spec->resources ? spec->resources : &none;
	struct runtime_resources eff;
	struct rt_cg_layout l;
	char name[64];

	memset(cg, 0, sizeof(*cg));
	cg->bpf_fd = -1;
	if (runtime_resources_check(r, err) < 0 || rt_cg_detect(&l, err) < 0)
		return -1;
	snprintf(name, sizeof(name), "ctr-%d", (int)getpid());
	if (rt_cg_init(cg, &l, r->cgroup_parent, r->cgroup_name ? r->cgroup_name : name, err) < 0)
		return -1;
	cg->privileged = spec->privileged;
	rt_cg_resources_effective(r, &eff);
	cg->active = true;
	if (cg->ops->create(cg, err) < 0 || cg->ops->set(cg, &eff, err) < 0) {
		struct err e = { 0 };
		if (cg->ops->destroy(cg, &e) < 0)
			log_warn("%s", e.msg);
		cg->active = false;
		return -1;
	}
	log_debug("cgroup: %s (%s)", cg->rel, cg->ops->name);
	return 0;
}

int rt_cgroup_join(struct rt_cgroup *cg, pid_t pid, struct err *err)
{
	if (!cg->active)
		return 0;
	return cg->ops->join(cg, pid, err);
}

static int join_then_next(pid_t pid, void *data, struct err *err)
{
	struct rt_cg_hook *h = data;

	if (rt_cgroup_join(h->cg, pid, err) < 0)
		return -1;
	return h->next ? h->next(pid, h->next_data, err) : 0;
}

void rt_cgroup_hook(struct rt_cgroup *cg, const struct runtime_spec *spec, struct runtime_spec *out,
		    struct rt_cg_hook *h)
{
	*h = (struct rt_cg_hook){ cg, spec->on_created, spec->hook_data };
	*out = *spec;
	out->on_created = join_then_next;
	out->hook_data = h;
}

void rt_cgroup_finish(struct rt_cgroup *cg, struct runtime_result *res)
{
	struct err e = { 0 };

	if (!cg->active)
		return;
	if (res)
		res->oom_killed = cg->ops->oom_kills(cg) > 0;
	if (cg->ops->destroy(cg, &e) < 0)
		log_warn("%s", e.msg);
	cg->active = false;
}

int runtime_cgroup_remove(const char *parent, const char *name, struct err *err)
{
	struct rt_cg_layout l;
	struct rt_cgroup cg;

	if (rt_cg_detect(&l, err) < 0 || rt_cg_init(&cg, &l, parent, name, err) < 0)
		return -1;
	/* We do not know what was made: try every hierarchy; ENOENT is fine. */
	for (size_t i = 0; i < l.n_v1; i++)
		cg.made[i] = true;
	cg.made_unified = l.unified[0] != '\0';
	return cg.ops->destroy(&cg, err);
}

void runtime_cgroup_release(const struct runtime_resources *r, struct runtime_result *res)
{
	struct rt_cg_layout l;
	struct rt_cgroup cg;
	struct err e = { 0 };
	char name[64];

	snprintf(name, sizeof(name), "ctr-%d", (int)getpid());
	if (rt_cg_detect(&l, &e) < 0 ||
	    rt_cg_init(&cg, &l, r ? r->cgroup_parent : NULL,
		       r && r->cgroup_name ? r->cgroup_name : name, &e) < 0) {
		log_warn("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < l.n_v1; i++)
		cg.made[i] = true;
	cg.made_unified = l.unified[0] != '\0';
	cg.active = true;
	rt_cgroup_finish(&cg, res);
}

static bool procs_empty(const char *dir)
{
	char buf[64];

	return rt_cg_read(dir, "cgroup.procs", buf, sizeof(buf)) == 0 && buf[0] == '\0';
}

/* rmdir the empty, old enough children of mount/parent. */
static void prune_in(const char *mount, const char *parent)
{
	char dir[RT_CG_PATH * 2];
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/%s", mount, parent);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[RT_CG_PATH * 3];
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (rt_cg_age(path) >= PRUNE_MIN_AGE && procs_empty(path) && rmdir(path) == 0)
			log_debug("cgroup: removed leftover %s", path);
	}
	closedir(d);
}

bool rt_cg_prune_due(const char *stamp_dir, time_t now)
{
	struct timespec ts[2] = { { .tv_sec = now }, { .tv_sec = now } };
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (!stamp_dir ||
	    (size_t)snprintf(path, sizeof(path), "%s/cgroup-prune", stamp_dir) >= sizeof(path))
		return true;
	/* A stamp in the future (the clock was set back) does not count. */
	if (stat(path, &st) == 0 && st.st_mtime <= now && now - st.st_mtime < RT_CG_PRUNE_INTERVAL)
		return false;
	/* Concurrent runs may both get here: pruning twice is harmless. */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		(void)futimens(fd, ts);
		close(fd);
	}
	return true;
}

/* Each check opens cgroup.procs of every container's cgroup in every
 * hierarchy: throttled (rt_cg_prune_due) since every run calls it. */
void runtime_cgroup_prune(const char *parent, const char *stamp_dir)
{
	struct rt_cg_layout l;
	struct rt_cgroup cg;
	struct err e = { 0 };

	if (!rt_cg_prune_due(stamp_dir, time(NULL)))
		return;
	if (rt_cg_detect(&l, &e) < 0 || rt_cg_init(&cg, &l, parent, "x", &e) < 0)
		return;
	for (size_t i = 0; i < l.n_v1; i++)
		prune_in(l.v1[i].mount, cg.parent);
	if (l.unified[0])
		prune_in(l.unified, cg.parent);
}

int runtime_cgroup_stats(pid_t pid, struct runtime_cgroup_stats *st, struct err *err)
{
	struct rt_cg_layout l;
	char path[64];

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (rt_cg_detect(&l, err) < 0)
		return -1;
	return rt_cg_stats_read(&l, path, st, err);
}
