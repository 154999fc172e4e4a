/* format: output helpers shared by commands (sizes, durations, templates). */
#ifndef MYDOCKER_CMD_FORMAT_H
#define MYDOCKER_CMD_FORMAT_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

/* Docker's units.HumanSize: 3 significant digits, decimal units ("4.26MB"). */
void fmt_size(long long bytes, char *buf, size_t len);
/* "2 weeks ago", "About a minute ago" */
void fmt_ago(time_t when, char *buf, size_t len);
/* RFC 3339 UTC with nanoseconds "2024-01-02T03:04:05.000000000Z" -> time_t, -1 if bad. */
time_t fmt_parse_time(const char *s);
/* Now as RFC 3339 UTC with nanoseconds. */
void fmt_now(char *buf, size_t len);
/* A tiny subset of Go templates over a JSON object: "{{.A.B}}",
 * "{{json .A}}", literal text, "\n" escapes. Returns a heap string. */
char *fmt_template(const char *tmpl, json_t *obj);
/* Print a JSON value indented like docker inspect. */
void fmt_print_json(json_t *j);

#endif
