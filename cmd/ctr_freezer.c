/* ctr_freezer: pause/unpause through the freezer cgroup: v1 freezer.state
 * when the freezer hierarchy is mounted (hybrid hosts), else v2
 * cgroup.freeze (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst,
 * cgroup-v2.rst "cgroup.freeze"). The container's own freezer cgroup is
 * used when it has one (from /proc/PID/cgroup); else mydocker/<id>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cmd/lifecycle.h"
#include "base/banned.h"

#define V1 "/sys/fs/cgroup/freezer"

static bool have_v1(void)
{
	return access(V1 "/freezer.state", F_OK) == 0 || access(V1 "/cgroup.procs", F_OK) == 0;
}

static const char *v2_root(void)
{
	if (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return "/sys/fs/cgroup";
}

/* Our own cgroup of the container, by id. */
static void own_dir(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/mydocker/%s", have_v1() ? V1 : v2_root(), id);
}

/* The freezer cgroup pid is in, if it is not the root. */
static bool pid_dir(pid_t pid, char *buf, size_t len)
{
	char path[64], line[1024];
	cleanup_fclose FILE *f = NULL;
	bool v1 = have_v1();

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!cg)
			continue;
		*cg++ = '\0';
		cg[strcspn(cg, "\n")] = '\0';
		if ((v1 && !strcmp(ctl + 1, "freezer")) || (!v1 && !strcmp(ctl + 1, ""))) {
			if (!strcmp(cg, "/"))
				return false;
			snprintf(buf, len, "%s%s", v1 ? V1 : v2_root(), cg);
			return true;
		}
	}
	return false;
}

static int write_file(const char *dir, const char *file, const char *val, struct err *err)
{
	char path[PATH_MAX];
	cleanup_close int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		return err_sys(err, errno, "write %s", path);
	return 0;
}

int ctr_freezer_join(const char *id, pid_t pid, struct err *err)
{
	char dir[PATH_MAX], parent[PATH_MAX], num[32];

	if (pid_dir(pid, dir, sizeof(dir)))
		return 0; /* the cgroup module gave it one already */
	own_dir(id, dir, sizeof(dir));
	snprintf(parent, sizeof(parent), "%s/mydocker", have_v1() ? V1 : v2_root());
	if ((mkdir(parent, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0755) < 0 && errno != EEXIST))
		return err_sys(err, errno, "mkdir %s", dir);
	snprintf(num, sizeof(num), "%d", (int)pid);
	return write_file(dir, "cgroup.procs", num, err);
}

static bool frozen_now(const char *dir, bool v1)
{
	char path[PATH_MAX], buf[64] = "";
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, v1 ? "freezer.state" : "cgroup.events");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	return v1 ? !strncmp(buf, "FROZEN", 6) : strstr(buf, "frozen 1") != NULL;
}

int ctr_freezer_set(const char *id, pid_t pid, bool frozen, struct err *err)
{
	char dir[PATH_MAX];
	bool v1 = have_v1();

	if (!(pid > 0 && pid_dir(pid, dir, sizeof(dir))))
		own_dir(id, dir, sizeof(dir));
	if (access(dir, F_OK) < 0)
		return err_set(err, ENOENT, "container %.12s has no freezer cgroup", id);
	if (write_file(dir, v1 ? "freezer.state" : "cgroup.freeze",
		       v1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0"), err) < 0)
		return -1;
	/* FREEZING -> FROZEN takes a moment while tasks reach the freezer. */
	for (int i = 0; i < 1000 && frozen_now(dir, v1) != frozen; i++)
		usleep(1000);
	if (frozen_now(dir, v1) != frozen)
		return err_set(err, EBUSY, "container %.12s: freezer did not settle", id);
	return 0;
}

void ctr_freezer_remove(const char *id)
{
	char dir[PATH_MAX];
	struct err e = { 0 };

	own_dir(id, dir, sizeof(dir));
	if (access(dir, F_OK) < 0)
		return;
	if (write_file(dir, have_v1() ? "freezer.state" : "cgroup.freeze",
		       have_v1() ? "THAWED" : "0", &e) < 0)
		return;
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(2000);
}
