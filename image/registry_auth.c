/* registry_auth: who may talk to a registry and how: WWW-Authenticate
 * challenges, bearer tokens, stored credentials (auth.json), which hosts
 * may use plain HTTP. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "image/registry_internal.h"

#define AUTH_FILE_MAX (1u << 20)

/* ---- WWW-Authenticate (RFC 7235 section 4.1) -------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	return p;
}

/* A token or quoted-string value into out; returns the end, NULL if bad. */
static const char *param_value(const char *p, char *out, size_t olen)
{
	size_t n = 0;

	if (*p != '"') {
		while (*p && *p != ',' && *p != ' ' && *p != '\t') {
			if (n + 1 < olen)
				out[n++] = *p;
			p++;
		}
		out[n] = '\0';
		return p;
	}
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 < olen)
			out[n++] = *p;
	}
	out[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

static char *param_slot(struct reg_challenge *c, const char *key, size_t klen, size_t *olen)
{
	static const struct {
		const char *name;
		size_t off, len;
	} slots[] = {
		{ "realm", offsetof(struct reg_challenge, realm),
		  sizeof(((struct reg_challenge *)0)->realm) },
		{ "service", offsetof(struct reg_challenge, service),
		  sizeof(((struct reg_challenge *)0)->service) },
		{ "scope", offsetof(struct reg_challenge, scope),
		  sizeof(((struct reg_challenge *)0)->scope) },
		{ "error", offsetof(struct reg_challenge, error),
		  sizeof(((struct reg_challenge *)0)->error) },
	};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		if (strlen(slots[i].name) == klen && strncasecmp(slots[i].name, key, klen) == 0) {
			*olen = slots[i].len;
			return (char *)c + slots[i].off;
		}
	}
	return NULL;
}

int reg_challenge_parse(const char *h, struct reg_challenge *c)
{
	const char *p = skip_ws(h);
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	while (*p && *p != ' ' && *p != '\t' && n + 1 < sizeof(c->scheme))
		c->scheme[n++] = (char)tolower((unsigned char)*p++);
	if (n == 0 || (*p && *p != ' ' && *p != '\t'))
		return -1;
	for (p = skip_ws(p); *p; p = skip_ws(p)) {
		const char *key = p, *eq = strchr(p, '=');
		char scratch[64], *slot;
		size_t olen = sizeof(scratch);

		if (!eq)
			return -1;
		while (p < eq && *p != ' ' && *p != '\t')
			p++;
		slot = param_slot(c, key, (size_t)(p - key), &olen);
		p = param_value(eq + 1, slot ? slot : scratch, slot ? olen : sizeof(scratch));
		if (!p)
			return -1;
	}
	return 0;
}

void reg_error_body(const char *json, size_t len, char *out, size_t olen)
{
	cleanup_json json_t *root = json ? json_loadb(json, len, 0, NULL) : NULL;
	json_t *e = json_array_get(json_object_get(root, "errors"), 0);
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	out[0] = '\0';
	if (code || msg) {
		char lc[64];
		size_t i = 0;
		for (; code && code[i] && i + 1 < sizeof(lc); i++)
			lc[i] = code[i] == '_' ? ' ' : (char)tolower((unsigned char)code[i]);
		lc[i] = '\0';
		snprintf(out, olen, "%s%s%.300s", lc, lc[0] && msg ? ": " : "", msg ? msg : "");
	}
}

/* ---- hosts --------------------------------------------------------------- */

static void host_only(const char *host, char *out, size_t len)
{
	const char *colon = strrchr(host, ':');
	size_t n = strlen(host);

	if (host[0] == '[') {
		const char *rb = strchr(host, ']');
		n = rb ? (size_t)(rb - host - 1) : n;
		host++;
	} else if (colon) {
		n = (size_t)(colon - host);
	}
	snprintf(out, len, "%.*s", (int)n, host);
}

bool reg_host_insecure(const char *host, const char *const *insecure)
{
	char name[256];
	struct in_addr a;

	host_only(host, name, sizeof(name));
	for (size_t i = 0; insecure && insecure[i]; i++) {
		char other[256];
		host_only(insecure[i], other, sizeof(other));
		/* "host:port" names exactly that; a bare "host" every port. */
		if (strcasecmp(insecure[i], host) == 0 ||
		    (strcmp(other, insecure[i]) == 0 && strcasecmp(name, other) == 0))
			return true;
	}
	/* docker's default insecure CIDR is 127.0.0.0/8; localhost is in it. */
	if (strcasecmp(name, "localhost") == 0 || strcmp(name, "::1") == 0)
		return true;
	return inet_pton(AF_INET, name, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool reg_host_invalid(const char *host)
{
	char name[256];
	size_t n;

	host_only(host, name, sizeof(name));
	n = strlen(name);
	if (n && name[n - 1] == '.')
		name[--n] = '\0';
	return strcasecmp(name, "invalid") == 0 ||
	       (n > 8 && strcasecmp(name + n - 8, ".invalid") == 0);
}

const char *reg_api_host(const char *domain)
{
	return strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
}

/* ---- base64 --------------------------------------------------------------- */

int reg_base64_encode(const void *in, size_t n, char *out, size_t olen)
{
	if (olen < 4 * ((n + 2) / 3) + 1 || n > (size_t)INT32_MAX) {
		if (olen)
			out[0] = '\0';
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return 0;
}

long reg_base64_decode(const char *in, char *out, size_t olen)
{
	size_t n = strlen(in), pad = 0;
	int got;

	if (n % 4 || olen < n / 4 * 3 + 1 || n > (size_t)INT32_MAX)
		return -1;
	if (n && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
	if (got < 0)
		return -1;
	out[got - (int)pad] = '\0';
	return got - (long)pad;
}

/* ---- auth.json ------------------------------------------------------------ */

int reg_auth_file(const char *path, char *buf, size_t len, struct err *err)
{
	const char *env = getenv("MYDOCKER_CONFIG"), *home = getenv("HOME");
	int n;

	if (path && *path)
		n = snprintf(buf, len, "%s", path);
	else if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.config/mydocker/auth.json", home);
	else
		return err_set(err, ENOENT, "no credentials file: set $MYDOCKER_CONFIG or $HOME");
	if (n < 0 || (size_t)n >= len)
		return err_set(err, ENAMETOOLONG, "credentials file path too long");
	return 0;
}

/* The file's JSON, or an empty {"auths":{}} when it does not exist yet. */
static json_t *auth_load(const char *path, struct err *err)
{
	cleanup_free char *buf = NULL;
	json_error_t jerr;
	json_t *root;
	size_t len;

	if (fs_read_all(AT_FDCWD, path, &buf, &len, AUTH_FILE_MAX, err) < 0) {
		if (err && err->code != ENOENT)
			return NULL;
		err_clear(err);
		return json_pack("{s:{}}", "auths");
	}
	root = json_loadb(buf, len, 0, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(err, EINVAL, "%s: not a credentials file: %s", path, jerr.text);
		return NULL;
	}
	if (!json_is_object(json_object_get(root, "auths")))
		json_object_set_new(root, "auths", json_object());
	return root;
}

int reg_creds_get(const char *path, const char *host, char *user, size_t ulen, char *pass,
		  size_t plen, struct err *err)
{
	cleanup_json json_t *root = auth_load(path, err);
	json_t *e;
	const char *b64;
	char raw[1024], *colon;

	if (!root)
		return -1;
	e = json_object_get(json_object_get(root, "auths"), host);
	b64 = json_string_value(json_object_get(e, "auth"));
	if (!b64)
		return 0;
	if (reg_base64_decode(b64, raw, sizeof(raw)) < 0 || !(colon = strchr(raw, ':')))
		return err_set(err, EINVAL, "%s: bad credentials for %s: run mydocker login %s",
			       path, host, host);
	*colon = '\0';
	snprintf(user, ulen, "%s", raw);
	snprintf(pass, plen, "%s", colon + 1);
	explicit_bzero(raw, sizeof(raw));
	return 1;
}

static int auth_save(const char *path, json_t *root, struct err *err)
{
	char dir[4096], base[256];
	cleanup_free char *buf = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	cleanup_close int dfd = -1;
	int rc;

	if (!buf)
		return err_sys(err, ENOMEM, "save credentials");
	if (fs_split_path(path, dir, sizeof(dir), base, sizeof(base)) < 0)
		return err_set(err, EINVAL, "bad credentials file path %s", path);
	if (fs_mkdir_p(dir, 0700, err) < 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, errno, "open %s", dir);
	rc = fs_write_atomic(dfd, base, buf, strlen(buf), 0600, err);
	explicit_bzero(buf, strlen(buf));
	return rc;
}

int reg_creds_set(const char *path, const char *host, const char *user, const char *pass,
		  struct err *err)
{
	cleanup_json json_t *root = auth_load(path, err);
	char raw[1024], b64[1400];

	if (!root)
		return -1;
	if ((size_t)snprintf(raw, sizeof(raw), "%s:%s", user, pass) >= sizeof(raw) ||
	    reg_base64_encode(raw, strlen(raw), b64, sizeof(b64)) < 0)
		return err_set(err, EINVAL, "username or password too long");
	explicit_bzero(raw, sizeof(raw));
	json_object_set_new(json_object_get(root, "auths"), host, json_pack("{s:s}", "auth", b64));
	explicit_bzero(b64, sizeof(b64));
	return auth_save(path, root, err);
}

int reg_creds_erase(const char *path, const char *host, struct err *err)
{
	cleanup_json json_t *root = auth_load(path, err);
	json_t *auths = json_object_get(root, "auths");

	if (!root)
		return -1;
	if (!json_object_get(auths, host))
		return 0;
	json_object_del(auths, host);
	return auth_save(path, root, err) < 0 ? -1 : 1;
}

/* ---- authentication on a session ---------------------------------------- */

static int basic_header(const struct reg_session *s, char **out, struct err *err)
{
	char raw[600], b64[900];

	snprintf(raw, sizeof(raw), "%s:%s", s->user, s->pass);
	if (reg_base64_encode(raw, strlen(raw), b64, sizeof(b64)) < 0)
		return err_set(err, EINVAL, "credentials too long");
	explicit_bzero(raw, sizeof(raw));
	if (asprintf(out, "Authorization: Basic %s", b64) < 0)
		return err_sys(err, ENOMEM, "auth");
	explicit_bzero(b64, sizeof(b64));
	return 0;
}

/* realm?service=S&scope=repository:R:A (scope from the challenge when it
 * names one: insufficient_scope tells us what to ask for). */
static int token_url(struct reg_session *s, char **url, struct err *err)
{
	char scope[600];
	char *svc = curl_easy_escape(s->curl, s->ch.service, 0), *sc;
	int n;

	if (s->ch.scope[0])
		snprintf(scope, sizeof(scope), "%s", s->ch.scope);
	else if (s->repo[0])
		snprintf(scope, sizeof(scope), "repository:%s:%s", s->repo, s->actions);
	else
		scope[0] = '\0';
	sc = curl_easy_escape(s->curl, scope, 0);
	n = asprintf(url, "%s%sservice=%s%s%s", s->ch.realm, strchr(s->ch.realm, '?') ? "&" : "?",
		     svc ? svc : "", scope[0] ? "&scope=" : "", scope[0] && sc ? sc : "");
	curl_free(svc);
	curl_free(sc);
	return n < 0 ? err_sys(err, ENOMEM, "auth") : 0;
}

static int token_fetch(struct reg_session *s, struct err *err)
{
	cleanup_free char *url = NULL, *basic = NULL;
	struct reg_response r = { 0 };
	cleanup_json json_t *root = NULL;
	const char *tok;
	int rc = -1;

	if (strncmp(s->ch.realm, "https://", 8) != 0 && strncmp(s->ch.realm, "http://", 7) != 0)
		return err_set(err, EINVAL, "registry %s: bad token realm \"%.200s\"", s->domain,
			       s->ch.realm);
	if (token_url(s, &url, err) < 0 || (s->have_creds && basic_header(s, &basic, err) < 0))
		return -1;
	if (reg_http(s, &(struct reg_request){ .method = "GET", .path = url, .upload_fd = -1 },
		     basic, &r, err) < 0)
		return -1;
	if (r.status != 200) {
		rc = r.status == 401 ? err_set(err, EACCES,
					       "%s: unauthorized: incorrect username or password",
					       s->domain) :
				       reg_status_err(s, &r, "token", err);
		goto out;
	}
	root = json_loadb(r.body, r.len, 0, NULL);
	tok = json_string_value(json_object_get(root, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(root, "access_token"));
	if (!tok || !*tok || strpbrk(tok, "\r\n")) {
		err_set(err, EINVAL, "registry %s: token server sent no token", s->domain);
		goto out;
	}
	free(s->authz);
	s->authz = NULL;
	rc = asprintf(&s->authz, "Authorization: Bearer %s", tok) < 0 ?
		     err_sys(err, ENOMEM, "auth") :
		     0;
out:
	reg_response_release(&r);
	return rc;
}

int reg_authenticate(struct reg_session *s, struct err *err)
{
	free(s->authz);
	s->authz = NULL;
	if (strcmp(s->ch.scheme, "bearer") == 0)
		return token_fetch(s, err);
	if (strcmp(s->ch.scheme, "basic") == 0 && s->have_creds)
		return basic_header(s, &s->authz, err);
	return 0;
}
