/* idmap_overlay: an overlay rootfs shown with a container's ids. The kernel
 * refuses MOUNT_ATTR_IDMAP on an overlay mount itself (EINVAL), but overlay
 * takes idmapped layers (since 5.19). So the overlay mounted at rootfs is
 * read back from /proc/self/mountinfo and mounted again, in place, on
 * idmapped clones of its lower and upper layers, with the same options.
 * Replacing it rather than adding a second mount matters: two overlays on
 * one upper dir are undefined behaviour, and a "volatile" upper cannot be
 * mounted twice at all (overlayfs(5)). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/internal.h"
#include "base/banned.h"

enum opt_kind {
	OPT_LOWER,
	OPT_DATA,
	OPT_UPPER,
	OPT_WORK,
	OPT_FLAG,
	OPT_STRING
};

struct ovl_opt {
	enum opt_kind kind;
	const char *key, *val; /* val: a path for layers, NULL for flags */
};

/* The overlay at a mount point: its options in mountinfo order, pointing
 * into line. */
struct ovl_mount {
	char *line;
	struct ovl_opt *opt;
	size_t n;
	const char *upper, *work;
	bool volatile_upper;
	unsigned int attr; /* MOUNT_ATTR_* of the mount */
};

static void ovl_mount_release(struct ovl_mount *o)
{
	free(o->line);
	free(o->opt);
}

/* mountinfo escapes ' ', '\t', '\n', '\\' and overlay also ',' and '=' as
 * \ooo (seq_escape): decode in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The mountinfo line of the mount whose root is path. */
static char *mountinfo_line(const char *path, struct err *err)
{
	cleanup_fclose FILE *f = NULL;
	struct statx stx;
	char *line = NULL;
	size_t cap = 0;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0) {
		err_sys(err, errno, "statx %s", path);
		return NULL;
	}
	if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		err_set(err, EINVAL, "rootfs %s is not the root of its overlay mount", path);
		return NULL;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		err_sys(err, errno, "open /proc/self/mountinfo");
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		if (strtoull(line, NULL, 10) == stx.stx_mnt_id)
			return line;
	}
	free(line);
	err_set(err, ENOENT, "mount of %s not in /proc/self/mountinfo", path);
	return NULL;
}

static unsigned int mount_attr(char *opts)
{
	static const struct {
		const char *name;
		unsigned int attr;
	} map[] = {
		{ "ro", MOUNT_ATTR_RDONLY },
		{ "nosuid", MOUNT_ATTR_NOSUID },
		{ "nodev", MOUNT_ATTR_NODEV },
		{ "noexec", MOUNT_ATTR_NOEXEC },
		{ "noatime", MOUNT_ATTR_NOATIME },
		{ "nodiratime", MOUNT_ATTR_NODIRATIME },
		{ "strictatime", MOUNT_ATTR_STRICTATIME },
	};
	unsigned int attr = 0;
	char *o;

	while ((o = strsep(&opts, ","))) {
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			if (strcmp(o, map[i].name) == 0)
				attr |= map[i].attr;
		}
	}
	return attr;
}

static int add_opt(struct ovl_mount *o, enum opt_kind kind, const char *key, const char *val,
		   struct err *err)
{
	if ((kind <= OPT_WORK) && (!val || val[0] != '/'))
		return err_set(err, EINVAL,
			       "overlay layer \"%s\" is not an absolute path: "
			       "cannot remount it idmapped",
			       val ? val : "");
	o->opt[o->n++] = (struct ovl_opt){ kind, key, val };
	if (kind == OPT_UPPER)
		o->upper = val;
	else if (kind == OPT_WORK)
		o->work = val;
	return 0;
}

/* The old single "lowerdir=A:B::C" form: ':' separates layers ("\:" is a
 * colon in a name), "::" starts the data-only layers. */
static int add_legacy_lowers(struct ovl_mount *o, char *v, struct err *err)
{
	enum opt_kind kind = OPT_LOWER;
	char *start = v, *w = v;

	for (;; v++) {
		if (*v == '\\' && v[1]) {
			*w++ = *++v;
			continue;
		}
		if (*v != ':' && *v != '\0') {
			*w++ = *v;
			continue;
		}
		bool end = *v == '\0';
		*w = '\0';
		if (*start &&
		    add_opt(o, kind, kind == OPT_DATA ? "datadir+" : "lowerdir+", start, err) < 0)
			return -1;
		if (end)
			return 0;
		if (v[1] == ':') {
			kind = OPT_DATA;
			v++;
		}
		start = w = v + 1;
	}
}

static int parse_one(struct ovl_mount *o, char *tok, struct err *err)
{
	char *val = strchr(tok, '=');

	if (val)
		*val++ = '\0';
	unescape(tok);
	if (val)
		unescape(val);
	if (strcmp(tok, "rw") == 0)
		return 0;
	if (strcmp(tok, "lowerdir") == 0)
		return val ? add_legacy_lowers(o, val, err) : 0;
	if (strcmp(tok, "lowerdir+") == 0)
		return add_opt(o, OPT_LOWER, tok, val, err);
	if (strcmp(tok, "datadir+") == 0)
		return add_opt(o, OPT_DATA, tok, val, err);
	if (strcmp(tok, "upperdir") == 0)
		return add_opt(o, OPT_UPPER, tok, val, err);
	if (strcmp(tok, "workdir") == 0)
		return add_opt(o, OPT_WORK, tok, val, err);
	/* "fsync=volatile" is how 6.x kernels show "volatile". */
	if (strcmp(tok, "volatile") == 0 ||
	    (strcmp(tok, "fsync") == 0 && val && strcmp(val, "volatile") == 0))
		o->volatile_upper = true;
	return add_opt(o, val ? OPT_STRING : OPT_FLAG, tok, val, err);
}

/* "id parent dev root mountpoint opts [optional...] - fstype source super" */
static int parse_line(struct ovl_mount *o, struct err *err)
{
	char *p = o->line, *f[6], *sep, *super, *tok;
	size_t n = 2;

	p[strcspn(p, "\n")] = '\0';
	for (size_t i = 0; i < 6; i++)
		f[i] = strsep(&p, " ");
	sep = p ? strstr(p, "- ") : NULL;
	if (!f[5] || !sep)
		return err_set(err, EINVAL, "cannot parse /proc/self/mountinfo");
	super = strrchr(sep, ' ');
	if (!super || strncmp(sep, "- overlay ", 10) != 0)
		return err_set(err, EINVAL, "rootfs is not an overlay mount");
	super++;
	o->attr = mount_attr(f[5]);
	for (const char *c = super; *c; c++)
		n += *c == ',' || *c == ':';
	o->opt = calloc(n, sizeof(*o->opt));
	if (!o->opt)
		return err_set(err, ENOMEM, "out of memory");
	while ((tok = strsep(&super, ","))) {
		if (*tok && parse_one(o, tok, err) < 0)
			return -1;
	}
	if (!o->upper || !o->work)
		return err_set(err, EINVAL, "overlay rootfs without an upper dir");
	return 0;
}

static int ovl_mount_read(const char *rootfs, struct ovl_mount *o, struct err *err)
{
	*o = (struct ovl_mount){ 0 };
	o->line = mountinfo_line(rootfs, err);
	if (!o->line)
		return -1;
	return parse_line(o, err);
}

/* ---- the new mount --------------------------------------------------------- */

/* The fs context keeps the kernel's reason for a refusal ("e overlayfs:
 * ..."): better than a bare EINVAL. */
static int fsctx_err(int fsfd, struct err *err, int code, const char *what)
{
	char msg[256];
	ssize_t n = read(fsfd, msg, sizeof(msg) - 1);

	if (n > 2) {
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		return err_set(err, code, "idmapped overlay: %s: %s", what, msg + 2);
	}
	return err_sys(err, code, "idmapped overlay: %s", what);
}

/* An idmapped detached clone of path (not recursive: a layer is one
 * directory of the host filesystem). */
static int idmapped_clone(const char *path, int userns_fd, struct err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
	cleanup_close int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (fd < 0)
		return err_sys(err, errno, "open layer %s", path);
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return err_sys(err, errno, "idmapped mount of layer %s", path);
	return TAKE_FD(fd);
}

/* An overlay fs context being configured, and the idmapped clones of its
 * layers: they must stay open until the overlay is created, because
 * closing the last fd of a detached mount dissolves it and overlay then
 * cannot clone it ("failed to clone lowerpath"). */
struct ovl_ctx {
	int fsfd;
	int *layer_fd;
	size_t n, cap;
	int userns_fd; /* -1: the layers as they are */
};

static void ovl_ctx_release(struct ovl_ctx *c)
{
	if (c->fsfd >= 0)
		close(c->fsfd);
	for (size_t i = 0; i < c->n; i++)
		close(c->layer_fd[i]);
	free(c->layer_fd);
	c->fsfd = -1;
	c->layer_fd = NULL;
	c->n = 0;
}

/* "/proc/self/fd/N[/rel]" of an idmapped clone of path, kept in c. */
static int clone_layer(struct ovl_ctx *c, const char *path, const char *rel, char *out, size_t len,
		       struct err *err)
{
	int fd;

	if (c->n == c->cap)
		return err_set(err, EOVERFLOW, "too many overlay layers");
	fd = idmapped_clone(path, c->userns_fd, err);
	if (fd < 0)
		return -1;
	c->layer_fd[c->n++] = fd;
	snprintf(out, len, "/proc/self/fd/%d%s%s", fd, rel ? "/" : "", rel ? rel : "");
	return 0;
}

static int set_layer(struct ovl_ctx *c, const char *key, const char *path, struct err *err)
{
	char p[64];

	if (c->userns_fd >= 0 && clone_layer(c, path, NULL, p, sizeof(p), err) < 0)
		return -1;
	if (fsconfig(c->fsfd, FSCONFIG_SET_STRING, key, c->userns_fd >= 0 ? p : path, 0) < 0)
		return fsctx_err(c->fsfd, err, errno, path);
	return 0;
}

/* upperdir and workdir must be on one mount: one idmapped clone of the
 * directory they share, and each named beneath it. */
static int set_upper(struct ovl_ctx *c, const struct ovl_mount *o, struct err *err)
{
	const char *u = o->upper, *w = o->work;
	cleanup_free char *parent = NULL;
	char up[PATH_MAX], wp[PATH_MAX];
	size_t last = 0;

	if (c->userns_fd < 0)
		return set_layer(c, "upperdir", u, err) < 0 ? -1 : set_layer(c, "workdir", w, err);
	for (size_t i = 0; u[i] && u[i] == w[i]; i++) {
		if (u[i] == '/')
			last = i;
	}
	parent = strndup(u, last ? last : 1);
	if (!parent)
		return err_set(err, ENOMEM, "out of memory");
	if (clone_layer(c, parent, u + last + 1, up, sizeof(up), err) < 0)
		return -1;
	snprintf(wp, sizeof(wp), "/proc/self/fd/%d/%s", c->layer_fd[c->n - 1], w + last + 1);
	if (fsconfig(c->fsfd, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0)
		return fsctx_err(c->fsfd, err, errno, u);
	if (fsconfig(c->fsfd, FSCONFIG_SET_STRING, "workdir", wp, 0) < 0)
		return fsctx_err(c->fsfd, err, errno, w);
	return 0;
}

static int set_opt(struct ovl_ctx *c, const struct ovl_opt *opt, struct err *err)
{
	switch (opt->kind) {
	case OPT_LOWER:
	case OPT_DATA: return set_layer(c, opt->key, opt->val, err);
	case OPT_UPPER:
	case OPT_WORK: return 0;
	case OPT_FLAG:
		if (fsconfig(c->fsfd, FSCONFIG_SET_FLAG, opt->key, NULL, 0) < 0)
			return fsctx_err(c->fsfd, err, errno, opt->key);
		return 0;
	case OPT_STRING:
		if (fsconfig(c->fsfd, FSCONFIG_SET_STRING, opt->key, opt->val, 0) < 0)
			return fsctx_err(c->fsfd, err, errno, opt->key);
		return 0;
	}
	return 0;
}

/* Configure (not yet create) an overlay with o's options and layers,
 * idmapped with userns_fd (-1: as they are). */
static int ovl_ctx_open(struct ovl_ctx *c, const struct ovl_mount *o, int userns_fd,
			struct err *err)
{
	*c = (struct ovl_ctx){ .fsfd = -1, .userns_fd = userns_fd, .cap = o->n + 1 };
	c->layer_fd = calloc(c->cap, sizeof(*c->layer_fd));
	if (!c->layer_fd)
		return err_set(err, ENOMEM, "out of memory");
	c->fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (c->fsfd < 0)
		return err_sys(err, errno, "fsopen overlay");
	if (fsconfig(c->fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
		return fsctx_err(c->fsfd, err, errno, "source");
	for (size_t i = 0; i < o->n; i++) {
		if (set_opt(c, &o->opt[i], err) < 0)
			return -1;
	}
	return set_upper(c, o, err);
}

/* overlay does its own work in the upper layer (work dirs, whiteouts,
 * copy-up temporaries) with the creator's credentials. Through the idmapped
 * upper, host root's fsuid 0 has no mapping (EOVERFLOW, and overlay falls
 * back to read-only): create it with the fsuid/fsgid of the container's
 * root, so that its files land as the container's root too, and with every
 * permitted capability effective (changing the fsuid from 0 clears the
 * file capabilities, capabilities(7)). Our own credentials are restored. */
static int create_as(int fsfd, uid_t uid, gid_t gid, struct err *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct saved[2], raised[2];
	uid_t old_uid;
	gid_t old_gid;
	int rc, e;

	if (syscall(SYS_capget, &h, saved) < 0)
		return err_sys(err, errno, "capget");
	memcpy(raised, saved, sizeof(raised));
	raised[0].effective = raised[0].permitted;
	raised[1].effective = raised[1].permitted;
	old_gid = (gid_t)setfsgid(gid);
	old_uid = (uid_t)setfsuid(uid);
	rc = (int)syscall(SYS_capset, &h, raised);
	if (rc == 0)
		rc = fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	e = errno;
	setfsuid(old_uid);
	setfsgid(old_gid);
	if (syscall(SYS_capset, &h, saved) < 0 && rc == 0)
		return err_sys(err, errno, "restore capabilities");
	if (rc < 0)
		return fsctx_err(fsfd, err, e, "create");
	return 0;
}

static int attach(int fsfd, const struct ovl_mount *o, const char *rootfs, struct err *err)
{
	cleanup_close int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, o->attr);

	if (mfd < 0)
		return fsctx_err(fsfd, err, errno, "fsmount");
	if (move_mount(mfd, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(err, errno, "mount the idmapped overlay on %s", rootfs);
	return 0;
}

/* A volatile mount leaves $workdir/work/incompat/volatile, and overlay
 * refuses the workdir while it exists; overlayfs(5) allows removing it when
 * the system has not crashed since, as here: we unmounted it just now. */
static int clear_volatile(const char *work, struct err *err)
{
	cleanup_close int w = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int wk = -1, inc = -1;
	int vol;
	DIR *d;
	struct dirent *de;

	if (w < 0)
		return err_sys(err, errno, "open %s", work);
	wk = openat(w, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	inc = wk < 0 ? -1 : openat(wk, "incompat", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	vol = inc < 0 ? -1 :
			openat(inc, "volatile", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vol < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "open %s/work/incompat", work);
	d = fdopendir(vol);
	if (!d) {
		close(vol);
		return err_sys(err, errno, "read %s/work/incompat/volatile", work);
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	if (unlinkat(inc, "volatile", AT_REMOVEDIR) < 0)
		return err_sys(err, errno, "remove %s/work/incompat/volatile", work);
	unlinkat(wk, "incompat", AT_REMOVEDIR);
	return 0;
}

/* After the old mount is gone: create (as the container's root when uid is
 * set) and mount on rootfs. */
static int create_attach(const struct ovl_ctx *c, const struct ovl_mount *o,
			 const struct runtime_idmap *uid, const struct runtime_idmap *gid,
			 const char *rootfs, struct err *err)
{
	if (o->volatile_upper && clear_volatile(o->work, err) < 0)
		return -1;
	if (uid && create_as(c->fsfd, uid->host_id, gid->host_id, err) < 0)
		return -1;
	if (!uid && fsconfig(c->fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fsctx_err(c->fsfd, err, errno, "create");
	return attach(c->fsfd, o, rootfs, err);
}

/* Put the caller's overlay back as it was, so that its unmount finds it. */
static void restore(const struct ovl_mount *o, const char *rootfs)
{
	struct ovl_ctx c __attribute__((cleanup(ovl_ctx_release))) = { .fsfd = -1 };
	struct err ignored = { 0 };

	if (ovl_ctx_open(&c, o, -1, &ignored) == 0)
		(void)create_attach(&c, o, NULL, NULL, rootfs, &ignored);
}

int rt_overlay_idmap(const char *rootfs, int userns_fd, const struct runtime_idmap *uid,
		     const struct runtime_idmap *gid, struct err *err)
{
	struct ovl_mount o __attribute__((cleanup(ovl_mount_release))) = { 0 };
	struct ovl_ctx c __attribute__((cleanup(ovl_ctx_release))) = { .fsfd = -1 };

	if (ovl_mount_read(rootfs, &o, err) < 0)
		return -1;
	/* Everything that can fail on bad input before the old mount goes:
	 * the context resolves and holds every layer. */
	if (ovl_ctx_open(&c, &o, userns_fd, err) < 0)
		return -1;
	/* Not lazily: a busy overlay would live on beside the new one. */
	if (umount2(rootfs, UMOUNT_NOFOLLOW) < 0)
		return err_sys(err, errno, "unmount %s to remount it idmapped", rootfs);
	if (create_attach(&c, &o, uid, gid, rootfs, err) == 0)
		return 0;
	restore(&o, rootfs);
	return -1;
}
