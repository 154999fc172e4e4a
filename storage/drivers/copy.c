/* copy: metadata-preserving tree merge for the vfs driver and volume copy-up. */
#include "storage/drivers/private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"

#define WH_PREFIX ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define PROC_PATH_LEN (32 + NAME_MAX + 1)

/* A hard-linked source inode and where its first copy went. */
struct link_ent {
	dev_t dev;
	ino_t ino;
	char *rel; /* path relative to the dst root */
};

struct copy_ctx {
	const struct tree_copy_opts *opts;
	int dst_root_fd;
	bool privileged; /* root: ownership and trusted.* xattrs must copy */
	struct link_ent *links;
	size_t n_links, cap_links;
	char rel[PATH_MAX]; /* the dst dir being filled, relative to dst root */
	size_t rel_len;
	struct err *err;
};

static int copy_dir(struct copy_ctx *cx, int sfd, int dfd);

/* There is no lsetxattrat(2) in glibc: name the entry through its parent's
 * fd so that only the last component is looked up, and never followed by
 * the l*xattr calls. */
static void proc_path(char *buf, int dirfd, const char *name)
{
	snprintf(buf, PROC_PATH_LEN, "/proc/self/fd/%d/%s", dirfd, name);
}

static ssize_t xa_list(int fd, const char *name, char *buf, size_t len)
{
	char p[PROC_PATH_LEN];

	if (!name)
		return flistxattr(fd, buf, len);
	proc_path(p, fd, name);
	return llistxattr(p, buf, len);
}

static ssize_t xa_get(int fd, const char *name, const char *key, void *buf, size_t len)
{
	char p[PROC_PATH_LEN];

	if (!name)
		return fgetxattr(fd, key, buf, len);
	proc_path(p, fd, name);
	return lgetxattr(p, key, buf, len);
}

static int xa_set(int fd, const char *name, const char *key, const void *val, size_t len)
{
	char p[PROC_PATH_LEN];

	if (!name)
		return fsetxattr(fd, key, val, len, 0);
	proc_path(p, fd, name);
	return lsetxattr(p, key, val, len, 0);
}

/* Read the list of xattr names into a heap buffer; 0 with *out NULL if none. */
static ssize_t xa_names(int fd, const char *name, char **out)
{
	for (;;) {
		ssize_t n = xa_list(fd, name, NULL, 0);
		char *buf;

		*out = NULL;
		if (n <= 0)
			return (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) ? 0 : n;
		buf = malloc((size_t)n);
		if (!buf)
			return -1;
		n = xa_list(fd, name, buf, (size_t)n);
		if (n >= 0) {
			*out = buf;
			return n;
		}
		free(buf);
		if (errno != ERANGE) /* grew in between: ask again */
			return -1;
	}
}

static int copy_one_xattr(struct copy_ctx *cx, int sfd, const char *sname, int dfd,
			  const char *dname, const char *key)
{
	cleanup_free char *val = NULL;
	ssize_t n = xa_get(sfd, sname, key, NULL, 0);

	if (n < 0)
		return errno == ENODATA ? 0 : err_sys(cx->err, errno, "getxattr %s", key);
	val = malloc((size_t)n + 1);
	if (!val)
		return err_sys(cx->err, ENOMEM, "getxattr %s", key);
	n = xa_get(sfd, sname, key, val, (size_t)n);
	if (n < 0)
		return err_sys(cx->err, errno, "getxattr %s", key);
	if (xa_set(dfd, dname, key, val, (size_t)n) == 0)
		return 0;
	/* user.* is refused on symlinks and devices, trusted.* without
	 * CAP_SYS_ADMIN, anything on a filesystem without xattrs: lose the
	 * attribute rather than the file, as cp -a does. */
	if (errno == ENOTSUP || errno == EOPNOTSUPP || (errno == EPERM && !cx->privileged) ||
	    (errno == EPERM && strncmp(key, "user.", 5) == 0))
		return 0;
	return err_sys(cx->err, errno, "setxattr %s on %s", key, dname ? dname : ".");
}

static int copy_xattrs(struct copy_ctx *cx, int sfd, const char *sname, int dfd, const char *dname)
{
	cleanup_free char *names = NULL;
	ssize_t n = xa_names(sfd, sname, &names);

	if (n < 0)
		return err_sys(cx->err, errno, "listxattr %s", sname ? sname : ".");
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
		const char *key = names + off;
		/* overlay's own bookkeeping means nothing outside that mount. */
		if (strncmp(key, "trusted.overlay.", 16) == 0)
			continue;
		if (copy_one_xattr(cx, sfd, sname, dfd, dname, key) < 0)
			return -1;
	}
	return 0;
}

/* Owner first: chown(2) clears setuid/setgid and file capabilities, so the
 * mode and the xattrs must come after it. Times last. dname NULL = dfd. */
static int apply_meta(struct copy_ctx *cx, int sfd, const char *sname, int dfd, const char *dname,
		      const struct stat *st)
{
	const char *what = dname ? dname : ".";
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int rc;

	rc = dname ? fchownat(dfd, dname, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) :
		     fchown(dfd, st->st_uid, st->st_gid);
	if (rc < 0 && (cx->privileged || errno != EPERM))
		return err_sys(cx->err, errno, "chown %s", what);
	if (!S_ISLNK(st->st_mode)) {
		rc = dname ? fchmodat(dfd, dname, st->st_mode & 07777, 0) :
			     fchmod(dfd, st->st_mode & 07777);
		if (rc < 0)
			return err_sys(cx->err, errno, "chmod %s", what);
	}
	if (copy_xattrs(cx, sfd, sname, dfd, dname) < 0)
		return -1;
	rc = dname ? utimensat(dfd, dname, ts, AT_SYMLINK_NOFOLLOW) : futimens(dfd, ts);
	if (rc < 0)
		return err_sys(cx->err, errno, "set times of %s", what);
	return 0;
}

static int copy_data(int in_fd, int out_fd)
{
	char buf[65536];

	for (;;) {
		ssize_t n = copy_file_range(in_fd, NULL, out_fd, NULL, 1 << 30, 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -1;
		break; /* not offered between these filesystems: plain copy */
	}
	for (;;) {
		ssize_t n = read(in_fd, buf, sizeof(buf)), w = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		while (w < n) {
			ssize_t k = write(out_fd, buf + w, (size_t)(n - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -1;
			w += k;
		}
	}
}

static int copy_reg(struct copy_ctx *cx, int sfd, int dfd, const char *name, const struct stat *st)
{
	cleanup_close int in_fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int out_fd = -1;

	if (in_fd < 0)
		return err_sys(cx->err, errno, "open %s", name);
	out_fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out_fd < 0)
		return err_sys(cx->err, errno, "create %s", name);
	if (copy_data(in_fd, out_fd) < 0)
		return err_sys(cx->err, errno, "copy %s", name);
	return apply_meta(cx, in_fd, NULL, out_fd, NULL, st);
}

static int copy_special(struct copy_ctx *cx, int sfd, int dfd, const char *name,
			const struct stat *st)
{
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return err_sys(cx->err, errno, "readlink %s", name);
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return err_sys(cx->err, errno, "symlink %s", name);
	} else if (mknodat(dfd, name, st->st_mode & S_IFMT, st->st_rdev) < 0) {
		return err_sys(cx->err, errno, "mknod %s", name);
	}
	return apply_meta(cx, sfd, name, dfd, name, st);
}

static struct link_ent *link_find(struct copy_ctx *cx, const struct stat *st)
{
	for (size_t i = 0; i < cx->n_links; i++)
		if (cx->links[i].dev == st->st_dev && cx->links[i].ino == st->st_ino)
			return &cx->links[i];
	return NULL;
}

static int rel_push(struct copy_ctx *cx, const char *name)
{
	size_t n = strlen(name);

	if (cx->rel_len + n + 2 > sizeof(cx->rel))
		return err_set(cx->err, ENAMETOOLONG, "path too long: %s/%s", cx->rel, name);
	if (cx->rel_len)
		cx->rel[cx->rel_len++] = '/';
	memcpy(cx->rel + cx->rel_len, name, n + 1);
	cx->rel_len += n;
	return 0;
}

static void rel_pop(struct copy_ctx *cx, size_t len)
{
	cx->rel_len = len;
	cx->rel[len] = '\0';
}

static int link_add(struct copy_ctx *cx, const struct stat *st, const char *name)
{
	size_t saved = cx->rel_len;
	char *rel;

	if (cx->n_links == cx->cap_links) {
		size_t cap = cx->cap_links ? cx->cap_links * 2 : 16;
		struct link_ent *nl = realloc(cx->links, cap * sizeof(*nl));
		if (!nl)
			return err_sys(cx->err, ENOMEM, "hard link table");
		cx->links = nl;
		cx->cap_links = cap;
	}
	if (rel_push(cx, name) < 0)
		return -1;
	rel = strdup(cx->rel);
	rel_pop(cx, saved);
	if (!rel)
		return err_sys(cx->err, ENOMEM, "hard link table");
	cx->links[cx->n_links++] = (struct link_ent){ st->st_dev, st->st_ino, rel };
	/* cppcheck-suppress memleak ; rel is owned by cx->links now */
	return 0;
}

/* Make room for name in dfd: an entry of an earlier layer is replaced. A
 * directory is kept (and merged into) only when want_dir. Returns 1 if a
 * directory is already there, 0 if the name is free. */
static int make_room(struct copy_ctx *cx, int dfd, const char *name, bool want_dir)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(cx->err, errno, "stat %s", name);
	if (want_dir && S_ISDIR(st.st_mode))
		return 1;
	return fs_rm_rf_at(dfd, name, cx->err) < 0 ? -1 : 0;
}

static int copy_subdir(struct copy_ctx *cx, int sfd, int dfd, const char *name,
		       const struct stat *st)
{
	cleanup_close int s2 = -1, d2 = -1;
	size_t saved = cx->rel_len;
	int rc = make_room(cx, dfd, name, true);

	if (rc < 0)
		return -1;
	/* 0700 while filling: a read-only directory is given its mode last. */
	if (rc == 0 && mkdirat(dfd, name, 0700) < 0)
		return err_sys(cx->err, errno, "mkdir %s", name);
	s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s2 < 0 || d2 < 0)
		return err_sys(cx->err, errno, "open dir %s", name);
	if (rel_push(cx, name) < 0)
		return -1;
	rc = copy_dir(cx, s2, d2);
	rel_pop(cx, saved);
	if (rc < 0)
		return -1;
	return apply_meta(cx, s2, NULL, d2, NULL, st);
}

static int copy_entry(struct copy_ctx *cx, int sfd, int dfd, const char *name)
{
	struct stat st;
	struct link_ent *le;

	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(cx->err, errno, "stat %s", name);
	if (S_ISDIR(st.st_mode))
		return copy_subdir(cx, sfd, dfd, name, &st);
	if (make_room(cx, dfd, name, false) < 0)
		return -1;
	le = st.st_nlink > 1 ? link_find(cx, &st) : NULL;
	if (le) {
		if (linkat(cx->dst_root_fd, le->rel, dfd, name, 0) < 0)
			return err_sys(cx->err, errno, "link %s", name);
		return 0;
	}
	if ((S_ISREG(st.st_mode) ? copy_reg(cx, sfd, dfd, name, &st) :
				   copy_special(cx, sfd, dfd, name, &st)) < 0)
		return -1;
	return st.st_nlink > 1 ? link_add(cx, &st, name) : 0;
}

/* readdir over a fresh open file description, so that two passes over the
 * same directory never share a position. */
static DIR *open_dir(int fd)
{
	int nfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (nfd < 0)
		return NULL;
	d = fdopendir(nfd);
	if (!d)
		close(nfd);
	return d;
}

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static int clear_dir(struct copy_ctx *cx, int dfd)
{
	DIR *d = open_dir(dfd);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return err_sys(cx->err, errno, "open dir");
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (!is_dot(de->d_name))
			rc = fs_rm_rf_at(dfd, de->d_name, cx->err);
	closedir(d);
	return rc;
}

/* The whiteouts of one directory of a layer remove what earlier layers put
 * in dst; they run before the directory's own entries are copied, so an
 * opaque marker never hides entries of its own layer (OCI image spec,
 * "Whiteouts"). */
static int apply_whiteouts(struct copy_ctx *cx, int sfd, int dfd)
{
	DIR *d = open_dir(sfd);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return err_sys(cx->err, errno, "open dir");
	while (rc == 0 && (de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (strcmp(n, WH_OPAQUE) == 0)
			rc = clear_dir(cx, dfd);
		else if (strncmp(n, WH_META, strlen(WH_META)) == 0)
			continue; /* aufs bookkeeping (.wh..wh.plnk etc.) */
		else if (strncmp(n, WH_PREFIX, strlen(WH_PREFIX)) == 0 &&
			 !is_dot(n + strlen(WH_PREFIX)) && n[strlen(WH_PREFIX)])
			rc = fs_rm_rf_at(dfd, n + strlen(WH_PREFIX), cx->err);
	}
	closedir(d);
	return rc;
}

static int copy_dir(struct copy_ctx *cx, int sfd, int dfd)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (cx->opts->whiteouts && apply_whiteouts(cx, sfd, dfd) < 0)
		return -1;
	d = open_dir(sfd);
	if (!d)
		return err_sys(cx->err, errno, "open dir %s", cx->rel_len ? cx->rel : ".");
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (is_dot(de->d_name))
			continue;
		if (cx->opts->whiteouts && strncmp(de->d_name, WH_PREFIX, strlen(WH_PREFIX)) == 0)
			continue;
		rc = copy_entry(cx, sfd, dfd, de->d_name);
	}
	closedir(d);
	return rc;
}

int tree_clear(int dirfd, struct err *err)
{
	struct tree_copy_opts opts = { 0 };
	struct copy_ctx cx = { .opts = &opts, .err = err };

	return clear_dir(&cx, dirfd);
}

int tree_copy(int src_dirfd, int dst_dirfd, const struct tree_copy_opts *opts, struct err *err)
{
	struct copy_ctx cx = { .opts = opts, .privileged = geteuid() == 0, .err = err };
	cleanup_close int sfd = openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int dfd = openat(dst_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int rc;

	if (sfd < 0 || dfd < 0 || fstat(sfd, &st) < 0)
		return err_sys(err, errno, "copy: open source or destination");
	cx.dst_root_fd = dfd;
	rc = copy_dir(&cx, sfd, dfd);
	if (rc == 0 && opts->root_meta)
		rc = apply_meta(&cx, sfd, NULL, dfd, NULL, &st);
	for (size_t i = 0; i < cx.n_links; i++)
		free(cx.links[i].rel);
	free(cx.links);
	return rc;
}
