/* storage/images: image records, refs, the crash-safe commit of a new
 * image and garbage collection of what nothing references. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "storage/storage.h"
#include "storage/container.h"
#include "storage/storage_internal.h"

json_t *storage_json_read(struct store *s, const char *rel, struct err *err)
{
	cleanup_free char *buf = NULL;
	json_error_t je;
	json_t *j;

	if (fs_read_all(s->root_fd, rel, &buf, NULL, 16 << 20, err) < 0)
		return NULL;
	j = json_loads(buf, 0, &je);
	if (!j)
		err_set(err, EIO, "%s/%s: corrupted: %s", s->root, rel, je.text);
	return j;
}

int storage_json_write(struct store *s, const char *rel, json_t *j, struct err *err)
{
	return storage_json_write_file(s, rel, j, true, err);
}

int storage_json_write_file(struct store *s, const char *rel, json_t *j, bool durable,
			    struct err *err)
{
	cleanup_free char *buf = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	if (!buf)
		return err_set(err, ENOMEM, "encode %s", rel);
	return fs_write_file(s->root_fd, rel, buf, strlen(buf), 0600, durable, err);
}

static void image_rel(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "images/%s.json", digest_hex(id));
}

bool storage_image_exists(struct store *s, const char *image_id)
{
	char rel[128];

	if (!digest_valid(image_id))
		return false;
	image_rel(image_id, rel, sizeof(rel));
	return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

json_t *storage_image_record(struct store *s, const char *image_id, struct err *err)
{
	char rel[128];

	if (!digest_valid(image_id)) {
		err_set(err, EINVAL, "invalid image id %s", image_id);
		return NULL;
	}
	image_rel(image_id, rel, sizeof(rel));
	return storage_json_read(s, rel, err);
}

int storage_dir_list(struct store *s, const char *dir, const char *suffix, char ***out, size_t *n,
		     struct err *err)
{
	int fd = openat(s->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t cap = 0, slen = suffix ? strlen(suffix) : 0;
	char **v = NULL;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "open %s/%s", s->root, dir);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(err, errno, "open %s/%s", s->root, dir);
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (slen && (len <= slen || strcmp(de->d_name + len - slen, suffix)))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		if (!(v[*n] = strndup(de->d_name, len - slen)))
			goto oom;
		(*n)++;
	}
	closedir(d);
	*out = v;
	return 0;
oom:
	closedir(d);
	storage_strv_free(v, *n);
	*n = 0;
	return err_set(err, ENOMEM, "out of memory");
}

int storage_image_list(struct store *s, char ***ids, size_t *n, struct err *err)
{
	if (storage_dir_list(s, "images", ".json", ids, n, err) < 0)
		return -1;
	/* Keep only valid ids, as "sha256:<hex>". */
	size_t j = 0;
	for (size_t i = 0; i < *n; i++) {
		char *full;
		if (!digest_hex_valid((*ids)[i]) || asprintf(&full, "sha256:%s", (*ids)[i]) < 0) {
			free((*ids)[i]);
			continue;
		}
		free((*ids)[i]);
		(*ids)[j++] = full;
	}
	*n = j;
	return 0;
}

/* ---- refs ----------------------------------------------------------------- */

json_t *storage_refs_load(struct store *s, struct err *err)
{
	struct err e = { 0 };
	json_t *j = storage_json_read(s, "images/refs.json", &e);

	if (!j && e.code == ENOENT)
		return json_object();
	if (!j && err)
		*err = e;
	if (j && !json_is_object(j)) {
		json_decref(j);
		err_set(err, EIO, "%s/images/refs.json: not an object", s->root);
		return NULL;
	}
	return j;
}

int storage_ref_lookup(struct store *s, const char *name, char id[DIGEST_BUF])
{
	json_t *refs = storage_refs_load(s, NULL);
	const char *v = refs ? json_string_value(json_object_get(refs, name)) : NULL;
	int found = v && digest_valid(v);

	snprintf(id, DIGEST_BUF, "%s", found ? v : "");
	json_decref(refs);
	return found ? 0 : -1;
}

static int refs_modify(struct store *s, const char *name, const char *id, struct err *err)
{
	json_t *refs;
	int rc;

	if (storage_lock(s, err) < 0)
		return -1;
	refs = storage_refs_load(s, err);
	if (!refs) {
		storage_unlock(s);
		return -1;
	}
	if (id)
		json_object_set_new(refs, name, json_string(id));
	else if (json_object_del(refs, name) < 0) {
		json_decref(refs);
		storage_unlock(s);
		return err_set(err, ENOENT, "No such image: %s", name);
	}
	rc = storage_json_write(s, "images/refs.json", refs, err);
	json_decref(refs);
	storage_unlock(s);
	return rc;
}

int storage_ref_set(struct store *s, const char *name, const char *image_id, struct err *err)
{
	if (!storage_image_exists(s, image_id))
		return err_set(err, ENOENT, "No such image: %s", image_id);
	return refs_modify(s, name, image_id, err);
}

int storage_ref_delete(struct store *s, const char *name, struct err *err)
{
	return refs_modify(s, name, NULL, err);
}

int storage_image_resolve(struct store *s, const char *arg, char id[DIGEST_BUF], struct err *err)
{
	const char *hex = strncmp(arg, "sha256:", 7) == 0 ? arg + 7 : arg;
	size_t hlen = strlen(hex), n = 0, matches = 0;
	char **ids = NULL;

	if (storage_ref_lookup(s, arg, id) == 0)
		return 0;
	if (hlen == 0 || hlen > 64 || strspn(hex, "0123456789abcdef") != hlen)
		return err_set(err, ENOENT, "No such image: %s", arg);
	if (storage_image_list(s, &ids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(ids[i] + 7, hex, hlen) == 0) {
			matches++;
			snprintf(id, DIGEST_BUF, "%s", ids[i]);
		}
	}
	storage_strv_free(ids, n);
	if (matches == 1)
		return 0;
	id[0] = '\0';
	if (matches > 1)
		return err_set(err, EINVAL, "image id prefix %s is ambiguous", arg);
	return err_set(err, ENOENT, "No such image: %s", arg);
}

/* ---- commit --------------------------------------------------------------- */

static int write_plan(struct storage_staging *st, const struct storage_commit *c, struct err *err)
{
	json_t *plan = json_pack("{s:[]}", "layers");
	json_t *arr = json_object_get(plan, "layers");
	cleanup_free char *buf = NULL;

	for (size_t i = 0; i < c->n; i++)
		if (c->staged[i])
			json_array_append_new(arr, json_string(digest_hex(c->layers[i].chain_id)));
	buf = json_dumps(plan, JSON_COMPACT);
	json_decref(plan);
	if (!buf)
		return err_set(err, ENOMEM, "out of memory");
	return fs_write_atomic(st->dirfd, "txn.json", buf, strlen(buf), 0600, err);
}

/* <staged>.tar-split.zst, when the unpacker kept one, goes with the layer. */
static int install_tar_split(struct storage_staging *st, const char *staged, const char *wrap,
			     struct err *err)
{
	char from[300], to[320];

	snprintf(from, sizeof(from), "%s" STORAGE_TAR_SPLIT_SUFFIX, staged);
	snprintf(to, sizeof(to), "%s/" STORAGE_TAR_SPLIT_FILE, wrap);
	if (renameat(st->dirfd, from, st->dirfd, to) < 0 && errno != ENOENT)
		return err_sys(err, errno, "stage layer %s", from);
	return 0;
}

/* staged dir -> <staged>.layer/diff + layer.json -> layers/<hex>. */
static int install_layer(struct store *s, struct storage_staging *st, const char *staged,
			 const struct storage_layer *l, bool *existed, struct err *err)
{
	char wrap[300], diff[320], dst[128];
	json_t *j;
	cleanup_free char *buf = NULL;

	*existed = storage_layer_exists(s, l->chain_id);
	if (*existed)
		return 0;
	snprintf(wrap, sizeof(wrap), "%s.layer", staged);
	snprintf(diff, sizeof(diff), "%s/diff", wrap);
	if (mkdirat(st->dirfd, wrap, 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "stage layer");
	if (renameat(st->dirfd, staged, st->dirfd, diff) < 0)
		return err_sys(err, errno, "stage layer %s", staged);
	if (install_tar_split(st, staged, wrap, err) < 0)
		return -1;
	j = storage_layer_json(l);
	buf = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!buf)
		return err_set(err, ENOMEM, "out of memory");
	snprintf(dst, sizeof(dst), "%s/layer.json", wrap);
	if (fs_write_atomic(st->dirfd, dst, buf, strlen(buf), 0600, err) < 0)
		return -1;
	snprintf(dst, sizeof(dst), "layers/%s", digest_hex(l->chain_id));
	if (renameat(st->dirfd, wrap, s->root_fd, dst) < 0)
		return err_sys(err, errno, "install layer %.19s", l->chain_id);
	return 0;
}

static json_t *image_record_new(const struct storage_commit *c, const char *manifest_digest)
{
	json_t *layers = json_array();

	for (size_t i = 0; i < c->n; i++)
		json_array_append_new(layers, json_string(c->layers[i].chain_id));
	return json_pack("{s:o, s:o, s:I}", "layers", layers, "manifest",
			 manifest_digest ? json_string(manifest_digest) : json_null(), "created",
			 (json_int_t)time(NULL));
}

static int commit_locked(struct store *s, struct storage_staging *st,
			 const struct storage_commit *c, char image_id[DIGEST_BUF], bool *exists,
			 struct err *err)
{
	char mdigest[DIGEST_BUF], rel[128];
	json_t *rec, *refs;
	int rc;

	if (write_plan(st, c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		bool existed = true;
		if (c->staged[i] &&
		    install_layer(s, st, c->staged[i], &c->layers[i], &existed, err) < 0)
			return -1;
		if (!storage_layer_exists(s, c->layers[i].chain_id))
			return err_set(err, ENOENT, "layer %.19s is missing",
				       c->layers[i].chain_id);
	}
	if (storage_blob_put(s, c->config, c->config_len, image_id, err) < 0)
		return -1;
	if (c->manifest && storage_blob_put(s, c->manifest, c->manifest_len, mdigest, err) < 0)
		return -1;
	*exists = storage_image_exists(s, image_id);
	if (!*exists) {
		rec = image_record_new(c, c->manifest ? mdigest : NULL);
		image_rel(image_id, rel, sizeof(rel));
		rc = storage_json_write(s, rel, rec, err);
		json_decref(rec);
		if (rc < 0)
			return -1;
	}
	refs = storage_refs_load(s, err);
	if (!refs)
		return -1;
	for (size_t i = 0; c->tags && c->tags[i]; i++)
		json_object_set_new(refs, c->tags[i], json_string(image_id));
	rc = c->tags && c->tags[0] ? storage_json_write(s, "images/refs.json", refs, err) : 0;
	json_decref(refs);
	if (rc == 0)
		unlinkat(st->dirfd, "txn.json", 0);
	return rc;
}

int storage_image_commit(struct store *s, struct storage_staging *st,
			 const struct storage_commit *c, char image_id[DIGEST_BUF], bool *exists,
			 struct err *err)
{
	int rc;

	if (storage_lock(s, err) < 0)
		return -1;
	rc = commit_locked(s, st, c, image_id, exists, err);
	storage_unlock(s);
	return rc;
}

/* ---- references and garbage collection ------------------------------------ */

static bool list_has(json_t *arr, const char *chain_hex)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v) {
		const char *c = json_string_value(v);
		if (c && strcmp(digest_hex(c), chain_hex) == 0)
			return true;
	}
	return false;
}

/* Whether the "layers"/"Layers" array of any image (but skip_image) or
 * container lists the layer. A listing that fails counts as a user: the
 * answer decides whether a layer is deleted. */
static bool any_user(struct store *s, const char *chain_hex, const char *skip_image)
{
	char **v = NULL;
	size_t n = 0;
	bool found = false;
	struct err e = { 0 };

	if (storage_image_list(s, &v, &n, &e) < 0)
		return true;
	for (size_t i = 0; i < n && !found; i++) {
		json_t *rec;
		if (skip_image && strcmp(v[i], skip_image) == 0)
			continue;
		rec = storage_image_record(s, v[i], &e);
		found = rec && list_has(json_object_get(rec, "layers"), chain_hex);
		json_decref(rec);
	}
	storage_strv_free(v, n);
	if (found)
		return true;
	if (storage_container_list(s, &v, &n, &e) < 0)
		return true;
	for (size_t i = 0; i < n && !found; i++) {
		char rel[320];
		json_t *cfg;
		snprintf(rel, sizeof(rel), "containers/%s/config.json", v[i]);
		cfg = storage_json_read(s, rel, &e);
		found = cfg && list_has(json_object_get(cfg, "Layers"), chain_hex);
		json_decref(cfg);
	}
	storage_strv_free(v, n);
	return found;
}

bool storage_layer_referenced(struct store *s, const char *chain_hex)
{
	return any_user(s, chain_hex, NULL);
}

static int delete_locked(struct store *s, const char *image_id, struct err *err)
{
	char rel[128];
	json_t *rec = storage_image_record(s, image_id, err), *refs, *v, *tmp;
	const char *key;
	size_t i;

	if (!rec)
		return -1;
	refs = storage_refs_load(s, err);
	if (!refs) {
		json_decref(rec);
		return -1;
	}
	json_object_foreach_safe (refs, tmp, key, v) {
		if (strcmp(json_string_value(v) ? json_string_value(v) : "", image_id) == 0)
			json_object_del(refs, key);
	}
	if (storage_json_write(s, "images/refs.json", refs, err) < 0)
		goto fail;
	image_rel(image_id, rel, sizeof(rel));
	if (unlinkat(s->root_fd, rel, 0) < 0 && errno != ENOENT) {
		err_sys(err, errno, "remove image record");
		goto fail;
	}
	/* Top layer first, so a crash half-way leaves a shorter valid chain. */
	for (i = json_array_size(json_object_get(rec, "layers")); i-- > 0;) {
		const char *chain =
			json_string_value(json_array_get(json_object_get(rec, "layers"), i));
		struct err e = { 0 };
		if (!chain || !digest_valid(chain) || any_user(s, digest_hex(chain), image_id))
			continue;
		snprintf(rel, sizeof(rel), "layers/%s", digest_hex(chain));
		if (fs_rm_rf_at(s->root_fd, rel, &e) < 0)
			log_warn("%s", e.msg);
	}
	storage_blob_remove(s, image_id);
	if (json_string_value(json_object_get(rec, "manifest")))
		storage_blob_remove(s, json_string_value(json_object_get(rec, "manifest")));
	json_decref(refs);
	json_decref(rec);
	return 0;
fail:
	json_decref(refs);
	json_decref(rec);
	return -1;
}

int storage_image_delete(struct store *s, const char *image_id, struct err *err)
{
	int rc;

	if (storage_lock(s, err) < 0)
		return -1;
	rc = delete_locked(s, image_id, err);
	storage_unlock(s);
	return rc;
}
