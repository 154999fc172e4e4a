/* push: a local image to a registry. Each layer is written as a gzip tar
 * into the staging dir (hashed while written), then uploaded unless the
 * registry has it (HEAD); the config and a manifest (Docker schema 2, or
 * OCI) follow. Layers are written as their original tar (tar-split), so
 * the image ID stays; one stored without a tar-split is regenerated, and
 * if that no longer hashes to the config's diff_id it gets its new diff_id
 * in a rewritten config, so the pushed image always verifies. */
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "image/image_internal.h"
#include "image/registry_internal.h"

struct push {
	struct store *s;
	const struct image_registry_opts *o;
	struct image_ref ref;
	char name[600];
	char image_id[DIGEST_BUF];
	struct reg_session sess;
	struct storage_staging st;
	bool have_st;
	char *config;
	size_t config_len;
	struct image_config cfg;
	bool have_cfg;
	char (*chains)[DIGEST_BUF];
	char (*diff_ids)[DIGEST_BUF]; /* what the pushed layers really hash to */
	struct reg_blob *blobs;
	size_t n;
	bool rewrite;
};

/* ---- the local image ------------------------------------------------------ */

static int load_layers(struct push *p, json_t *rec, struct err *err)
{
	json_t *layers = json_object_get(rec, "layers"), *v;
	size_t i;

	p->n = json_array_size(layers);
	if (p->n != p->cfg.n_diff_ids)
		return err_set(err, EINVAL,
			       "push: image %.19s has %zu layers but its config lists %zu",
			       p->image_id, p->n, p->cfg.n_diff_ids);
	p->chains = calloc(p->n + 1, sizeof(*p->chains));
	p->diff_ids = calloc(p->n + 1, sizeof(*p->diff_ids));
	p->blobs = calloc(p->n + 1, sizeof(*p->blobs));
	if (!p->chains || !p->diff_ids || !p->blobs)
		return err_sys(err, ENOMEM, "push");
	json_array_foreach (layers, i, v) {
		const char *c = json_string_value(v);
		if (!c || !digest_valid(c))
			return err_set(err, EINVAL, "push: image %.19s has a bad layer list",
				       p->image_id);
		snprintf(p->chains[i], DIGEST_BUF, "%s", c);
	}
	return 0;
}

static int load_image(struct push *p, struct err *err)
{
	cleanup_json json_t *rec = NULL;

	if (storage_ref_lookup(p->s, p->name, p->image_id) < 0 || !p->image_id[0])
		return err_set(err, ENOENT, "An image does not exist locally with the tag: %s",
			       p->name);
	if (!(rec = storage_image_record(p->s, p->image_id, err)) ||
	    storage_blob_get(p->s, p->image_id, &p->config, &p->config_len, err) < 0)
		return err_prefix(err, "push %s", p->name);
	if (image_config_parse(p->config, p->config_len, &p->cfg, err) < 0)
		return err_prefix(err, "push %s: config", p->name);
	p->have_cfg = true;
	return load_layers(p, rec, err);
}

/* ---- blobs on the registry ----------------------------------------------- */

static int blob_exists(struct push *p, const char *digest, bool *yes, struct err *err)
{
	struct reg_response r = { 0 };
	char path[700];
	int rc = 0;

	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->ref.path, digest);
	if (reg_do(&p->sess,
		   &(struct reg_request){ .method = "HEAD", .path = path, .upload_fd = -1 }, &r,
		   err) < 0)
		return -1;
	*yes = r.status == 200;
	if (r.status != 200 && r.status != 404)
		rc = reg_status_err(&p->sess, &r, "push: check blob", err);
	reg_response_release(&r);
	return rc;
}

/* Location -> "Location&digest=..." (or ?digest=). */
static int upload_url(struct push *p, const char *loc, const char *digest, char **url,
		      struct err *err)
{
	char *esc = curl_easy_escape(p->sess.curl, digest, 0);
	int n;

	if (!esc)
		return err_sys(err, ENOMEM, "push");
	n = asprintf(url, "%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", esc);
	curl_free(esc);
	return n < 0 ? err_sys(err, ENOMEM, "push") : 0;
}

/* The upload URL may point elsewhere (storage behind the registry): our
 * credentials go only to the registry itself. */
static const char *authz_for(const struct push *p, const char *url)
{
	if (url[0] == '/' || strncmp(url, p->sess.base, strlen(p->sess.base)) == 0)
		return p->sess.authz;
	return NULL;
}

/* Monolithic upload: POST for a session, PUT the bytes with the digest. */
static int blob_upload(struct push *p, const char *digest, int fd, const void *mem, long long len,
		       struct err *err)
{
	static const char *const hdrs[] = { "Content-Type: application/octet-stream", NULL };
	struct reg_response r = { 0 };
	cleanup_free char *url = NULL;
	char path[700];
	int rc = -1;

	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", p->ref.path);
	if (reg_do(&p->sess,
		   &(struct reg_request){ .method = "POST", .path = path, .upload_fd = -1 }, &r,
		   err) < 0)
		return -1;
	if (r.status != 202 || !r.location[0]) {
		rc = r.status == 202 ?
			     err_set(err, EPROTO, "push: registry gave no upload location") :
			     reg_status_err(&p->sess, &r, "push: start upload", err);
		goto out;
	}
	if (upload_url(p, r.location, digest, &url, err) < 0 ||
	    reg_http(&p->sess,
		     &(struct reg_request){ .method = "PUT",
					    .path = url,
					    .headers = hdrs,
					    .body = mem,
					    .upload_fd = fd,
					    .len = len },
		     authz_for(p, url), &r, err) < 0)
		goto out;
	if (r.status != 201 && r.status != 204)
		reg_status_err(&p->sess, &r, "push: upload blob", err);
	else
		rc = 0;
out:
	reg_response_release(&r);
	return rc;
}

static int blob_push(struct push *p, const char *digest, int fd, const void *mem, long long len,
		     bool *existed, struct err *err)
{
	if (blob_exists(p, digest, existed, err) < 0)
		return -1;
	return *existed ? 0 : blob_upload(p, digest, fd, mem, len, err);
}

/* ---- layers ---------------------------------------------------------------- */

/* The layer as a gzip tar in the staging dir; returns its fd. */
static int layer_tar(struct push *p, size_t i, struct err *err)
{
	char name[32];
	struct image_tar_result res;
	cleanup_close int fd = -1;

	snprintf(name, sizeof(name), "layer%zu", i);
	fd = openat(p->st.dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(err, errno, "push: staging");
	if (image_layer_write_stored(p->s, p->chains[i], "gzip", image_write_fd, &fd, &res, err) <
	    0)
		return err_prefix(err, "push");
	snprintf(p->diff_ids[i], DIGEST_BUF, "%s", res.diff_id);
	snprintf(p->blobs[i].digest, DIGEST_BUF, "%s", res.blob_digest);
	snprintf(p->blobs[i].media_type, sizeof(p->blobs[i].media_type), "%s",
		 p->o && p->o->oci ? REG_MT_OCI_LAYER_GZIP : REG_MT_DOCKER_LAYER_GZIP);
	p->blobs[i].size = res.blob_size;
	if (strcmp(res.diff_id, p->cfg.diff_ids[i]) != 0)
		p->rewrite = true;
	return TAKE_FD(fd);
}

/* A layer that came from a registry as gzip still has that blob there (or
 * in another repo of it): ask before re-writing it. */
static bool reuse_blob(struct push *p, size_t i, struct err *err)
{
	struct storage_layer l;
	bool yes = false;
	size_t n;

	if (storage_layer_get(p->s, p->chains[i], &l, NULL) < 0 || !digest_valid(l.blob_digest) ||
	    l.blob_size <= 0 || strcmp(l.diff_id, p->cfg.diff_ids[i]) != 0)
		return false;
	n = strlen(l.blob_media_type);
	if (n < 4 || strcmp(l.blob_media_type + n - 4, "gzip") != 0)
		return false;
	if (blob_exists(p, l.blob_digest, &yes, err) < 0 || !yes) {
		err_clear(err);
		return false;
	}
	p->blobs[i] = (struct reg_blob){ .size = l.blob_size };
	snprintf(p->blobs[i].digest, DIGEST_BUF, "%s", l.blob_digest);
	snprintf(p->blobs[i].media_type, sizeof(p->blobs[i].media_type), "%s",
		 p->o && p->o->oci ? REG_MT_OCI_LAYER_GZIP : REG_MT_DOCKER_LAYER_GZIP);
	snprintf(p->diff_ids[i], DIGEST_BUF, "%s", l.diff_id);
	return true;
}

static int push_layer(struct push *p, size_t i, struct err *err)
{
	cleanup_close int fd = -1;
	bool existed = false;
	char name[32];
	int rc;

	if (reuse_blob(p, i, err)) {
		reg_say(p->o, "%.12s: Layer already exists", digest_hex(p->cfg.diff_ids[i]));
		return 0;
	}
	if ((fd = layer_tar(p, i, err)) < 0)
		return -1;
	rc = blob_push(p, p->blobs[i].digest, fd, NULL, p->blobs[i].size, &existed, err);
	snprintf(name, sizeof(name), "layer%zu", i);
	unlinkat(p->st.dirfd, name, 0);
	if (rc < 0)
		return err_prefix(err, "push %s: layer %.19s", p->name, p->blobs[i].digest);
	reg_say(p->o, "%.12s: %s", digest_hex(p->diff_ids[i]),
		existed ? "Layer already exists" : "Pushed");
	return 0;
}

/* ---- config and manifest -------------------------------------------------- */

/* The config with rootfs.diff_ids set to what the pushed layers hash to. */
static int config_rewrite(struct push *p, struct err *err)
{
	cleanup_json json_t *root = json_loadb(p->config, p->config_len, 0, NULL);
	json_t *ids = json_array();
	char *out;

	json_t *rootfs = json_object_get(root, "rootfs");
	if (!ids || !json_is_object(rootfs)) {
		json_decref(ids);
		return err_set(err, EINVAL, "push %s: config has no rootfs", p->name);
	}
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(ids, json_string(p->diff_ids[i]));
	json_object_set_new(rootfs, "diff_ids", ids);
	if (!(out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		return err_sys(err, ENOMEM, "push");
	free(p->config);
	p->config = out;
	p->config_len = strlen(out);
	return 0;
}

static int push_config(struct push *p, struct reg_blob *cfg, struct err *err)
{
	bool existed;

	if (p->rewrite && config_rewrite(p, err) < 0)
		return -1;
	if (digest_buf(p->config, p->config_len, cfg->digest) < 0)
		return err_set(err, ENOMEM, "push: cannot hash config");
	cfg->size = (long long)p->config_len;
	snprintf(cfg->media_type, sizeof(cfg->media_type), "%s",
		 p->o && p->o->oci ? REG_MT_OCI_CONFIG : REG_MT_DOCKER_CONFIG);
	if (p->rewrite)
		reg_say(p->o, "note: layers were re-encoded; the pushed image ID is %s",
			cfg->digest);
	if (blob_push(p, cfg->digest, -1, p->config, cfg->size, &existed, err) < 0)
		return err_prefix(err, "push %s: config", p->name);
	return 0;
}

static int push_manifest(struct push *p, const struct reg_blob *cfg, char digest[DIGEST_BUF],
			 long long *size, struct err *err)
{
	bool oci = p->o && p->o->oci;
	cleanup_free char *m = reg_manifest_build(cfg, p->blobs, p->n, oci);
	const char *hdrs[] = { oci ? "Content-Type: " REG_MT_OCI_MANIFEST :
				     "Content-Type: " REG_MT_DOCKER_MANIFEST,
			       NULL };
	struct reg_response r = { 0 };
	char path[700], what[700];
	int rc = -1;

	if (!m || digest_buf(m, strlen(m), digest) < 0)
		return err_sys(err, ENOMEM, "push: manifest");
	*size = (long long)strlen(m);
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", p->ref.path, p->ref.tag);
	snprintf(what, sizeof(what), "push %s: manifest", p->name);
	if (reg_do(&p->sess,
		   &(struct reg_request){ .method = "PUT",
					  .path = path,
					  .headers = hdrs,
					  .body = m,
					  .len = *size,
					  .upload_fd = -1 },
		   &r, err) < 0)
		return -1;
	if (r.status != 201 && r.status != 200)
		reg_status_err(&p->sess, &r, what, err);
	else if (r.digest[0] && strcmp(r.digest, digest) != 0)
		err_set(err, EPROTO, "%s: registry stored digest %s, we sent %s", what, r.digest,
			digest);
	else
		rc = 0;
	reg_response_release(&r);
	return rc;
}

static int push_run(struct push *p, const char *ref, char digest[DIGEST_BUF], long long *size,
		    struct err *err)
{
	struct reg_blob cfg = { 0 };

	if (image_ref_parse(ref, &p->ref, err) < 0)
		return -1;
	if (p->ref.digest[0])
		return err_set(err, EINVAL,
			       "push: cannot push a digest reference (%s): tag it first", ref);
	if (image_ref_familiar(&p->ref, p->name, sizeof(p->name)) < 0)
		return err_set(err, ENAMETOOLONG, "push: reference too long");
	if (load_image(p, err) < 0)
		return -1;
	reg_say(p->o, "The push refers to repository [%s/%s]", p->ref.domain, p->ref.path);
	if (reg_session_open(&p->sess, p->ref.domain, p->ref.path, "pull,push", p->o, NULL, NULL,
			     err) < 0 ||
	    storage_staging_new(p->s, &p->st, err) < 0)
		return -1;
	p->have_st = true;
	for (size_t i = 0; i < p->n; i++) {
		if (push_layer(p, i, err) < 0)
			return -1;
	}
	if (push_config(p, &cfg, err) < 0 || push_manifest(p, &cfg, digest, size, err) < 0)
		return -1;
	reg_say(p->o, "%s: digest: %s size: %lld", p->ref.tag, digest, *size);
	return 0;
}

int image_push(struct store *s, const char *ref, const struct image_registry_opts *o,
	       char digest[DIGEST_BUF], long long *size, struct err *err)
{
	struct push *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return err_sys(err, ENOMEM, "push");
	p->s = s;
	p->o = o;
	rc = push_run(p, ref, digest, size, err);
	if (p->have_st)
		storage_staging_discard(s, &p->st);
	reg_session_close(&p->sess);
	if (p->have_cfg)
		image_config_release(&p->cfg);
	free(p->config);
	free(p->chains);
	free(p->diff_ids);
	free(p->blobs);
	free(p);
	return rc;
}

/* ---- login / logout --------------------------------------------------------- */

int image_registry_login(const char *host, const char *user, const char *pass,
			 const struct image_registry_opts *o, struct err *err)
{
	struct reg_session sess;
	struct reg_response r = { 0 };
	char path[4096];
	int rc;

	if (reg_auth_file(o ? o->auth_file : NULL, path, sizeof(path), err) < 0 ||
	    reg_session_open(&sess, host, NULL, "pull", o, user, pass, err) < 0)
		return -1;
	/* The token (or basic credentials) must now open /v2/. */
	rc = reg_do(&sess,
		    &(struct reg_request){ .method = "GET", .path = "/v2/", .upload_fd = -1 }, &r,
		    err);
	if (rc == 0 && r.status != 200)
		rc = r.status == 401 ?
			     err_set(err, EACCES,
				     "login %s: unauthorized: incorrect username or password",
				     host) :
			     reg_status_err(&sess, &r, "login", err);
	reg_response_release(&r);
	reg_session_close(&sess);
	if (rc == 0)
		rc = reg_creds_set(path, host, user, pass, err);
	return rc;
}

int image_registry_logout(const char *host, const char *auth_file, struct err *err)
{
	char path[4096];

	if (reg_auth_file(auth_file, path, sizeof(path), err) < 0)
		return -1;
	return reg_creds_erase(path, host, err);
}
