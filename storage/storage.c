/* storage: the store root, its lock, staging, blobs and layers. Images and
 * refs live in storage/images.c. */
#include "storage/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "storage/drivers/driver.h"
#include "storage/storage_internal.h"

static const char *const store_dirs[] = { "blobs",      "blobs/sha256", "layers", "images",
					  "containers", "volumes",      "tmp" };

static int make_layout(struct store *s, struct err *err)
{
	for (size_t i = 0; i < sizeof(store_dirs) / sizeof(store_dirs[0]); i++) {
		/* 0700: image content may hold setuid binaries and secrets that
		 * host users must not reach (CVE-2021-41091 class). */
		if (mkdirat(s->root_fd, store_dirs[i], 0700) < 0 && errno != EEXIST)
			return err_sys(err, errno, "create %s/%s", s->root, store_dirs[i]);
	}
	return 0;
}

/* A store keeps one driver for life: overlay layers hold whiteouts as
 * char devices, aufs/vfs layers as .wh. files, so they cannot be mixed. */
static int choose_driver(struct store *s, const char *want, struct err *err)
{
	cleanup_free char *saved = NULL;
	const struct graph_driver *d = NULL;
	struct err e2 = { 0 };

	if (fs_read_all(s->root_fd, "driver", &saved, NULL, 64, &e2) == 0) {
		saved[strcspn(saved, "\n")] = '\0';
		if (want && strcmp(want, saved) != 0)
			return err_set(
				err, EINVAL,
				"store %s uses storage driver %s, not %s (use another --root)",
				s->root, saved, want);
		d = graph_driver_by_name(saved);
		if (!d)
			return err_set(err, EINVAL, "store %s: unknown storage driver %s", s->root,
				       saved);
	} else if (want) {
		d = graph_driver_by_name(want);
		if (!d)
			return err_set(err, EINVAL,
				       "unknown storage driver \"%s\": use overlay, aufs or vfs",
				       want);
		if (!d->supported(s->root))
			return err_set(err, ENOTSUP,
				       "storage driver %s is not supported on this system", want);
	} else {
		d = graph_driver_pick(s->root);
	}
	s->driver = d;
	if (!saved &&
	    fs_write_atomic(s->root_fd, "driver", d->name, strlen(d->name), 0600, err) < 0)
		return -1;
	return 0;
}

int storage_open(struct store *s, const char *root, const char *driver, struct err *err)
{
	memset(s, 0, sizeof(*s));
	s->root_fd = s->lock_fd = -1;
	if (root[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(s->root, sizeof(s->root), "%s/%s", cwd, root) >= (int)sizeof(s->root))
			return err_set(err, ENAMETOOLONG, "bad --root %s", root);
	} else if (snprintf(s->root, sizeof(s->root), "%s", root) >= (int)sizeof(s->root)) {
		return err_set(err, ENAMETOOLONG, "bad --root %s", root);
	}
	if (fs_mkdir_p(s->root, 0700, err) < 0)
		return err_prefix(err, "store");
	s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return err_sys(err, errno, "open store %s", s->root);
	s->lock_fd = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || make_layout(s, err) < 0 || choose_driver(s, driver, err) < 0 ||
	    storage_cleanup_staging(s, err) < 0) {
		if (s->lock_fd < 0)
			err_sys(err, errno, "open store lock");
		storage_close(s);
		return -1;
	}
	return 0;
}

void storage_close(struct store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->root_fd >= 0)
		close(s->root_fd);
	s->lock_fd = s->root_fd = -1;
}

const char *storage_driver_name(const struct store *s)
{
	return s->driver->name;
}

enum whiteout_form storage_whiteout_form(const struct store *s)
{
	return s->driver->whiteouts;
}

int storage_lock(struct store *s, struct err *err)
{
	if (s->lock_depth++ > 0)
		return 0;
	while (flock(s->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			s->lock_depth--;
			return err_sys(err, errno, "lock store");
		}
	}
	return 0;
}

void storage_unlock(struct store *s)
{
	if (s->lock_depth > 0 && --s->lock_depth == 0)
		flock(s->lock_fd, LOCK_UN);
}

/* ---- staging ------------------------------------------------------------ */

int storage_staging_new(struct store *s, struct storage_staging *st, struct err *err)
{
	unsigned char rnd[8];
	char rel[96], final[96];

	memset(st, 0, sizeof(*st));
	st->dirfd = st->lock_fd = -1;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return err_sys(err, errno, "getrandom");
	snprintf(st->name, sizeof(st->name), "stage-%d-%02x%02x%02x%02x%02x%02x%02x%02x",
		 (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	/* Built as tmp/.new-NAME and renamed once locked: a concurrent
	 * storage_cleanup_staging must never see a staging dir without its
	 * held lock and take it for a dead one. */
	snprintf(rel, sizeof(rel), "tmp/.new-%s", st->name);
	if (mkdirat(s->root_fd, rel, 0700) < 0)
		return err_sys(err, errno, "create staging dir");
	st->dirfd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return err_sys(err, errno, "open staging dir");
	/* Held until we exit: storage_cleanup_staging only removes staging
	 * dirs whose owner is gone. */
	st->lock_fd = openat(st->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	snprintf(final, sizeof(final), "tmp/%s", st->name);
	if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0 ||
	    renameat(s->root_fd, rel, s->root_fd, final) < 0) {
		int e = errno;
		unlinkat(st->dirfd, ".lock", 0);
		unlinkat(s->root_fd, rel, AT_REMOVEDIR);
		st->name[0] = '\0';
		storage_staging_discard(s, st);
		return err_sys(err, e, "create staging dir");
	}
	snprintf(st->path, sizeof(st->path), "%s/%s", s->root, final);
	return 0;
}

void storage_staging_discard(struct store *s, struct storage_staging *st)
{
	char rel[96];
	struct err e = { 0 };

	if (st->name[0]) {
		snprintf(rel, sizeof(rel), "tmp/%s", st->name);
		if (fs_rm_rf_at(s->root_fd, rel, &e) < 0)
			log_warn("%s", e.msg);
	}
	if (st->dirfd >= 0)
		close(st->dirfd);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->dirfd = st->lock_fd = -1;
	st->name[0] = '\0';
}

/* Undo a commit that died between its first layer rename and dropping its
 * plan: layers it added that no image or container references go. */
static void rollback_txn(struct store *s, int dirfd)
{
	cleanup_free char *buf = NULL;
	struct err e = { 0 };
	json_t *plan, *v;
	size_t i;

	if (fs_read_all(dirfd, "txn.json", &buf, NULL, 1 << 20, &e) < 0)
		return;
	plan = json_loads(buf, 0, NULL);
	json_array_foreach (json_object_get(plan, "layers"), i, v) {
		const char *hex = json_string_value(v);
		char rel[80];
		if (!hex || !digest_hex_valid(hex) || storage_layer_referenced(s, hex))
			continue;
		snprintf(rel, sizeof(rel), "layers/%s", hex);
		log_info("rolling back layer %.12s of an interrupted commit", hex);
		if (fs_rm_rf_at(s->root_fd, rel, &e) < 0)
			log_warn("%s", e.msg);
	}
	json_decref(plan);
}

static void cleanup_one(struct store *s, const char *name)
{
	char rel[300];
	struct err e = { 0 };
	int dfd, lfd;

	snprintf(rel, sizeof(rel), "tmp/%s", name);
	dfd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd >= 0) {
		lfd = openat(dfd, ".lock", O_RDWR | O_CLOEXEC);
		if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0) {
			close(lfd);
			close(dfd); /* its owner is alive */
			return;
		}
		rollback_txn(s, dfd);
		if (lfd >= 0)
			close(lfd);
		close(dfd);
	}
	log_info("removing leftover %s", rel);
	if (fs_rm_rf_at(s->root_fd, rel, &e) < 0)
		log_warn("%s", e.msg);
}

/* A ".new-" staging dir being set up has no lock yet for a moment; one
 * older than a minute belongs to a process that died in between. */
static bool stale_new_dir(int tmp_fd, const char *name)
{
	struct stat st;

	return strncmp(name, ".new-", 5) == 0 &&
	       fstatat(tmp_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       st.st_mtime < time(NULL) - 60;
}

int storage_cleanup_staging(struct store *s, struct err *err)
{
	int fd = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	bool locked = false;

	if (fd < 0)
		return err_sys(err, errno, "open %s/tmp", s->root);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(err, errno, "open %s/tmp", s->root);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && !stale_new_dir(fd, de->d_name))
			continue;
		if (!locked) {
			if (storage_lock(s, err) < 0) {
				closedir(d);
				return -1;
			}
			locked = true;
		}
		cleanup_one(s, de->d_name);
	}
	closedir(d);
	if (locked)
		storage_unlock(s);
	return 0;
}

/* ---- blobs -------------------------------------------------------------- */

static void blob_rel(const char *digest, char *buf, size_t len)
{
	snprintf(buf, len, "blobs/sha256/%s", digest_hex(digest));
}

int storage_blob_put(struct store *s, const void *data, size_t len, char digest[DIGEST_BUF],
		     struct err *err)
{
	char rel[128];

	if (digest_buf(data, len, digest) < 0)
		return err_sys(err, errno, "sha256");
	blob_rel(digest, rel, sizeof(rel));
	if (faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return fs_write_atomic(s->root_fd, rel, data, len, 0600, err);
}

int storage_blob_get(struct store *s, const char *digest, char **data, size_t *len, struct err *err)
{
	char rel[128], check[DIGEST_BUF];

	if (!digest_valid(digest))
		return err_set(err, EINVAL, "invalid digest \"%s\"", digest);
	blob_rel(digest, rel, sizeof(rel));
	if (fs_read_all(s->root_fd, rel, data, len, 64 << 20, err) < 0)
		return -1;
	/* Blobs are small (configs, manifests): verify on every read so a
	 * corrupted store is noticed instead of trusted. */
	if (digest_buf(*data, len ? *len : strlen(*data), check) < 0 || strcmp(check, digest)) {
		free(*data);
		*data = NULL;
		return err_set(err, EIO, "blob %s is corrupted", digest);
	}
	return 0;
}

bool storage_blob_has(struct store *s, const char *digest)
{
	char rel[128];

	if (!digest_valid(digest))
		return false;
	blob_rel(digest, rel, sizeof(rel));
	return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

void storage_blob_remove(struct store *s, const char *digest)
{
	char rel[128];

	if (!digest_valid(digest))
		return;
	blob_rel(digest, rel, sizeof(rel));
	unlinkat(s->root_fd, rel, 0);
}

/* ---- layers --------------------------------------------------------------- */

bool storage_layer_exists(struct store *s, const char *chain_id)
{
	char rel[128];

	if (!digest_valid(chain_id))
		return false;
	snprintf(rel, sizeof(rel), "layers/%s/layer.json", digest_hex(chain_id));
	return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int storage_layer_diff_path(struct store *s, const char *chain_id, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/layers/%s/diff", s->root, digest_hex(chain_id));
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static void copy_str(char *dst, size_t len, json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	snprintf(dst, len, "%s", v ? v : "");
}

int storage_layer_get(struct store *s, const char *chain_id, struct storage_layer *out,
		      struct err *err)
{
	char rel[128];
	cleanup_free char *buf = NULL;
	json_t *j;

	if (!digest_valid(chain_id))
		return err_set(err, EINVAL, "invalid layer id %s", chain_id);
	snprintf(rel, sizeof(rel), "layers/%s/layer.json", digest_hex(chain_id));
	if (fs_read_all(s->root_fd, rel, &buf, NULL, 1 << 20, err) < 0)
		return err_prefix(err, "layer %.19s", chain_id);
	j = json_loads(buf, 0, NULL);
	if (!j)
		return err_set(err, EIO, "layer %.19s: corrupted layer.json", chain_id);
	memset(out, 0, sizeof(*out));
	copy_str(out->chain_id, sizeof(out->chain_id), j, "chain_id");
	copy_str(out->diff_id, sizeof(out->diff_id), j, "diff_id");
	copy_str(out->parent, sizeof(out->parent), j, "parent");
	copy_str(out->blob_digest, sizeof(out->blob_digest), j, "blob_digest");
	copy_str(out->blob_media_type, sizeof(out->blob_media_type), j, "blob_media_type");
	out->size = json_integer_value(json_object_get(j, "size"));
	out->blob_size = json_integer_value(json_object_get(j, "blob_size"));
	json_decref(j);
	return 0;
}

json_t *storage_layer_json(const struct storage_layer *l)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "chain_id", l->chain_id, "diff_id",
			 l->diff_id, "parent", l->parent, "blob_digest", l->blob_digest,
			 "blob_media_type", l->blob_media_type, "size", (json_int_t)l->size,
			 "blob_size", (json_int_t)l->blob_size);
}

void storage_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

unsigned long long storage_proc_start(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	cleanup_close int fd = -1;
	ssize_t n;
	char *p;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* A zombie (its parent, our crashed runner, is gone and nobody has
	 * reaped it yet) is as dead as can be for us. */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	/* After ") ": state is field 3, starttime field 22: skip 19 fields. */
	for (int f = 0; p && f < 20; f++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}
