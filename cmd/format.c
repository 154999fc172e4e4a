/* format: human-readable sizes, durations and a small template engine. */
#include "cmd/format.h"

#include "base/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

void fmt_size(long long bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1000.0 && u < 5) {
		v /= 1000.0;
		u++;
	}
	snprintf(buf, len, "%.3g%s", v, units[u]);
}

void fmt_ago(time_t when, char *buf, size_t len)
{
	long long d = (long long)(time(NULL) - when);

	if (when <= 0)
		snprintf(buf, len, "N/A");
	else if (d < 1)
		snprintf(buf, len, "Less than a second ago");
	else if (d < 60)
		snprintf(buf, len, "%lld second%s ago", d, d == 1 ? "" : "s");
	else if (d < 120)
		snprintf(buf, len, "About a minute ago");
	else if (d < 3600)
		snprintf(buf, len, "%lld minutes ago", d / 60);
	else if (d < 7200)
		snprintf(buf, len, "About an hour ago");
	else if (d < 48 * 3600)
		snprintf(buf, len, "%lld hours ago", d / 3600);
	else if (d < 14 * 86400)
		snprintf(buf, len, "%lld days ago", d / 86400);
	else if (d < 60 * 86400)
		snprintf(buf, len, "%lld weeks ago", d / (7 * 86400));
	else if (d < 2 * 365 * 86400)
		snprintf(buf, len, "%lld months ago", d / (30 * 86400));
	else
		snprintf(buf, len, "%lld years ago", d / (365 * 86400));
}

time_t fmt_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	return timegm(&tm);
}

void fmt_now(char *buf, size_t len)
{
	time_rfc3339_now(buf, len);
}

static json_t *lookup_path(json_t *obj, const char *path)
{
	char key[256];
	json_t *cur = obj;

	while (*path == '.' && cur) {
		size_t n;
		path++;
		n = strcspn(path, ".");
		if (n == 0)
			break;
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		cur = json_object_get(cur, key);
		path += n;
	}
	return cur;
}

static void append(char **out, size_t *len, const char *s, size_t n)
{
	char *nb = realloc(*out, *len + n + 1);
	if (!nb)
		return;
	memcpy(nb + *len, s, n);
	*len += n;
	nb[*len] = '\0';
	*out = nb;
}

static void append_value(char **out, size_t *len, json_t *v, int as_json)
{
	char *s = NULL;
	char num[64];

	if (!v) {
		append(out, len, "<no value>", 10);
		return;
	}
	if (!as_json && json_is_string(v)) {
		append(out, len, json_string_value(v), json_string_length(v));
		return;
	}
	if (!as_json && json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		append(out, len, num, strlen(num));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s)
		append(out, len, s, strlen(s));
	free(s);
}

char *fmt_template(const char *tmpl, json_t *obj)
{
	char *out = calloc(1, 1);
	size_t len = 0;

	while (out && *tmpl) {
		const char *open = strstr(tmpl, "{{"), *close;
		char expr[512];
		size_t n;
		int as_json = 0;
		char *e;

		if (!open) {
			append(&out, &len, tmpl, strlen(tmpl));
			break;
		}
		append(&out, &len, tmpl, (size_t)(open - tmpl));
		close = strstr(open, "}}");
		if (!close) {
			append(&out, &len, open, strlen(open));
			break;
		}
		n = (size_t)(close - open - 2);
		if (n >= sizeof(expr))
			n = sizeof(expr) - 1;
		memcpy(expr, open + 2, n);
		expr[n] = '\0';
		e = expr;
		while (*e == ' ')
			e++;
		for (char *t = e + strlen(e); t > e && t[-1] == ' ';)
			*--t = '\0';
		if (strncmp(e, "json ", 5) == 0) {
			as_json = 1;
			e += 5;
			while (*e == ' ')
				e++;
		}
		append_value(&out, &len, strcmp(e, ".") == 0 ? obj : lookup_path(obj, e), as_json);
		tmpl = close + 2;
	}
	/* Go templates on the CLI commonly carry "\n" literally. */
	for (char *p = out ? strstr(out, "\\n") : NULL; p; p = strstr(p, "\\n")) {
		*p = '\n';
		memmove(p + 1, p + 2, strlen(p + 2) + 1);
	}
	return out;
}

void fmt_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (s) {
		puts(s);
		free(s);
	}
}
