/* config: image config JSON (parse for the runtime, chain ids, new configs
 * for import) and Dockerfile-like --change lines. */
#include "image/image.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "base/timefmt.h"
#include "base/banned.h"
#include "base/cleanup.h"
#include "image/load_internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- parsing --------------------------------------------------------- */

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* A JSON array of strings (or null/absent) into a NULL-terminated vector. */
static int strv_from_json(json_t *arr, const char *what, char ***out, struct err *err)
{
	size_t i, n;
	char **v;

	*out = NULL;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set(err, EINVAL, "invalid image config: %s is not an array", what);
	n = json_array_size(arr);
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return err_sys(err, ENOMEM, "parse image config");
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s || !(v[i] = strdup(s))) {
			strv_free(v);
			return err_set(err, EINVAL, "invalid image config: %s[%zu] is not a string",
				       what, i);
		}
	}
	*out = v;
	return 0;
}

/* The keys of a JSON object (e.g. config.Volumes) as a vector. */
static int strv_from_keys(json_t *obj, const char *what, char ***out, struct err *err)
{
	const char *key;
	json_t *val;
	size_t i = 0;
	char **v;

	*out = NULL;
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return err_set(err, EINVAL, "invalid image config: %s is not an object", what);
	v = calloc(json_object_size(obj) + 1, sizeof(*v));
	if (!v)
		return err_sys(err, ENOMEM, "parse image config");
	json_object_foreach (obj, key, val) {
		if (!(v[i++] = strdup(key))) {
			strv_free(v);
			return err_sys(err, ENOMEM, "parse image config");
		}
	}
	*out = v;
	return 0;
}

static int str_from_json(json_t *j, const char *what, char **out, struct err *err)
{
	*out = NULL;
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_string(j))
		return err_set(err, EINVAL, "invalid image config: %s is not a string", what);
	*out = strdup(json_string_value(j));
	return *out ? 0 : err_sys(err, ENOMEM, "parse image config");
}

static int parse_rootfs(json_t *root, struct image_config *c, struct err *err)
{
	json_t *rootfs = json_object_get(root, "rootfs");
	const char *type = json_string_value(json_object_get(rootfs, "type"));
	json_t *ids = json_object_get(rootfs, "diff_ids");

	if (!json_is_object(rootfs))
		return err_set(err, EINVAL, "invalid image config: no rootfs");
	if (!type || strcmp(type, "layers") != 0)
		return err_set(err, EINVAL, "invalid image config: rootfs.type is not \"layers\"");
	if (!json_is_array(ids))
		return err_set(err, EINVAL,
			       "invalid image config: rootfs.diff_ids is not an array");
	if (strv_from_json(ids, "rootfs.diff_ids", &c->diff_ids, err) < 0)
		return -1;
	c->n_diff_ids = json_array_size(ids);
	for (size_t i = 0; i < c->n_diff_ids; i++) {
		if (!digest_valid(c->diff_ids[i]))
			return err_set(err, EINVAL, "invalid image config: bad diff_id %.80s",
				       c->diff_ids[i]);
	}
	return 0;
}

static int parse_runtime_part(json_t *cfg, struct image_config *c, struct err *err)
{
	if (cfg && !json_is_null(cfg) && !json_is_object(cfg))
		return err_set(err, EINVAL, "invalid image config: config is not an object");
	if (strv_from_json(json_object_get(cfg, "Env"), "config.Env", &c->env, err) < 0 ||
	    strv_from_json(json_object_get(cfg, "Cmd"), "config.Cmd", &c->cmd, err) < 0 ||
	    strv_from_json(json_object_get(cfg, "Entrypoint"), "config.Entrypoint", &c->entrypoint,
			   err) < 0 ||
	    str_from_json(json_object_get(cfg, "WorkingDir"), "config.WorkingDir", &c->working_dir,
			  err) < 0 ||
	    str_from_json(json_object_get(cfg, "User"), "config.User", &c->user, err) < 0 ||
	    strv_from_keys(json_object_get(cfg, "Volumes"), "config.Volumes", &c->volumes, err) < 0)
		return -1;
	return 0;
}

int image_config_parse(const char *json, size_t len, struct image_config *c, struct err *err)
{
	json_error_t jerr;
	cleanup_json json_t *root = json_loadb(json, len, 0, &jerr);

	memset(c, 0, sizeof(*c));
	if (!root)
		return err_set(err, EINVAL, "invalid image config: %s", jerr.text);
	if (!json_is_object(root))
		return err_set(err, EINVAL, "invalid image config: not a JSON object");
	if (parse_rootfs(root, c, err) < 0 ||
	    parse_runtime_part(json_object_get(root, "config"), c, err) < 0 ||
	    str_from_json(json_object_get(root, "os"), "os", &c->os, err) < 0 ||
	    str_from_json(json_object_get(root, "architecture"), "architecture", &c->architecture,
			  err) < 0) {
		image_config_release(c);
		return -1;
	}
	return 0;
}

void image_config_release(struct image_config *c)
{
	strv_free(c->env);
	strv_free(c->cmd);
	strv_free(c->entrypoint);
	strv_free(c->volumes);
	strv_free(c->diff_ids);
	free(c->working_dir);
	free(c->user);
	free(c->os);
	free(c->architecture);
	memset(c, 0, sizeof(*c));
}

int image_chain_ids(char *const *diff_ids, size_t n, char (*out)[DIGEST_BUF])
{
	for (size_t i = 0; i < n; i++) {
		if (!digest_valid(diff_ids[i]))
			return -1;
		if (digest_chain_id(i ? out[i - 1] : NULL, diff_ids[i], out[i]) < 0)
			return -1;
	}
	return 0;
}

/* ---- new configs ----------------------------------------------------- */

const char *image_host_arch(void)
{
	static const struct {
		const char *machine, *goarch;
	} map[] = {
		{ "x86_64", "amd64" },    { "aarch64", "arm64" }, { "armv7l", "arm" },
		{ "armv6l", "arm" },      { "i686", "386" },      { "i386", "386" },
		{ "ppc64le", "ppc64le" }, { "s390x", "s390x" },   { "riscv64", "riscv64" },
	};
	static struct utsname u;

	if (uname(&u) < 0)
		return "amd64";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(u.machine, map[i].machine) == 0)
			return map[i].goarch;
	}
	return u.machine;
}

static json_t *import_history(const char *created, const char *message)
{
	json_t *h = json_pack("{s:s, s:s}", "created", created, "created_by", "mydocker import");
	if (h && message && *message)
		json_object_set_new(h, "comment", json_string(message));
	return h ? json_pack("[o]", h) : NULL;
}

json_t *image_config_new_import(const char *diff_id, const char *const *changes,
				const char *message, struct err *err)
{
	char created[64];
	cleanup_json json_t *cfg = NULL, *root = NULL;
	json_t *hist;

	time_rfc3339_now(created, sizeof(created));
	cfg = json_pack("{s:[s]}", "Env", DEFAULT_PATH);
	if (!cfg)
		goto nomem;
	for (size_t i = 0; changes && changes[i]; i++) {
		if (image_config_change(cfg, changes[i], err) < 0)
			return NULL;
	}
	hist = import_history(created, message);
	root = json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:[s]}, s:o*}", "architecture",
			 image_host_arch(), "os", "linux", "created", created, "config", cfg,
			 "rootfs", "type", "layers", "diff_ids", diff_id, "history", hist);
	if (!root)
		goto nomem;
	return TAKE_PTR(root);
nomem:
	err_sys(err, ENOMEM, "build image config");
	return NULL;
}

/* ---- --change lines -------------------------------------------------- */

struct words {
	char **v;
	size_t n;
};

static void words_free(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

static int words_push(struct words *w, const char *s, size_t len)
{
	char **nv = realloc(w->v, (w->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	w->v = nv;
	if (!(w->v[w->n] = strndup(s, len)))
		return -1;
	w->n++;
	return 0;
}

/* Split like the Dockerfile word lexer: whitespace separates, '...' and
 * "..." group (quotes removed), backslash escapes the next character. */
static int split_words(const char *s, struct words *w, struct err *err)
{
	size_t len = strlen(s);
	cleanup_free char *cur = malloc(len + 1);
	size_t n = 0;
	bool in_word = false;
	char quote = 0;

	if (!cur)
		return err_sys(err, ENOMEM, "parse --change");
	for (const char *p = s; *p; p++) {
		if (!quote && isspace((unsigned char)*p)) {
			if (in_word && words_push(w, cur, n) < 0)
				return err_sys(err, ENOMEM, "parse --change");
			in_word = false;
			n = 0;
			continue;
		}
		in_word = true;
		if (quote ? *p == quote : (*p == '"' || *p == '\'')) {
			quote = quote ? 0 : *p;
		} else if (*p == '\\' && quote != '\'' && p[1]) {
			cur[n++] = *++p;
		} else {
			cur[n++] = *p;
		}
	}
	if (quote)
		return err_set(err, EINVAL, "invalid --change: unterminated quote in: %s", s);
	if (in_word && words_push(w, cur, n) < 0)
		return err_sys(err, ENOMEM, "parse --change");
	return 0;
}

/* A JSON array of strings, or NULL if args is not one (Docker then falls
 * back to the shell form). */
static json_t *json_string_array(const char *args)
{
	json_t *a = json_loads(args, JSON_DECODE_ANY, NULL);
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		goto no;
	json_array_foreach (a, i, v) {
		if (!json_is_string(v))
			goto no;
	}
	return a;
no:
	json_decref(a);
	return NULL;
}

static int change_exec(json_t *cfg, const char *key, const char *args, struct err *err)
{
	json_t *a = NULL;

	if (*args == '[')
		a = json_string_array(args);
	if (!a)
		a = json_pack("[s,s,s]", "/bin/sh", "-c", args);
	if (!a)
		return err_sys(err, ENOMEM, "apply --change");
	json_object_set_new(cfg, key, a);
	return 0;
}

static void env_set(json_t *cfg, const char *key, const char *val)
{
	json_t *env = json_object_get(cfg, "Env");
	size_t klen = strlen(key), i;
	cleanup_free char *kv = NULL;
	json_t *e;

	if (asprintf(&kv, "%s=%s", key, val) < 0) {
		kv = NULL;
		return;
	}
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	json_array_foreach (env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static void label_set(json_t *cfg, const char *key, const char *val)
{
	json_t *labels = json_object_get(cfg, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(cfg, "Labels", labels);
	}
	json_object_set_new(labels, key, json_string(val));
}

/* ENV and LABEL: "k=v k2='v 2'" pairs, or the legacy "k rest of line". */
static int change_pairs(json_t *cfg, const char *args, bool env, struct err *err)
{
	size_t klen = strcspn(args, " \t=");
	struct words w = { 0 };
	int rc = 0;

	if (args[klen] != '=') {
		cleanup_free char *key = strndup(args, klen);
		const char *val = args + klen + strspn(args + klen, " \t");
		if (!key)
			return err_sys(err, ENOMEM, "apply --change");
		if (!*val)
			return err_set(err, EINVAL, "invalid --change: %s needs a value: %s",
				       env ? "ENV" : "LABEL", args);
		(env ? env_set : label_set)(cfg, key, val);
		return 0;
	}
	if (split_words(args, &w, err) < 0) {
		words_free(&w);
		return -1;
	}
	for (size_t i = 0; i < w.n && rc == 0; i++) {
		char *eq = strchr(w.v[i], '=');
		if (!eq || eq == w.v[i]) {
			rc = err_set(err, EINVAL, "invalid --change: expected key=value: %s",
				     w.v[i]);
			break;
		}
		*eq = '\0';
		(env ? env_set : label_set)(cfg, w.v[i], eq + 1);
	}
	words_free(&w);
	return rc;
}

static int parse_port(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return (end == s || errno || *out == 0 || *out > 65535) ? -1 : (int)(end - s);
}

/* "80", "53/udp", "8000-8002/tcp" into ExposedPorts keys. */
static int expose_one(json_t *ports, const char *spec, struct err *err)
{
	unsigned long lo, hi;
	const char *proto = "tcp";
	int n = parse_port(spec, &lo);

	if (n < 0)
		goto bad;
	hi = lo;
	if (spec[n] == '-') {
		int m = parse_port(spec + n + 1, &hi);
		if (m < 0 || hi < lo)
			goto bad;
		n += m + 1;
	}
	if (spec[n] == '/')
		proto = spec + n + 1;
	else if (spec[n])
		goto bad;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		goto bad;
	for (unsigned long p = lo; p <= hi; p++) {
		char key[32];
		snprintf(key, sizeof(key), "%lu/%s", p, proto);
		json_object_set_new(ports, key, json_object());
	}
	return 0;
bad:
	return err_set(err, EINVAL, "invalid --change: bad port in EXPOSE: %s", spec);
}

static json_t *object_member(json_t *cfg, const char *key)
{
	json_t *o = json_object_get(cfg, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(cfg, key, o);
	}
	return o;
}

static int change_expose(json_t *cfg, const char *args, struct err *err)
{
	struct words w = { 0 };
	json_t *ports = object_member(cfg, "ExposedPorts");
	int rc = split_words(args, &w, err);

	for (size_t i = 0; rc == 0 && i < w.n; i++)
		rc = expose_one(ports, w.v[i], err);
	words_free(&w);
	return rc;
}

static int change_volume(json_t *cfg, const char *args, struct err *err)
{
	cleanup_json json_t *arr = *args == '[' ? json_string_array(args) : NULL;
	json_t *vols = object_member(cfg, "Volumes");
	struct words w = { 0 };
	size_t i;
	json_t *v;

	if (arr) {
		json_array_foreach (arr, i, v) {
			if (!*json_string_value(v))
				return err_set(err, EINVAL, "invalid --change: empty VOLUME path");
			json_object_set_new(vols, json_string_value(v), json_object());
		}
		return 0;
	}
	if (split_words(args, &w, err) < 0) {
		words_free(&w);
		return -1;
	}
	for (i = 0; i < w.n; i++)
		json_object_set_new(vols, w.v[i], json_object());
	words_free(&w);
	return 0;
}

/* Like Docker: a relative WORKDIR is taken relative to the previous one. */
static int change_workdir(json_t *cfg, const char *args)
{
	const char *cur = json_string_value(json_object_get(cfg, "WorkingDir"));
	cleanup_free char *joined = NULL;
	int n;

	if (args[0] == '/')
		n = asprintf(&joined, "%s", args);
	else if (!cur || !*cur)
		n = asprintf(&joined, "/%s", args);
	else
		n = asprintf(&joined, "%s%s%s", cur, cur[strlen(cur) - 1] == '/' ? "" : "/", args);
	if (n < 0) {
		joined = NULL;
		return -1;
	}
	json_object_set_new(cfg, "WorkingDir", json_string(joined));
	return 0;
}

static int signal_word_valid(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '+' && *s != '-')
			return 0;
	}
	return 1;
}

static int change_dispatch(json_t *cfg, const char *kw, const char *args, struct err *err)
{
	if (!strcasecmp(kw, "CMD"))
		return change_exec(cfg, "Cmd", args, err);
	if (!strcasecmp(kw, "ENTRYPOINT"))
		return change_exec(cfg, "Entrypoint", args, err);
	if (!strcasecmp(kw, "ENV") || !strcasecmp(kw, "LABEL"))
		return change_pairs(cfg, args, !strcasecmp(kw, "ENV"), err);
	if (!strcasecmp(kw, "EXPOSE"))
		return change_expose(cfg, args, err);
	if (!strcasecmp(kw, "VOLUME"))
		return change_volume(cfg, args, err);
	if (!strcasecmp(kw, "WORKDIR"))
		return change_workdir(cfg, args) < 0 ? err_sys(err, ENOMEM, "apply --change") : 0;
	if (!strcasecmp(kw, "USER")) {
		json_object_set_new(cfg, "User", json_string(args));
		return 0;
	}
	if (!strcasecmp(kw, "STOPSIGNAL")) {
		if (!signal_word_valid(args))
			return err_set(err, EINVAL, "invalid --change: bad STOPSIGNAL: %s", args);
		json_object_set_new(cfg, "StopSignal", json_string(args));
		return 0;
	}
	return err_set(err, EINVAL, "invalid --change: unknown instruction %s", kw);
}

int image_config_change(json_t *config, const char *line, struct err *err)
{
	char kw[16];
	const char *p = line + strspn(line, " \t");
	size_t klen = strcspn(p, " \t");
	cleanup_free char *args = NULL;
	size_t alen;

	if (klen == 0 || klen >= sizeof(kw))
		return err_set(err, EINVAL, "invalid --change: %.200s", line);
	memcpy(kw, p, klen);
	kw[klen] = '\0';
	p += klen;
	p += strspn(p, " \t");
	alen = strlen(p);
	while (alen && isspace((unsigned char)p[alen - 1]))
		alen--;
	if (alen == 0)
		return err_set(err, EINVAL, "invalid --change: %s needs an argument", kw);
	if (!(args = strndup(p, alen)))
		return err_sys(err, ENOMEM, "apply --change");
	if (!json_is_object(config))
		return err_set(err, EINVAL, "invalid --change: config is not an object");
	return change_dispatch(config, kw, args, err);
}
