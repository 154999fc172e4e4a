/* archive: archive formats. Flat rootfs import (one tar -> one-layer image),
 * reading the files of a docker-archive or OCI layout (tar or directory),
 * and the pure parsers of their index files (manifest.json, index.json,
 * manifests) that load.c drives. */
#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "image/image_internal.h"
#include "image/load_internal.h"

#define LOAD_LINK_HOPS 16

/* ---- import ----------------------------------------------------------- */

static void say_exists(const struct image_import_opts *o, const char *chain_id)
{
	char line[128];
	if (!o->print)
		return;
	snprintf(line, sizeof(line), "Layer %s already exists", chain_id);
	o->print(o->print_ctx, line);
}

static int import_commit(struct store *s, struct storage_staging *st,
			 const struct image_import_opts *o, const struct image_unpack_result *res,
			 char image_id[DIGEST_BUF], struct err *err)
{
	struct storage_layer layer = { .size = res->size, .blob_size = res->blob_size };
	const char *staged[1] = { "layer" };
	const char *tags[2] = { o->tag, NULL };
	cleanup_json json_t *cfg = NULL;
	cleanup_free char *bytes = NULL;
	struct storage_commit c = { .layers = &layer, .staged = staged, .n = 1 };
	bool exists = false;

	/* A single layer's chain id is its diff_id. */
	snprintf(layer.chain_id, sizeof(layer.chain_id), "%s", res->diff_id);
	snprintf(layer.diff_id, sizeof(layer.diff_id), "%s", res->diff_id);
	snprintf(layer.blob_digest, sizeof(layer.blob_digest), "%s", res->blob_digest);
	snprintf(layer.blob_media_type, sizeof(layer.blob_media_type), "%s", MEDIA_DOCKER_LAYER);
	if (storage_layer_exists(s, layer.chain_id)) {
		say_exists(o, layer.chain_id);
		staged[0] = NULL;
	}
	cfg = image_config_new_import(res->diff_id, o->changes, o->message, err);
	if (!cfg)
		return -1;
	bytes = json_dumps(cfg, JSON_COMPACT);
	if (!bytes)
		return err_sys(err, ENOMEM, "import: serialize config");
	c.config = bytes;
	c.config_len = strlen(bytes);
	c.tags = o->tag ? tags : NULL;
	return storage_image_commit(s, st, &c, image_id, &exists, err);
}

int image_import(struct store *s, int fd, const struct image_import_opts *o,
		 char image_id[DIGEST_BUF], struct err *err)
{
	struct storage_staging st;
	struct image_unpack_result res;
	cleanup_close int layer_fd = -1;
	int rc = -1;

	/* Changes are checked before any byte is read, so a typo costs nothing. */
	for (size_t i = 0; o->changes && o->changes[i]; i++) {
		cleanup_json json_t *probe = json_object();
		if (!probe)
			return err_sys(err, ENOMEM, "import");
		if (image_config_change(probe, o->changes[i], err) < 0)
			return -1;
	}
	if (storage_staging_new(s, &st, err) < 0)
		return -1;
	if (mkdirat(st.dirfd, "layer", 0755) < 0) {
		err_sys(err, errno, "import: create staging layer");
		goto out;
	}
	layer_fd = openat(st.dirfd, "layer", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (layer_fd < 0) {
		err_sys(err, errno, "import: open staging layer");
		goto out;
	}
	if (image_layer_unpack_fd(fd, layer_fd, storage_whiteout_form(s), &res, err) < 0) {
		err_prefix(err, "import");
		goto out;
	}
	rc = import_commit(s, &st, o, &res, image_id, err);
out:
	storage_staging_discard(s, &st);
	return rc;
}

/* ---- archive sources ------------------------------------------------------ */

struct archive *load_source_tar_open(struct load_source *src, struct err *err)
{
	struct archive *a;

	if (lseek(src->file_fd, src->start, SEEK_SET) < 0) {
		err_sys(err, errno, "load: rewind input");
		return NULL;
	}
	a = archive_read_new();
	if (!a) {
		err_sys(err, ENOMEM, "load");
		return NULL;
	}
	/* Only in-process filters: filter_all would run external programs. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_fd(a, src->file_fd, 128 * 1024) != ARCHIVE_OK) {
		err_set(err, EINVAL, "load: %s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

int load_source_next(struct archive *a, struct archive_entry **e, struct err *err)
{
	int r = archive_read_next_header(a, e);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN)
		return err_set(err, EINVAL, "load: not a valid archive: %s",
			       archive_error_string(a));
	return 1;
}

/* "a/b" + "../c/d" -> "c/d"; -1 when it climbs out of the archive. */
static int link_resolve(const char *from, const char *target, char *out, size_t len)
{
	char buf[PATH_MAX * 2], clean[PATH_MAX];
	const char *slash = strrchr(from, '/');
	int dirlen = slash ? (int)(slash - from) : 0;
	size_t n = 0;
	char *save = NULL;

	if (target[0] == '/')
		return -1;
	if ((size_t)snprintf(buf, sizeof(buf), "%.*s/%s", dirlen, from, target) >= sizeof(buf))
		return -1;
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (n == 0)
				return -1;
			while (n > 0 && clean[--n] != '/')
				;
			continue;
		}
		if (n + strlen(t) + 2 > sizeof(clean))
			return -1;
		n += (size_t)snprintf(clean + n, sizeof(clean) - n, "%s%s", n ? "/" : "", t);
	}
	clean[n] = '\0';
	return (size_t)snprintf(out, len, "%s", clean) < len && load_path_valid(out) ? 0 : -1;
}

/* Small top-level files and blobs that look like JSON are kept: those are
 * manifest.json, index.json, oci-layout, configs and manifests. */
static bool worth_holding(const char *name, struct archive_entry *e)
{
	return archive_entry_size_is_set(e) && archive_entry_size(e) <= (la_int64_t)LOAD_JSON_MAX &&
	       (!strchr(name, '/') || strncmp(name, "blobs/", 6) == 0);
}

static bool looks_like_json(const char *buf, size_t n)
{
	size_t k = 0;
	while (k < n && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r' || buf[k] == '\n'))
		k++;
	return k < n && (buf[k] == '{' || buf[k] == '[');
}

static int hold_data(struct load_source *src, struct archive *a, struct archive_entry *e,
		     struct load_entry *ent, struct err *err)
{
	size_t size = (size_t)archive_entry_size(e), got = 0;
	cleanup_free char *buf = NULL;

	if (src->held + size > LOAD_HELD_MAX)
		return err_set(err, EFBIG, "load: more than %u bytes of JSON in the archive",
			       LOAD_HELD_MAX);
	if (!(buf = malloc(size + 1)))
		return err_sys(err, ENOMEM, "load");
	while (got < size) {
		la_ssize_t n =
			archive_read_data(a, buf + got, size - got > 65536 ? 65536 : size - got);
		if (n < 0)
			return err_set(err, EIO, "load: %s: %s", ent->name,
				       archive_error_string(a));
		if (n == 0)
			break;
		/* A layer is not JSON: stop at its first bytes. */
		if (got == 0 && !looks_like_json(buf, (size_t)n))
			return 0;
		got += (size_t)n;
	}
	buf[got] = '\0';
	ent->len = got;
	ent->data = TAKE_PTR(buf);
	src->held += got;
	return 0;
}

/* Where a link entry points, as an archive path; -1 for links that lead
 * out of the archive or are not links at all. */
static int entry_link(const char *name, struct archive_entry *e, char *target, size_t len)
{
	const char *hl = archive_entry_hardlink(e);

	if (hl)
		return image_entry_name_clean(hl, target, len) < 0 || !*target ? -1 : 0;
	if (archive_entry_filetype(e) == AE_IFLNK)
		return link_resolve(name, archive_entry_symlink(e) ?: "", target, len);
	return -1;
}

/* Only regular files and links that stay inside are recorded: nothing else
 * can be a layer, a config or an index. */
static int add_entry(struct load_source *src, struct archive *a, struct archive_entry *e,
		     struct err *err)
{
	char name[PATH_MAX], target[PATH_MAX];
	bool is_link, is_file;
	struct load_entry *ent, *nv;

	/* Names that would escape cannot be referenced by a valid manifest. */
	if (image_entry_name_clean(archive_entry_pathname(e), name, sizeof(name)) < 0 || !*name)
		return 0;
	is_link = entry_link(name, e, target, sizeof(target)) == 0;
	is_file = !archive_entry_hardlink(e) && archive_entry_filetype(e) == AE_IFREG;
	if (!is_link && !is_file)
		return 0;
	nv = realloc(src->ents, (src->n_ents + 1) * sizeof(*nv));
	if (!nv)
		return err_sys(err, ENOMEM, "load");
	src->ents = nv;
	ent = memset(&src->ents[src->n_ents++], 0, sizeof(*ent));
	if (!(ent->name = strdup(name)) || (is_link && !(ent->link = strdup(target))))
		return err_sys(err, ENOMEM, "load");
	if (is_file && worth_holding(name, e))
		return hold_data(src, a, e, ent, err);
	return 0;
}

/* Pass 1: the entry table and the small JSON files. */
int load_source_scan(struct load_source *src, struct err *err)
{
	struct archive *a = load_source_tar_open(src, err);
	struct archive_entry *e;
	int r;

	if (!a)
		return -1;
	while ((r = load_source_next(a, &e, err)) > 0) {
		if (add_entry(src, a, e, err) < 0) {
			r = -1;
			break;
		}
	}
	archive_read_free(a);
	return r;
}

const struct load_entry *load_source_find(const struct load_source *src, const char *path)
{
	for (size_t hops = 0; hops < LOAD_LINK_HOPS; hops++) {
		const struct load_entry *ent = NULL;
		for (size_t i = 0; i < src->n_ents && !ent; i++) {
			if (strcmp(src->ents[i].name, path) == 0)
				ent = &src->ents[i];
		}
		if (!ent || !ent->link)
			return ent;
		path = ent->link;
	}
	return NULL;
}

/* ---- reading the small files ----------------------------------------- */

static int read_fd_max(int fd, const char *path, char **out, size_t *len, struct err *err)
{
	struct stat sb;
	size_t got = 0;
	cleanup_free char *buf = NULL;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return err_set(err, EINVAL, "load: %s is not a regular file", path);
	if ((unsigned long long)sb.st_size > LOAD_JSON_MAX)
		return err_set(err, EFBIG, "load: %s is larger than %u bytes", path, LOAD_JSON_MAX);
	if (!(buf = malloc((size_t)sb.st_size + 1)))
		return err_sys(err, ENOMEM, "load");
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(err, n < 0 ? errno : EIO, "load: read %s", path);
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	*out = TAKE_PTR(buf);
	return 0;
}

/* A copy of a small file of the archive; path is already validated. */
int load_source_read(const struct load_source *src, const char *path, char **out, size_t *len,
		     struct err *err)
{
	const struct load_entry *ent;

	if (src->dir_fd >= 0) {
		cleanup_close int fd = fs_open_in_root(src->dir_fd, path, O_RDONLY | O_NOFOLLOW, 0);
		if (fd < 0)
			return err_sys(err, errno, "load: %s", path);
		return read_fd_max(fd, path, out, len, err);
	}
	ent = load_source_find(src, path);
	if (!ent)
		return err_set(err, ENOENT, "load: %s not found in archive", path);
	if (!ent->data)
		return err_set(err, EINVAL, "load: %s is not a JSON file of at most %u bytes", path,
			       LOAD_JSON_MAX);
	if (!(*out = malloc(ent->len + 1)))
		return err_sys(err, ENOMEM, "load");
	memcpy(*out, ent->data, ent->len + 1);
	*len = ent->len;
	return 0;
}

bool load_source_has(const struct load_source *src, const char *path)
{
	if (src->dir_fd >= 0)
		return faccessat(src->dir_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	return load_source_find(src, path) != NULL;
}

void load_source_release(struct load_source *src)
{
	for (size_t i = 0; i < src->n_ents; i++) {
		free(src->ents[i].name);
		free(src->ents[i].link);
		free(src->ents[i].data);
	}
	free(src->ents);
	src->ents = NULL;
	src->n_ents = 0;
	if (src->file_fd >= 0)
		close(src->file_fd);
	if (src->dir_fd >= 0)
		close(src->dir_fd);
	src->file_fd = src->dir_fd = -1;
}

/* ---- paths and digests ------------------------------------------------ */

int load_path_valid(const char *p)
{
	const char *c = p;

	if (!p || !*p || *p == '/' || strlen(p) >= PATH_MAX)
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
		if (*c == '/' && !*++c)
			return 0;
	}
	return 1;
}

int load_blob_path(const char *digest, char *buf, size_t len, struct err *err)
{
	if (!digest_valid(digest))
		return err_set(err, EINVAL, "invalid digest in archive: %.80s",
			       digest ? digest : "");
	if ((size_t)snprintf(buf, len, "blobs/sha256/%s", digest_hex(digest)) >= len)
		return err_set(err, ENAMETOOLONG, "blob path too long");
	return 0;
}

int load_path_digest(const char *path, char out[DIGEST_BUF])
{
	char hex[65];
	size_t n = strlen(path);

	if (strncmp(path, "blobs/sha256/", 13) == 0 && n == 13 + 64) {
		memcpy(hex, path + 13, 65);
	} else if (n == 64 + 5 && strcmp(path + 64, ".json") == 0) {
		memcpy(hex, path, 64);
		hex[64] = '\0';
	} else {
		return -1;
	}
	if (!digest_hex_valid(hex))
		return -1;
	snprintf(out, DIGEST_BUF, "sha256:%s", hex);
	return 0;
}

/* ---- load_image / load_desc ------------------------------------------- */

static void strv_free_n(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void load_image_release(struct load_image *im)
{
	free(im->config_path);
	strv_free_n(im->layer_paths, im->n_layers);
	strv_free_n(im->layer_media, im->n_layers);
	free(im->layer_digests);
	strv_free_n(im->tags, im->n_tags);
	free(im->manifest);
	memset(im, 0, sizeof(*im));
}

void load_images_free(struct load_image *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		load_image_release(&v[i]);
	free(v);
}

void load_descs_free(struct load_desc *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].ref_name);
	free(v);
}

static int image_alloc_layers(struct load_image *im, size_t n, struct err *err)
{
	im->layer_paths = calloc(n + 1, sizeof(char *));
	im->layer_media = calloc(n + 1, sizeof(char *));
	im->layer_digests = calloc(n + 1, sizeof(*im->layer_digests));
	if (!im->layer_paths || !im->layer_media || !im->layer_digests)
		return err_sys(err, ENOMEM, "parse manifest");
	im->n_layers = n;
	return 0;
}

/* ---- docker-archive manifest.json ------------------------------------- */

static int docker_entry_layers(json_t *layers, struct load_image *im, struct err *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(layers))
		return err_set(err, EINVAL, "manifest.json: Layers is not an array");
	if (image_alloc_layers(im, json_array_size(layers), err) < 0)
		return -1;
	json_array_foreach (layers, i, v) {
		const char *p = json_string_value(v);
		if (!load_path_valid(p))
			return err_set(err, EINVAL, "manifest.json: invalid layer path %.100s",
				       p ? p : "(not a string)");
		if (!(im->layer_paths[i] = strdup(p)) ||
		    !(im->layer_media[i] = strdup(MEDIA_DOCKER_LAYER)))
			return err_sys(err, ENOMEM, "parse manifest.json");
		if (load_path_digest(p, im->layer_digests[i]) < 0)
			im->layer_digests[i][0] = '\0';
	}
	return 0;
}

static int docker_entry_tags(json_t *tags, struct load_image *im, struct err *err)
{
	size_t i;
	json_t *v;

	if (!tags || json_is_null(tags))
		return 0;
	if (!json_is_array(tags))
		return err_set(err, EINVAL, "manifest.json: RepoTags is not an array");
	im->tags = calloc(json_array_size(tags) + 1, sizeof(char *));
	if (!im->tags)
		return err_sys(err, ENOMEM, "parse manifest.json");
	json_array_foreach (tags, i, v) {
		if (!json_is_string(v))
			return err_set(err, EINVAL, "manifest.json: RepoTags[%zu] is not a string",
				       i);
		if (!(im->tags[im->n_tags++] = strdup(json_string_value(v))))
			return err_sys(err, ENOMEM, "parse manifest.json");
	}
	return 0;
}

static int docker_entry_parse(json_t *e, struct load_image *im, struct err *err)
{
	const char *cfg = json_string_value(json_object_get(e, "Config"));

	if (!json_is_object(e))
		return err_set(err, EINVAL, "manifest.json: entry is not an object");
	if (!load_path_valid(cfg))
		return err_set(err, EINVAL, "manifest.json: invalid Config path %.100s",
			       cfg ? cfg : "(missing)");
	if (!(im->config_path = strdup(cfg)))
		return err_sys(err, ENOMEM, "parse manifest.json");
	if (load_path_digest(cfg, im->config_digest) < 0)
		im->config_digest[0] = '\0';
	if (docker_entry_layers(json_object_get(e, "Layers"), im, err) < 0)
		return -1;
	return docker_entry_tags(json_object_get(e, "RepoTags"), im, err);
}

int load_docker_manifest_parse(const char *json, size_t len, struct load_image **out, size_t *n,
			       struct err *err)
{
	json_error_t jerr;
	cleanup_json json_t *root = json_loadb(json, len, 0, &jerr);
	struct load_image *v;
	size_t i, cnt;

	*out = NULL;
	*n = 0;
	if (!root)
		return err_set(err, EINVAL, "manifest.json: %s", jerr.text);
	if (!json_is_array(root) || json_array_size(root) == 0)
		return err_set(err, EINVAL, "manifest.json: not a non-empty array");
	cnt = json_array_size(root);
	v = calloc(cnt, sizeof(*v));
	if (!v)
		return err_sys(err, ENOMEM, "parse manifest.json");
	for (i = 0; i < cnt; i++) {
		if (docker_entry_parse(json_array_get(root, i), &v[i], err) < 0) {
			load_images_free(v, cnt);
			return -1;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- OCI index and manifests ------------------------------------------ */

int load_media_is_index(const char *mt)
{
	return mt && (strcmp(mt, MEDIA_OCI_INDEX) == 0 || strcmp(mt, MEDIA_DOCKER_LIST) == 0);
}

int load_media_is_layer(const char *mt)
{
	return mt && (strncmp(mt, "application/vnd.oci.image.layer.", 32) == 0 ||
		      strncmp(mt, "application/vnd.docker.image.rootfs.", 36) == 0);
}

static int desc_parse(json_t *d, struct load_desc *out, struct err *err)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	json_t *plat = json_object_get(d, "platform");
	json_t *ann = json_object_get(d, "annotations");
	/* containerd (docker 25+ save) records the full name beside the tag. */
	const char *ref = json_string_value(json_object_get(ann, "io.containerd.image.name")) ?:
				  json_string_value(json_object_get(
					  ann, "org.opencontainers.image.ref.name"));

	if (!json_is_object(d))
		return err_set(err, EINVAL, "index.json: manifest entry is not an object");
	if (!digest_valid(dg))
		return err_set(err, EINVAL, "index.json: invalid digest %.80s",
			       dg ? dg : "(missing)");
	snprintf(out->digest, sizeof(out->digest), "%s", dg);
	snprintf(out->media_type, sizeof(out->media_type), "%s", mt ? mt : MEDIA_OCI_MANIFEST);
	snprintf(out->os, sizeof(out->os), "%s",
		 json_string_value(json_object_get(plat, "os")) ?: "");
	snprintf(out->arch, sizeof(out->arch), "%s",
		 json_string_value(json_object_get(plat, "architecture")) ?: "");
	if (ref && !(out->ref_name = strdup(ref)))
		return err_sys(err, ENOMEM, "parse index.json");
	return 0;
}

int load_oci_index_parse(const char *json, size_t len, struct load_desc **out, size_t *n,
			 struct err *err)
{
	json_error_t jerr;
	cleanup_json json_t *root = json_loadb(json, len, 0, &jerr);
	json_t *m = json_object_get(root, "manifests");
	struct load_desc *v;
	size_t i, cnt;

	*out = NULL;
	*n = 0;
	if (!root)
		return err_set(err, EINVAL, "index.json: %s", jerr.text);
	if (!json_is_array(m) || json_array_size(m) == 0)
		return err_set(err, EINVAL, "index.json: no manifests");
	cnt = json_array_size(m);
	v = calloc(cnt, sizeof(*v));
	if (!v)
		return err_sys(err, ENOMEM, "parse index.json");
	for (i = 0; i < cnt; i++) {
		if (desc_parse(json_array_get(m, i), &v[i], err) < 0) {
			load_descs_free(v, cnt);
			return -1;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

int load_oci_index_pick(const struct load_desc *v, size_t n, const char *arch)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].os, "linux") == 0 && strcmp(v[i].arch, arch) == 0 &&
		    !load_media_is_index(v[i].media_type))
			return (int)i;
	}
	return n == 1 ? 0 : -1;
}

static int oci_layers_parse(json_t *layers, struct load_image *im, struct err *err)
{
	size_t i;
	json_t *l;

	if (!json_is_array(layers))
		return err_set(err, EINVAL, "manifest: layers is not an array");
	if (image_alloc_layers(im, json_array_size(layers), err) < 0)
		return -1;
	json_array_foreach (layers, i, l) {
		const char *dg = json_string_value(json_object_get(l, "digest"));
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		char path[128];

		if (load_blob_path(dg, path, sizeof(path), err) < 0)
			return err_prefix(err, "manifest: layer %zu", i);
		if (!load_media_is_layer(mt))
			return err_set(err, EINVAL, "manifest: unsupported layer media type %.100s",
				       mt ? mt : "(missing)");
		snprintf(im->layer_digests[i], DIGEST_BUF, "%s", dg);
		if (!(im->layer_paths[i] = strdup(path)) || !(im->layer_media[i] = strdup(mt)))
			return err_sys(err, ENOMEM, "parse manifest");
	}
	return 0;
}

int load_oci_manifest_parse(const char *json, size_t len, struct load_image *im, struct err *err)
{
	json_error_t jerr;
	cleanup_json json_t *root = json_loadb(json, len, 0, &jerr);
	const char *cfg =
		json_string_value(json_object_get(json_object_get(root, "config"), "digest"));
	char path[128];

	memset(im, 0, sizeof(*im));
	if (!root)
		return err_set(err, EINVAL, "manifest: %s", jerr.text);
	if (!json_is_object(root) ||
	    json_integer_value(json_object_get(root, "schemaVersion")) != 2)
		return err_set(err, EINVAL, "manifest: not a schema 2 image manifest");
	if (load_blob_path(cfg, path, sizeof(path), err) < 0)
		return err_prefix(err, "manifest: config");
	snprintf(im->config_digest, sizeof(im->config_digest), "%s", cfg);
	if (!(im->config_path = strdup(path)) || !(im->manifest = malloc(len + 1)))
		goto nomem;
	memcpy(im->manifest, json, len);
	im->manifest[len] = '\0';
	im->manifest_len = len;
	if (oci_layers_parse(json_object_get(root, "layers"), im, err) < 0) {
		load_image_release(im);
		return -1;
	}
	return 0;
nomem:
	load_image_release(im);
	return err_sys(err, ENOMEM, "parse manifest");
}
