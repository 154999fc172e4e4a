/* registry_internal: the OCI distribution client shared by pull.c and
 * push.c: pure parsers (WWW-Authenticate, manifests, indexes, platforms,
 * media types, credentials) that unit tests drive without a network, and
 * the libcurl session (registry.c, registry_auth.c). Not for use outside
 * image/. */
#ifndef MYDOCKER_IMAGE_REGISTRY_INTERNAL_H
#define MYDOCKER_IMAGE_REGISTRY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/digest.h"
#include "base/err.h"
#include "image/image.h"

/* Largest manifest, index, config or error body held in memory: a hostile
 * registry must not make us allocate more. */
#define REG_DOC_MAX (8u << 20)

#define REG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REG_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define REG_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define REG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define REG_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define REG_MT_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define REG_MT_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* What we ask for: every manifest and index kind we can use. */
#define REG_ACCEPT                                                                       \
	"Accept: " REG_MT_OCI_MANIFEST ", " REG_MT_OCI_INDEX ", " REG_MT_DOCKER_MANIFEST \
	", " REG_MT_DOCKER_LIST

/* ---- media types ------------------------------------------------------ */

enum reg_kind {
	REG_KIND_UNKNOWN,
	REG_KIND_MANIFEST,
	REG_KIND_INDEX,
	REG_KIND_SCHEMA1
};
/* Classify a Content-Type (parameters after ';' ignored) or mediaType. */
enum reg_kind reg_media_kind(const char *media_type);
/* The kind of a document: its Content-Type when that says, else its
 * mediaType field, else its shape (manifests[] = index, layers[] = manifest). */
enum reg_kind reg_doc_kind(const char *content_type, const char *json, size_t len);
/* 1 for layer media types whose blob is a tar we can unpack (plain, gzip,
 * zstd; Docker or OCI, incl. non-distributable ones). */
int reg_media_is_layer(const char *media_type);

/* ---- platforms and indexes -------------------------------------------- */

struct reg_platform {
	char os[32], arch[32], variant[32]; /* variant "" = any */
};
/* "os/arch[/variant]" or "arch"; NULL or "" = linux/<host arch>. */
int reg_platform_parse(const char *s, struct reg_platform *p, struct err *err) WUR;
void reg_platform_format(const struct reg_platform *p, char *buf, size_t len);

/* Pick the manifest of an index (OCI or Docker list) for want: os and arch
 * must match; a wanted variant must match (arm64 treats "" as "v8"); with
 * no wanted variant the first entry of os/arch wins. Sets digest and
 * media_type; -1 with "no matching manifest for linux/amd64 in the
 * manifest list entries" when none. */
int reg_index_select(const char *json, size_t len, const struct reg_platform *want,
		     char digest[DIGEST_BUF], char *media_type, size_t mlen, struct err *err) WUR;

/* ---- image manifests --------------------------------------------------- */

struct reg_blob {
	char digest[DIGEST_BUF];
	char media_type[128];
	long long size;
};
struct reg_manifest {
	struct reg_blob config;
	struct reg_blob *layers;
	size_t n_layers;
};
/* A schema 2 image manifest (Docker or OCI): every digest valid, every
 * layer a tar kind we can unpack. */
int reg_manifest_parse(const char *json, size_t len, struct reg_manifest *m, struct err *err) WUR;
void reg_manifest_release(struct reg_manifest *m);
/* A new manifest JSON (heap, compact) for a config and layers; oci picks
 * the OCI media types, else Docker schema 2. */
char *reg_manifest_build(const struct reg_blob *config, const struct reg_blob *layers, size_t n,
			 bool oci);

/* ---- WWW-Authenticate -------------------------------------------------- */

struct reg_challenge {
	char scheme[16]; /* "basic", "bearer" (lowercased) or "" */
	char realm[1024];
	char service[256];
	char scope[512];
	char error[64];
};
/* Parse one challenge: `Bearer realm="...",service="...",scope="..."`.
 * Quoted strings may hold commas and \-escapes. -1 when malformed. */
int reg_challenge_parse(const char *header, struct reg_challenge *c);

/* The registry's error body {"errors":[{"code","message"}]} as
 * "code: message" (first error), or "" when it is not one. */
void reg_error_body(const char *json, size_t len, char *out, size_t olen);

/* ---- hosts and credentials ------------------------------------------- */

/* Plain HTTP is allowed for hosts the user named (host or host:port) and,
 * as docker does, for the loopback net 127.0.0.0/8 and "localhost". */
bool reg_host_insecure(const char *host, const char *const *insecure);
/* RFC 6761: ".invalid" names never resolve; answer that without asking DNS. */
bool reg_host_invalid(const char *host);
/* The registry host a ref's domain talks to (docker.io -> registry-1.docker.io). */
const char *reg_api_host(const char *domain);

/* base64 (RFC 4648, padded). encode: 0 or -1 when out is too small. decode:
 * bytes written, or -1. out is NUL-terminated either way. */
int reg_base64_encode(const void *in, size_t n, char *out, size_t olen);
long reg_base64_decode(const char *in, char *out, size_t olen);

/* auth.json: {"auths": {"HOST": {"auth": base64("user:pass")}}}, docker's
 * config.json shape. path NULL = $MYDOCKER_CONFIG, else
 * ~/.config/mydocker/auth.json. */
int reg_auth_file(const char *path, char *buf, size_t len, struct err *err) WUR;
/* 1 and user/pass set when HOST has credentials, 0 when not, -1 on a bad file. */
int reg_creds_get(const char *path, const char *host, char *user, size_t ulen, char *pass,
		  size_t plen, struct err *err) WUR;
/* Written atomically, mode 0600 (parent created 0700). */
int reg_creds_set(const char *path, const char *host, const char *user, const char *pass,
		  struct err *err) WUR;
/* 1 when removed, 0 when HOST had none. */
int reg_creds_erase(const char *path, const char *host, struct err *err) WUR;

/* ---- the HTTP session (registry.c) ---------------------------------- */

struct reg_session {
	char domain[256]; /* as in the reference; the credentials key */
	char host[256];   /* where the API lives */
	char base[300];   /* "https://host" or "http://host" */
	char repo[256];
	const char *actions; /* token scope actions: "pull" or "pull,push" */
	bool verify_tls;
	char user[256], pass[256];
	bool have_creds;
	char *authz; /* "Authorization: ..." header line or NULL */
	struct reg_challenge ch;
	void *curl; /* CURL * for requests of the main thread */
};

struct reg_response {
	long status;
	char *body; /* NUL-terminated, at most REG_DOC_MAX */
	size_t len;
	char content_type[128];
	char digest[DIGEST_BUF]; /* Docker-Content-Digest */
	char location[2048];
	char www_auth[2048];
};
void reg_response_release(struct reg_response *r);

/* One progress line ("Pushed", "Status: ...") to o->print, when set: cmd/
 * owns the output. */
void reg_say(const struct image_registry_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Connect: pick https (http only if reg_host_insecure), GET /v2/ and
 * authenticate for repo with actions. Credentials come from opts'
 * auth file, or user/pass when not NULL (login). */
int reg_session_open(struct reg_session *s, const char *domain, const char *repo,
		     const char *actions, const struct image_registry_opts *o, const char *user,
		     const char *pass, struct err *err) WUR;
void reg_session_close(struct reg_session *s);

/* One request on the session. path is below base ("/v2/...") or an absolute
 * URL on the same registry (upload Location). Body from memory (body/len)
 * or from upload_fd (len bytes) or none. extra: NULL-terminated header
 * lines. A 401 renews a bearer token once. */
struct reg_request {
	const char *method;
	const char *path;
	const char *const *headers;
	const void *body;
	int upload_fd;
	long long len;
};
/* Exactly one request with the given Authorization line (or none). */
int reg_http(struct reg_session *s, const struct reg_request *rq, const char *authz,
	     struct reg_response *r, struct err *err) WUR;
int reg_do(struct reg_session *s, const struct reg_request *rq, struct reg_response *r,
	   struct err *err) WUR;
/* One line for a non-success status: "denied: ...", "unauthorized: ...". what
 * names the object ("manifest for x:y"). Returns -1. */
int reg_status_err(const struct reg_session *s, const struct reg_response *r, const char *what,
		   struct err *err);
/* A new easy handle set up like the session's (TLS, auth header, timeouts)
 * for a blob transfer on another thread; caller owns it (curl_easy_cleanup)
 * and the header list in *hdrs (curl_slist_free_all). */
void *reg_easy_new(struct reg_session *s, const char *url, void **hdrs);

/* Fetch the token for s->ch (bearer) or set the basic header (registry_auth.c). */
int reg_authenticate(struct reg_session *s, struct err *err) WUR;

#endif
