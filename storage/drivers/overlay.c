/* overlay: the union of read-only layer dirs and a writable upper dir by
 * overlayfs (Documentation/filesystems/overlayfs.rst), Docker's overlay2. */
#include "storage/drivers/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "storage/drivers/private.h"

/* ---- support probe ------------------------------------------------------ */

/* A real mount in the store's filesystem: overlay refuses some upper
 * filesystems (no xattrs, overlay itself), which /proc/filesystems can't
 * tell. */
static int overlay_probe(const char *store_root)
{
	char dir[PATH_MAX], p[PATH_MAX + 64], opts[3 * PATH_MAX];
	const char *sub[] = { "l", "u", "w", "m" };
	struct err ignored;
	int ok = 0;

	if (fs_mkdir_p(store_root, 0700, &ignored) < 0)
		return 0;
	if (snprintf(dir, sizeof(dir), "%s/.mydocker-overlay-check.XXXXXX", store_root) >=
		    (int)sizeof(dir) ||
	    !mkdtemp(dir))
		return 0;
	for (size_t i = 0; i < 4; i++) {
		if (snprintf(p, sizeof(p), "%s/%s", dir, sub[i]) >= (int)sizeof(p) ||
		    mkdir(p, 0700) < 0)
			goto out;
	}
	if (snprintf(opts, sizeof(opts), "lowerdir=%s/l,upperdir=%s/u,workdir=%s/w", dir, dir,
		     dir) >= (int)sizeof(opts))
		goto out;
	/* p is dir/m from the loop's last turn. */
	if (mount("overlay", p, "overlay", 0, opts) == 0) {
		ok = 1;
		umount2(p, MNT_DETACH);
	}
out:
	if (fs_rm_rf_at(AT_FDCWD, dir, &ignored) < 0)
		ok = 0;
	return ok;
}

static int overlay_supported(const char *store_root)
{
	static char cached_root[PATH_MAX];
	static int cached = -1;

	if (!graph_fs_listed("overlay"))
		return 0;
	if (cached >= 0 && strcmp(cached_root, store_root) == 0)
		return cached;
	cached = overlay_probe(store_root);
	snprintf(cached_root, sizeof(cached_root), "%s", store_root);
	return cached;
}

/* ---- new mount API: one "lowerdir+" per layer, no length limit ---------- */

/* The fs context keeps the kernel's reason for a refusal ("e overlayfs:
 * ..."): give it to the user instead of a bare EINVAL. */
static int fsctx_err(int fsfd, struct err *err, int code, const char *what)
{
	char msg[256];
	ssize_t n = read(fsfd, msg, sizeof(msg) - 1);

	if (n > 2) {
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		return err_set(err, code, "overlay: %s: %s", what, msg + 2);
	}
	return err_sys(err, code, "overlay: %s", what);
}

/* 0 mounted, 1 when this kernel lacks the API or "lowerdir+" (before 6.8:
 * fall back to mount(2)), -1 on a real error. */
static int mount_fsapi(const struct graph_mount_req *req, const char *const *lowers, size_t n,
		       struct err *err)
{
	cleanup_close int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	cleanup_close int mfd = -1;

	if (fsfd < 0)
		return errno == ENOSYS ? 1 : err_sys(err, errno, "fsopen overlay");
	/* The name mount(8) and df show, as with mount(2) below. */
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
		return fsctx_err(fsfd, err, errno, "source");
	for (size_t i = 0; i < n; i++) {
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) == 0)
			continue;
		if (errno == EINVAL && i == 0)
			return 1;
		return fsctx_err(fsfd, err, errno, lowers[i]);
	}
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", req->upper, 0) < 0)
		return fsctx_err(fsfd, err, errno, req->upper);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", req->work, 0) < 0)
		return fsctx_err(fsfd, err, errno, req->work);
	/* overlayfs(5) "volatile": no syncs of the upper filesystem, above all
	 * none at unmount, which otherwise syncs the whole host filesystem. */
	if (req->volatile_upper && fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
		return fsctx_err(fsfd, err, errno, "volatile");
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fsctx_err(fsfd, err, errno, "create");
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return fsctx_err(fsfd, err, errno, "fsmount");
	if (move_mount(mfd, "", AT_FDCWD, req->merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(err, errno, "overlay: move mount to %s", req->merged);
	return 0;
}

/* ---- mount(2) with the classic option string ---------------------------- */

/* "lowerdir=A:B,upperdir=U,workdir=W"; short = lowers named l0, l1, ...
 * Heap string or NULL (ENOMEM). */
static char *legacy_opts(const struct graph_mount_req *req, const char *const *lowers, size_t n,
			 bool short_names)
{
	size_t cap = strlen(req->upper) + strlen(req->work) + 64, pos;
	char *buf;

	for (size_t i = 0; i < n; i++)
		cap += (short_names ? 24 : strlen(lowers[i])) + 1;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	pos = (size_t)snprintf(buf, cap, "lowerdir=");
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? ":" : "";
		if (short_names)
			pos += (size_t)snprintf(buf + pos, cap - pos, "%sl%zu", sep, i);
		else
			pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", sep, lowers[i]);
	}
	snprintf(buf + pos, cap - pos, ",upperdir=%s,workdir=%s%s", req->upper, req->work,
		 req->volatile_upper ? ",volatile" : "");
	return buf;
}

/* The option string is split at ',' and lowerdir at ':'; our store paths
 * never contain them, but a --root might. */
static int check_opt_path(const char *p, struct err *err)
{
	if (strpbrk(p, ",:"))
		return err_set(err, EINVAL, "overlay: path contains ',' or ':': %s", p);
	return 0;
}

/* short_dir/l<i> -> lowers[i], as Docker's overlay2 "l/" links. */
static int make_short_links(const char *short_dir, const char *const *lowers, size_t n,
			    struct err *err)
{
	cleanup_close int dfd = -1;

	if (mkdir(short_dir, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s", short_dir);
	dfd = open(short_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, errno, "open %s", short_dir);
	for (size_t i = 0; i < n; i++) {
		char name[32], cur[PATH_MAX];
		ssize_t len;

		snprintf(name, sizeof(name), "l%zu", i);
		len = readlinkat(dfd, name, cur, sizeof(cur) - 1);
		if (len >= 0) {
			cur[len] = '\0';
			if (strcmp(cur, lowers[i]) == 0)
				continue;
		}
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return err_sys(err, errno, "remove %s/%s", short_dir, name);
		if (symlinkat(lowers[i], dfd, name) < 0)
			return err_sys(err, errno, "symlink %s/%s", short_dir, name);
	}
	return 0;
}

/* Relative lowerdirs are looked up from the caller's cwd: mount from inside
 * short_dir and go back. Single-threaded callers only (cwd is per process). */
static int mount_from(const char *dir, const char *merged, const char *opts, struct err *err)
{
	cleanup_close int cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc, e;

	if (cwd_fd < 0 || dir_fd < 0)
		return err_sys(err, errno, "overlay: open %s", dir);
	if (fchdir(dir_fd) < 0)
		return err_sys(err, errno, "overlay: chdir %s", dir);
	rc = mount("overlay", merged, "overlay", 0, opts);
	e = errno;
	if (fchdir(cwd_fd) < 0)
		return err_sys(err, errno, "overlay: restore cwd");
	if (rc < 0)
		return err_sys(err, e, "overlay: mount on %s", merged);
	return 0;
}

static int mount_legacy(const struct graph_mount_req *req, const char *const *lowers, size_t n,
			struct err *err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	cleanup_free char *opts = NULL;

	if (check_opt_path(req->upper, err) < 0 || check_opt_path(req->work, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (check_opt_path(lowers[i], err) < 0)
			return -1;
	opts = legacy_opts(req, lowers, n, false);
	if (!opts)
		return err_sys(err, ENOMEM, "overlay mount options");
	if (strlen(opts) < page) {
		if (mount("overlay", req->merged, "overlay", 0, opts) < 0)
			return err_sys(err, errno, "overlay: mount on %s", req->merged);
		return 0;
	}
	free(opts);
	opts = legacy_opts(req, lowers, n, true);
	if (!opts)
		return err_sys(err, ENOMEM, "overlay mount options");
	if (strlen(opts) >= page)
		return err_set(err, E2BIG, "overlay: %zu layers do not fit in one mount", n);
	if (!req->short_dir || make_short_links(req->short_dir, lowers, n, err) < 0)
		return req->short_dir ? -1 : err_set(err, E2BIG, "overlay: mount data too long");
	return mount_from(req->short_dir, req->merged, opts, err);
}

/* ---- driver ops --------------------------------------------------------- */

/* overlay needs at least one lower dir: an image without layers gets an
 * empty one in short_dir. */
static int empty_lower(const struct graph_mount_req *req, char *buf, size_t len, struct err *err)
{
	if (!req->short_dir)
		return err_set(err, EINVAL, "overlay: no layers and no short_dir");
	if (mkdir(req->short_dir, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s", req->short_dir);
	if (fs_join(buf, len, req->short_dir, "empty") < 0)
		return err_sys(err, errno, "overlay: %s", req->short_dir);
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s", buf);
	return 0;
}

static int overlay_mount(const struct graph_mount_req *req, struct err *err)
{
	const char *legacy = getenv("MYDOCKER_OVERLAY_LEGACY");
	char empty[PATH_MAX];
	const char *one[1] = { empty };
	const char *const *lowers = req->lowers;
	size_t n = req->n_lowers;
	int rc;

	if (n == 0) {
		if (empty_lower(req, empty, sizeof(empty), err) < 0)
			return -1;
		lowers = one;
		n = 1;
	}
	/* MYDOCKER_OVERLAY_LEGACY=1 forces mount(2), for tests on new kernels. */
	if (!legacy || strcmp(legacy, "1") != 0) {
		rc = mount_fsapi(req, lowers, n, err);
		if (rc <= 0)
			return rc;
	}
	return mount_legacy(req, lowers, n, err);
}

static int overlay_umount(const char *merged, struct err *err)
{
	return graph_umount_detach(merged, err);
}

const struct graph_driver graph_driver_overlay = {
	.name = "overlay",
	.whiteouts = WHITEOUT_OVERLAY,
	.supported = overlay_supported,
	.mount = overlay_mount,
	.umount = overlay_umount,
};
