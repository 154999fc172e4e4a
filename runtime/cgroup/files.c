/* files: reading and writing cgroup control files, creating and removing
 * cgroup directories. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/cgroup/cgroup.h"
#include "base/banned.h"

int rt_cg_write(const char *dir, const char *file, const char *value, struct err *err)
{
	char path[RT_CG_PATH * 2];
	cleanup_close int fd = -1;
	size_t n = strlen(value);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", path);
	/* One write(2): the kernel parses each write as a whole value. */
	if (write(fd, value, n) != (ssize_t)n)
		return err_sys(err, errno, "write \"%s\" to %s", value, path);
	return 0;
}

int rt_cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[RT_CG_PATH * 2];
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int rt_cg_read_key(const char *dir, const char *file, const char *key, uint64_t *val)
{
	char buf[8192];
	size_t klen = strlen(key);

	if (rt_cg_read(dir, file, buf, sizeof(buf)) < 0)
		return -1;
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long v;
		if (!strncmp(line, key, klen) && line[klen] == ' ' &&
		    sscanf(line + klen + 1, "%llu", &v) == 1) {
			*val = v;
			return 0;
		}
	}
	return -1;
}

bool rt_cg_exists(const char *dir, const char *file)
{
	char path[RT_CG_PATH * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

int rt_cg_mkdir(const char *path, struct err *err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "create cgroup %s", path);
	return 0;
}

int rt_cg_kill_procs(const char *dir)
{
	char path[RT_CG_PATH * 2];
	cleanup_fclose FILE *f = NULL;
	int pid, n = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	while (f && fscanf(f, "%d", &pid) == 1) {
		if (pid > 0)
			kill(pid, SIGKILL);
		n++;
	}
	return n;
}

int rt_cg_rmdir(const char *path, struct err *err)
{
	/* Processes killed with their PID namespace leave the cgroup a moment
	 * after their parent saw them die: EBUSY until then. */
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		rt_cg_kill_procs(path);
		nanosleep(&ts, NULL);
	}
	return err_sys(err, errno, "remove cgroup %s", path);
}

long rt_cg_age(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	return (long)(time(NULL) - st.st_ctime);
}

void rt_cg_remove_parent(const char *leaf)
{
	char parent[4096];
	const char *slash = strrchr(leaf, '/');

	/* Only our default parent: a --cgroup-parent belongs to the user. */
	if (!slash || (size_t)(slash - leaf) >= sizeof(parent))
		return;
	memcpy(parent, leaf, (size_t)(slash - leaf));
	parent[slash - leaf] = '\0';
	slash = strrchr(parent, '/');
	if (!slash || strcmp(slash + 1, "mydocker") != 0)
		return;
	/* EBUSY while other containers live in it: fine, the last one goes. */
	rmdir(parent);
}
