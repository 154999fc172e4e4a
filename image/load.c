/* load: docker-archive (docker save, before and after 25) and OCI layouts
 * (directory or tar) into the store. A tar is read in two passes: the
 * first holds only the small JSON files, the second streams each needed
 * layer entry straight into image_layer_unpack, so a layer is read once and
 * hashed while it is written. Everything is verified before anything is
 * committed. */
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

/* A layer to unpack: unique per chain id; layers already stored get none. */
struct job {
	char chain_id[DIGEST_BUF], diff_id[DIGEST_BUF], blob_digest[DIGEST_BUF];
	const char *path; /* archive path, links resolved (borrowed) */
	char staged[32];
	bool done;
	struct image_unpack_result res;
};

/* One image to commit. */
struct plan {
	struct load_image im;
	char *config;
	size_t config_len;
	char (*chains)[DIGEST_BUF];
	char **diff_ids;
	size_t *job; /* per layer: index in jobs, or SIZE_MAX when stored */
	char **tags; /* normalized, NULL-terminated */
	size_t n_tags;
};

struct load {
	struct store *s;
	struct storage_staging st;
	struct load_source src;
	struct plan *plans;
	size_t n_plans;
	struct job *jobs;
	size_t n_jobs;
	image_print_fn print;
	void *print_ctx;
};

/* ---- plans ------------------------------------------------------------- */

static void plan_release(struct plan *p)
{
	load_image_release(&p->im);
	free(p->config);
	free(p->chains);
	for (size_t i = 0; p->diff_ids && p->diff_ids[i]; i++)
		free(p->diff_ids[i]);
	free(p->diff_ids);
	free(p->job);
	for (size_t i = 0; i < p->n_tags; i++)
		free(p->tags[i]);
	free(p->tags);
}

static struct plan *plan_add(struct load *l, struct err *err)
{
	struct plan *nv = realloc(l->plans, (l->n_plans + 1) * sizeof(*nv));
	if (!nv) {
		err_sys(err, ENOMEM, "load");
		return NULL;
	}
	l->plans = nv;
	return memset(&l->plans[l->n_plans++], 0, sizeof(*nv));
}

static int plan_tag(struct plan *p, const char *name, struct err *err)
{
	char norm[512];
	char **nv;

	if (image_ref_normalize(name, norm, sizeof(norm), err) < 0)
		return err_prefix(err, "load: invalid tag %.100s", name);
	nv = realloc(p->tags, (p->n_tags + 2) * sizeof(*nv));
	if (!nv)
		return err_sys(err, ENOMEM, "load");
	p->tags = nv;
	if (!(p->tags[p->n_tags] = strdup(norm)))
		return err_sys(err, ENOMEM, "load");
	p->tags[++p->n_tags] = NULL;
	return 0;
}

/* Read and check the config, then compute the chain ids. */
static int plan_config(struct load *l, struct plan *p, struct err *err)
{
	char dg[DIGEST_BUF];
	struct image_config c;
	size_t n;

	if (load_source_read(&l->src, p->im.config_path, &p->config, &p->config_len, err) < 0)
		return -1;
	if (digest_buf(p->config, p->config_len, dg) < 0)
		return err_sys(err, ENOMEM, "load: hash config");
	if (p->im.config_digest[0] && strcmp(dg, p->im.config_digest) != 0)
		return err_set(err, EINVAL, "load: config %.100s has digest %s, expected %s",
			       p->im.config_path, dg, p->im.config_digest);
	if (image_config_parse(p->config, p->config_len, &c, err) < 0)
		return err_prefix(err, "load: %.100s", p->im.config_path);
	p->diff_ids = TAKE_PTR(c.diff_ids);
	n = c.n_diff_ids;
	image_config_release(&c);
	if (p->im.n_layers != n)
		return err_set(err, EINVAL, "load: image has %zu layers but its config lists %zu",
			       p->im.n_layers, n);
	p->chains = calloc(p->im.n_layers + 1, sizeof(*p->chains));
	p->job = calloc(p->im.n_layers + 1, sizeof(*p->job));
	if (!p->chains || !p->job)
		return err_sys(err, ENOMEM, "load");
	if (image_chain_ids(p->diff_ids, p->im.n_layers, p->chains) < 0)
		return err_set(err, EINVAL, "load: cannot compute chain ids");
	return 0;
}

/* The job for layer i of p: shared by every image with that chain id. */
static int job_for(struct load *l, struct plan *p, size_t i, size_t *out, struct err *err)
{
	const struct load_entry *ent = NULL;
	struct job *j;

	for (size_t k = 0; k < l->n_jobs; k++) {
		if (strcmp(l->jobs[k].chain_id, p->chains[i]) == 0) {
			*out = k;
			return 0;
		}
	}
	if (l->src.dir_fd < 0 && !(ent = load_source_find(&l->src, p->im.layer_paths[i])))
		return err_set(err, ENOENT, "load: layer %.100s not found in archive",
			       p->im.layer_paths[i]);
	j = realloc(l->jobs, (l->n_jobs + 1) * sizeof(*j));
	if (!j)
		return err_sys(err, ENOMEM, "load");
	l->jobs = j;
	j = memset(&l->jobs[l->n_jobs], 0, sizeof(*j));
	snprintf(j->chain_id, sizeof(j->chain_id), "%s", p->chains[i]);
	snprintf(j->diff_id, sizeof(j->diff_id), "%s", p->diff_ids[i]);
	snprintf(j->blob_digest, sizeof(j->blob_digest), "%s", p->im.layer_digests[i]);
	snprintf(j->staged, sizeof(j->staged), "l%zu", l->n_jobs);
	j->path = ent ? ent->name : p->im.layer_paths[i];
	*out = l->n_jobs++;
	return 0;
}

/* Config checked, one job per layer not yet stored. */
static int plan_prepare(struct load *l, struct plan *p, struct err *err)
{
	if (plan_config(l, p, err) < 0)
		return -1;
	for (size_t i = 0; i < p->im.n_layers; i++) {
		p->job[i] = SIZE_MAX;
		if (!storage_layer_exists(l->s, p->chains[i]) &&
		    job_for(l, p, i, &p->job[i], err) < 0)
			return -1;
	}
	return 0;
}

/* ---- formats ----------------------------------------------------------- */

static int plans_docker(struct load *l, struct err *err)
{
	cleanup_free char *json = NULL;
	struct load_image *v = NULL;
	size_t len, n = 0;

	if (load_source_read(&l->src, "manifest.json", &json, &len, err) < 0 ||
	    load_docker_manifest_parse(json, len, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct plan *p = plan_add(l, err);
		if (!p)
			goto fail;
		p->im = v[i];
		memset(&v[i], 0, sizeof(v[i]));
		for (size_t t = 0; t < p->im.n_tags; t++) {
			if (plan_tag(p, p->im.tags[t], err) < 0)
				goto fail;
		}
	}
	load_images_free(v, n);
	return 0;
fail:
	load_images_free(v, n);
	return -1;
}

static int read_index(struct load *l, const char *path, struct load_desc **v, size_t *n,
		      struct err *err)
{
	cleanup_free char *json = NULL;
	size_t len;

	if (load_source_read(&l->src, path, &json, &len, err) < 0)
		return -1;
	return load_oci_index_parse(json, len, v, n, err);
}

/* A blob read and checked against the digest that names it. */
static int read_blob(struct load *l, const char *digest, char **out, size_t *len, struct err *err)
{
	char path[128], dg[DIGEST_BUF];

	if (load_blob_path(digest, path, sizeof(path), err) < 0 ||
	    load_source_read(&l->src, path, out, len, err) < 0)
		return -1;
	if (digest_buf(*out, *len, dg) < 0 || strcmp(dg, digest) != 0)
		return err_set(err, EINVAL, "load: blob %s has digest %s", digest, dg);
	return 0;
}

/* A nested index resolves to the manifest for this host (one level, as
 * docker does). */
static int resolve_nested(struct load *l, struct load_desc *d, struct err *err)
{
	cleanup_free char *json = NULL;
	struct load_desc *v = NULL;
	size_t len, n = 0;
	int pick;

	if (read_blob(l, d->digest, &json, &len, err) < 0 ||
	    load_oci_index_parse(json, len, &v, &n, err) < 0)
		return -1;
	pick = load_oci_index_pick(v, n, image_host_arch());
	if (pick < 0 || load_media_is_index(v[pick].media_type)) {
		load_descs_free(v, n);
		return err_set(err, EINVAL, "load: index %.19s has no linux/%s image", d->digest,
			       image_host_arch());
	}
	memcpy(d->digest, v[pick].digest, sizeof(d->digest));
	memcpy(d->media_type, v[pick].media_type, sizeof(d->media_type));
	load_descs_free(v, n);
	return 0;
}

static struct plan *plan_by_manifest(struct load *l, const char *digest, struct err *err)
{
	cleanup_free char *json = NULL;
	struct plan *p;
	size_t len;

	for (size_t i = 0; i < l->n_plans; i++) {
		char dg[DIGEST_BUF];
		if (digest_buf(l->plans[i].im.manifest, l->plans[i].im.manifest_len, dg) == 0 &&
		    strcmp(dg, digest) == 0)
			return &l->plans[i];
	}
	if (read_blob(l, digest, &json, &len, err) < 0 || !(p = plan_add(l, err)))
		return NULL;
	if (load_oci_manifest_parse(json, len, &p->im, err) < 0) {
		l->n_plans--;
		return NULL;
	}
	return p;
}

/* org.opencontainers.image.ref.name: a bare tag ("latest") names no
 * repository, so the image stays untagged; a full reference is used. */
static bool ref_is_full(const char *ref)
{
	return strchr(ref, ':') || strchr(ref, '/') || strchr(ref, '@');
}

static int plans_oci(struct load *l, struct err *err)
{
	struct load_desc *v = NULL;
	size_t n = 0;
	int rc = 0;

	if (!load_source_has(&l->src, "oci-layout"))
		return err_set(err, EINVAL,
			       "load: index.json without oci-layout: not an OCI layout");
	if (read_index(l, "index.json", &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct plan *p;
		if (load_media_is_index(v[i].media_type) && resolve_nested(l, &v[i], err) < 0) {
			rc = -1;
			break;
		}
		if (!(p = plan_by_manifest(l, v[i].digest, err)))
			rc = -1;
		else if (v[i].ref_name && ref_is_full(v[i].ref_name))
			rc = plan_tag(p, v[i].ref_name, err);
	}
	load_descs_free(v, n);
	return rc;
}

/* ---- unpacking ----------------------------------------------------------- */

struct outer_reader {
	struct archive *a;
	char err[256];
	char buf[128 * 1024];
};

static ssize_t outer_read(void *ctx, const void **buf)
{
	struct outer_reader *r = ctx;
	la_ssize_t n = archive_read_data(r->a, r->buf, sizeof(r->buf));

	if (n < 0) {
		snprintf(r->err, sizeof(r->err), "%s", archive_error_string(r->a) ?: "read error");
		errno = EIO;
		return -1;
	}
	*buf = r->buf;
	return n;
}

static int job_verify(const struct job *j, struct err *err)
{
	/* The bytes first: a blob that is not what the manifest names. */
	if (j->blob_digest[0] && strcmp(j->res.blob_digest, j->blob_digest) != 0)
		return err_set(err, EINVAL, "load: layer %.100s has digest %s, manifest says %s",
			       j->path, j->res.blob_digest, j->blob_digest);
	if (strcmp(j->res.diff_id, j->diff_id) != 0)
		return err_set(err, EINVAL, "load: layer %.100s has diff_id %s, config says %s",
			       j->path, j->res.diff_id, j->diff_id);
	return 0;
}

/* Unpack one job from rd (tar) or from its file (dir). */
static int job_run(struct load *l, struct job *j, struct outer_reader *rd, struct err *err)
{
	cleanup_close int dest = -1, fd = -1;
	enum whiteout_form wf = storage_whiteout_form(l->s);
	int rc;

	if (mkdirat(l->st.dirfd, j->staged, 0755) < 0 ||
	    (dest = openat(l->st.dirfd, j->staged, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(err, errno, "load: staging");
	if (rd) {
		rd->err[0] = '\0';
		rc = image_layer_unpack(outer_read, rd, dest, wf, &j->res, err);
		if (rc < 0 && rd->err[0])
			err_set(err, EIO, "read archive: %s", rd->err);
	} else {
		fd = fs_open_in_root(l->src.dir_fd, j->path, O_RDONLY | O_NOFOLLOW, 0);
		if (fd < 0)
			return err_sys(err, errno, "load: %.100s", j->path);
		rc = image_layer_unpack_fd(fd, dest, wf, &j->res, err);
	}
	if (rc < 0)
		return err_prefix(err, "load: layer %.100s", j->path);
	j->done = true;
	return job_verify(j, err);
}

static struct job *job_pending(struct load *l, const char *name)
{
	for (size_t k = 0; k < l->n_jobs; k++) {
		if (!l->jobs[k].done && strcmp(l->jobs[k].path, name) == 0)
			return &l->jobs[k];
	}
	return NULL;
}

static size_t jobs_left(const struct load *l)
{
	size_t n = 0;
	for (size_t k = 0; k < l->n_jobs; k++)
		n += !l->jobs[k].done;
	return n;
}

/* Pass 2 (and more only when one entry feeds layers with different chain
 * ids): stream each pending entry into its job. */
static int unpack_tar_pass(struct load *l, struct outer_reader *rd, struct err *err)
{
	struct archive_entry *e;
	int r = 0;

	if (!(rd->a = load_source_tar_open(&l->src, err)))
		return -1;
	while (jobs_left(l) && (r = load_source_next(rd->a, &e, err)) > 0) {
		char name[PATH_MAX];
		struct job *j;
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
		    image_entry_name_clean(archive_entry_pathname(e), name, sizeof(name)) < 0)
			continue;
		if ((j = job_pending(l, name)) && job_run(l, j, rd, err) < 0) {
			r = -1;
			break;
		}
	}
	archive_read_free(rd->a);
	rd->a = NULL;
	return r < 0 ? -1 : 0;
}

static int unpack_all(struct load *l, struct err *err)
{
	cleanup_free struct outer_reader *rd = NULL;

	if (l->src.dir_fd >= 0) {
		for (size_t k = 0; k < l->n_jobs; k++) {
			if (job_run(l, &l->jobs[k], NULL, err) < 0)
				return -1;
		}
		return 0;
	}
	if (!(rd = calloc(1, sizeof(*rd))))
		return err_sys(err, ENOMEM, "load");
	while (jobs_left(l)) {
		size_t before = jobs_left(l);
		if (unpack_tar_pass(l, rd, err) < 0)
			return -1;
		if (jobs_left(l) == before)
			return err_set(err, EINVAL, "load: layer data missing from archive");
	}
	return 0;
}

/* ---- commit ------------------------------------------------------------- */

static void say(struct load *l, const char *what, const char *name)
{
	char line[600];
	if (!l->print)
		return;
	snprintf(line, sizeof(line), "Loaded image%s: %s", what, name);
	l->print(l->print_ctx, line);
}

static void commit_layer(struct load *l, const struct plan *p, size_t i, struct storage_layer *out,
			 const char **staged)
{
	const struct job *j = p->job[i] == SIZE_MAX ? NULL : &l->jobs[p->job[i]];

	memset(out, 0, sizeof(*out));
	snprintf(out->chain_id, sizeof(out->chain_id), "%s", p->chains[i]);
	snprintf(out->diff_id, sizeof(out->diff_id), "%s", p->diff_ids[i]);
	snprintf(out->parent, sizeof(out->parent), "%s", i ? p->chains[i - 1] : "");
	snprintf(out->blob_media_type, sizeof(out->blob_media_type), "%s", p->im.layer_media[i]);
	*staged = NULL;
	if (j) {
		snprintf(out->blob_digest, sizeof(out->blob_digest), "%s", j->res.blob_digest);
		out->size = j->res.size;
		out->blob_size = j->res.blob_size;
		/* An earlier image of this archive may have stored it already. */
		if (!storage_layer_exists(l->s, out->chain_id))
			*staged = j->staged;
	}
}

static int plan_commit(struct load *l, const struct plan *p, struct err *err)
{
	size_t n = p->im.n_layers;
	cleanup_free struct storage_layer *layers = calloc(n + 1, sizeof(*layers));
	cleanup_free const char **staged = calloc(n + 1, sizeof(*staged));
	struct storage_commit c = { .layers = layers,
				    .staged = staged,
				    .n = n,
				    .config = p->config,
				    .config_len = p->config_len,
				    .manifest = p->im.manifest,
				    .manifest_len = p->im.manifest_len,
				    .tags = (const char *const *)p->tags };
	char id[DIGEST_BUF];
	bool exists = false;

	if (!layers || !staged)
		return err_sys(err, ENOMEM, "load");
	for (size_t i = 0; i < n; i++)
		commit_layer(l, p, i, &layers[i], &staged[i]);
	if (storage_image_commit(l->s, &l->st, &c, id, &exists, err) < 0)
		return err_prefix(err, "load");
	for (size_t t = 0; t < p->n_tags; t++)
		say(l, "", p->tags[t]);
	if (!p->n_tags)
		say(l, " ID", id);
	return 0;
}

/* ---- input --------------------------------------------------------------- */

/* A pipe cannot be read twice: copy it into the staging dir first. */
static int spool_stdin(struct load *l, struct err *err)
{
	char buf[65536];
	cleanup_close int fd =
		openat(l->st.dirfd, "input", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return err_sys(err, errno, "load: spool stdin");
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, errno, "load: read stdin");
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				return err_sys(err, errno, "load: spool stdin");
			off += w > 0 ? w : 0;
		}
	}
	l->src.file_fd = TAKE_FD(fd);
	return 0;
}

static int open_input(struct load *l, const char *path, struct err *err)
{
	struct stat sb;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);

	if (fd < 0)
		return err_sys(err, errno, "load: open %s", path ? path : "stdin");
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return err_sys(err, errno, "load: stat %s", path ? path : "stdin");
	}
	if (path && S_ISDIR(sb.st_mode)) {
		l->src.dir_fd = fd;
		return 0;
	}
	if (S_ISREG(sb.st_mode)) {
		l->src.file_fd = fd;
		l->src.start = path ? 0 : lseek(fd, 0, SEEK_CUR);
		return l->src.start < 0 ? err_sys(err, errno, "load: seek") : 0;
	}
	close(fd);
	if (path)
		return err_set(err, EINVAL, "load: %s is not a file or directory", path);
	return spool_stdin(l, err);
}

static bool input_empty(const struct load_source *src)
{
	struct stat sb;
	return fstat(src->file_fd, &sb) == 0 && sb.st_size <= src->start;
}

static int load_run(struct load *l, const char *path, struct err *err)
{
	if (open_input(l, path, err) < 0)
		return -1;
	if (l->src.file_fd >= 0 && input_empty(&l->src))
		return err_set(err, EINVAL, "load: the input is empty");
	if (l->src.file_fd >= 0 && load_source_scan(&l->src, err) < 0)
		return -1;
	if (load_source_has(&l->src, "manifest.json")) {
		if (plans_docker(l, err) < 0)
			return -1;
	} else if (load_source_has(&l->src, "index.json")) {
		if (plans_oci(l, err) < 0)
			return -1;
	} else {
		return err_set(
			err, EINVAL,
			"load: not a docker-archive or OCI layout (no manifest.json or index.json)");
	}
	for (size_t i = 0; i < l->n_plans; i++) {
		if (plan_prepare(l, &l->plans[i], err) < 0)
			return -1;
	}
	if (unpack_all(l, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n_plans; i++) {
		if (plan_commit(l, &l->plans[i], err) < 0)
			return -1;
	}
	return 0;
}

static void load_release(struct load *l)
{
	for (size_t i = 0; i < l->n_plans; i++)
		plan_release(&l->plans[i]);
	free(l->plans);
	free(l->jobs);
	load_source_release(&l->src);
	storage_staging_discard(l->s, &l->st);
}

int image_load(struct store *s, const char *path, image_print_fn print, void *print_ctx,
	       struct err *err)
{
	struct load l = { .s = s, .print = print, .print_ctx = print_ctx };
	int rc;

	l.src.file_fd = l.src.dir_fd = -1;
	if (storage_staging_new(s, &l.st, err) < 0)
		return -1;
	rc = load_run(&l, path, err);
	load_release(&l);
	return rc;
}
