/* registry: the OCI distribution API client: documents (manifests,
 * indexes, platforms, media types) and the libcurl session every request
 * goes through (scheme choice, authentication, status lines). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "image/load_internal.h"
#include "image/registry_internal.h"

#ifndef MYDOCKER_VERSION
#define MYDOCKER_VERSION "dev"
#endif

/* ---- media types ------------------------------------------------------ */

static bool media_is(const char *mt, const char *want)
{
	size_t n = strlen(want);
	/* Content-Type may carry parameters: "...+json; charset=utf-8". */
	return mt && strncasecmp(mt, want, n) == 0 &&
	       (mt[n] == '\0' || mt[n] == ';' || mt[n] == ' ');
}

enum reg_kind reg_media_kind(const char *mt)
{
	if (media_is(mt, REG_MT_OCI_MANIFEST) || media_is(mt, REG_MT_DOCKER_MANIFEST))
		return REG_KIND_MANIFEST;
	if (media_is(mt, REG_MT_OCI_INDEX) || media_is(mt, REG_MT_DOCKER_LIST))
		return REG_KIND_INDEX;
	if (media_is(mt, REG_MT_SCHEMA1) || media_is(mt, REG_MT_SCHEMA1_SIGNED))
		return REG_KIND_SCHEMA1;
	return REG_KIND_UNKNOWN;
}

enum reg_kind reg_doc_kind(const char *content_type, const char *json, size_t len)
{
	enum reg_kind k = reg_media_kind(content_type);
	cleanup_json json_t *root = NULL;

	if (k != REG_KIND_UNKNOWN)
		return k;
	root = json_loadb(json, len, 0, NULL);
	k = reg_media_kind(json_string_value(json_object_get(root, "mediaType")));
	if (k != REG_KIND_UNKNOWN)
		return k;
	if (json_integer_value(json_object_get(root, "schemaVersion")) == 1)
		return REG_KIND_SCHEMA1;
	if (json_is_array(json_object_get(root, "manifests")))
		return REG_KIND_INDEX;
	if (json_is_array(json_object_get(root, "layers")))
		return REG_KIND_MANIFEST;
	return REG_KIND_UNKNOWN;
}

int reg_media_is_layer(const char *mt)
{
	return load_media_is_layer(mt);
}

/* ---- platforms and indexes -------------------------------------------- */

int reg_platform_parse(const char *s, struct reg_platform *p, struct err *err)
{
	char buf[100], *parts[4] = { 0 }, *save = NULL;
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	if (!s || !*s) {
		snprintf(p->os, sizeof(p->os), "linux");
		snprintf(p->arch, sizeof(p->arch), "%s", image_host_arch());
		return 0;
	}
	if (strlen(s) >= sizeof(buf) || strstr(s, "//") || s[0] == '/' || s[strlen(s) - 1] == '/')
		return err_set(err, EINVAL, "invalid platform \"%.100s\": want os/arch[/variant]",
			       s);
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, "/", &save); t && n < 4; t = strtok_r(NULL, "/", &save))
		parts[n++] = t;
	if (n == 0 || n > 3)
		return err_set(err, EINVAL, "invalid platform \"%.100s\": want os/arch[/variant]",
			       s);
	if (n == 1) {
		snprintf(p->os, sizeof(p->os), "linux");
		snprintf(p->arch, sizeof(p->arch), "%.31s", parts[0]);
	} else {
		snprintf(p->os, sizeof(p->os), "%.31s", parts[0]);
		snprintf(p->arch, sizeof(p->arch), "%.31s", parts[1]);
		if (n == 3)
			snprintf(p->variant, sizeof(p->variant), "%.31s", parts[2]);
	}
	for (char *c = p->os; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	return 0;
}

void reg_platform_format(const struct reg_platform *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

static bool variant_matches(const struct reg_platform *want, const char *arch, const char *variant)
{
	if (!want->variant[0] || strcmp(want->variant, variant) == 0)
		return true;
	/* arm64's only variant is v8; images often leave it out. */
	return strcmp(arch, "arm64") == 0 && !variant[0] && strcmp(want->variant, "v8") == 0;
}

int reg_index_select(const char *json, size_t len, const struct reg_platform *want,
		     char digest[DIGEST_BUF], char *media_type, size_t mlen, struct err *err)
{
	json_error_t jerr;
	cleanup_json json_t *root = json_loadb(json, len, 0, &jerr);
	json_t *m = json_object_get(root, "manifests"), *e;
	char pf[100];
	size_t i;

	if (!root)
		return err_set(err, EINVAL, "manifest list: %s", jerr.text);
	if (!json_is_array(m))
		return err_set(err, EINVAL, "manifest list: no manifests array");
	json_array_foreach (m, i, e) {
		json_t *plat = json_object_get(e, "platform");
		const char *os = json_string_value(json_object_get(plat, "os"));
		const char *arch = json_string_value(json_object_get(plat, "architecture"));
		const char *var = json_string_value(json_object_get(plat, "variant"));
		const char *dg = json_string_value(json_object_get(e, "digest"));
		const char *mt = json_string_value(json_object_get(e, "mediaType"));

		if (!os || !arch || strcmp(os, want->os) || strcmp(arch, want->arch) ||
		    !variant_matches(want, arch, var ? var : ""))
			continue;
		if (!dg || !digest_valid(dg))
			return err_set(err, EINVAL,
				       "manifest list: entry %zu has an invalid digest", i);
		snprintf(digest, DIGEST_BUF, "%s", dg);
		snprintf(media_type, mlen, "%s", mt ? mt : "");
		return 0;
	}
	reg_platform_format(want, pf, sizeof(pf));
	return err_set(err, ENOENT, "no matching manifest for %s in the manifest list entries", pf);
}

/* ---- image manifests --------------------------------------------------- */

static int blob_parse(json_t *d, struct reg_blob *b, const char *what, struct err *err)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	json_t *size = json_object_get(d, "size");

	if (!dg || !digest_valid(dg))
		return err_set(err, EINVAL, "manifest: %s has no valid sha256 digest", what);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return err_set(err, EINVAL, "manifest: %s has no valid size", what);
	snprintf(b->digest, sizeof(b->digest), "%s", dg);
	snprintf(b->media_type, sizeof(b->media_type), "%s", mt ? mt : "");
	b->size = json_integer_value(size);
	return 0;
}

int reg_manifest_parse(const char *json, size_t len, struct reg_manifest *m, struct err *err)
{
	json_error_t jerr;
	cleanup_json json_t *root = json_loadb(json, len, 0, &jerr);
	json_t *layers = json_object_get(root, "layers"), *l;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!root)
		return err_set(err, EINVAL, "manifest: %s", jerr.text);
	if (json_integer_value(json_object_get(root, "schemaVersion")) != 2)
		return err_set(err, EINVAL, "manifest: not a schema 2 image manifest");
	if (blob_parse(json_object_get(root, "config"), &m->config, "config", err) < 0)
		return -1;
	if (!json_is_array(layers))
		return err_set(err, EINVAL, "manifest: layers is not an array");
	m->layers = calloc(json_array_size(layers) + 1, sizeof(*m->layers));
	if (!m->layers)
		return err_sys(err, ENOMEM, "manifest");
	json_array_foreach (layers, i, l) {
		char what[32];
		snprintf(what, sizeof(what), "layer %zu", i);
		if (blob_parse(l, &m->layers[i], what, err) < 0)
			goto fail;
		if (!reg_media_is_layer(m->layers[i].media_type)) {
			err_set(err, EINVAL,
				"manifest: layer %zu has unsupported media type \"%.100s\"", i,
				m->layers[i].media_type);
			goto fail;
		}
		m->n_layers++;
	}
	return 0;
fail:
	reg_manifest_release(m);
	return -1;
}

void reg_manifest_release(struct reg_manifest *m)
{
	free(m->layers);
	m->layers = NULL;
	m->n_layers = 0;
}

static json_t *desc_json(const struct reg_blob *b)
{
	return json_pack("{s:s, s:I, s:s}", "mediaType", b->media_type, "size", (json_int_t)b->size,
			 "digest", b->digest);
}

char *reg_manifest_build(const struct reg_blob *config, const struct reg_blob *layers, size_t n,
			 bool oci)
{
	cleanup_json json_t *root = NULL;
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, desc_json(&layers[i]));
	root = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
			 oci ? REG_MT_OCI_MANIFEST : REG_MT_DOCKER_MANIFEST, "config",
			 desc_json(config), "layers", arr);
	return root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
}

/* ---- HTTP ------------------------------------------------------------- */

void reg_say(const struct image_registry_opts *o, const char *fmt, ...)
{
	char line[800];
	va_list ap;

	if (!o || !o->print)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->print(o->print_ctx, line);
}

void reg_response_release(struct reg_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

struct xfer {
	struct reg_response *r;
	size_t cap;
	bool too_big;
	int upload_fd;
	long long off;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nmemb;

	if (x->r->len + n > REG_DOC_MAX) {
		x->too_big = true;
		return 0;
	}
	if (x->r->len + n + 1 > x->cap) {
		size_t cap = (x->r->len + n + 1) * 2;
		char *nb = realloc(x->r->body, cap);
		if (!nb)
			return 0;
		x->r->body = nb;
		x->cap = cap;
	}
	memcpy(x->r->body + x->r->len, data, n);
	x->r->len += n;
	x->r->body[x->r->len] = '\0';
	return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t olen)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	snprintf(out, olen, "%.*s", (int)n, line);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
	struct reg_response *r = ((struct xfer *)ctx)->r;
	size_t n = size * nmemb;
	char dg[DIGEST_BUF + 8] = "";

	/* A new status line (after a redirect or 100-continue) starts over. */
	if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		r->content_type[0] = r->location[0] = r->www_auth[0] = r->digest[0] = '\0';
		return n;
	}
	header_value(line, n, "Content-Type", r->content_type, sizeof(r->content_type));
	header_value(line, n, "Location", r->location, sizeof(r->location));
	header_value(line, n, "WWW-Authenticate", r->www_auth, sizeof(r->www_auth));
	header_value(line, n, "Docker-Content-Digest", dg, sizeof(dg));
	if (dg[0] && digest_valid(dg))
		snprintf(r->digest, sizeof(r->digest), "%s", dg);
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	ssize_t n;

	do
		n = pread(x->upload_fd, buf, size * nmemb, x->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return CURL_READFUNC_ABORT;
	x->off += n;
	return (size_t)n;
}

/* Options every handle shares: TLS, protocols, timeouts, no signals (we
 * run transfers on threads), identity. */
static void easy_common(CURL *c, const struct reg_session *s)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s->verify_tls ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s->verify_tls ? 2L : 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A registry that stops sending for a minute is gone. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mydocker/" MYDOCKER_VERSION);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
}

static struct curl_slist *request_headers(const struct reg_request *rq, const char *authz)
{
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");

	if (authz)
		h = curl_slist_append(h, authz);
	for (size_t i = 0; rq->headers && rq->headers[i]; i++)
		h = curl_slist_append(h, rq->headers[i]);
	return h;
}

static void request_method(CURL *c, const struct reg_request *rq, struct xfer *x)
{
	if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (rq->upload_fd >= 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->len);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	}
	/* Blob GETs redirect to storage; curl drops our Authorization there. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, strcmp(rq->method, "GET") == 0 ? 1L : 0L);
}

static int url_for(const struct reg_session *s, const char *path, char **url, struct err *err)
{
	int n;

	if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
		n = asprintf(url, "%s", path);
	else
		n = asprintf(url, "%s%s", s->base, path);
	return n < 0 ? err_sys(err, ENOMEM, "registry request") : 0;
}

static int transport_err(const struct reg_session *s, CURLcode rc, const char *ebuf,
			 struct err *err)
{
	if (rc == CURLE_COULDNT_RESOLVE_HOST)
		return err_set(err, EHOSTUNREACH, "registry %s: lookup %s: no such host", s->domain,
			       s->host);
	if (rc == CURLE_COULDNT_CONNECT)
		return err_set(err, ECONNREFUSED, "registry %s: cannot connect: %s", s->domain,
			       ebuf[0] ? ebuf : curl_easy_strerror(rc));
	return err_set(err, EIO, "registry %s: %s", s->domain,
		       ebuf[0] ? ebuf : curl_easy_strerror(rc));
}

int reg_http(struct reg_session *s, const struct reg_request *rq, const char *authz,
	     struct reg_response *r, struct err *err)
{
	CURL *c = s->curl;
	char ebuf[CURL_ERROR_SIZE] = "";
	struct xfer x = { .r = r, .upload_fd = rq->upload_fd };
	cleanup_free char *url = NULL;
	struct curl_slist *h;
	CURLcode rc;

	reg_response_release(r);
	if (url_for(s, rq->path, &url, err) < 0)
		return -1;
	curl_easy_reset(c);
	easy_common(c, s);
	h = request_headers(rq, authz);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	request_method(c, rq, &x);
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (x.too_big)
		return err_set(err, EFBIG, "registry %s: response to %s larger than %u bytes",
			       s->domain, rq->path, REG_DOC_MAX);
	if (rc != CURLE_OK)
		return transport_err(s, rc, ebuf, err);
	if (!r->body && !(r->body = calloc(1, 1)))
		return err_sys(err, ENOMEM, "registry request");
	return 0;
}

int reg_do(struct reg_session *s, const struct reg_request *rq, struct reg_response *r,
	   struct err *err)
{
	struct reg_challenge ch;

	if (reg_http(s, rq, s->authz, r, err) < 0)
		return -1;
	/* An expired token, or one without this scope: ask again, once. */
	if (r->status != 401 || reg_challenge_parse(r->www_auth, &ch) < 0 ||
	    strcmp(ch.scheme, "bearer") != 0)
		return 0;
	s->ch = ch;
	if (reg_authenticate(s, err) < 0)
		return -1;
	return reg_http(s, rq, s->authz, r, err);
}

int reg_status_err(const struct reg_session *s, const struct reg_response *r, const char *what,
		   struct err *err)
{
	char detail[400];

	reg_error_body(r->body, r->len, detail, sizeof(detail));
	switch (r->status) {
	case 401:
		if (s->have_creds)
			return err_set(err, EACCES,
				       "%s: unauthorized: incorrect username or password for %s",
				       what, s->domain);
		return err_set(
			err, EACCES,
			"%s: unauthorized: authentication required (run 'mydocker login %s')", what,
			s->domain);
	case 403:
		return err_set(err, EACCES, "%s: denied: %s", what,
			       detail[0] ? detail : "requested access to the resource is denied");
	case 404:
		return err_set(err, ENOENT, "%s not found: %s", what,
			       detail[0] ? detail : "not found");
	default:
		return err_set(err, EIO, "%s: registry %s answered HTTP %ld%s%s", what, s->domain,
			       r->status, detail[0] ? ": " : "", detail);
	}
}

void *reg_easy_new(struct reg_session *s, const char *url, void **hdrs)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");

	if (s->authz)
		h = curl_slist_append(h, s->authz);
	if (!c || !h) {
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		return NULL;
	}
	easy_common(c, s);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	*hdrs = h;
	return c;
}

/* ---- session ------------------------------------------------------------ */

static int ping(struct reg_session *s, const char *scheme, struct reg_response *r, struct err *err)
{
	snprintf(s->base, sizeof(s->base), "%s://%s", scheme, s->host);
	return reg_http(s,
			&(struct reg_request){ .method = "GET", .path = "/v2/", .upload_fd = -1 },
			NULL, r, err);
}

/* https first; a host the user let be insecure may fall back to http, as
 * docker does. */
static int connect_v2(struct reg_session *s, bool insecure, struct err *err)
{
	struct reg_response r = { 0 };
	int rc = ping(s, "https", &r, err);

	if (rc < 0 && insecure && err->code != EHOSTUNREACH) {
		err_clear(err);
		rc = ping(s, "http", &r, err);
	}
	if (rc == 0 && r.status == 401) {
		if (reg_challenge_parse(r.www_auth, &s->ch) < 0)
			rc = err_set(err, EPROTO, "registry %s: bad WWW-Authenticate \"%.200s\"",
				     s->domain, r.www_auth);
	} else if (rc == 0 && r.status != 200) {
		rc = err_set(err, EPROTO,
			     "registry %s: GET /v2/ answered HTTP %ld: not a registry?", s->domain,
			     r.status);
	}
	reg_response_release(&r);
	return rc;
}

static int session_creds(struct reg_session *s, const struct image_registry_opts *o,
			 const char *user, const char *pass, struct err *err)
{
	char path[4096];
	int rc;

	if (user) {
		snprintf(s->user, sizeof(s->user), "%s", user);
		snprintf(s->pass, sizeof(s->pass), "%s", pass ? pass : "");
		s->have_creds = true;
		return 0;
	}
	if (reg_auth_file(o ? o->auth_file : NULL, path, sizeof(path), err) < 0)
		return 0; /* no home: anonymous */
	rc = reg_creds_get(path, s->domain, s->user, sizeof(s->user), s->pass, sizeof(s->pass),
			   err);
	s->have_creds = rc > 0;
	return rc < 0 ? -1 : 0;
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int reg_session_open(struct reg_session *s, const char *domain, const char *repo,
		     const char *actions, const struct image_registry_opts *o, const char *user,
		     const char *pass, struct err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	bool insecure = reg_host_insecure(domain, o ? o->insecure : NULL);

	memset(s, 0, sizeof(*s));
	snprintf(s->domain, sizeof(s->domain), "%s", domain);
	snprintf(s->host, sizeof(s->host), "%s", reg_api_host(domain));
	snprintf(s->repo, sizeof(s->repo), "%s", repo ? repo : "");
	s->actions = actions;
	s->verify_tls = !insecure;
	if (reg_host_invalid(domain))
		return err_set(err, EHOSTUNREACH, "registry %s: lookup %s: no such host", domain,
			       s->host);
	pthread_once(&once, curl_init_once);
	if (!(s->curl = curl_easy_init()))
		return err_set(err, ENOMEM, "registry: cannot start libcurl");
	if (session_creds(s, o, user, pass, err) < 0 || connect_v2(s, insecure, err) < 0 ||
	    reg_authenticate(s, err) < 0) {
		reg_session_close(s);
		return -1;
	}
	return 0;
}

void reg_session_close(struct reg_session *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	s->curl = NULL;
	free(s->authz);
	s->authz = NULL;
	explicit_bzero(s->pass, sizeof(s->pass));
}
