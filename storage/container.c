/* container: container records (containers/<id>/config.json) and their
 * writable layers. Names live only in the records: a name is taken while a
 * config.json with that "Name" exists, checked under the store lock. */
#include "storage/container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/timefmt.h"
#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "storage/drivers/driver.h"
#include "storage/names.h"
#include "storage/storage_internal.h"

#define NAME_RETRIES 16
#define MAX_STACKED_UMOUNTS 16

static bool is_ctr_id(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

static void ctr_rel(char *buf, size_t len, const char *id, const char *file)
{
	snprintf(buf, len, "containers/%s/%s", id, file);
}

/* "Name" is stored Docker's way, "/web"; callers see "web". */
static const char *config_name(json_t *cfg)
{
	const char *n = json_string_value(json_object_get(cfg, "Name"));

	if (!n)
		return "";
	return n[0] == '/' ? n + 1 : n;
}

static json_t *read_config(struct store *s, const char *id, struct err *err)
{
	char rel[128];

	ctr_rel(rel, sizeof(rel), id, "config.json");
	return storage_json_read(s, rel, err);
}

static bool config_transient(json_t *cfg)
{
	return json_is_true(json_object_get(json_object_get(cfg, "HostConfig"), "AutoRemove"));
}

static int load(struct store *s, const char *id, struct storage_container *c, struct err *err)
{
	cleanup_json json_t *cfg = NULL;
	struct err ignored;

	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (snprintf(c->dir, sizeof(c->dir), "%s/containers/%s", s->root, id) >=
		    (int)sizeof(c->dir) ||
	    snprintf(c->merged, sizeof(c->merged), "%s/merged", c->dir) >= (int)sizeof(c->merged))
		return err_set(err, ENAMETOOLONG, "store path too long: %s", s->root);
	/* A record half-written by a crash still loads, so that rm can go. */
	cfg = read_config(s, id, &ignored);
	if (cfg) {
		snprintf(c->name, sizeof(c->name), "%s", config_name(cfg));
		snprintf(c->image_id, sizeof(c->image_id), "%s",
			 json_string_value(json_object_get(cfg, "Image")) ?: "");
		c->transient = config_transient(cfg);
	}
	return 0;
}

int storage_container_list(struct store *s, char ***ids, size_t *n, struct err *err)
{
	size_t j = 0;

	if (storage_dir_list(s, "containers", NULL, ids, n, err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		if (is_ctr_id((*ids)[i]))
			(*ids)[j++] = (*ids)[i];
		else
			free((*ids)[i]);
	}
	*n = j;
	return 0;
}

static bool has_name(struct store *s, const char *id, const char *name)
{
	struct err ignored;
	cleanup_json json_t *cfg = read_config(s, id, &ignored);

	return cfg && strcmp(config_name(cfg), name) == 0;
}

/* The id of the container named name into owner, 1 if there is one. */
static int name_owner(struct store *s, const char *name, char owner[65], struct err *err)
{
	char **ids;
	size_t n;
	int found = 0;

	if (storage_container_list(s, &ids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++) {
		if (has_name(s, ids[i], name)) {
			snprintf(owner, 65, "%s", ids[i]);
			found = 1;
		}
	}
	storage_strv_free(ids, n);
	return found;
}

static int pick_name(struct store *s, const char *name, struct storage_container *c,
		     struct err *err)
{
	char owner[65];
	int rc;

	if (name) {
		rc = name_owner(s, name, owner, err);
		if (rc > 0)
			return err_set(err, EEXIST,
				       "Conflict. The container name \"/%s\" is already in use by "
				       "container \"%s\". You have to remove (or rename) that "
				       "container to be able to reuse that name.",
				       name, owner);
		snprintf(c->name, sizeof(c->name), "%s", name);
		return rc;
	}
	for (int retry = 0; retry < NAME_RETRIES; retry++) {
		if (storage_name_generate(c->name, sizeof(c->name), retry) < 0)
			break;
		rc = name_owner(s, c->name, owner, err);
		if (rc <= 0)
			return rc;
	}
	return err_set(err, EEXIST, "could not generate a free container name");
}

/* upper is the container's "/": 0755 like Docker's overlay2 diff dir, or
 * nobody but root could enter it. work is overlay's private scratch. */
static int make_dirs(struct store *s, const char *id, struct err *err)
{
	static const struct {
		const char *name;
		mode_t mode;
	} sub[] = { { "upper", 0755 }, { "work", 0700 }, { "merged", 0755 } };
	char rel[128];

	if (mkdirat(s->root_fd, "containers", 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "mkdir %s/containers", s->root);
	ctr_rel(rel, sizeof(rel), id, "");
	if (mkdirat(s->root_fd, rel, 0700) < 0)
		return err_sys(err, errno, "mkdir %s/%s", s->root, rel);
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		ctr_rel(rel, sizeof(rel), id, sub[i].name);
		/* chmod after mkdir: the caller's umask must not shape the rootfs. */
		if (mkdirat(s->root_fd, rel, sub[i].mode) < 0 ||
		    fchmodat(s->root_fd, rel, sub[i].mode, 0) < 0)
			return err_sys(err, errno, "mkdir %s/%s", s->root, rel);
	}
	return 0;
}

static void set_default(json_t *obj, const char *key, const char *val)
{
	if (!json_object_get(obj, key))
		json_object_set_new(obj, key, json_string(val));
}

static int write_config(struct store *s, const struct storage_container *c, json_t *config,
			struct err *err)
{
	cleanup_json json_t *cfg = config ? json_copy(config) : json_object();
	char rel[128], slash_name[130], created[64];

	if (!cfg || !json_is_object(cfg))
		return err_set(err, EINVAL, "container config must be a JSON object");
	snprintf(slash_name, sizeof(slash_name), "/%s", c->name);
	time_rfc3339_now(created, sizeof(created));
	json_object_set_new(cfg, "Id", json_string(c->id));
	json_object_set_new(cfg, "Name", json_string(slash_name));
	set_default(cfg, "Image", c->image_id);
	set_default(cfg, "Driver", storage_driver_name(s));
	set_default(cfg, "Created", created);
	ctr_rel(rel, sizeof(rel), c->id, "config.json");
	return storage_json_write_file(s, rel, cfg, !config_transient(cfg), err);
}

static int create_locked(struct store *s, const char *name, json_t *config,
			 struct storage_container *c, struct err *err)
{
	struct err ignored;
	char rel[128];

	if (pick_name(s, name, c, err) < 0)
		return -1;
	if (make_dirs(s, c->id, err) < 0 || write_config(s, c, config, err) < 0) {
		ctr_rel(rel, sizeof(rel), c->id, "");
		if (fs_rm_rf_at(s->root_fd, rel, &ignored) < 0)
			err_prefix(err, "(and %s/%s is left behind)", s->root, rel);
		return -1;
	}
	return 0;
}

int storage_container_create(struct store *s, const char *name, const char *image_id,
			     json_t *config, struct storage_container *c, struct err *err)
{
	char id[65];
	int rc;

	if (name && name[0] == '/') /* docker accepts "--name /web" */
		name++;
	if (name && (!storage_name_is_valid(name) || strlen(name) >= sizeof(c->name)))
		return err_set(
			err, EINVAL,
			"Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
			name);
	if (storage_random_id(id) < 0)
		return err_sys(err, errno, "random container id");
	if (load(s, id, c, err) < 0)
		return -1;
	snprintf(c->image_id, sizeof(c->image_id), "%s", image_id ? image_id : "");
	c->transient = config && config_transient(config);
	if (storage_lock(s, err) < 0)
		return -1;
	rc = create_locked(s, name, config, c, err);
	storage_unlock(s);
	return rc;
}

/* ---- mounting ----------------------------------------------------------- */

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo (proc_pid_mountinfo(5)). */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* true if path is a mount point in our mount namespace. */
static bool is_mounted(const char *path)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		/* Fields: id parent major:minor root MOUNT-POINT options ... */
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		unescape_octal(tok);
		if (strcmp(tok, path) == 0)
			return true;
	}
	return false;
}

static int ctr_path(char *buf, size_t len, const struct storage_container *c, const char *sub,
		    struct err *err)
{
	if (fs_join(buf, len, c->dir, sub) < 0)
		return err_set(err, ENAMETOOLONG, "path too long: %s/%s", c->dir, sub);
	return 0;
}

/* Host paths of the layers' diff dirs, top first, in one heap block. */
static char **lower_paths(struct store *s, char *const *chain_ids, size_t n, struct err *err)
{
	char **v = malloc(n * (sizeof(char *) + PATH_MAX) + 1);

	if (!v) {
		err_sys(err, ENOMEM, "layer paths");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = chain_ids[n - 1 - i];
		v[i] = (char *)(v + n) + i * PATH_MAX;
		if (!storage_layer_exists(s, id)) {
			err_set(err, ENOENT, "layer %s of the image is missing from the store", id);
			free(v);
			return NULL;
		}
		if (storage_layer_diff_path(s, id, v[i], PATH_MAX) < 0) {
			err_set(err, ENAMETOOLONG, "layer path too long: %s", id);
			free(v);
			return NULL;
		}
	}
	return v;
}

int storage_container_mount(struct store *s, const struct storage_container *c,
			    char *const *chain_ids, size_t n, struct err *err)
{
	char upper[PATH_MAX], work[PATH_MAX], short_dir[PATH_MAX];
	cleanup_free char **lowers = NULL;
	struct graph_mount_req req;

	if (is_mounted(c->merged))
		return 0;
	if (ctr_path(upper, sizeof(upper), c, "upper", err) < 0 ||
	    ctr_path(work, sizeof(work), c, "work", err) < 0 ||
	    ctr_path(short_dir, sizeof(short_dir), c, "l", err) < 0)
		return -1;
	lowers = lower_paths(s, chain_ids, n, err);
	if (!lowers)
		return -1;
	req = (struct graph_mount_req){
		.lowers = (const char *const *)lowers,
		.n_lowers = n,
		.upper = upper,
		.work = work,
		.merged = c->merged,
		.short_dir = short_dir,
		.volatile_upper = c->transient,
	};
	return s->driver->mount(&req, err);
}

int storage_container_umount(struct store *s, const struct storage_container *c, struct err *err)
{
	return s->driver->umount(c->merged, err);
}

int storage_container_delete(struct store *s, const struct storage_container *c, struct err *err)
{
	char rel[128];
	int rc;

	/* Never rm -rf through a live mount: that would delete through the
	 * union (or, with vfs, through the bind) instead of the record. Mounts
	 * may be stacked if a crash left one behind. */
	for (int i = 0; is_mounted(c->merged); i++) {
		if (i == MAX_STACKED_UMOUNTS)
			return err_set(err, EBUSY, "container %.12s: %s stays mounted", c->id,
				       c->merged);
		if (storage_container_umount(s, c, err) < 0)
			return -1;
	}
	if (!is_ctr_id(c->id))
		return err_set(err, EINVAL, "bad container id %s", c->id);
	ctr_rel(rel, sizeof(rel), c->id, "");
	if (storage_lock(s, err) < 0)
		return -1;
	rc = fs_rm_rf_at(s->root_fd, rel, err);
	storage_unlock(s);
	return rc < 0 ? err_prefix(err, "remove container %.12s", c->id) : 0;
}

int storage_container_set_state(struct store *s, const struct storage_container *c, json_t *state,
				struct err *err)
{
	char rel[128];

	ctr_rel(rel, sizeof(rel), c->id, "state.json");
	return storage_json_write_file(s, rel, state, !c->transient, err);
}

json_t *storage_container_config(struct store *s, const struct storage_container *c,
				 struct err *err)
{
	return read_config(s, c->id, err);
}

/* ---- lookup ------------------------------------------------------------- */

/* Docker's order: full id, then exact name, then unique id prefix. The
 * index into ids, or -1 with err. */
static long lookup_in(struct store *s, char **ids, size_t n, const char *arg, struct err *err)
{
	const char *name = arg[0] == '/' ? arg + 1 : arg;
	size_t matches = 0, alen = strlen(arg);
	long found = -1;

	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], arg) == 0)
			return (long)i;
	for (size_t i = 0; i < n; i++)
		if (has_name(s, ids[i], name))
			return (long)i;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(ids[i], arg, alen) == 0 && matches++ == 0)
			found = (long)i;
	}
	if (matches > 1)
		return err_set(err, EINVAL, "multiple containers match prefix %s", arg);
	if (matches == 0)
		return err_set(err, ENOENT, "No such container: %s", arg);
	return found;
}

int storage_container_lookup(struct store *s, const char *arg, struct storage_container *c,
			     struct err *err)
{
	char **ids;
	size_t n;
	long i;
	int rc = -1;

	if (!arg || !arg[0])
		return err_set(err, ENOENT, "No such container: %s", arg ? arg : "");
	if (storage_container_list(s, &ids, &n, err) < 0)
		return -1;
	i = lookup_in(s, ids, n, arg, err);
	if (i >= 0)
		rc = load(s, ids[i], c, err);
	storage_strv_free(ids, n);
	return rc;
}

/* "sha256:abc" and "abc" name the same image. */
static const char *hex_part(const char *id)
{
	return strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
}

bool storage_image_in_use(struct store *s, const char *image_id)
{
	struct err ignored;
	char **ids;
	size_t n;
	bool used = false;

	if (storage_container_list(s, &ids, &n, &ignored) < 0)
		return true; /* cannot tell: keep the image */
	for (size_t i = 0; i < n && !used; i++) {
		cleanup_json json_t *cfg = read_config(s, ids[i], &ignored);
		const char *img = json_string_value(json_object_get(cfg, "Image"));
		used = img && strcmp(hex_part(img), hex_part(image_id)) == 0;
	}
	storage_strv_free(ids, n);
	return used;
}
