/* images_util: listing, pruning and inspecting images. */
#include "cmd/images_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "cmd/format.h"
#include "image/image.h"
#include "storage/container.h"

int cmd_resolve_image(struct cmd_ctx *ctx, const char *arg, char id[DIGEST_BUF], struct err *err)
{
	char name[512];

	if (image_ref_normalize(arg, name, sizeof(name), NULL) == 0 &&
	    storage_ref_lookup(&ctx->store, name, id) == 0)
		return 0;
	return storage_image_resolve(&ctx->store, arg, id, err);
}

size_t images_names_of(json_t *refs, const char *id, const char **out, size_t max)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	json_object_foreach (refs, key, v) {
		const char *val = json_string_value(v);
		if (!val || strcmp(val, id))
			continue;
		if (out && n < max)
			out[n] = key;
		n++;
	}
	return n;
}

void images_print_untags(struct store *s, const char *id)
{
	json_t *refs = storage_refs_load(s, NULL);
	const char *names[64];
	size_t n = refs ? images_names_of(refs, id, names, 64) : 0;

	for (size_t i = 0; i < n && i < 64; i++)
		printf("Untagged: %s\n", names[i]);
	json_decref(refs);
}

long long images_size(struct store *s, json_t *record)
{
	long long total = 0;
	size_t i;
	json_t *v;

	json_array_foreach (json_object_get(record, "layers"), i, v) {
		struct storage_layer l;
		struct err e = { 0 };
		if (json_string_value(v) && storage_layer_get(s, json_string_value(v), &l, &e) == 0)
			total += l.size;
	}
	return total;
}

struct row {
	char repo[400], tag[130], id[DIGEST_BUF], digest[DIGEST_BUF];
	time_t created;
	long long size;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	return strcmp(x->repo, y->repo);
}

static void split_name(const char *name, struct row *r)
{
	const char *at = strchr(name, '@');
	const char *colon = strrchr(name, ':');

	if (at) {
		snprintf(r->repo, sizeof(r->repo), "%.*s", (int)(at - name), name);
		snprintf(r->tag, sizeof(r->tag), "<none>");
	} else if (colon && !strchr(colon, '/')) {
		snprintf(r->repo, sizeof(r->repo), "%.*s", (int)(colon - name), name);
		snprintf(r->tag, sizeof(r->tag), "%s", colon + 1);
	} else {
		snprintf(r->repo, sizeof(r->repo), "%s", name);
		snprintf(r->tag, sizeof(r->tag), "<none>");
	}
}

static bool row_matches(const struct row *r, const char *filter)
{
	char want[512];
	struct row f;

	if (!filter)
		return true;
	if (image_ref_normalize(filter, want, sizeof(want), NULL) < 0)
		return false;
	split_name(want, &f);
	/* A bare repository argument matches every tag of it. */
	if (!strchr(filter, ':') || strrchr(filter, ':') < strrchr(filter, '/'))
		return strcmp(f.repo, r->repo) == 0;
	return strcmp(f.repo, r->repo) == 0 && strcmp(f.tag, r->tag) == 0;
}

/* Rows for one image: one per name, or one <none> row. */
static size_t image_rows(struct store *s, json_t *refs, const char *id, struct row *rows,
			 size_t max)
{
	const char *names[64];
	size_t n = images_names_of(refs, id, names, 64), out = 0;
	struct err e = { 0 };
	json_t *rec = storage_image_record(s, id, &e);
	cleanup_free char *cfg = NULL;
	json_t *cj = NULL;
	struct row base = { 0 };

	if (!rec)
		return 0;
	snprintf(base.id, sizeof(base.id), "%s", id);
	snprintf(base.digest, sizeof(base.digest), "%s",
		 json_string_value(json_object_get(rec, "manifest")) ?: "<none>");
	base.size = images_size(s, rec);
	if (storage_blob_get(s, id, &cfg, NULL, &e) == 0 && (cj = json_loads(cfg, 0, NULL)))
		base.created = fmt_parse_time(json_string_value(json_object_get(cj, "created")));
	json_decref(cj);
	json_decref(rec);
	for (size_t i = 0; i < n && i < 64 && out < max; i++) {
		rows[out] = base;
		split_name(names[i], &rows[out]);
		out++;
	}
	if (n == 0 && out < max) {
		rows[out] = base;
		snprintf(rows[out].repo, sizeof(rows[out].repo), "<none>");
		snprintf(rows[out].tag, sizeof(rows[out].tag), "<none>");
		out++;
	}
	return out;
}

static void print_row(const struct images_opts *o, const struct row *r)
{
	char size[32], ago[64], id[80];

	fmt_size(r->size, size, sizeof(size));
	fmt_ago(r->created, ago, sizeof(ago));
	snprintf(id, sizeof(id), "%s", o->no_trunc ? r->id : r->id + 7);
	if (!o->no_trunc)
		id[12] = '\0';
	if (o->format) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Repository", r->repo, "Tag",
				      r->tag, "ID", id, "CreatedSince", ago, "Size", size, "Digest",
				      r->digest);
		char *line = fmt_template(o->format, j);
		puts(line ? line : "");
		free(line);
		json_decref(j);
	} else if (o->digests) {
		printf("%-30s %-10s %-71s %-14s %-16s %s\n", r->repo, r->tag, r->digest, id, ago,
		       size);
	} else {
		printf("%-30s %-10s %-14s %-16s %s\n", r->repo, r->tag, id, ago, size);
	}
}

int images_list(struct cmd_ctx *ctx, const struct images_opts *o, struct err *err)
{
	char **ids = NULL;
	size_t n = 0, nrows = 0, cap = 0;
	struct row *rows = NULL;
	json_t *refs = storage_refs_load(&ctx->store, err);

	if (!refs || storage_image_list(&ctx->store, &ids, &n, err) < 0) {
		json_decref(refs);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (nrows + 64 > cap) {
			struct row *nr = realloc(rows, (cap = cap * 2 + 128) * sizeof(*rows));
			if (!nr)
				break;
			rows = nr;
		}
		nrows += image_rows(&ctx->store, refs, ids[i], rows + nrows, cap - nrows);
	}
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), row_cmp);
	if (!o->quiet && !o->format) {
		if (o->digests)
			printf("%-30s %-10s %-71s %-14s %-16s %s\n", "REPOSITORY", "TAG", "DIGEST",
			       "IMAGE ID", "CREATED", "SIZE");
		else
			printf("%-30s %-10s %-14s %-16s %s\n", "REPOSITORY", "TAG", "IMAGE ID",
			       "CREATED", "SIZE");
	}
	for (size_t i = 0; i < nrows; i++) {
		if (!row_matches(&rows[i], o->filter))
			continue;
		if (o->quiet) {
			/* -q prints each image once. */
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = row_matches(&rows[j], o->filter) &&
				       !strcmp(rows[j].id, rows[i].id);
			if (!seen)
				printf("%.*s\n", o->no_trunc ? 71 : 12,
				       o->no_trunc ? rows[i].id : rows[i].id + 7);
		} else {
			print_row(o, &rows[i]);
		}
	}
	free(rows);
	storage_strv_free(ids, n);
	json_decref(refs);
	return 0;
}

int images_prune(struct cmd_ctx *ctx, bool all, struct err *err)
{
	char **ids = NULL;
	size_t n = 0;
	long long freed = 0;
	char size[32];
	json_t *refs = storage_refs_load(&ctx->store, err);
	bool header = false;

	if (!refs || storage_image_list(&ctx->store, &ids, &n, err) < 0) {
		json_decref(refs);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *rec;
		long long sz;
		if ((!all && images_names_of(refs, ids[i], NULL, 0) > 0) ||
		    storage_image_in_use(&ctx->store, ids[i]))
			continue;
		rec = storage_image_record(&ctx->store, ids[i], err);
		sz = rec ? images_size(&ctx->store, rec) : 0;
		json_decref(rec);
		if (!header) {
			puts("Deleted Images:");
			header = true;
		}
		images_print_untags(&ctx->store, ids[i]);
		if (storage_image_delete(&ctx->store, ids[i], err) < 0)
			break;
		printf("deleted: %s\n", ids[i]);
		freed += sz;
	}
	fmt_size(freed, size, sizeof(size));
	printf("%sTotal reclaimed space: %s\n", header ? "\n" : "", size);
	storage_strv_free(ids, n);
	json_decref(refs);
	return err->code ? -1 : 0;
}

static json_t *graph_driver_json(struct store *s, json_t *rec)
{
	json_t *layers = json_object_get(rec, "layers");
	size_t n = json_array_size(layers);
	char *lower = NULL, path[PATH_MAX];
	size_t len = 0;
	json_t *data = json_object();

	/* Docker shows the top layer as UpperDir and the rest as LowerDir. */
	for (size_t i = n; i-- > 0;) {
		const char *c = json_string_value(json_array_get(layers, i));
		if (!c || storage_layer_diff_path(s, c, path, sizeof(path)) < 0)
			continue;
		if (i == n - 1) {
			json_object_set_new(data, "UpperDir", json_string(path));
			continue;
		}
		char *nl = realloc(lower, len + strlen(path) + 2);
		if (!nl)
			break;
		lower = nl;
		len += (size_t)snprintf(lower + len, strlen(path) + 2, "%s%s", len ? ":" : "",
					path);
	}
	if (lower)
		json_object_set_new(data, "LowerDir", json_string(lower));
	free(lower);
	return json_pack("{s:s, s:o}", "Name", storage_driver_name(s), "Data", data);
}

json_t *images_inspect(struct cmd_ctx *ctx, const char *id, struct err *err)
{
	cleanup_free char *cfg = NULL;
	json_t *rec, *cj, *refs, *tags = json_array(), *digests = json_array(), *out;
	const char *names[64];
	size_t n;

	rec = storage_image_record(&ctx->store, id, err);
	if (!rec || storage_blob_get(&ctx->store, id, &cfg, NULL, err) < 0 ||
	    !(cj = json_loads(cfg, 0, NULL))) {
		json_decref(rec);
		json_decref(tags);
		json_decref(digests);
		if (!err->code)
			err_set(err, EIO, "image %s: bad config", id);
		return NULL;
	}
	refs = storage_refs_load(&ctx->store, err);
	n = refs ? images_names_of(refs, id, names, 64) : 0;
	for (size_t i = 0; i < n && i < 64; i++) {
		json_array_append_new(tags, json_string(names[i]));
		if (json_string_value(json_object_get(rec, "manifest"))) {
			char rd[600];
			struct row r;
			split_name(names[i], &r);
			snprintf(rd, sizeof(rd), "%s@%s", r.repo,
				 json_string_value(json_object_get(rec, "manifest")));
			json_array_append_new(digests, json_string(rd));
		}
	}
	out = json_pack(
		"{s:s, s:o, s:o, s:s, s:s, s:O, s:s, s:s, s:O, s:s, s:s, s:I, s:o, s:o, s:o}", "Id",
		id, "RepoTags", tags, "RepoDigests", digests, "Parent", "", "Comment",
		json_string_value(json_object_get(json_array_get(json_object_get(cj, "history"), 0), "comment")) ?:
			"",
		"Created", json_object_get(cj, "created") ?: json_null(), "DockerVersion", "",
		"Author", json_string_value(json_object_get(cj, "author")) ?: "", "Config",
		json_object_get(cj, "config") ?: json_null(), "Architecture",
		json_string_value(json_object_get(cj, "architecture")) ?: "", "Os",
		json_string_value(json_object_get(cj, "os")) ?: "", "Size",
		(json_int_t)images_size(&ctx->store, rec), "GraphDriver",
		graph_driver_json(&ctx->store, rec), "RootFS",
		json_pack("{s:s, s:O}", "Type", "layers", "Layers",
			  json_object_get(json_object_get(cj, "rootfs"), "diff_ids") ?:
										       json_null()),
		"Metadata", json_pack("{s:n}", "LastTagTime"));
	json_decref(refs);
	json_decref(cj);
	json_decref(rec);
	return out;
}
