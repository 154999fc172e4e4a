/* detect: find the cgroup hierarchies at run time: v1, v2 or hybrid, and
 * where each one is mounted. Nothing here assumes /sys/fs/cgroup/<name>. */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>

#include "base/cleanup.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

/* One cgroup line of mountinfo (proc(5)): the fields we need. */
struct mi_entry {
	char root[RT_CG_PATH], point[RT_CG_PATH], fstype[16], super[256];
};

static bool parse_mountinfo_line(char *line, struct mi_entry *e)
{
	char *sep = strstr(line, " - ");
	char root[RT_CG_PATH], point[RT_CG_PATH];

	if (!sep || sscanf(line, "%*s %*s %*s %255s %255s", root, point) != 2)
		return false;
	if (sscanf(sep + 3, "%15s %*s %255s", e->fstype, e->super) != 2)
		return false;
	/* Escaped names (\040 for a space) are not cgroup mounts we made. */
	if (strchr(root, '\\') || strchr(point, '\\'))
		return false;
	snprintf(e->root, sizeof(e->root), "%s", root);
	snprintf(e->point, sizeof(e->point), "%s", point);
	return true;
}

/* true if every comma-separated item of want is an option in super. */
static bool has_all_opts(const char *super, const char *want)
{
	char w[128], *save = NULL;

	snprintf(w, sizeof(w), "%s", want);
	for (char *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(t);
		const char *p = super;
		bool found = false;
		while (p && *p) {
			if (!strncmp(p, t, n) && (p[n] == ',' || p[n] == '\0'))
				found = true;
			p = strchr(p, ',');
			p = p ? p + 1 : NULL;
		}
		if (!found)
			return false;
	}
	return true;
}

/* The hierarchy's root: "/", or "/.." steps when read from inside a cgroup
 * namespace, where mount roots are shown relative to its root (our own
 * cgroup): the container's child reads mountinfo after unshare. */
static bool root_is_top(const char *root)
{
	while (!strncmp(root, "/..", 3) && (root[3] == '/' || root[3] == '\0'))
		root += 3;
	return !strcmp(root, "/") || !*root;
}

static bool magic_is(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

/* The mount point of the hierarchy with controllers ctrls (v1), or of the
 * cgroup2 one (ctrls NULL): its root must be the hierarchy's root. */
static bool find_mount(FILE *mi, const char *ctrls, bool check_magic, char *out, size_t len)
{
	char line[2048];

	rewind(mi);
	while (fgets(line, sizeof(line), mi)) {
		struct mi_entry e;
		bool v2 = ctrls == NULL;
		if (!parse_mountinfo_line(line, &e) || !root_is_top(e.root))
			continue;
		if (strcmp(e.fstype, v2 ? "cgroup2" : "cgroup"))
			continue;
		if (!v2 && !has_all_opts(e.super, ctrls))
			continue;
		if (check_magic &&
		    !magic_is(e.point, v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC))
			continue;
		snprintf(out, len, "%s", e.point);
		return true;
	}
	return false;
}

/* One line of /proc/self/cgroup: "ID:controllers:path". The v2 line has
 * ID 0 and no controllers. */
static void add_hierarchy(FILE *mi, const char *line, bool check_magic, struct rt_cg_layout *l)
{
	char ctrls[128];
	const char *c = strchr(line, ':'), *end;

	if (!c)
		return;
	end = strchr(++c, ':');
	if (!end || (size_t)(end - c) >= sizeof(ctrls))
		return;
	memcpy(ctrls, c, (size_t)(end - c));
	ctrls[end - c] = '\0';
	if (ctrls[0] == '\0') {
		find_mount(mi, NULL, check_magic, l->unified, sizeof(l->unified));
		return;
	}
	if (l->n_v1 >= RT_CG_MAX_HIER)
		return;
	if (find_mount(mi, ctrls, check_magic, l->v1[l->n_v1].mount, sizeof(l->v1[0].mount))) {
		snprintf(l->v1[l->n_v1].opts, sizeof(l->v1[0].opts), "%s", ctrls);
		l->n_v1++;
	}
}

int rt_cg_detect_from(const char *mountinfo, const char *self_cgroup, bool check_magic,
		      struct rt_cg_layout *l, struct err *err)
{
	cleanup_fclose FILE *mi = fopen(mountinfo, "re");
	cleanup_fclose FILE *sc = fopen(self_cgroup, "re");
	char line[1024];

	memset(l, 0, sizeof(*l));
	if (!mi || !sc)
		return err_sys(err, errno, "read %s", mi ? self_cgroup : mountinfo);
	while (fgets(line, sizeof(line), sc)) {
		line[strcspn(line, "\n")] = '\0';
		add_hierarchy(mi, line, check_magic, l);
	}
	if (l->n_v1 && l->unified[0])
		l->mode = RT_CG_HYBRID;
	else if (l->n_v1)
		l->mode = RT_CG_V1;
	else if (l->unified[0])
		l->mode = RT_CG_V2;
	else
		return err_set(err, ENOENT, "no cgroup hierarchy is mounted");
	return 0;
}

int rt_cg_detect(struct rt_cg_layout *l, struct err *err)
{
	/* A pure v2 host mounts cgroup2 on /sys/fs/cgroup itself; a v1 or
	 * hybrid one has a tmpfs there with one mount per hierarchy. */
	if (magic_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
		memset(l, 0, sizeof(*l));
		l->mode = RT_CG_V2;
		snprintf(l->unified, sizeof(l->unified), "/sys/fs/cgroup");
		return 0;
	}
	return rt_cg_detect_from("/proc/self/mountinfo", "/proc/self/cgroup", true, l, err);
}

int rt_cg_v1_find(const struct rt_cg_layout *l, const char *controller)
{
	for (size_t i = 0; i < l->n_v1; i++)
		if (has_all_opts(l->v1[i].opts, controller))
			return (int)i;
	return -1;
}
