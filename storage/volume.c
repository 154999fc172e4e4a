/* volume: named and anonymous local volumes (volumes/<name>/_data) and the
 * first-use copy of the image's content into a new volume. */
#include "storage/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "storage/drivers/private.h"
#include "storage/names.h"
#include "storage/storage_internal.h"

static void vol_rel(char *buf, size_t len, const char *name, const char *file)
{
	snprintf(buf, len, "volumes/%s%s%s", name, file[0] ? "/" : "", file);
}

static bool vol_name_ok(const char *name, const struct storage_volume *v)
{
	return storage_name_is_valid(name) && strlen(name) < sizeof(v->name);
}

static bool vol_exists(struct store *s, const char *name)
{
	char rel[320];

	vol_rel(rel, sizeof(rel), name, "volume.json");
	return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int vol_fill(struct store *s, const char *name, struct storage_volume *v, bool created,
		    struct err *err)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->created = created;
	if (snprintf(v->data, sizeof(v->data), "%s/volumes/%s/_data", s->root, name) >=
	    (int)sizeof(v->data))
		return err_set(err, ENAMETOOLONG, "store path too long: %s", s->root);
	return 0;
}

/* Docker's local volume timestamps: RFC 3339, seconds, UTC. */
static json_t *vol_record(const struct storage_volume *v, json_t *labels, bool anonymous)
{
	char created[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:b}", "Name", v->name, "Driver", "local",
			 "Mountpoint", v->data, "CreatedAt", created, "Labels",
			 labels ? json_incref(labels) : json_object(), "Scope", "local",
			 "Anonymous", anonymous);
}

/* mkdir + chmod: the caller's umask must not decide what a container sees;
 * an existing dir (left by a crash before volume.json) is reused. */
static int mkdir_mode(struct store *s, const char *rel, mode_t mode, struct err *err)
{
	if (mkdirat(s->root_fd, rel, mode) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s/%s", s->root, rel);
	if (fchmodat(s->root_fd, rel, mode, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOTSUP)
		return err_sys(err, errno, "chmod %s/%s", s->root, rel);
	return 0;
}

static int create_locked(struct store *s, struct storage_volume *v, json_t *labels, bool anonymous,
			 struct err *err)
{
	cleanup_json json_t *rec = NULL;
	char rel[320];

	if (mkdirat(s->root_fd, "volumes", 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s/volumes", s->root);
	vol_rel(rel, sizeof(rel), v->name, "");
	/* 0755, never 0777: host users may traverse, only root may write. */
	if (mkdir_mode(s, rel, 0755, err) < 0)
		return -1;
	vol_rel(rel, sizeof(rel), v->name, "_data");
	if (mkdir_mode(s, rel, 0755, err) < 0)
		return -1;
	rec = vol_record(v, labels, anonymous);
	if (!rec)
		return err_set(err, ENOMEM, "volume record");
	vol_rel(rel, sizeof(rel), v->name, "volume.json");
	return storage_json_write(s, rel, rec, err);
}

int storage_volume_create(struct store *s, const char *name, json_t *labels, bool anonymous,
			  struct storage_volume *v, struct err *err)
{
	char gen[65];
	int rc = 0;

	if (!name) {
		if (storage_random_id(gen) < 0)
			return err_sys(err, errno, "random volume name");
		name = gen;
		anonymous = true;
	}
	if (!vol_name_ok(name, v))
		return err_set(err, EINVAL,
			       "create %s: \"%s\" includes invalid characters for a local volume "
			       "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
			       "intended to pass a host directory, use absolute path",
			       name, name);
	if (storage_lock(s, err) < 0)
		return -1;
	if (vol_exists(s, name))
		rc = vol_fill(s, name, v, false, err);
	else if (vol_fill(s, name, v, true, err) < 0 ||
		 create_locked(s, v, labels, anonymous, err) < 0)
		rc = -1;
	storage_unlock(s);
	return rc;
}

int storage_volume_get(struct store *s, const char *name, struct storage_volume *v, struct err *err)
{
	if (!vol_name_ok(name, v) || !vol_exists(s, name))
		return err_set(err, ENOENT, "No such volume: %s", name);
	return vol_fill(s, name, v, false, err);
}

json_t *storage_volume_info(struct store *s, const char *name, struct err *err)
{
	char rel[320];

	if (!storage_name_is_valid(name) || strlen(name) > 255 || !vol_exists(s, name)) {
		err_set(err, ENOENT, "No such volume: %s", name);
		return NULL;
	}
	vol_rel(rel, sizeof(rel), name, "volume.json");
	return storage_json_read(s, rel, err);
}

static bool mounts_volume(json_t *cfg, const char *name)
{
	json_t *m;
	size_t i;

	json_array_foreach (json_object_get(cfg, "Mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *vn = json_string_value(json_object_get(m, "Name"));
		if (type && vn && strcmp(type, "volume") == 0 && strcmp(vn, name) == 0)
			return true;
	}
	return false;
}

/* ", "-joined ids of the containers whose Mounts name the volume into buf;
 * returns how many. */
static int volume_users(struct store *s, const char *name, char *buf, size_t len, struct err *err)
{
	char **ids;
	size_t n, pos = 0;
	int users = 0;

	buf[0] = '\0';
	if (storage_container_list(s, &ids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct storage_container c = { 0 };
		struct err ignored;
		cleanup_json json_t *cfg = NULL;

		snprintf(c.id, sizeof(c.id), "%s", ids[i]);
		cfg = storage_container_config(s, &c, &ignored);
		if (!cfg || !mounts_volume(cfg, name))
			continue;
		if (pos < len) {
			int k = snprintf(buf + pos, len - pos, "%s%s", users ? ", " : "", ids[i]);
			pos += k > 0 ? (size_t)k : 0;
		}
		users++;
	}
	storage_strv_free(ids, n);
	return users;
}

static int remove_locked(struct store *s, const char *name, bool force, struct err *err)
{
	char users[400], rel[320];
	int n;

	if (!vol_exists(s, name))
		return force ? 0 : err_set(err, ENOENT, "No such volume: %s", name);
	n = volume_users(s, name, users, sizeof(users), err);
	if (n < 0)
		return -1;
	if (n > 0 && !force)
		return err_set(err, EBUSY, "remove %s: volume is in use - [%s]", name, users);
	vol_rel(rel, sizeof(rel), name, "");
	return fs_rm_rf_at(s->root_fd, rel, err) < 0 ? err_prefix(err, "remove %s", name) : 0;
}

int storage_volume_remove(struct store *s, const char *name, bool force, struct err *err)
{
	int rc;

	if (!storage_name_is_valid(name) || strlen(name) > 255)
		return force ? 0 : err_set(err, ENOENT, "No such volume: %s", name);
	if (storage_lock(s, err) < 0)
		return -1;
	rc = remove_locked(s, name, force, err);
	storage_unlock(s);
	return rc;
}

static int strv_push(char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return -1;
		*v = nv;
		*cap = nc;
	}
	if (!((*v)[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

int storage_volume_list(struct store *s, char ***names, size_t *n, struct err *err)
{
	cleanup_close int fd = openat(s->root_fd, "volumes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "open %s/volumes", s->root);
	d = fdopendir(TAKE_FD(fd));
	if (!d)
		return err_sys(err, errno, "open %s/volumes", s->root);
	while ((de = readdir(d)) != NULL) {
		if (!storage_name_is_valid(de->d_name) || !vol_exists(s, de->d_name))
			continue;
		if (strv_push(names, n, &cap, de->d_name) < 0) {
			closedir(d);
			storage_strv_free(*names, *n);
			*names = NULL;
			*n = 0;
			return err_sys(err, ENOMEM, "list volumes");
		}
	}
	closedir(d);
	return 0;
}

/* ---- copy-up ------------------------------------------------------------ */

static int dir_is_empty(int fd)
{
	int nfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if (nfd < 0)
		return -1;
	d = fdopendir(nfd);
	if (!d) {
		close(nfd);
		return -1;
	}
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

int storage_volume_copy_up(const char *merged, const char *ctr_path, const struct storage_volume *v,
			   struct err *err)
{
	/* Like Docker: the volume's _data also takes the image dir's owner and
	 * mode, so e.g. a volume on /tmp stays 1777. */
	const struct tree_copy_opts opts = { .whiteouts = false, .root_meta = true };
	cleanup_close int root_fd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int src_fd = -1, dst_fd = -1;
	int empty;

	if (root_fd < 0)
		return err_sys(err, errno, "open %s", merged);
	/* Resolved as if merged were "/": an image symlink such as
	 * /data -> /etc cannot make us copy host files (RESOLVE_IN_ROOT). */
	src_fd = fs_open_in_root(root_fd, ctr_path, O_RDONLY | O_DIRECTORY, 0);
	if (src_fd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ?
			       0 :
			       err_sys(err, errno, "open %s in container", ctr_path);
	dst_fd = open(v->data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst_fd < 0)
		return err_sys(err, errno, "open volume %s", v->name);
	empty = dir_is_empty(dst_fd);
	if (empty < 0)
		return err_sys(err, errno, "read volume %s", v->name);
	if (!empty) /* Docker copies into a volume only while it is empty. */
		return 0;
	if (tree_copy(src_fd, dst_fd, &opts, err) < 0)
		return err_prefix(err, "copy %s into volume %s", ctr_path, v->name);
	return 0;
}
