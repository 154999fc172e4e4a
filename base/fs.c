/* fs: atomic writes, recursive removal, rooted path resolution. */
#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"

int fs_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct err *err)
{
	return fs_write_file(dirfd, name, data, len, mode, true, err);
}

int fs_write_file(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		  bool durable, struct err *err)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", name, (int)getpid()) >= (int)sizeof(tmp))
		return err_set(err, ENAMETOOLONG, "path too long: %s", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_sys(err, errno, "create %s", tmp);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || (durable && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return err_sys(err, e, "rename %s", name);
	}
	return 0;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return err_sys(err, e, "write %s", name);
}

int fs_read_all(int dirfd, const char *name, char **out, size_t *len, size_t max, struct err *err)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t cap = 4096, used = 0;

	if (fd < 0)
		return err_sys(err, errno, "open %s", name);
	buf = malloc(cap + 1);
	if (!buf)
		return err_sys(err, ENOMEM, "read %s", name);
	for (;;) {
		ssize_t n;
		if (used == cap) {
			char *nb;
			if (cap >= max)
				return err_set(err, EFBIG, "%s: larger than %zu bytes", name, max);
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return err_sys(err, ENOMEM, "read %s", name);
			buf = nb;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "read %s", name);
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max)
		return err_set(err, EFBIG, "%s: larger than %zu bytes", name, max);
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = TAKE_PTR(buf);
	return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, struct err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return err_set(err, ENAMETOOLONG, "bad path: %s", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_sys(err, errno, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s", buf);
	return 0;
}

static int rm_children(int dfd, struct err *err)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(dfd);
		return err_sys(err, errno, "opendir");
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fs_rm_rf_at(dirfd(d), de->d_name, err) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int fs_rm_rf_at(int dirfd, const char *name, struct err *err)
{
	struct stat st;
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return err_sys(err, errno, "remove %s", name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "stat %s", name);
	if (!S_ISDIR(st.st_mode))
		return err_sys(err, EPERM, "remove %s", name);
	/* A read-only directory (e.g. 0555 in an image) cannot lose entries. */
	if ((st.st_mode & 0700) != 0700 && fchmodat(dirfd, name, st.st_mode | 0700, 0) < 0)
		return err_sys(err, errno, "chmod %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", name);
	if (rm_children(fd, err) < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return err_sys(err, errno, "rmdir %s", name);
	return 0;
}

int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	do
		fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

/* One step of fs_mkdirs_in_root: open prefix (resolved from root_fd as a
 * whole), creating its last component name[0..len) in parent_fd (what the
 * prefix before it resolved to) when missing. A dangling symlink there
 * makes mkdirat fail with EEXIST and the reopen with ENOENT: the step fails,
 * it never creates the symlink's target. */
static int mkdir_step(int root_fd, int parent_fd, const char *prefix, const char *name, size_t len,
		      mode_t mode)
{
	char comp[NAME_MAX + 1];
	int fd = fs_open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (len > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(comp, name, len);
	comp[len] = '\0';
	if (mkdirat(parent_fd, comp, mode) < 0 && errno != EEXIST)
		return -1;
	return fs_open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0);
}

/* Every prefix is resolved from root_fd, not from the directory reached so
 * far: a symlink "a/b/up -> ../../.." or "var/run -> /run" then means what
 * it means in the container (the container's root, /run), and still never
 * leads out of root_fd (RESOLVE_IN_ROOT clamps it, CVE-2021-30465). */
int fs_mkdirs_in_root(int root_fd, const char *path, mode_t mode)
{
	char prefix[PATH_MAX];
	size_t n = strlen(path), end = 0;
	int cur;

	if (n >= sizeof(prefix)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	cur = fs_open_in_root(root_fd, ".", O_PATH | O_DIRECTORY, 0);
	while (cur >= 0 && end < n) {
		size_t start;
		int next, e;

		while (end < n && path[end] == '/')
			end++;
		start = end;
		while (end < n && path[end] != '/')
			end++;
		if (start == end)
			break;
		memcpy(prefix, path, end);
		prefix[end] = '\0';
		next = mkdir_step(root_fd, cur, prefix, path + start, end - start, mode);
		e = errno;
		close(cur);
		errno = e;
		cur = next;
	}
	return cur;
}

int fs_split_path(const char *path, char *parent, size_t plen, char *base, size_t blen)
{
	const char *end = path + strlen(path);
	const char *slash;

	while (end > path && end[-1] == '/')
		end--;
	slash = end;
	while (slash > path && slash[-1] != '/')
		slash--;
	if (slash == end || (size_t)(end - slash) >= blen)
		return -1;
	memcpy(base, slash, (size_t)(end - slash));
	base[end - slash] = '\0';
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path) {
		if (plen < 2)
			return -1;
		memcpy(parent, path[0] == '/' ? "/" : ".", 2);
	} else {
		if ((size_t)(slash - path) >= plen)
			return -1;
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
	}
	return 0;
}

int fs_join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

long long fs_du_at(int parent_fd, const char *name)
{
	struct stat st;
	long long total = 0;
	int fd;
	DIR *d;
	struct dirent *de;

	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (long long)st.st_size : 0;
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			total += fs_du_at(dirfd(d), de->d_name);
	}
	closedir(d);
	return total;
}
