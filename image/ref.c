/* ref: image references, [domain[:port]/]path[:tag][@sha256:hex], with the
 * grammar and normalization rules of Docker's distribution/reference. */
#include "image/image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_TOTAL_MAX 255
#define TAG_MAX 128

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

/* Skip one separator: [._] | __ | -+ ; returns the new index or i if none. */
static size_t skip_separator(const char *s, size_t i, size_t n)
{
	if (s[i] == '.')
		return i + 1;
	if (s[i] == '_')
		return (i + 1 < n && s[i + 1] == '_') ? i + 2 : i + 1;
	while (i < n && s[i] == '-')
		i++;
	return i;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)* */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start = i, next;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		next = skip_separator(s, i, n);
		if (next == i || next == n)
			return false;
		i = next;
	}
}

static bool path_valid(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (!path_component_valid(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool host_valid(const char *s, size_t n)
{
	size_t start = 0;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		for (size_t i = 1; i + 1 < n; i++)
			if (!is_digit(s[i]) && !strchr("abcdefABCDEF:", s[i]))
				return false;
		return n > 2;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i == start || !is_alnum(s[start]) || !is_alnum(s[i - 1]))
			return false;
		for (size_t j = start; j < i; j++)
			if (!is_alnum(s[j]) && s[j] != '-')
				return false;
		start = i + 1;
	}
	return true;
}

/* domain := host [":" port-number] */
static bool domain_valid(const char *s)
{
	size_t n = strlen(s);
	const char *colon = memrchr(s, ':', n);

	/* An IPv6 literal has colons only inside its brackets. */
	if (colon && memchr(colon, ']', n - (size_t)(colon - s)))
		colon = NULL;
	if (!colon)
		return host_valid(s, n);
	if (colon[1] == '\0')
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!is_digit(*p))
			return false;
	return host_valid(s, (size_t)(colon - s));
}

/* tag := [\w][\w.-]{0,127} */
static bool tag_valid(const char *s, size_t n)
{
	if (n == 0 || n > TAG_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool is_hex64(const char *s)
{
	return strlen(s) == 64 && digest_hex_valid(s);
}

static int bad_ref(struct err *err, const char *s, const char *why)
{
	return err_set(err, EINVAL, "invalid reference format \"%.200s\": %s", s, why);
}

static int copy_part(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* Split "name" (no tag/digest) into domain and path the way Docker does: the
 * first component is a domain if it looks like a host ('.' or ':'),
 * is "localhost", or has uppercase letters (never valid in a path). */
static int split_domain(const char *s, const char *name, struct image_ref *ref, struct err *err)
{
	const char *slash = strchr(name, '/');
	const char *rest = name;
	size_t dlen = slash ? (size_t)(slash - name) : 0;

	if (slash && (memchr(name, '.', dlen) || memchr(name, ':', dlen) ||
		      (dlen == 9 && memcmp(name, "localhost", 9) == 0) || has_upper(name, dlen))) {
		if (copy_part(ref->domain, sizeof(ref->domain), name, dlen) < 0)
			return bad_ref(err, s, "domain too long");
		rest = slash + 1;
	} else {
		memcpy(ref->domain, DEFAULT_DOMAIN, sizeof(DEFAULT_DOMAIN));
	}
	if (strcmp(ref->domain, LEGACY_DOMAIN) == 0)
		memcpy(ref->domain, DEFAULT_DOMAIN, sizeof(DEFAULT_DOMAIN));
	if (!domain_valid(ref->domain))
		return bad_ref(err, s, "invalid domain");
	if (has_upper(rest, strlen(rest)))
		return bad_ref(err, s, "repository name must be lowercase");
	if (!path_valid(rest, strlen(rest)))
		return bad_ref(err, s, "invalid repository name");
	if (strcmp(ref->domain, DEFAULT_DOMAIN) == 0 && !strchr(rest, '/')) {
		if (snprintf(ref->path, sizeof(ref->path), OFFICIAL_PREFIX "%s", rest) >=
		    (int)sizeof(ref->path))
			return bad_ref(err, s, "repository name too long");
	} else if (copy_part(ref->path, sizeof(ref->path), rest, strlen(rest)) < 0) {
		return bad_ref(err, s, "repository name too long");
	}
	return 0;
}

int image_ref_parse(const char *s, struct image_ref *ref, struct err *err)
{
	char name[NAME_TOTAL_MAX + 1];
	size_t n = strlen(s);
	const char *at = strchr(s, '@'), *slash, *colon;

	memset(ref, 0, sizeof(*ref));
	if (n == 0)
		return bad_ref(err, s, "empty reference");
	if (is_hex64(s))
		return bad_ref(err, s, "cannot specify 64-byte hexadecimal strings");
	if (at) {
		if (!digest_valid(at + 1))
			return bad_ref(err, s, "invalid digest (want sha256:<64 hex>)");
		memcpy(ref->digest, at + 1, DIGEST_BUF);
		n = (size_t)(at - s);
	}
	/* The tag is after the last ':' that follows the last '/': a ':'
	 * before a '/' is a registry port. */
	slash = memrchr(s, '/', n);
	colon = memrchr(slash ? slash : s, ':', n - (size_t)((slash ? slash : s) - s));
	if (colon) {
		size_t tlen = n - (size_t)(colon + 1 - s);
		if (!tag_valid(colon + 1, tlen))
			return bad_ref(err, s, "invalid tag");
		memcpy(ref->tag, colon + 1, tlen);
		ref->tag[tlen] = '\0';
		n = (size_t)(colon - s);
	}
	if (n == 0)
		return bad_ref(err, s, "empty repository name");
	if (n > NAME_TOTAL_MAX)
		return bad_ref(err, s, "repository name must not be more than 255 characters");
	memcpy(name, s, n);
	name[n] = '\0';
	if (split_domain(s, name, ref, err) < 0)
		return -1;
	if (!ref->tag[0] && !ref->digest[0])
		memcpy(ref->tag, "latest", sizeof("latest"));
	return 0;
}

/* 1 if path's first component would be read back as a domain by
 * split_domain ("docker.io/localhost/x", "docker.io/a.b/x"): dropping
 * "docker.io/" from such a name would make it name another registry. */
static bool path_reads_as_domain(const char *path)
{
	const char *slash = strchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	return slash && (memchr(path, '.', n) || memchr(path, ':', n) ||
			 (n == 9 && memcmp(path, "localhost", 9) == 0));
}

int image_ref_familiar(const struct image_ref *ref, char *out, size_t len)
{
	/* The familiar form must parse back to the same reference: the store
	 * keys refs by it (found by tests/fuzz/fuzz_ref). */
	bool hub = strcmp(ref->domain, DEFAULT_DOMAIN) == 0 && !path_reads_as_domain(ref->path);
	const char *path = ref->path;
	const size_t plen = strlen(OFFICIAL_PREFIX);
	int n;

	if (hub && strncmp(path, OFFICIAL_PREFIX, plen) == 0 && !strchr(path + plen, '/'))
		path += plen;
	n = snprintf(out, len, "%s%s%s%s%s%s%s", hub ? "" : ref->domain, hub ? "" : "/", path,
		     ref->tag[0] ? ":" : "", ref->tag, ref->digest[0] ? "@" : "", ref->digest);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int image_ref_normalize(const char *s, char *out, size_t len, struct err *err)
{
	struct image_ref ref;

	if (image_ref_parse(s, &ref, err) < 0)
		return -1;
	if (image_ref_familiar(&ref, out, len) < 0)
		return err_set(err, ENAMETOOLONG, "reference too long: %.200s", s);
	return 0;
}
