/* pull: a registry image into the store. The manifest is resolved (through
 * an index to this platform) and verified by digest; each missing layer is
 * streamed from its own curl handle straight into image_layer_unpack on a
 * worker thread, so a blob is downloaded, hashed and unpacked in one pass;
 * all layers are staged and committed together with the config and ref, so
 * a failed or interrupted pull leaves the store as it was. */
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "image/registry_internal.h"

/* Docker downloads 3 layers at a time; unpacking is CPU-bound here, so a
 * few more keep the cores busy on a fast (local) registry. */
#define PULL_WORKERS 4
#define PROGRESS_MS 100

enum job_state {
	JOB_WAITING,
	JOB_DOWNLOADING,
	JOB_DONE
};

struct job {
	size_t layer; /* index in the manifest */
	char staged[32];
	struct image_unpack_result res;
	long long got; /* bytes received (atomic) */
	int state;     /* enum job_state (atomic) */
};

struct pull {
	struct store *s;
	const struct image_registry_opts *o;
	struct image_ref ref;
	char name[600]; /* familiar: the ref key and what we print */
	struct reg_platform plat;
	struct reg_session sess;
	struct storage_staging st;
	bool have_st;
	char *top, *manifest, *config; /* what the tag names, the image manifest, config */
	size_t top_len, manifest_len, config_len;
	char top_digest[DIGEST_BUF];
	struct reg_manifest m;
	struct image_config cfg;
	bool have_cfg;
	char (*chains)[DIGEST_BUF];
	int *job_of; /* per layer: job index or -1 when stored */
	struct job *jobs;
	size_t n_jobs;
	/* workers */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next, running;
	int abort; /* atomic */
	struct err first;
};

/* ---- documents ----------------------------------------------------------- */

/* GET a manifest or index by tag or digest; the bytes must hash to the
 * digest that named them (or that the registry claims). */
static int get_manifest(struct pull *p, const char *reference, char **out, size_t *len, char *ctype,
			size_t clen, char digest[DIGEST_BUF], struct err *err)
{
	static const char *const hdrs[] = { REG_ACCEPT, NULL };
	struct reg_response r = { 0 };
	char path[700], what[700];
	int rc = -1;

	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", p->ref.path, reference);
	snprintf(what, sizeof(what), "manifest for %s", p->name);
	if (reg_do(&p->sess,
		   &(struct reg_request){
			   .method = "GET", .path = path, .headers = hdrs, .upload_fd = -1 },
		   &r, err) < 0)
		return -1;
	if (r.status != 200) {
		reg_status_err(&p->sess, &r, what, err);
		goto out;
	}
	if (digest_buf(r.body, r.len, digest) < 0) {
		err_set(err, ENOMEM, "pull: cannot hash manifest");
		goto out;
	}
	if (digest_valid(reference) ? strcmp(reference, digest) != 0 :
				      r.digest[0] && strcmp(r.digest, digest) != 0) {
		err_set(err, EINVAL, "%s: digest mismatch: content has %s, expected %s", what,
			digest, digest_valid(reference) ? reference : r.digest);
		goto out;
	}
	snprintf(ctype, clen, "%s", r.content_type);
	*out = TAKE_PTR(r.body);
	*len = r.len;
	rc = 0;
out:
	reg_response_release(&r);
	return rc;
}

static int resolve_index(struct pull *p, struct err *err)
{
	char dg[DIGEST_BUF], mt[128], ctype[128];

	if (reg_index_select(p->top, p->top_len, &p->plat, dg, mt, sizeof(mt), err) < 0)
		return err_prefix(err, "%s", p->name);
	if (get_manifest(p, dg, &p->manifest, &p->manifest_len, ctype, sizeof(ctype), dg, err) < 0)
		return -1;
	if (reg_doc_kind(ctype, p->manifest, p->manifest_len) != REG_KIND_MANIFEST)
		return err_set(err, EINVAL, "%s: manifest list entry %s is not an image manifest",
			       p->name, dg);
	return 0;
}

static int fetch_manifest(struct pull *p, struct err *err)
{
	char ctype[128];
	const char *reference = p->ref.digest[0] ? p->ref.digest : p->ref.tag;

	if (get_manifest(p, reference, &p->top, &p->top_len, ctype, sizeof(ctype), p->top_digest,
			 err) < 0)
		return -1;
	switch (reg_doc_kind(ctype, p->top, p->top_len)) {
	case REG_KIND_INDEX:
		if (resolve_index(p, err) < 0)
			return -1;
		break;
	case REG_KIND_MANIFEST:
		if (!(p->manifest = malloc(p->top_len + 1)))
			return err_sys(err, ENOMEM, "pull");
		memcpy(p->manifest, p->top, p->top_len + 1);
		p->manifest_len = p->top_len;
		break;
	case REG_KIND_SCHEMA1:
		return err_set(
			err, ENOTSUP,
			"%s: Docker schema 1 manifests are not supported (push it again with a current client)",
			p->name);
	default:
		return err_set(err, EINVAL, "%s: unknown manifest type \"%.100s\"", p->name, ctype);
	}
	if (reg_manifest_parse(p->manifest, p->manifest_len, &p->m, err) < 0)
		return err_prefix(err, "%s", p->name);
	return 0;
}

static int fetch_config(struct pull *p, struct err *err)
{
	struct reg_response r = { 0 };
	char path[700], dg[DIGEST_BUF];
	int rc = -1;

	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", p->ref.path, p->m.config.digest);
	if (reg_do(&p->sess,
		   &(struct reg_request){ .method = "GET", .path = path, .upload_fd = -1 }, &r,
		   err) < 0)
		return -1;
	if (r.status != 200)
		reg_status_err(&p->sess, &r, "image config", err);
	else if (digest_buf(r.body, r.len, dg) < 0)
		err_set(err, ENOMEM, "pull: cannot hash config");
	else if (strcmp(dg, p->m.config.digest) != 0)
		err_set(err, EINVAL, "%s: config blob digest mismatch: got %s, manifest says %s",
			p->name, dg, p->m.config.digest);
	else
		rc = 0;
	if (rc == 0) {
		p->config = TAKE_PTR(r.body);
		p->config_len = r.len;
	}
	reg_response_release(&r);
	return rc;
}

/* The config must describe the manifest's layers, for the wanted platform. */
static int check_config(struct pull *p, struct err *err)
{
	char want[100];

	if (image_config_parse(p->config, p->config_len, &p->cfg, err) < 0)
		return err_prefix(err, "%s: image config", p->name);
	p->have_cfg = true;
	if (p->cfg.n_diff_ids != p->m.n_layers)
		return err_set(err, EINVAL, "%s: manifest has %zu layers but its config lists %zu",
			       p->name, p->m.n_layers, p->cfg.n_diff_ids);
	reg_platform_format(&p->plat, want, sizeof(want));
	if ((p->cfg.os && *p->cfg.os && strcmp(p->cfg.os, p->plat.os) != 0) ||
	    (p->cfg.architecture && *p->cfg.architecture &&
	     strcmp(p->cfg.architecture, p->plat.arch) != 0))
		return err_set(err, EINVAL, "image %s is for %s/%s, not for the platform %s",
			       p->name, p->cfg.os ? p->cfg.os : "?",
			       p->cfg.architecture ? p->cfg.architecture : "?", want);
	p->chains = calloc(p->m.n_layers + 1, sizeof(*p->chains));
	p->job_of = calloc(p->m.n_layers + 1, sizeof(*p->job_of));
	p->jobs = calloc(p->m.n_layers + 1, sizeof(*p->jobs));
	if (!p->chains || !p->job_of || !p->jobs)
		return err_sys(err, ENOMEM, "pull");
	if (image_chain_ids(p->cfg.diff_ids, p->m.n_layers, p->chains) < 0)
		return err_set(err, EINVAL, "%s: cannot compute chain ids", p->name);
	return 0;
}

static void plan_jobs(struct pull *p)
{
	for (size_t i = 0; i < p->m.n_layers; i++) {
		struct job *j;
		p->job_of[i] = -1;
		if (storage_layer_exists(p->s, p->chains[i]))
			continue;
		j = &p->jobs[p->n_jobs];
		j->layer = i;
		snprintf(j->staged, sizeof(j->staged), "l%zu", i);
		p->job_of[i] = (int)p->n_jobs++;
	}
}

/* ---- one blob: curl -> image_layer_unpack ------------------------------ */

struct blob_rd {
	struct pull *p;
	struct job *j;
	CURLM *multi;
	CURL *easy;
	char *buf;
	size_t len, cap;
	long status;
	bool done;
	CURLcode result;
	char ebuf[CURL_ERROR_SIZE];
	char body[512]; /* an error response's start */
	size_t body_len;
	char msg[400]; /* why the stream failed, for the caller */
};

static size_t blob_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct blob_rd *b = ctx;
	size_t n = size * nmemb;

	curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &b->status);
	if (b->status != 200) {
		size_t k = n < sizeof(b->body) - 1 - b->body_len ?
				   n :
				   sizeof(b->body) - 1 - b->body_len;
		memcpy(b->body + b->body_len, data, k);
		b->body_len += k;
		b->body[b->body_len] = '\0';
		return n;
	}
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	__atomic_add_fetch(&b->j->got, (long long)n, __ATOMIC_RELAXED);
	return n;
}

/* Drive the transfer until it delivers bytes or ends. */
static void blob_pump(struct blob_rd *b)
{
	while (!b->len && !b->done) {
		int running = 0;
		CURLMsg *msg;
		int left;

		if (__atomic_load_n(&b->p->abort, __ATOMIC_RELAXED)) {
			snprintf(b->msg, sizeof(b->msg), "cancelled");
			b->result = CURLE_ABORTED_BY_CALLBACK;
			b->done = true;
			return;
		}
		if (curl_multi_perform(b->multi, &running) != CURLM_OK)
			running = 0;
		if (b->len || running) {
			if (!b->len)
				curl_multi_poll(b->multi, NULL, 0, 500, NULL);
			continue;
		}
		b->done = true;
		b->result = CURLE_RECV_ERROR;
		while ((msg = curl_multi_info_read(b->multi, &left)))
			if (msg->msg == CURLMSG_DONE)
				b->result = msg->data.result;
		curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &b->status);
	}
}

static ssize_t blob_read(void *ctx, const void **out)
{
	struct blob_rd *b = ctx;

	b->len = 0; /* the unpacker is done with the last chunk */
	blob_pump(b);
	if (b->len) {
		*out = b->buf;
		return (ssize_t)b->len;
	}
	if (!b->msg[0] && b->result != CURLE_OK)
		snprintf(b->msg, sizeof(b->msg), "download failed: %s",
			 b->ebuf[0] ? b->ebuf : curl_easy_strerror(b->result));
	if (!b->msg[0] && b->status != 200) {
		char detail[300];
		reg_error_body(b->body, b->body_len, detail, sizeof(detail));
		snprintf(b->msg, sizeof(b->msg), "registry answered HTTP %ld%s%s", b->status,
			 detail[0] ? ": " : "", detail);
	}
	if (b->msg[0]) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int job_verify(struct pull *p, const struct job *j, struct err *err)
{
	const struct reg_blob *bl = &p->m.layers[j->layer];

	if (strcmp(j->res.blob_digest, bl->digest) != 0)
		return err_set(err, EINVAL,
			       "pull %s: layer %s: digest mismatch: downloaded content has %s",
			       p->name, bl->digest, j->res.blob_digest);
	if (strcmp(j->res.diff_id, p->cfg.diff_ids[j->layer]) != 0)
		return err_set(err, EINVAL,
			       "pull %s: layer %s: uncompressed content has %s, config says %s",
			       p->name, bl->digest, j->res.diff_id, p->cfg.diff_ids[j->layer]);
	return 0;
}

static int job_stream(struct pull *p, struct job *j, int dest, struct err *err)
{
	const struct reg_blob *bl = &p->m.layers[j->layer];
	struct blob_rd b = { .p = p, .j = j };
	struct curl_slist *hdrs = NULL;
	char url[1200];
	int rc = -1;

	snprintf(url, sizeof(url), "%s/v2/%s/blobs/%s", p->sess.base, p->ref.path, bl->digest);
	b.easy = reg_easy_new(&p->sess, url, (void **)&hdrs);
	b.multi = curl_multi_init();
	if (!b.easy || !b.multi) {
		err_set(err, ENOMEM, "pull: cannot start a transfer");
		goto out;
	}
	curl_easy_setopt(b.easy, CURLOPT_WRITEFUNCTION, blob_write);
	curl_easy_setopt(b.easy, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(b.easy, CURLOPT_ERRORBUFFER, b.ebuf);
	curl_multi_add_handle(b.multi, b.easy);
	rc = image_layer_unpack(blob_read, &b, dest, storage_whiteout_form(p->s), &j->res, err);
	if (rc < 0 && b.msg[0])
		err_set(err, EIO, "pull %s: layer %s: %s", p->name, bl->digest, b.msg);
	else if (rc < 0)
		err_prefix(err, "pull %s: layer %s", p->name, bl->digest);
	curl_multi_remove_handle(b.multi, b.easy);
out:
	curl_easy_cleanup(b.easy);
	curl_multi_cleanup(b.multi);
	curl_slist_free_all(hdrs);
	free(b.buf);
	return rc;
}

static int job_run(struct pull *p, struct job *j, struct err *err)
{
	cleanup_close int dest = -1;

	__atomic_store_n(&j->state, JOB_DOWNLOADING, __ATOMIC_RELAXED);
	if (mkdirat(p->st.dirfd, j->staged, 0755) < 0 ||
	    (dest = openat(p->st.dirfd, j->staged, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(err, errno, "pull: staging");
	if (job_stream(p, j, dest, err) < 0 || job_verify(p, j, err) < 0)
		return -1;
	__atomic_store_n(&j->state, JOB_DONE, __ATOMIC_RELAXED);
	return 0;
}

/* ---- workers --------------------------------------------------------------- */

static void *worker(void *arg)
{
	struct pull *p = arg;

	for (;;) {
		struct err e = { 0 };
		struct job *j = NULL;

		pthread_mutex_lock(&p->mu);
		if (!__atomic_load_n(&p->abort, __ATOMIC_RELAXED) && p->next < p->n_jobs)
			j = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		if (!j)
			break;
		if (job_run(p, j, &e) == 0)
			continue;
		pthread_mutex_lock(&p->mu);
		/* The first failure is the story; the others are its echo. */
		if (!__atomic_exchange_n(&p->abort, 1, __ATOMIC_RELAXED))
			p->first = e;
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	p->running--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void progress(struct pull *p, bool done)
{
	struct image_layer_progress *rows;

	if (!p->o || !p->o->progress || !p->m.n_layers)
		return;
	rows = calloc(p->m.n_layers, sizeof(*rows));
	if (!rows)
		return;
	for (size_t i = 0; i < p->m.n_layers; i++) {
		const struct job *j = p->job_of[i] < 0 ? NULL : &p->jobs[p->job_of[i]];
		int st = j ? __atomic_load_n(&j->state, __ATOMIC_RELAXED) : JOB_DONE;

		snprintf(rows[i].id, sizeof(rows[i].id), "%.12s",
			 digest_hex(p->m.layers[i].digest));
		rows[i].total = p->m.layers[i].size;
		rows[i].cur = j ? __atomic_load_n(&j->got, __ATOMIC_RELAXED) : 0;
		rows[i].status = !j                    ? "Already exists" :
				 st == JOB_DONE        ? "Pull complete" :
				 st == JOB_DOWNLOADING ? "Downloading" :
							 "Waiting";
	}
	p->o->progress(p->o->progress_ctx, rows, p->m.n_layers, done);
	free(rows);
}

static void wait_workers(struct pull *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->running > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += PROGRESS_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		pthread_mutex_unlock(&p->mu);
		progress(p, false);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

static int download_all(struct pull *p, struct err *err)
{
	pthread_t tids[PULL_WORKERS];
	size_t n = p->n_jobs < PULL_WORKERS ? p->n_jobs : PULL_WORKERS, started = 0;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (; started < n; started++) {
		pthread_mutex_lock(&p->mu);
		p->running++;
		pthread_mutex_unlock(&p->mu);
		if (pthread_create(&tids[started], NULL, worker, p) != 0) {
			pthread_mutex_lock(&p->mu);
			p->running--;
			pthread_mutex_unlock(&p->mu);
			if (started == 0)
				err_set(err, EAGAIN, "pull: cannot start a download thread");
			break;
		}
	}
	wait_workers(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	if (p->abort) {
		*err = p->first;
		return -1;
	}
	return started ? 0 : (n ? -1 : 0);
}

/* ---- commit ------------------------------------------------------------- */

static void layer_record(const struct pull *p, size_t i, struct storage_layer *l,
			 const char **staged)
{
	const struct job *j = p->job_of[i] < 0 ? NULL : &p->jobs[p->job_of[i]];

	memset(l, 0, sizeof(*l));
	snprintf(l->chain_id, sizeof(l->chain_id), "%s", p->chains[i]);
	snprintf(l->diff_id, sizeof(l->diff_id), "%s", p->cfg.diff_ids[i]);
	snprintf(l->parent, sizeof(l->parent), "%s", i ? p->chains[i - 1] : "");
	snprintf(l->blob_digest, sizeof(l->blob_digest), "%s", p->m.layers[i].digest);
	snprintf(l->blob_media_type, sizeof(l->blob_media_type), "%s", p->m.layers[i].media_type);
	l->blob_size = p->m.layers[i].size;
	l->size = j ? j->res.size : 0;
	*staged = j ? j->staged : NULL;
}

static int commit(struct pull *p, char image_id[DIGEST_BUF], bool *existed, struct err *err)
{
	size_t n = p->m.n_layers;
	cleanup_free struct storage_layer *layers = calloc(n + 1, sizeof(*layers));
	cleanup_free const char **staged = calloc(n + 1, sizeof(*staged));
	const char *tags[] = { p->name, NULL };
	struct storage_commit c = { .layers = layers,
				    .staged = staged,
				    .n = n,
				    .config = p->config,
				    .config_len = p->config_len,
				    .manifest = p->manifest,
				    .manifest_len = p->manifest_len,
				    .tags = tags };

	if (!layers || !staged)
		return err_sys(err, ENOMEM, "pull");
	for (size_t i = 0; i < n; i++)
		layer_record(p, i, &layers[i], &staged[i]);
	if (storage_image_commit(p->s, &p->st, &c, image_id, existed, err) < 0)
		return err_prefix(err, "pull %s", p->name);
	return 0;
}

static void report(struct pull *p, bool up_to_date)
{
	progress(p, true);
	for (size_t i = 0; !(p->o && p->o->progress) && i < p->m.n_layers; i++)
		reg_say(p->o, "%.12s: %s", digest_hex(p->m.layers[i].digest),
			p->job_of[i] < 0 ? "Already exists" : "Pull complete");
	reg_say(p->o, "Digest: %s", p->top_digest);
	reg_say(p->o, "Status: %s for %s",
		up_to_date ? "Image is up to date" : "Downloaded newer image", p->name);
}

static int pull_run(struct pull *p, const char *ref, char image_id[DIGEST_BUF], struct err *err)
{
	char before[DIGEST_BUF] = "";
	bool existed = false;

	if (image_ref_parse(ref, &p->ref, err) < 0 ||
	    image_ref_familiar(&p->ref, p->name, sizeof(p->name)) < 0 ||
	    reg_platform_parse(p->o ? p->o->platform : NULL, &p->plat, err) < 0)
		return -1;
	if (reg_session_open(&p->sess, p->ref.domain, p->ref.path, "pull", p->o, NULL, NULL, err) <
		    0 ||
	    fetch_manifest(p, err) < 0 || fetch_config(p, err) < 0 || check_config(p, err) < 0)
		return -1;
	reg_say(p->o, "%s: Pulling from %s", p->ref.digest[0] ? p->ref.digest : p->ref.tag,
		p->ref.path);
	plan_jobs(p);
	storage_ref_lookup(p->s, p->name, before);
	if (storage_staging_new(p->s, &p->st, err) < 0)
		return -1;
	p->have_st = true;
	if (download_all(p, err) < 0 || commit(p, image_id, &existed, err) < 0)
		return -1;
	report(p, existed && strcmp(before, image_id) == 0);
	return 0;
}

static void pull_release(struct pull *p)
{
	if (p->have_st)
		storage_staging_discard(p->s, &p->st);
	reg_session_close(&p->sess);
	reg_manifest_release(&p->m);
	if (p->have_cfg)
		image_config_release(&p->cfg);
	free(p->top);
	free(p->manifest);
	free(p->config);
	free(p->chains);
	free(p->job_of);
	free(p->jobs);
}

int image_pull(struct store *s, const char *ref, const struct image_registry_opts *o,
	       char image_id[DIGEST_BUF], struct err *err)
{
	struct pull *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return err_sys(err, ENOMEM, "pull");
	p->s = s;
	p->o = o;
	rc = pull_run(p, ref, image_id, err);
	pull_release(p);
	free(p);
	return rc;
}
