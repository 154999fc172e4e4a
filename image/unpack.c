/* unpack: one pass over a layer blob: every tar entry written beneath the
 * layer directory without ever leaving it, while unpack_stream.c
 * decompresses and hashes the stream. */
#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "image/image_internal.h"
#include "image/tar_split.h"
#include "image/unpack_stream.h"

/* Big reads keep syscalls and libarchive's block copies rare. */
#define FD_READ_BUF (1 << 20)

/* A directory whose mode and times are set after the last entry: adding
 * children changes a dir's mtime, and a read-only mode would stop them. */
struct dir_meta {
	char *path;
	mode_t mode;
	struct timespec ts[2];
};

struct unpack {
	int root_fd;
	enum whiteout_form wf;
	bool is_root;
	struct image_layer_stream *in;
	struct image_tar_split *split; /* records the tar for save/push, or NULL */
	struct image_unpack_result *res;
	const char *name;      /* entry name as in the tar, for messages */
	char path[PATH_MAX];   /* its clean path below the root */
	char parent[PATH_MAX]; /* last parent opened (entries come grouped by dir) */
	int parent_fd;
	struct dir_meta *dirs;
	size_t n_dirs, cap_dirs;
};

/* ---- names --------------------------------------------------------------- */

int image_entry_name_clean(const char *name, char *out, size_t len)
{
	size_t o = 0;
	const char *p = name;

	if (!*name || len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (*name == '/') {
		errno = EXDEV;
		return -1;
	}
	while (*p) {
		const char *s = p;
		size_t n;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		while (*p == '/')
			p++;
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			errno = EXDEV;
			return -1;
		}
		if (o + (o ? 1 : 0) + n >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* Names come from the archive: keep control characters out of the one-line
 * error message. */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static int bad_entry(struct unpack *u, int code, const char *why, struct err *err)
{
	char buf[200];
	return err_set(err, code, "invalid tar entry name \"%s\": %s",
		       printable(u->name, buf, sizeof(buf)), why);
}

/* ---- resolving beneath the root ---------------------------------------------- */

/* RESOLVE_BENEATH: never above dirfd; NO_SYMLINKS: an image symlink is never
 * followed while writing, not even one that stays inside (CVE-2018-15664
 * and CVE-2021-30465 are this class of bug). */
static int open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

static int parent_error(struct unpack *u, const char *dir, int e, struct err *err)
{
	char buf[200], why[PATH_MAX + 64];

	if (e == ELOOP)
		snprintf(why, sizeof(why), "refusing to write through symlink %s",
			 printable(dir, buf, sizeof(buf)));
	else if (e == ENOTDIR)
		snprintf(why, sizeof(why), "%s is not a directory",
			 printable(dir, buf, sizeof(buf)));
	else
		snprintf(why, sizeof(why), "open %s: %s", printable(dir, buf, sizeof(buf)),
			 strerror(e));
	return bad_entry(u, e, why, err);
}

/* A missing parent is created as a plain root-owned 0755 dir, as tar does. */
static int open_or_mkdir(struct unpack *u, int dirfd, const char *name)
{
	int fd = open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -1;
	fd = open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY);
	if (fd >= 0 && (fchmod(fd, 0755) < 0 || (u->is_root && fchown(fd, 0, 0) < 0))) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Walk dir one component at a time so a failure names the component. */
static int make_parents(struct unpack *u, const char *dir, struct err *err)
{
	char prefix[PATH_MAX], comp[NAME_MAX + 1];
	cleanup_close int cur = fcntl(u->root_fd, F_DUPFD_CLOEXEC, 0);
	const char *p = dir;

	if (cur < 0)
		return err_sys(err, errno, "dup");
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		int next;

		if (n > NAME_MAX)
			return bad_entry(u, ENAMETOOLONG, "name too long", err);
		memcpy(comp, p, n);
		comp[n] = '\0';
		next = open_or_mkdir(u, cur, comp);
		if (next < 0) {
			memcpy(prefix, dir, (size_t)(end - dir));
			prefix[end - dir] = '\0';
			return parent_error(u, prefix, errno, err);
		}
		close(cur);
		cur = next;
		p = *end ? end + 1 : end;
	}
	return TAKE_FD(cur);
}

static void forget_parent(struct unpack *u)
{
	if (u->parent_fd >= 0)
		close(u->parent_fd);
	u->parent_fd = -1;
	u->parent[0] = '\0';
}

/* The directory holding the current entry, created if missing; cached. */
static int open_parent(struct unpack *u, const char *dir, struct err *err)
{
	int fd;

	if (!*dir)
		return u->root_fd;
	if (u->parent_fd >= 0 && strcmp(dir, u->parent) == 0)
		return u->parent_fd;
	fd = open_beneath(u->root_fd, dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		fd = make_parents(u, dir, err);
	if (fd < 0)
		return -1;
	forget_parent(u);
	memcpy(u->parent, dir, strlen(dir) + 1);
	u->parent_fd = fd;
	return fd;
}

/* ---- replacing what is there --------------------------------------------- */

static bool is_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* A directory tree was removed: drop what we remembered inside it. */
static void forget_below(struct unpack *u, const char *dir)
{
	if (u->parent_fd >= 0 && is_below(u->parent, dir))
		forget_parent(u);
	for (size_t i = 0; i < u->n_dirs; i++) {
		if (u->dirs[i].path && is_below(u->dirs[i].path, dir)) {
			free(u->dirs[i].path);
			u->dirs[i].path = NULL;
		}
	}
}

/* Make room for u->path (named base in pfd), as tar does: a later entry
 * replaces an earlier one, a dir over a dir only changes metadata. Returns
 * 1 when an existing dir was kept. */
static int clear_name(struct unpack *u, int pfd, const char *base, bool want_dir, struct err *err)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "stat %s", u->path);
	if (S_ISDIR(st.st_mode) && want_dir)
		return 1;
	image_tar_split_spoil(u->split); /* an earlier entry's content goes */
	if (S_ISDIR(st.st_mode)) {
		if (fs_rm_rf_at(pfd, base, err) < 0)
			return -1;
		forget_below(u, u->path);
		return 0;
	}
	if (unlinkat(pfd, base, 0) < 0)
		return err_sys(err, errno, "remove %s", u->path);
	return 0;
}

/* ---- metadata ------------------------------------------------------------ */

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	ts[0] = ts[1];
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	}
}

/* Without root only our own ids and user.* xattrs can be set: keep going
 * so unprivileged unpacking (and unit tests) still work. */
static bool tolerable(struct unpack *u, int e)
{
	return e == ENOTSUP || (!u->is_root && e == EPERM);
}

static int set_owner(struct unpack *u, int fd, int pfd, const char *base, struct archive_entry *e,
		     struct err *err)
{
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);

	if (r < 0 && !tolerable(u, errno))
		return err_sys(err, errno, "chown %s", u->path);
	return 0;
}

/* fd >= 0: set through it; else (symlinks, devices, fifos, which must not be
 * opened) by name without following, through our own parent fd. */
static int set_xattrs(struct unpack *u, int fd, int pfd, const char *base, struct archive_entry *e,
		      struct err *err)
{
	char proc[64 + NAME_MAX];
	const char *name;
	const void *val;
	size_t size;

	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", pfd, base);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		int r;
		if (image_xattr_forbidden(name))
			continue;
		r = fd >= 0 ? fsetxattr(fd, name, val, size, 0) :
			      lsetxattr(proc, name, val, size, 0);
		if (r < 0 && !tolerable(u, errno))
			return err_sys(err, errno, "set xattr %s on %s", name, u->path);
	}
	return 0;
}

static int defer_dir(struct unpack *u, struct archive_entry *e, struct err *err)
{
	struct dir_meta *d;

	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 256;
		struct dir_meta *nd = realloc(u->dirs, cap * sizeof(*nd));
		if (!nd)
			return err_set(err, ENOMEM, "unpack layer: out of memory");
		u->dirs = nd;
		u->cap_dirs = cap;
	}
	d = &u->dirs[u->n_dirs];
	d->path = strdup(u->path);
	if (!d->path)
		return err_set(err, ENOMEM, "unpack layer: out of memory");
	d->mode = archive_entry_perm(e);
	entry_times(e, d->ts);
	u->n_dirs++;
	return 0;
}

static int finish_dir(struct unpack *u, const struct dir_meta *d, struct err *err)
{
	cleanup_close int fd = -1;
	int dfd = u->root_fd;

	if (d->path[0]) {
		fd = open_beneath(u->root_fd, d->path, O_RDONLY | O_DIRECTORY);
		/* Replaced by a later non-directory entry: nothing to finish. */
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
			return 0;
		if (fd < 0)
			return err_sys(err, errno, "open %s", d->path);
		dfd = fd;
	}
	if (fchmod(dfd, d->mode) < 0 || futimens(dfd, d->ts) < 0)
		return err_sys(err, errno, "set metadata of %s", d->path[0] ? d->path : "/");
	return 0;
}

static int finish_dirs(struct unpack *u, struct err *err)
{
	for (size_t i = 0; i < u->n_dirs; i++)
		if (u->dirs[i].path && finish_dir(u, &u->dirs[i], err) < 0)
			return -1;
	return 0;
}

/* ---- entries ------------------------------------------------------------- */

static int pwrite_all(int fd, const char *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Blocks come with offsets: the gaps of a sparse file stay holes. */
static int write_data(struct unpack *u, struct archive *a, int fd, struct archive_entry *e,
		      struct err *err)
{
	la_int64_t off, end = 0, size = archive_entry_size(e);
	const void *buf;
	size_t len;
	int r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return image_layer_stream_error(u->in, err);
		if (pwrite_all(fd, buf, len, (off_t)off) < 0)
			return err_sys(err, errno, "write %s", u->path);
		end = off + (la_int64_t)len;
	}
	if (size > end && ftruncate(fd, (off_t)size) < 0)
		return err_sys(err, errno, "truncate %s", u->path);
	u->res->size += size > end ? size : end;
	return 0;
}

static int create_file(struct unpack *u, int pfd, const char *base, struct err *err)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(pfd, base, flags, 0600);

	if (fd < 0 && errno == EEXIST) {
		if (clear_name(u, pfd, base, false, err) < 0)
			return -1;
		fd = openat(pfd, base, flags, 0600);
	}
	if (fd < 0)
		return err_sys(err, errno, "create %s", u->path);
	return fd;
}

/* A regular file; with_data false writes an empty one (OCI whiteout marker). */
static int write_file(struct unpack *u, struct archive *a, struct archive_entry *e, int pfd,
		      const char *base, bool with_data, struct err *err)
{
	cleanup_close int fd = create_file(u, pfd, base, err);
	struct timespec ts[2];

	if (fd < 0)
		return -1;
	if (with_data && write_data(u, a, fd, e, err) < 0)
		return -1;
	/* chown clears setuid/setgid (chown(2)), so the mode comes after it. */
	if (set_owner(u, fd, pfd, base, e, err) < 0)
		return -1;
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return err_sys(err, errno, "chmod %s", u->path);
	if (set_xattrs(u, fd, pfd, base, e, err) < 0)
		return -1;
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return err_sys(err, errno, "set times of %s", u->path);
	if (close(TAKE_FD(fd)) < 0)
		return err_sys(err, errno, "close %s", u->path);
	return 0;
}

static int write_dir(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
		     struct err *err)
{
	cleanup_close int fd = -1;

	if (mkdirat(pfd, base, 0755) < 0) {
		int kept;
		if (errno != EEXIST)
			return err_sys(err, errno, "mkdir %s", u->path);
		kept = clear_name(u, pfd, base, true, err);
		if (kept < 0)
			return -1;
		if (!kept && mkdirat(pfd, base, 0755) < 0)
			return err_sys(err, errno, "mkdir %s", u->path);
	}
	if (set_owner(u, -1, pfd, base, e, err) < 0)
		return -1;
	if (archive_entry_xattr_count(e) > 0) {
		fd = open_beneath(pfd, base, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return err_sys(err, errno, "open %s", u->path);
		if (set_xattrs(u, fd, pfd, base, e, err) < 0)
			return -1;
	}
	return defer_dir(u, e, err);
}

/* The ".", "./" entry: metadata of the layer root itself. */
static int write_root(struct unpack *u, struct archive_entry *e, struct err *err)
{
	if (archive_entry_filetype(e) != AE_IFDIR)
		return bad_entry(u, EINVAL, "the layer root must be a directory", err);
	if (set_owner(u, u->root_fd, -1, NULL, e, err) < 0 ||
	    set_xattrs(u, u->root_fd, u->root_fd, ".", e, err) < 0)
		return -1;
	return defer_dir(u, e, err);
}

/* Symlinks, devices, fifos: metadata by name, never following. */
static int finish_node(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
		       bool is_link, struct err *err)
{
	struct timespec ts[2];

	if (set_owner(u, -1, pfd, base, e, err) < 0)
		return -1;
	/* Linux has no modes on symlinks; for the rest glibc's fchmodat with
	 * AT_SYMLINK_NOFOLLOW uses fchmodat2 or an O_PATH fd. */
	if (!is_link && fchmodat(pfd, base, archive_entry_perm(e), AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "chmod %s", u->path);
	if (set_xattrs(u, -1, pfd, base, e, err) < 0)
		return -1;
	entry_times(e, ts);
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(err, errno, "set times of %s", u->path);
	return 0;
}

static int write_symlink(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
			 struct err *err)
{
	/* Kept verbatim: it is only ever resolved inside the container's root. */
	const char *target = archive_entry_symlink(e);

	if (!target || !*target)
		return bad_entry(u, EINVAL, "symlink without a target", err);
	if (symlinkat(target, pfd, base) < 0) {
		if (errno != EEXIST)
			return err_sys(err, errno, "symlink %s", u->path);
		if (clear_name(u, pfd, base, false, err) < 0)
			return -1;
		if (symlinkat(target, pfd, base) < 0)
			return err_sys(err, errno, "symlink %s", u->path);
	}
	return finish_node(u, e, pfd, base, true, err);
}

static int make_node(struct unpack *u, int pfd, const char *base, mode_t mode, dev_t dev,
		     struct err *err)
{
	if (mknodat(pfd, base, mode, dev) == 0)
		return 0;
	if (errno != EEXIST)
		return err_sys(err, errno, "mknod %s", u->path);
	if (clear_name(u, pfd, base, false, err) < 0)
		return -1;
	if (mknodat(pfd, base, mode, dev) < 0)
		return err_sys(err, errno, "mknod %s", u->path);
	return 0;
}

static int write_node(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
		      struct err *err)
{
	mode_t type = archive_entry_filetype(e);
	dev_t dev = type == AE_IFIFO ?
			    0 :
			    makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));

	if (make_node(u, pfd, base, type | (archive_entry_perm(e) & 0777), dev, err) < 0)
		return -1;
	return finish_node(u, e, pfd, base, false, err);
}

/* A hard link: the target is resolved like any entry name and must already
 * be in this layer; linkat without AT_SYMLINK_FOLLOW links a symlink itself. */
static int write_hardlink(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
			  struct err *err)
{
	char target[PATH_MAX], dir[PATH_MAX];
	cleanup_close int tfd = -1;
	const char *tbase, *slash;
	int r;

	if (image_entry_name_clean(archive_entry_hardlink(e), target, sizeof(target)) < 0 ||
	    !target[0])
		return bad_entry(u, EXDEV, "hard link target escapes the layer", err);
	slash = strrchr(target, '/');
	tbase = slash ? slash + 1 : target;
	memcpy(dir, target, slash ? (size_t)(slash - target) : 0);
	dir[slash ? slash - target : 0] = '\0';
	if (dir[0]) {
		tfd = open_beneath(u->root_fd, dir, O_PATH | O_DIRECTORY);
		if (tfd < 0 && errno == ENOENT)
			return bad_entry(u, ENOENT, "hard link target is not in this layer", err);
		if (tfd < 0)
			return parent_error(u, dir, errno, err);
	}
	r = linkat(dir[0] ? tfd : u->root_fd, tbase, pfd, base, 0);
	if (r < 0 && errno == EEXIST) {
		if (clear_name(u, pfd, base, false, err) < 0)
			return -1;
		r = linkat(dir[0] ? tfd : u->root_fd, tbase, pfd, base, 0);
	}
	if (r == 0)
		return 0;
	if (errno == ENOENT)
		return bad_entry(u, ENOENT, "hard link target is not in this layer", err);
	return err_sys(err, errno, "link %s", u->path);
}

static int write_entry(struct unpack *u, struct archive *a, struct archive_entry *e, int pfd,
		       const char *base, struct err *err)
{
	if (archive_entry_hardlink(e))
		return write_hardlink(u, e, pfd, base, err);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return write_file(u, a, e, pfd, base, true, err);
	case AE_IFDIR: return write_dir(u, e, pfd, base, err);
	case AE_IFLNK: return write_symlink(u, e, pfd, base, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO: return write_node(u, e, pfd, base, err);
	case AE_IFSOCK: return 0; /* a socket is only meaningful to the process that bound it */
	default: return bad_entry(u, EINVAL, "unsupported entry type", err);
	}
}

/* ".wh.NAME" in overlay form: the 0:0 char device overlayfs reads as
 * "deleted" (Documentation/filesystems/overlayfs.rst, "whiteouts"). */
static int write_whiteout(struct unpack *u, int pfd, struct err *err)
{
	char *target = strrchr(u->path, '/');

	/* Drop ".wh." in place: u->path names the hidden file from here on,
	 * as clear_name expects. */
	target = target ? target + 1 : u->path;
	memmove(target, target + strlen(WHITEOUT_PREFIX),
		strlen(target) - strlen(WHITEOUT_PREFIX) + 1);
	if (make_node(u, pfd, target, S_IFCHR, makedev(0, 0), err) < 0)
		return -1;
	if (fchownat(pfd, target, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 && !tolerable(u, errno))
		return err_sys(err, errno, "chown %s", u->path);
	return 0;
}

static int write_opaque(struct unpack *u, int pfd, struct err *err)
{
	if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
		return err_sys(err, errno, "mark %s opaque", u->path);
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive *a, struct archive_entry *e,
			struct err *err)
{
	const char *base;
	char dir[PATH_MAX], *slash;
	enum whiteout_action act;
	int pfd;

	u->name = archive_entry_pathname(e);
	if (!u->name)
		u->name = archive_entry_pathname_utf8(e);
	if (!u->name)
		return err_set(err, EINVAL, "invalid tar entry: no name");
	if (image_entry_name_clean(u->name, u->path, sizeof(u->path)) < 0)
		return bad_entry(u, errno,
				 errno == EXDEV  ? "path escapes the layer" :
				 errno == EINVAL ? "empty name" :
						   "name too long",
				 err);
	if (!u->path[0])
		return write_root(u, e, err);
	slash = strrchr(u->path, '/');
	base = slash ? slash + 1 : u->path;
	memcpy(dir, u->path, slash ? (size_t)(slash - u->path) : 0);
	dir[slash ? slash - u->path : 0] = '\0';
	act = image_whiteout_action(image_whiteout_classify(base, NULL), u->wf);
	if (act == WHITEOUT_ACT_REJECT)
		return bad_entry(u, EINVAL, "invalid whiteout", err);
	if (act == WHITEOUT_ACT_SKIP)
		return 0;
	pfd = open_parent(u, dir, err);
	if (pfd < 0)
		return -1;
	switch (act) {
	case WHITEOUT_ACT_OPAQUE: return write_opaque(u, pfd, err);
	case WHITEOUT_ACT_CHARDEV: return write_whiteout(u, pfd, err);
	case WHITEOUT_ACT_EMPTY_FILE: return write_file(u, a, e, pfd, base, false, err);
	default: return write_entry(u, a, e, pfd, base, err);
	}
}

static int unpack_all(struct unpack *u, struct archive *tar, struct err *err)
{
	struct archive_entry *e;
	int r;

	/* ARCHIVE_WARN is a name charset the locale cannot show; the raw
	 * bytes are still the name. */
	while ((r = archive_read_next_header(tar, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return image_layer_stream_error(u->in, err);
		if (unpack_entry(u, tar, e, err) < 0)
			return -1;
		image_tar_split_note(u->split, e, u->path);
		u->res->entries++;
	}
	return finish_dirs(u, err);
}

static void unpack_release(struct unpack *u)
{
	forget_parent(u);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	if (u->root_fd >= 0)
		close(u->root_fd);
}

int image_layer_unpack(image_read_fn rd, void *ctx, int dest_dirfd, enum whiteout_form wf,
		       struct image_unpack_result *res, struct err *err)
{
	struct unpack u = { .wf = wf, .is_root = geteuid() == 0, .res = res, .parent_fd = -1 };
	int rc = -1;

	memset(res, 0, sizeof(*res));
	/* Our own fd: dest_dirfd may be O_PATH, and fsetxattr needs a real one. */
	u.root_fd = openat(dest_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.root_fd < 0)
		return err_sys(err, errno, "open layer directory");
	u.split = image_tar_split_begin(u.root_fd);
	if (image_layer_stream_open(rd, ctx, u.split, &u.in, err) == 0 &&
	    unpack_all(&u, image_layer_stream_tar(u.in), err) == 0)
		rc = image_layer_stream_finish(u.in, res, err);
	image_layer_stream_free(u.in);
	image_tar_split_end(u.split, rc == 0 ? res->diff_id : NULL);
	unpack_release(&u);
	return rc;
}

struct fd_src {
	int fd;
	char *buf;
};

static ssize_t fd_read(void *ctx, const void **buf)
{
	struct fd_src *s = ctx;
	ssize_t n;

	do
		n = read(s->fd, s->buf, FD_READ_BUF);
	while (n < 0 && errno == EINTR);
	*buf = s->buf;
	return n;
}

int image_layer_unpack_fd(int fd, int dest_dirfd, enum whiteout_form wf,
			  struct image_unpack_result *res, struct err *err)
{
	cleanup_free char *buf = malloc(FD_READ_BUF);
	struct fd_src src = { .fd = fd, .buf = buf };

	if (!buf)
		return err_set(err, ENOMEM, "unpack layer: out of memory");
	return image_layer_unpack(fd_read, &src, dest_dirfd, wf, res, err);
}
