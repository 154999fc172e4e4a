/* logs: a container's ctr.log (JSON lines written by its monitor), with
 * --tail, --since/--until, --timestamps and -f (follow while it runs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cmd/format.h"
#include "cmd/lifecycle.h"
#include "base/banned.h"

struct logs_opts {
	bool follow, timestamps;
	long tail;           /* -1: all */
	double since, until; /* unix seconds, 0: none */
};

/* Docker's forms: RFC 3339, unix seconds, or a duration back from now
 * ("10m", "1h30m", "45s"). */
static double parse_when(const char *s)
{
	char *end;
	double v = strtod(s, &end), total = 0;

	if (strchr(s, 'T') || strchr(s, '-')) {
		time_t t = fmt_parse_time(s);
		const char *dot = strchr(s, '.');
		return t < 0 ? -1 : (double)t + (dot ? strtod(dot, NULL) : 0);
	}
	if (*end == '\0' || *end == '.')
		return end == s ? -1 : v;
	for (const char *p = s; *p;) {
		v = strtod(p, &end);
		if (end == p)
			return -1;
		switch (*end) {
		case 'h': total += v * 3600; break;
		case 'm': total += v * 60; break;
		case 's': total += v; break;
		default: return -1;
		}
		p = end + 1;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 - total;
}

static double rec_time(const char *t)
{
	time_t s = fmt_parse_time(t);
	const char *dot = strchr(t, '.');

	return (double)s + (dot ? strtod(dot, NULL) : 0);
}

static void print_record(const struct logs_opts *o, const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *t = json_string_value(json_object_get(j, "time")) ?: "";
	const char *stream = json_string_value(json_object_get(j, "stream")) ?: "stdout";
	json_t *log = json_object_get(j, "log");
	double when = rec_time(t);
	FILE *f = strcmp(stream, "stderr") ? stdout : stderr;

	if (!json_is_string(log) || (o->since > 0 && when < o->since) ||
	    (o->until > 0 && when > o->until)) {
		json_decref(j);
		return;
	}
	if (o->timestamps)
		fprintf(f, "%s ", t);
	fwrite(json_string_value(log), 1, json_string_length(log), f);
	fflush(f);
	json_decref(j);
}

/* Offsets of the last n lines of f (from its start): where to begin. */
static long tail_offset(FILE *f, long n)
{
	long *ring = calloc((size_t)n + 1, sizeof(long)), off = 0, start = 0;
	size_t count = 0;
	char line[65536];

	if (!ring)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		ring[count++ % ((size_t)n + 1)] = off;
		off = ftell(f);
	}
	if (count > (size_t)n)
		start = ring[(count - (size_t)n) % ((size_t)n + 1)];
	free(ring);
	return n == 0 ? off : start;
}

static bool still_running(struct cmd_ctx *ctx, const struct storage_container *c)
{
	json_t *st = cmd_container_state(ctx, c);
	bool r = json_is_true(json_object_get(st, "Running")) ||
		 json_is_true(json_object_get(st, "Restarting"));

	json_decref(st);
	return r;
}

static int show(struct cmd_ctx *ctx, const struct storage_container *c, const struct logs_opts *o)
{
	char path[PATH_MAX], line[65536];
	cleanup_fclose FILE *f = NULL;
	int idle = 0;

	snprintf(path, sizeof(path), "%s/ctr.log", c->dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : cmd_fail("open %s: %s", path, strerror(errno));
	/* f is closed by its cleanup attribute, which cppcheck does not see. */
	if (o->tail >= 0 && fseek(f, tail_offset(f, o->tail), SEEK_SET) < 0)
		// cppcheck-suppress resourceLeak
		return cmd_fail("seek %s: %s", path, strerror(errno));
	for (;;) {
		long pos = ftell(f);
		if (fgets(line, sizeof(line), f)) {
			/* A record is one write(2); a line without its newline is
			 * still being written: read it again later. */
			if (line[strlen(line) - 1] != '\n' && o->follow) {
				fseek(f, pos, SEEK_SET);
			} else {
				print_record(o, line);
				continue;
			}
		}
		if (!o->follow)
			return 0;
		clearerr(f);
		/* Checking the state costs a file read: every 200 ms is enough. */
		if (++idle % 8 == 0 && !still_running(ctx, c)) {
			while (fgets(line, sizeof(line), f))
				print_record(o, line);
			return 0;
		}
		usleep(25000);
	}
}

int cmd_logs(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, 0, 'f' },      { "timestamps", no_argument, 0, 't' },
		{ "tail", required_argument, 0, 'n' },  { "since", required_argument, 0, 'S' },
		{ "until", required_argument, 0, 'U' }, { "details", no_argument, 0, 'D' },
		{ "help", no_argument, 0, 'h' },        { 0, 0, 0, 0 }
	};
	struct logs_opts o = { .tail = -1 };
	struct storage_container c;
	struct err err = { 0 };
	int opt;

	optind = 1;
	while ((opt = cmd_getopt(ctx, argc, argv, "ftn:h", opts, false)) != -1) {
		switch (opt) {
		case 'f': o.follow = true; break;
		case 't': o.timestamps = true; break;
		case 'D': break;
		case 'n': o.tail = strcmp(optarg, "all") ? strtol(optarg, NULL, 10) : -1; break;
		case 'S':
		case 'U':
			if (parse_when(optarg) < 0)
				return cmd_fail("logs: invalid time \"%s\"", optarg);
			*(opt == 'S' ? &o.since : &o.until) = parse_when(optarg);
			break;
		case 'h': return cmd_help(ctx);
		default: return EXIT_USAGE;
		}
	}
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	if (ctr_find(ctx, argv[optind], &c, &err) < 0)
		return cmd_fail_err(&err);
	return show(ctx, &c, &o);
}
