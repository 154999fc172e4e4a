/* ps: list containers (filters, --format, -n/-l), rm, container inspect and
 * the `container` command family. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/format.h"
#include "cmd/lifecycle.h"
#include "cmd/net_run.h"
#include "base/banned.h"

json_t *cmd_container_inspect(struct cmd_ctx *ctx, const struct storage_container *c,
			      struct err *err)
{
	json_t *cfg = storage_container_config(&ctx->store, c, err), *args, *cmd, *st;
	char log[PATH_MAX];

	if (!cfg)
		return NULL;
	cmd = json_object_get(json_object_get(cfg, "Config"), "Cmd");
	args = json_array();
	for (size_t i = 1; i < json_array_size(cmd); i++)
		json_array_append(args, json_array_get(cmd, i));
	st = cmd_container_state(ctx, c);
	snprintf(log, sizeof(log), "%s/ctr.log", c->dir);
	json_object_set_new(cfg, "Id", json_string(c->id));
	json_object_set_new(cfg, "Name", json_pack("s++", "/", c->name, ""));
	json_object_set_new(cfg, "Path", json_incref(json_array_get(cmd, 0)) ?: json_string(""));
	json_object_set_new(cfg, "Args", args);
	json_object_set_new(cfg, "RestartCount",
			    json_incref(json_object_get(st, "RestartCount")) ?: json_integer(0));
	json_object_set_new(cfg, "LogPath", json_string(log));
	json_object_set_new(cfg, "State", st);
	json_object_set_new(cfg, "GraphDriver",
			    json_pack("{s:s, s:{s:s}}", "Name", storage_driver_name(&ctx->store),
				      "Data", "MergedDir", c->merged));
	if (!json_object_get(cfg, "NetworkSettings"))
		json_object_set_new(cfg, "NetworkSettings",
				    json_pack("{s:O?}", "Ports",
					      json_object_get(json_object_get(cfg, "HostConfig"),
							      "PortBindings")));
	return cfg;
}

/* ---- ps ------------------------------------------------------------------------- */

struct ps_opts {
	bool all, quiet, no_trunc;
	long last;
	const char *format;
	struct strv filters;
};

static void since(const char *t, char *buf, size_t len)
{
	char *ago;

	fmt_ago(fmt_parse_time(t), buf, len);
	ago = strstr(buf, " ago");
	if (ago)
		*ago = '\0';
}

static void status_text(json_t *st, char *buf, size_t len)
{
	const char *s = ctr_status(st);
	char d[64];

	if (!strcmp(s, "running") || !strcmp(s, "paused")) {
		since(json_string_value(json_object_get(st, "StartedAt")) ?: "", d, sizeof(d));
		snprintf(buf, len, "Up %s%s", d, !strcmp(s, "paused") ? " (Paused)" : "");
	} else if (!strcmp(s, "created")) {
		snprintf(buf, len, "Created");
	} else {
		fmt_ago(fmt_parse_time(json_string_value(json_object_get(st, "FinishedAt")) ?: ""),
			d, sizeof(d));
		snprintf(buf, len, "%s (%d) %s", !strcmp(s, "restarting") ? "Restarting" : "Exited",
			 (int)json_integer_value(json_object_get(st, "ExitCode")), d);
	}
}

static void command_text(json_t *cfg, char *buf, size_t len, bool no_trunc)
{
	json_t *cmd = json_object_get(json_object_get(cfg, "Config"), "Cmd"), *v;
	size_t used = 0, i;

	buf[0] = '\0';
	json_array_foreach (cmd, i, v) {
		if (used >= len)
			break;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "",
					 json_string_value(v) ?: "");
	}
	if (!no_trunc && strlen(buf) > 20)
		snprintf(buf + 19, len - 19, "…");
}

static json_t *ps_object(const struct storage_container *c, json_t *cfg, json_t *st, bool no_trunc)
{
	char status[128], command[512], created[64], id[65];

	status_text(st, status, sizeof(status));
	command_text(cfg, command, sizeof(command), no_trunc);
	fmt_ago(fmt_parse_time(json_string_value(json_object_get(cfg, "Created")) ?: ""), created,
		sizeof(created));
	snprintf(id, sizeof(id), "%.*s", no_trunc ? 64 : 12, c->id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O?}", "ID", id, "Image",
			 json_string_value(json_object_get(cfg, "ImageName")) ?: "", "Command",
			 command, "CreatedAt",
			 json_string_value(json_object_get(cfg, "Created")) ?: "", "RunningFor",
			 created, "Status", status, "State", ctr_status(st), "Names", c->name,
			 "Ports", "", "Labels",
			 json_object_get(json_object_get(cfg, "Config"), "Labels"));
}

static bool filter_ok(const struct ps_opts *o, const struct storage_container *c, json_t *cfg,
		      json_t *st)
{
	for (size_t i = 0; i < o->filters.n; i++) {
		const char *f = o->filters.v[i], *v = strchr(f, '=') + 1;
		if (!strncmp(f, "status=", 7) && strcmp(ctr_status(st), v))
			return false;
		if (!strncmp(f, "name=", 5) && !strstr(c->name, v))
			return false;
		if (!strncmp(f, "id=", 3) && strncmp(c->id, v, strlen(v)))
			return false;
		if (!strncmp(f, "label=", 6)) {
			json_t *labels = json_object_get(json_object_get(cfg, "Config"), "Labels");
			char key[256];
			const char *eq = strchr(v, '=');
			snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - v) : (int)strlen(v), v);
			json_t *lv = json_object_get(labels, key);
			if (!lv || (eq && strcmp(json_string_value(lv) ?: "", eq + 1)))
				return false;
		}
	}
	return true;
}

static void ps_print(const struct ps_opts *o, json_t *row)
{
	if (o->quiet) {
		puts(json_string_value(json_object_get(row, "ID")));
		return;
	}
	if (o->format) {
		const char *tmpl = strncmp(o->format, "table ", 6) ? o->format : o->format + 6;
		char *s = fmt_template(tmpl, row);
		puts(s ? s : "");
		free(s);
		return;
	}
#define F(k) (json_string_value(json_object_get(row, k)) ?: "")
	printf("%-14s %-20s %-22s %-16s %-26s %-7s %s\n", F("ID"), F("Image"), F("Command"),
	       F("RunningFor"), F("Status"), F("Ports"), F("Names"));
#undef F
}

struct ps_item {
	struct storage_container c;
	json_t *cfg, *st;
};

static int by_created(const void *a, const void *b)
{
	const struct ps_item *x = a, *y = b;
	const char *cx = json_string_value(json_object_get(x->cfg, "Created")) ?: "";
	const char *cy = json_string_value(json_object_get(y->cfg, "Created")) ?: "";

	return strcmp(cy, cx); /* newest first; RFC 3339 UTC sorts as text */
}

static int ps_collect(struct cmd_ctx *ctx, struct ps_item **out, size_t *n, struct err *err)
{
	char **ids;
	size_t nid, k = 0;
	struct ps_item *items;

	if (cmd_store(ctx, err) < 0 || storage_container_list(&ctx->store, &ids, &nid, err) < 0)
		return -1;
	items = calloc(nid + 1, sizeof(*items));
	for (size_t i = 0; items && i < nid; i++) {
		struct err e = { 0 };
		if (storage_container_lookup(&ctx->store, ids[i], &items[k].c, &e) < 0)
			continue;
		items[k].cfg = storage_container_config(&ctx->store, &items[k].c, &e);
		if (!items[k].cfg)
			continue;
		items[k].st = cmd_container_state(ctx, &items[k].c);
		k++;
	}
	storage_strv_free(ids, nid);
	if (!items)
		return err_set(err, ENOMEM, "out of memory");
	qsort(items, k, sizeof(*items), by_created);
	*out = items;
	*n = k;
	return 0;
}

static int ps_parse(struct cmd_ctx *ctx, int argc, char **argv, struct ps_opts *o)
{
	static const struct option opts[] = {
		{ "all", no_argument, 0, 'a' },          { "quiet", no_argument, 0, 'q' },
		{ "no-trunc", no_argument, 0, 'T' },     { "filter", required_argument, 0, 'f' },
		{ "format", required_argument, 0, 'F' }, { "last", required_argument, 0, 'n' },
		{ "latest", no_argument, 0, 'l' },       { "size", no_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },         { 0, 0, 0, 0 }
	};
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "aqf:n:lsh", opts, false)) != -1) {
		switch (c) {
		case 'a': o->all = true; break;
		case 'q': o->quiet = true; break;
		case 'T': o->no_trunc = true; break;
		case 's': break;
		case 'F': o->format = optarg; break;
		case 'n':
			o->last = strtol(optarg, NULL, 10);
			o->all = true;
			break;
		case 'l':
			o->last = 1;
			o->all = true;
			break;
		case 'f':
			if (!strchr(optarg, '=') ||
			    (strncmp(optarg, "status=", 7) && strncmp(optarg, "name=", 5) &&
			     strncmp(optarg, "id=", 3) && strncmp(optarg, "label=", 6)))
				return cmd_fail(
					"ps: invalid filter \"%s\" (status=, name=, id=, label=)",
					optarg);
			if (!strncmp(optarg, "status=", 7))
				o->all = true;
			if (strv_push(&o->filters, optarg) < 0)
				return cmd_fail("out of memory");
			break;
		case 'h': cmd_help(ctx); return -1;
		default: return EXIT_USAGE;
		}
	}
	return cmd_nargs(ctx, argc - optind, 0, 0) ? EXIT_USAGE : 0;
}

int cmd_ps(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ps_opts o = { 0 };
	struct ps_item *items = NULL;
	struct err err = { 0 };
	size_t n = 0, shown = 0;
	int rc = ps_parse(ctx, argc, argv, &o);

	if (rc || ps_collect(ctx, &items, &n, &err) < 0) {
		strv_free(&o.filters);
		return rc ? (rc < 0 ? 0 : rc) : cmd_fail_err(&err);
	}
	if (!o.quiet && !o.format)
		printf("%-14s %-20s %-22s %-16s %-26s %-7s %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		const char *s = ctr_status(items[i].st);
		bool up = !strcmp(s, "running") || !strcmp(s, "paused") || !strcmp(s, "restarting");
		if ((o.all || up) && (o.last <= 0 || shown < (size_t)o.last) &&
		    filter_ok(&o, &items[i].c, items[i].cfg, items[i].st)) {
			json_t *row = ps_object(&items[i].c, items[i].cfg, items[i].st, o.no_trunc);
			ps_print(&o, row);
			json_decref(row);
			shown++;
		}
		json_decref(items[i].cfg);
		json_decref(items[i].st);
	}
	free(items);
	strv_free(&o.filters);
	return 0;
}

/* ---- rm --------------------------------------------------------------------------- */

static int rm_one(struct cmd_ctx *ctx, const char *arg, bool force, bool volumes, struct err *err)
{
	struct storage_container c;
	json_t *st, *cfg;
	bool live;
	int rc;

	if (storage_container_lookup(&ctx->store, arg, &c, err) < 0)
		return -1;
	st = cmd_container_state(ctx, &c);
	live = json_is_true(json_object_get(st, "Running")) ||
	       json_is_true(json_object_get(st, "Restarting"));
	json_decref(st);
	if (live && !force)
		return err_set(
			err, EBUSY,
			"cannot remove container \"%s\": container is running: stop the container before removing or force remove",
			arg);
	if (live && ctr_stop(ctx, &c, 0, err) < 0)
		return -1;
	cfg = storage_container_config(&ctx->store, &c, err);
	ctr_freezer_remove(c.id);
	net_container_release(ctx, c.id);
	rc = storage_container_delete(&ctx->store, &c, err);
	if (rc == 0 && volumes && cfg)
		run_remove_anonymous_volumes(ctx, json_object_get(cfg, "Mounts"));
	json_decref(cfg);
	return rc;
}

int cmd_rm(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, 0, 'f' },
					      { "volumes", no_argument, 0, 'v' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	bool force = false, volumes = false;
	struct err err = { 0 };
	int c, rc = 0;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "fvh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		force |= c == 'f';
		volumes |= c == 'v';
	}
	if (cmd_nargs(ctx, argc - optind, 1, -1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	for (int i = optind; i < argc; i++) {
		err_clear(&err);
		if (rm_one(ctx, argv[i], force, volumes, &err) < 0)
			rc = cmd_fail_err(&err);
		else
			puts(argv[i]);
	}
	return rc ? 1 : 0;
}

int cmd_container(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct cmd_sub subs[] = {
		{ "ls", "ps", NULL },           { "list", "ps", NULL },
		{ "ps", "ps", NULL },           { "rm", "rm", NULL },
		{ "remove", "rm", NULL },       { "run", "run", NULL },
		{ "inspect", "inspect", NULL }, { "create", "create", NULL },
		{ "start", "start", NULL },     { "stop", "stop", NULL },
		{ "kill", "kill", NULL },       { "restart", "restart", NULL },
		{ "pause", "pause", NULL },     { "unpause", "unpause", NULL },
		{ "wait", "wait", NULL },       { "logs", "logs", NULL },
		{ "exec", "exec", NULL },       { "top", "top", NULL },
		{ "port", "port", NULL },       { "rename", "rename", NULL },
		{ "attach", "attach", NULL },   { "prune", "container prune", cmd_container_prune },
	};

	return cmd_dispatch(ctx, argc, argv, subs, sizeof(subs) / sizeof(subs[0]));
}
