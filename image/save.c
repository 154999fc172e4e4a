/* save: images back to tars. commit (a container's upper dir -> a new layer
 * and image) and save (docker-archive as docker 25 writes it, or an OCI
 * archive), built on image_layer_write_tar and image_layer_write_stored. */
#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
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
#include "base/log.h"
#include "image/commit_stream.h"
#include "image/image_internal.h"
#include "image/load_internal.h"
#include "image/save_internal.h"

/* ---- pure parts (save_internal.h) ---------------------------------------- */

const char *save_layer_media(const char *compression)
{
	if (compression && strcmp(compression, "gzip") == 0)
		return "application/vnd.oci.image.layer.v1.tar+gzip";
	if (compression && strcmp(compression, "zstd") == 0)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return "application/vnd.oci.image.layer.v1.tar";
}

int save_repo_tag(const char *name, char *repo, size_t rlen, char *tag, size_t tlen)
{
	const char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');

	if (strchr(name, '@') || !colon || (slash && colon < slash))
		return -1;
	if ((size_t)(colon - name) >= rlen || strlen(colon + 1) >= tlen || colon == name ||
	    !colon[1])
		return -1;
	memcpy(repo, name, (size_t)(colon - name));
	repo[colon - name] = '\0';
	snprintf(tag, tlen, "%s", colon + 1);
	return 0;
}

static json_t *descriptor(const char *media, const struct save_blob *b)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media, "digest", b->digest, "size",
			 (json_int_t)b->size);
}

json_t *save_oci_manifest(const struct save_blob *config, const struct save_blob *layers, size_t n,
			  const char *layer_media)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		if (json_array_append_new(arr, descriptor(layer_media, &layers[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:i, s:s, s:o, s:o*}", "schemaVersion", 2, "mediaType",
			 MEDIA_OCI_MANIFEST, "config", descriptor(MEDIA_OCI_CONFIG, config),
			 "layers", arr);
}

json_t *save_index_entry(const struct save_blob *manifest, const char *name, const char *ref_name)
{
	json_t *d = descriptor(MEDIA_OCI_MANIFEST, manifest);
	struct image_ref ref;
	char full[700];
	struct err e;

	if (!d || !name)
		return d;
	if (image_ref_parse(name, &ref, &e) < 0)
		return d;
	snprintf(full, sizeof(full), "%s/%s%s%s", ref.domain, ref.path, ref.tag[0] ? ":" : "",
		 ref.tag);
	if (json_object_set_new(d, "annotations",
				json_pack("{s:s, s:s}", "io.containerd.image.name", full,
					  "org.opencontainers.image.ref.name",
					  ref_name ? ref_name : ref.tag)) < 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

int save_config_set_diff_ids(json_t *config, char (*diff_ids)[DIGEST_BUF], size_t n,
			     struct err *err)
{
	json_t *rootfs = json_object_get(config, "rootfs"), *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_string(diff_ids[i]));
	if (!json_is_object(rootfs) || !arr || json_object_set_new(rootfs, "diff_ids", arr) < 0)
		return err_set(err, EINVAL, "image config has no rootfs object");
	return 0;
}

/* ---- commit -------------------------------------------------------------------- */

struct commit {
	struct store *s;
	struct storage_staging st;
	const struct image_commit_opts *o;
	json_t *parent;         /* the parent's config */
	struct image_config pc; /* parsed: its diff_ids */
	char (*chains)[DIGEST_BUF];
	struct image_tar_result tar;
	struct image_unpack_result unpacked;
	char chain[DIGEST_BUF];
	bool exists; /* the new layer's chain id is already stored */
};

static int commit_parent(struct commit *c, struct err *err)
{
	cleanup_free char *bytes = NULL;
	json_error_t je;
	size_t len;

	if (storage_blob_get(c->s, c->o->parent_id, &bytes, &len, err) < 0 ||
	    image_config_parse(bytes, len, &c->pc, err) < 0)
		return err_prefix(err, "commit: image %.19s", c->o->parent_id);
	if (!(c->parent = json_loadb(bytes, len, 0, &je)))
		return err_set(err, EINVAL, "commit: parent config: %s", je.text);
	c->chains = calloc(c->pc.n_diff_ids + 1, sizeof(*c->chains));
	if (!c->chains || image_chain_ids(c->pc.diff_ids, c->pc.n_diff_ids, c->chains) < 0)
		return err_sys(err, ENOMEM, "commit: chain ids");
	return 0;
}

/* One pass: the upper dir is written as a tar (hashed) and that stream is
 * unpacked into the staged layer as it comes, with no tar file between
 * (save and push get the tar back from the layer's tar-split). The chain id
 * is known only at the end: an already stored layer is then just not
 * installed, and the staging copy goes with the staging dir. */
static int commit_layer(struct commit *c, int upper_fd, struct err *err)
{
	cleanup_close int dest = -1;
	size_t n = c->pc.n_diff_ids;

	if (mkdirat(c->st.dirfd, "layer", 0755) < 0 ||
	    (dest = openat(c->st.dirfd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(err, errno, "commit: staging layer");
	if (image_layer_write_unpack(upper_fd, storage_whiteout_form(c->s), c->o->skip, dest,
				     &c->tar, &c->unpacked, err) < 0)
		return err_prefix(err, "commit");
	if (digest_chain_id(n ? c->chains[n - 1] : NULL, c->tar.diff_id, c->chain) < 0)
		return err_sys(err, ENOMEM, "commit: chain id");
	c->exists = storage_layer_exists(c->s, c->chain);
	return 0;
}

static json_t *history_entry(const struct image_commit_opts *o, const char *created)
{
	json_t *h = json_pack("{s:s, s:s}", "created", created, "created_by",
			      o->created_by ? o->created_by : "");

	if (h && o->author && *o->author)
		json_object_set_new(h, "author", json_string(o->author));
	if (h && o->message && *o->message)
		json_object_set_new(h, "comment", json_string(o->message));
	return h;
}

/* The parent's config with the new layer, a history entry and the changes. */
static json_t *commit_config(struct commit *c, struct err *err)
{
	cleanup_json json_t *cfg = json_deep_copy(c->parent);
	json_t *rootfs, *hist, *rt;
	char created[64];

	if (!cfg)
		goto nomem;
	time_rfc3339_now(created, sizeof(created));
	/* What belonged to the parent's build, not to this image. */
	json_object_del(cfg, "container");
	json_object_del(cfg, "container_config");
	json_object_set_new(cfg, "created", json_string(created));
	if (c->o->author && *c->o->author)
		json_object_set_new(cfg, "author", json_string(c->o->author));
	rootfs = json_object_get(cfg, "rootfs");
	if (json_array_append_new(json_object_get(rootfs, "diff_ids"),
				  json_string(c->tar.diff_id)) < 0)
		goto nomem;
	hist = json_object_get(cfg, "history");
	if (!json_is_array(hist) && json_object_set_new(cfg, "history", hist = json_array()) < 0)
		goto nomem;
	if (json_array_append_new(hist, history_entry(c->o, created)) < 0)
		goto nomem;
	rt = json_object_get(cfg, "config");
	if (!json_is_object(rt) && json_object_set_new(cfg, "config", rt = json_object()) < 0)
		goto nomem;
	for (size_t i = 0; c->o->changes && c->o->changes[i]; i++) {
		if (image_config_change(rt, c->o->changes[i], err) < 0)
			return NULL;
	}
	return TAKE_PTR(cfg);
nomem:
	err_sys(err, ENOMEM, "commit: build config");
	return NULL;
}

static int commit_store(struct commit *c, char image_id[DIGEST_BUF], struct err *err)
{
	size_t n = c->pc.n_diff_ids;
	cleanup_free struct storage_layer *layers = calloc(n + 1, sizeof(*layers));
	cleanup_free const char **staged = calloc(n + 1, sizeof(*staged));
	cleanup_json json_t *cfg = NULL;
	cleanup_free char *bytes = NULL;
	const char *tags[2] = { c->o->tag, NULL };
	struct storage_layer *top = &layers[n];
	bool exists = false;

	if (!layers || !staged)
		return err_sys(err, ENOMEM, "commit");
	for (size_t i = 0; i < n; i++)
		snprintf(layers[i].chain_id, DIGEST_BUF, "%s", c->chains[i]);
	snprintf(top->chain_id, DIGEST_BUF, "%s", c->chain);
	snprintf(top->diff_id, DIGEST_BUF, "%s", c->tar.diff_id);
	snprintf(top->parent, DIGEST_BUF, "%s", n ? c->chains[n - 1] : "");
	snprintf(top->blob_digest, DIGEST_BUF, "%s", c->tar.diff_id);
	snprintf(top->blob_media_type, sizeof(top->blob_media_type), "%s", MEDIA_DOCKER_LAYER);
	top->size = c->unpacked.size;
	top->blob_size = c->tar.size;
	staged[n] = c->exists ? NULL : "layer";
	if (!(cfg = commit_config(c, err)))
		return -1;
	if (!(bytes = json_dumps(cfg, JSON_COMPACT)))
		return err_sys(err, ENOMEM, "commit: serialize config");
	struct storage_commit sc = { .layers = layers,
				     .staged = staged,
				     .n = n + 1,
				     .config = bytes,
				     .config_len = strlen(bytes),
				     .tags = c->o->tag ? tags : NULL };
	if (storage_image_commit(c->s, &c->st, &sc, image_id, &exists, err) < 0)
		return err_prefix(err, "commit");
	return 0;
}

int image_commit(struct store *s, int upper_dirfd, const struct image_commit_opts *o,
		 char image_id[DIGEST_BUF], struct err *err)
{
	struct commit c = { .s = s, .o = o };
	int rc;

	/* Changes are checked before any byte is written, as import does. */
	for (size_t i = 0; o->changes && o->changes[i]; i++) {
		cleanup_json json_t *probe = json_object();
		if (!probe)
			return err_sys(err, ENOMEM, "commit");
		if (image_config_change(probe, o->changes[i], err) < 0)
			return -1;
	}
	if (storage_staging_new(s, &c.st, err) < 0)
		return -1;
	rc = commit_parent(&c, err);
	if (rc == 0)
		rc = commit_layer(&c, upper_dirfd, err);
	if (rc == 0)
		rc = commit_store(&c, image_id, err);
	storage_staging_discard(s, &c.st);
	json_decref(c.parent);
	image_config_release(&c.pc);
	free(c.chains);
	return rc;
}

/* ---- save: collect -------------------------------------------------------------- */

struct save_layer {
	char chain[DIGEST_BUF];
	char diff_id[DIGEST_BUF]; /* of the tar written now */
	struct save_blob blob;
	char file[32]; /* staging file holding the blob */
};

struct save_image {
	char id[DIGEST_BUF];
	const char **names; /* familiar refs, NULL-terminated */
	size_t n_names;
	char *config; /* as saved: the stored bytes unless a diff_id changed */
	size_t config_len;
	struct save_blob config_blob;
	char (*diff_ids)[DIGEST_BUF]; /* as the stored config says */
	size_t *layers;               /* indices into save.layers, base first */
	size_t n_layers;
	char *manifest;
	struct save_blob manifest_blob;
};

struct save {
	struct store *s;
	struct storage_staging st;
	const struct image_save_opts *o;
	const char *comp;
	struct save_image *imgs;
	size_t n_imgs;
	struct save_layer *layers;
	size_t n_layers;
	struct archive *a;
	char (*written)[DIGEST_BUF]; /* blobs already in the archive */
	size_t n_written;
	char *buf;
};

static void warn(struct save *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct save *sv, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (sv->o->warn)
		sv->o->warn(sv->o->warn_ctx, line);
	else
		log_warn("%s", line);
}

static struct save_image *image_slot(struct save *sv, const char *id, struct err *err)
{
	struct save_image *nv;

	for (size_t i = 0; i < sv->n_imgs; i++) {
		if (strcmp(sv->imgs[i].id, id) == 0)
			return &sv->imgs[i];
	}
	if (!(nv = realloc(sv->imgs, (sv->n_imgs + 1) * sizeof(*nv)))) {
		err_sys(err, ENOMEM, "save");
		return NULL;
	}
	sv->imgs = nv;
	nv = memset(&sv->imgs[sv->n_imgs++], 0, sizeof(*nv));
	snprintf(nv->id, sizeof(nv->id), "%s", id);
	return nv;
}

static int image_add_name(struct save_image *im, const char *name, struct err *err)
{
	const char **nv;

	for (size_t i = 0; i < im->n_names; i++) {
		if (strcmp(im->names[i], name) == 0)
			return 0;
	}
	if (!(nv = realloc(im->names, (im->n_names + 2) * sizeof(*nv))))
		return err_sys(err, ENOMEM, "save");
	im->names = nv;
	nv[im->n_names++] = name;
	nv[im->n_names] = NULL;
	return 0;
}

static size_t layer_slot(struct save *sv, const char *chain)
{
	struct save_layer *nv;

	for (size_t i = 0; i < sv->n_layers; i++) {
		if (strcmp(sv->layers[i].chain, chain) == 0)
			return i;
	}
	if (!(nv = realloc(sv->layers, (sv->n_layers + 1) * sizeof(*nv))))
		return SIZE_MAX;
	sv->layers = nv;
	nv = memset(&sv->layers[sv->n_layers], 0, sizeof(*nv));
	snprintf(nv->chain, sizeof(nv->chain), "%s", chain);
	snprintf(nv->file, sizeof(nv->file), "l%zu", sv->n_layers);
	return sv->n_layers++;
}

/* The stored config and its layers (which must all be in the store). */
static int image_prepare(struct save *sv, struct save_image *im, struct err *err)
{
	struct image_config c;
	char(*chains)[DIGEST_BUF];
	int rc = 0;

	if (storage_blob_get(sv->s, im->id, &im->config, &im->config_len, err) < 0 ||
	    image_config_parse(im->config, im->config_len, &c, err) < 0)
		return err_prefix(err, "save: image %.19s", im->id);
	im->n_layers = c.n_diff_ids;
	im->diff_ids = calloc(c.n_diff_ids + 1, sizeof(*im->diff_ids));
	im->layers = calloc(c.n_diff_ids + 1, sizeof(*im->layers));
	chains = calloc(c.n_diff_ids + 1, sizeof(*chains));
	if (!im->diff_ids || !im->layers || !chains ||
	    image_chain_ids(c.diff_ids, c.n_diff_ids, chains) < 0)
		rc = err_sys(err, ENOMEM, "save");
	for (size_t i = 0; rc == 0 && i < c.n_diff_ids; i++) {
		snprintf(im->diff_ids[i], DIGEST_BUF, "%s", c.diff_ids[i]);
		if (!storage_layer_exists(sv->s, chains[i]))
			rc = err_set(err, ENOENT, "save: image %.19s: layer %.19s is missing",
				     im->id, chains[i]);
		else if ((im->layers[i] = layer_slot(sv, chains[i])) == SIZE_MAX)
			rc = err_sys(err, ENOMEM, "save");
	}
	free(chains);
	image_config_release(&c);
	return rc;
}

/* The layer's original tar when its tar-split was kept, else regenerated. */
static int layer_write(struct save *sv, struct save_layer *l, struct err *err)
{
	cleanup_close int fd =
		openat(sv->st.dirfd, l->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct image_tar_result res;

	if (fd < 0)
		return err_sys(err, errno, "save: create staging file");
	if (image_layer_write_stored(sv->s, l->chain, sv->comp, image_write_fd, &fd, &res, err) < 0)
		return err_prefix(err, "save");
	snprintf(l->diff_id, sizeof(l->diff_id), "%s", res.diff_id);
	snprintf(l->blob.digest, sizeof(l->blob.digest), "%s", res.blob_digest);
	l->blob.size = res.blob_size;
	return 0;
}

/* A layer stored without a tar-split (one libarchive-odd enough that it was
 * not recorded, or stored by an older mydocker) is written regenerated:
 * unless mydocker wrote the original, it hashes differently, and the saved
 * config must name what the archive holds (so the image gets another id). */
static int image_fix_diff_ids(struct save *sv, struct save_image *im, struct err *err)
{
	cleanup_free char(*now)[DIGEST_BUF] = calloc(im->n_layers + 1, DIGEST_BUF);
	cleanup_json json_t *cfg = NULL;
	json_error_t je;
	bool same = true;

	if (!now)
		return err_sys(err, ENOMEM, "save");
	for (size_t i = 0; i < im->n_layers; i++) {
		snprintf(now[i], DIGEST_BUF, "%s", sv->layers[im->layers[i]].diff_id);
		same &= strcmp(now[i], im->diff_ids[i]) == 0;
	}
	if (same)
		return 0;
	if (!(cfg = json_loadb(im->config, im->config_len, 0, &je)))
		return err_set(err, EINVAL, "save: config of %.19s: %s", im->id, je.text);
	if (save_config_set_diff_ids(cfg, now, im->n_layers, err) < 0)
		return -1;
	free(im->config);
	if (!(im->config = json_dumps(cfg, JSON_COMPACT)))
		return err_sys(err, ENOMEM, "save");
	im->config_len = strlen(im->config);
	warn(sv,
	     "image %.19s has layers whose original tar was not kept: saved as a new image "
	     "id with their diff_ids as written now",
	     im->id);
	return 0;
}

static int image_manifest(struct save *sv, struct save_image *im, struct err *err)
{
	cleanup_free struct save_blob *lb = calloc(im->n_layers + 1, sizeof(*lb));
	cleanup_json json_t *m = NULL;

	if (!lb || digest_buf(im->config, im->config_len, im->config_blob.digest) < 0)
		return err_sys(err, ENOMEM, "save");
	im->config_blob.size = (long long)im->config_len;
	for (size_t i = 0; i < im->n_layers; i++)
		lb[i] = sv->layers[im->layers[i]].blob;
	m = save_oci_manifest(&im->config_blob, lb, im->n_layers, save_layer_media(sv->comp));
	if (!m || !(im->manifest = json_dumps(m, JSON_COMPACT)) ||
	    digest_buf(im->manifest, strlen(im->manifest), im->manifest_blob.digest) < 0)
		return err_sys(err, ENOMEM, "save: manifest");
	im->manifest_blob.size = (long long)strlen(im->manifest);
	return 0;
}

/* ---- save: the archive ------------------------------------------------------------ */

static int put_header(struct save *sv, const char *path, mode_t mode, long long size,
		      struct err *err)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!e)
		return err_sys(err, ENOMEM, "save");
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, mode);
	archive_entry_set_size(e, S_ISDIR(mode) ? 0 : size);
	/* Fixed owner and time: the same images give the same archive. */
	archive_entry_set_mtime(e, 0, 0);
	r = archive_write_header(sv->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return err_set(err, EIO, "save: write %s: %s", path,
			       archive_error_string(sv->a) ?: "error");
	return 0;
}

static int put_data(struct save *sv, const char *path, const void *buf, size_t len, struct err *err)
{
	if (len && archive_write_data(sv->a, buf, len) != (la_ssize_t)len)
		return err_set(err, EIO, "save: write %s: %s", path,
			       archive_error_string(sv->a) ?: "error");
	return 0;
}

static int put_bytes(struct save *sv, const char *path, const char *data, size_t len,
		     struct err *err)
{
	if (put_header(sv, path, S_IFREG | 0644, (long long)len, err) < 0)
		return -1;
	return put_data(sv, path, data, len, err);
}

/* Takes j (the callers build it in the argument list). */
static int put_json(struct save *sv, const char *path, json_t *j, struct err *err)
{
	cleanup_json json_t *owned = j;
	cleanup_free char *s = owned ? json_dumps(owned, JSON_COMPACT) : NULL;

	if (!s)
		return err_sys(err, ENOMEM, "save: %s", path);
	return put_bytes(sv, path, s, strlen(s), err);
}

static bool blob_written(struct save *sv, const char *digest)
{
	char(*nv)[DIGEST_BUF];

	for (size_t i = 0; i < sv->n_written; i++) {
		if (strcmp(sv->written[i], digest) == 0)
			return true;
	}
	nv = realloc(sv->written, (sv->n_written + 1) * sizeof(*nv));
	if (nv) {
		sv->written = nv;
		snprintf(nv[sv->n_written++], DIGEST_BUF, "%s", digest);
	}
	return false;
}

static void blob_path(const char *digest, char *buf, size_t len)
{
	snprintf(buf, len, "blobs/sha256/%s", digest_hex(digest));
}

static int put_layer(struct save *sv, const struct save_layer *l, struct err *err)
{
	cleanup_close int fd = openat(sv->st.dirfd, l->file, O_RDONLY | O_CLOEXEC);
	char path[128];
	long long left = l->blob.size;

	blob_path(l->blob.digest, path, sizeof(path));
	if (fd < 0)
		return err_sys(err, errno, "save: reopen layer %.19s", l->chain);
	if (put_header(sv, path, S_IFREG | 0644, left, err) < 0)
		return -1;
	while (left > 0) {
		ssize_t n = read(fd, sv->buf, left < (1 << 20) ? (size_t)left : (1 << 20));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(err, n < 0 ? errno : EIO, "save: read staged layer %.19s",
				       l->chain);
		if (put_data(sv, path, sv->buf, (size_t)n, err) < 0)
			return -1;
		left -= n;
	}
	return 0;
}

static int put_blobs(struct save *sv, struct err *err)
{
	char path[128];

	if (put_header(sv, "blobs/", S_IFDIR | 0755, 0, err) < 0 ||
	    put_header(sv, "blobs/sha256/", S_IFDIR | 0755, 0, err) < 0)
		return -1;
	for (size_t i = 0; i < sv->n_layers; i++) {
		if (!blob_written(sv, sv->layers[i].blob.digest) &&
		    put_layer(sv, &sv->layers[i], err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sv->n_imgs; i++) {
		struct save_image *im = &sv->imgs[i];
		blob_path(im->config_blob.digest, path, sizeof(path));
		if (!blob_written(sv, im->config_blob.digest) &&
		    put_bytes(sv, path, im->config, im->config_len, err) < 0)
			return -1;
		blob_path(im->manifest_blob.digest, path, sizeof(path));
		if (!blob_written(sv, im->manifest_blob.digest) &&
		    put_bytes(sv, path, im->manifest, strlen(im->manifest), err) < 0)
			return -1;
	}
	return 0;
}

/* index.json: one entry per name (Docker 25 style), or one unnamed. */
static json_t *index_json(struct save *sv)
{
	bool oci = sv->o->format == IMAGE_ARCHIVE_OCI;
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < sv->n_imgs; i++) {
		struct save_image *im = &sv->imgs[i];
		/* OCI: the familiar name is the ref (umoci DIR:busybox:latest,
		 * skopeo oci-archive:F:busybox:latest); docker: the bare tag. */
		for (size_t k = 0; k < im->n_names; k++)
			json_array_append_new(arr,
					      save_index_entry(&im->manifest_blob, im->names[k],
							       oci ? im->names[k] : NULL));
		if (!im->n_names)
			json_array_append_new(arr,
					      save_index_entry(&im->manifest_blob, NULL, NULL));
	}
	return json_pack("{s:i, s:s, s:o*}", "schemaVersion", 2, "mediaType", MEDIA_OCI_INDEX,
			 "manifests", arr);
}

static json_t *manifest_json(struct save *sv)
{
	json_t *arr = json_array();
	char path[128];

	for (size_t i = 0; arr && i < sv->n_imgs; i++) {
		struct save_image *im = &sv->imgs[i];
		json_t *tags = im->n_names ? json_array() : json_null(), *layers = json_array();
		for (size_t k = 0; k < im->n_names; k++)
			json_array_append_new(tags, json_string(im->names[k]));
		for (size_t k = 0; k < im->n_layers; k++) {
			blob_path(sv->layers[im->layers[k]].blob.digest, path, sizeof(path));
			json_array_append_new(layers, json_string(path));
		}
		blob_path(im->config_blob.digest, path, sizeof(path));
		json_array_append_new(arr, json_pack("{s:s, s:o, s:o}", "Config", path, "RepoTags",
						     tags, "Layers", layers));
	}
	return arr;
}

/* repositories: {"repo": {"tag": top layer}}, the pre-manifest.json index. */
static json_t *repositories_json(struct save *sv)
{
	json_t *repos = json_object();
	char repo[512], tag[129];

	for (size_t i = 0; repos && i < sv->n_imgs; i++) {
		struct save_image *im = &sv->imgs[i];
		for (size_t k = 0; im->n_layers && k < im->n_names; k++) {
			json_t *r;
			if (save_repo_tag(im->names[k], repo, sizeof(repo), tag, sizeof(tag)) < 0)
				continue;
			if (!(r = json_object_get(repos, repo)))
				json_object_set_new(repos, repo, r = json_object());
			json_object_set_new(
				r, tag,
				json_string(digest_hex(
					sv->layers[im->layers[im->n_layers - 1]].blob.digest)));
		}
	}
	return repos;
}

static int put_archive(struct save *sv, int out_fd, struct err *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

	if (!(sv->a = archive_write_new()) || !(sv->buf = malloc(1 << 20)))
		return err_sys(err, ENOMEM, "save");
	if (archive_write_set_format_pax_restricted(sv->a) != ARCHIVE_OK ||
	    archive_write_open_fd(sv->a, out_fd) != ARCHIVE_OK)
		return err_set(err, EIO, "save: %s", archive_error_string(sv->a) ?: "open output");
	if (put_blobs(sv, err) < 0 || put_json(sv, "index.json", index_json(sv), err) < 0)
		return -1;
	if (sv->o->format == IMAGE_ARCHIVE_DOCKER &&
	    (put_json(sv, "manifest.json", manifest_json(sv), err) < 0 ||
	     put_json(sv, "repositories", repositories_json(sv), err) < 0))
		return -1;
	if (put_bytes(sv, "oci-layout", layout, strlen(layout), err) < 0)
		return -1;
	if (archive_write_close(sv->a) != ARCHIVE_OK)
		return err_set(err, EIO, "save: finish archive: %s",
			       archive_error_string(sv->a) ?: "error");
	return 0;
}

static int save_run(struct save *sv, const char *const *ids, const char *const *names, size_t n,
		    int out_fd, struct err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct save_image *im = image_slot(sv, ids[i], err);
		if (!im || (names[i] && image_add_name(im, names[i], err) < 0))
			return -1;
	}
	for (size_t i = 0; i < sv->n_imgs; i++) {
		if (image_prepare(sv, &sv->imgs[i], err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sv->n_layers; i++) {
		if (layer_write(sv, &sv->layers[i], err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sv->n_imgs; i++) {
		if (image_fix_diff_ids(sv, &sv->imgs[i], err) < 0 ||
		    image_manifest(sv, &sv->imgs[i], err) < 0)
			return -1;
	}
	return put_archive(sv, out_fd, err);
}

static void save_release(struct save *sv)
{
	for (size_t i = 0; i < sv->n_imgs; i++) {
		free(sv->imgs[i].names);
		free(sv->imgs[i].config);
		free(sv->imgs[i].diff_ids);
		free(sv->imgs[i].layers);
		free(sv->imgs[i].manifest);
	}
	free(sv->imgs);
	free(sv->layers);
	free(sv->written);
	free(sv->buf);
	if (sv->a)
		archive_write_free(sv->a);
	storage_staging_discard(sv->s, &sv->st);
}

int image_save(struct store *s, const char *const *ids, const char *const *names, size_t n,
	       const struct image_save_opts *o, int out_fd, struct err *err)
{
	struct save sv = { .s = s, .o = o, .comp = o->compression ? o->compression : "gzip" };
	int rc;

	if (n == 0)
		return err_set(err, EINVAL, "save: no image given");
	if (strcmp(sv.comp, "none") && strcmp(sv.comp, "gzip") && strcmp(sv.comp, "zstd"))
		return err_set(err, EINVAL,
			       "save: unknown compression %.32s: use gzip, zstd or none", sv.comp);
	if (storage_staging_new(s, &sv.st, err) < 0)
		return -1;
	rc = save_run(&sv, ids, names, n, out_fd, err);
	save_release(&sv);
	return rc;
}
