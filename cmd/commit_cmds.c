/* commit, save, export, history, diff: containers and images back to tars
 * and what changed. The tar and image work is image/'s (save.c,
 * tar_writer.c); here: arguments, output files and the listings. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <jansson.h>

#include "base/banned.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "cmd/cmd.h"
#include "cmd/lifecycle.h"
#include "cmd/format.h"
#include "image/image.h"
#include "storage/container.h"

/* ---- shared ------------------------------------------------------------------ */

/* Bind-mount targets the runtime creates in a container's layer (Docker
 * keeps them in an init layer): never a change of the container's own. */
static const char *const runtime_files[] = { "etc/hostname", "etc/hosts", "etc/resolv.conf", NULL };

static bool is_runtime_file(const char *rel)
{
	for (size_t i = 0; runtime_files[i]; i++) {
		if (strcmp(runtime_files[i], rel) == 0)
			return true;
	}
	return false;
}

static void print_warning(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "WARNING: %s\n", line);
}

/* An output file is written as FILE.tmp and renamed, so a failed or
 * interrupted save never leaves a half archive under the asked name. */
struct out_file {
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int fd;
};

static int out_open(struct out_file *f, const char *path, struct err *err)
{
	f->fd = -1;
	if (!path) {
		if (isatty(STDOUT_FILENO))
			return err_set(err, EINVAL,
				       "cowardly refusing to write an archive to a "
				       "terminal: use -o FILE or redirect stdout");
		f->fd = STDOUT_FILENO;
		f->path[0] = '\0';
		return 0;
	}
	if ((size_t)snprintf(f->path, sizeof(f->path), "%s", path) >= sizeof(f->path) ||
	    (size_t)snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", path) >= sizeof(f->tmp))
		return err_set(err, ENAMETOOLONG, "output path too long");
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0)
		return err_sys(err, errno, "open %s", f->tmp);
	return 0;
}

/* ok: keep (fsync + rename) or drop the temp file. */
static int out_close(struct out_file *f, bool ok, struct err *err)
{
	int rc = 0;

	if (!f->path[0])
		return ok ? 0 : -1;
	if (ok && fsync(f->fd) < 0)
		rc = err_sys(err, errno, "write %s", f->tmp);
	close(f->fd);
	if (ok && rc == 0 && rename(f->tmp, f->path) < 0)
		rc = err_sys(err, errno, "rename %s", f->tmp);
	if (!ok || rc < 0)
		unlink(f->tmp);
	return ok ? rc : -1;
}

static int parse_format(const char *s, enum image_archive_format *f)
{
	if (!strcmp(s, "docker-archive") || !strcmp(s, "docker"))
		*f = IMAGE_ARCHIVE_DOCKER;
	else if (!strcmp(s, "oci-archive") || !strcmp(s, "oci"))
		*f = IMAGE_ARCHIVE_OCI;
	else
		return -1;
	return 0;
}

static int save_to(struct cmd_ctx *ctx, const char *path, const char *const *ids,
		   const char *const *names, size_t n, const struct image_save_opts *o,
		   struct err *err)
{
	struct out_file f;
	bool ok;

	if (out_open(&f, path, err) < 0)
		return -1;
	ok = image_save(&ctx->store, ids, names, n, o, f.fd, err) == 0;
	return out_close(&f, ok, err);
}

/* The container's layer, in a form commit and diff can read. */
static int open_upper(struct cmd_ctx *ctx, const struct storage_container *c, struct err *err)
{
	char p[PATH_MAX + 8];
	int fd;

	/* vfs keeps a full copy of the image in upper, not the changes. */
	if (strcmp(storage_driver_name(&ctx->store), "vfs") == 0)
		return err_set(err, ENOTSUP,
			       "%s: the vfs driver keeps no record of a container's "
			       "changes: use the overlay or aufs driver",
			       ctx->name);
	snprintf(p, sizeof(p), "%s/upper", c->dir);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", p);
	return fd;
}

/* The pid of a running container that is not paused yet, else 0: commit
 * -p freezes it for a consistent layer (docker commit --pause). */
static pid_t container_to_pause(struct cmd_ctx *ctx, const struct storage_container *c)
{
	json_t *st = cmd_container_state(ctx, c);
	pid_t pid = json_is_true(json_object_get(st, "Paused")) ? 0 : ctr_running_pid(st);

	json_decref(st);
	return pid;
}

/* ---- commit -------------------------------------------------------------------- */

/* The container's command as one line, for the history entry. */
static char *created_by(json_t *cfg)
{
	json_t *cmd = json_object_get(json_object_get(cfg, "Config"), "Cmd"), *v;
	char *out = NULL;
	size_t len = 0, i;
	FILE *m = open_memstream(&out, &len);

	if (!m)
		return NULL;
	json_array_foreach (cmd, i, v)
		fprintf(m, "%s%s", i ? " " : "", json_string_value(v) ?: "");
	fclose(m);
	return out;
}

struct commit_args {
	struct image_commit_opts o;
	const char *changes[65];
	size_t n_changes;
	bool pause;
	const char *output;
	char tag[512];
};

static int commit_parse(struct cmd_ctx *ctx, int argc, char **argv, struct commit_args *a)
{
	static const struct option opts[] = { { "author", required_argument, 0, 'a' },
					      { "change", required_argument, 0, 'c' },
					      { "message", required_argument, 0, 'm' },
					      { "pause", optional_argument, 0, 'p' },
					      { "output", required_argument, 0, 'o' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int c;

	a->pause = true;
	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "a:c:m:po:h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx), -1;
		if (c == 'a')
			a->o.author = optarg;
		if (c == 'm')
			a->o.message = optarg;
		if (c == 'o')
			a->output = optarg;
		if (c == 'p')
			a->pause = !optarg || strcmp(optarg, "false") != 0;
		if (c == 'c') {
			if (a->n_changes == 64)
				return cmd_fail("commit: too many --change options");
			a->changes[a->n_changes++] = optarg;
		}
	}
	if (cmd_nargs(ctx, argc - optind, 1, 2))
		return EXIT_USAGE;
	a->o.changes = a->changes;
	return 0;
}

static int commit_tag(int argc, char **argv, struct commit_args *a, struct err *err)
{
	if (argc - optind < 2)
		return 0;
	if (image_ref_normalize(argv[optind + 1], a->tag, sizeof(a->tag), err) < 0)
		return -1;
	if (strchr(a->tag, '@'))
		return err_set(err, EINVAL,
			       "commit: refusing to create a tag with a digest reference");
	a->o.tag = a->tag;
	return 0;
}

int cmd_commit(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct commit_args a = { 0 };
	struct storage_container c;
	struct err err = { 0 };
	cleanup_json json_t *cfg = NULL;
	cleanup_free char *by = NULL;
	cleanup_close int upper = -1;
	char id[DIGEST_BUF];
	pid_t paused;
	int rc = commit_parse(ctx, argc, argv, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (commit_tag(argc, argv, &a, &err) < 0 || cmd_store(ctx, &err) < 0 ||
	    storage_container_lookup(&ctx->store, argv[optind], &c, &err) < 0 ||
	    !(cfg = storage_container_config(&ctx->store, &c, &err)))
		return cmd_fail_err(&err);
	paused = a.pause ? container_to_pause(ctx, &c) : 0;
	if (paused && ctr_freezer_set(c.id, paused, true, &err) < 0)
		return cmd_fail_err(&err);
	if ((upper = open_upper(ctx, &c, &err)) < 0)
		rc = -1;
	by = created_by(cfg);
	a.o.parent_id = c.image_id;
	a.o.created_by = by;
	a.o.skip = runtime_files;
	if (rc == 0)
		rc = image_commit(&ctx->store, upper, &a.o, id, &err);
	if (paused) {
		struct err e2 = { 0 };
		if (ctr_freezer_set(c.id, paused, false, &e2) < 0)
			fprintf(stderr, "mydocker: %s\n", e2.msg);
	}
	if (rc < 0)
		return cmd_fail_err(&err);
	if (a.output) {
		const char *ids[1] = { id }, *names[1] = { a.o.tag };
		struct image_save_opts so = { .format = IMAGE_ARCHIVE_DOCKER,
					      .warn = print_warning };
		if (save_to(ctx, a.output, ids, names, 1, &so, &err) < 0)
			return cmd_fail_err(&err);
	}
	puts(id);
	return 0;
}

/* ---- save ------------------------------------------------------------------------ */

/* A name keeps its tag in the archive; an id saves the image unnamed. */
static int save_arg(struct cmd_ctx *ctx, const char *arg, char id[DIGEST_BUF], char **name,
		    struct err *err)
{
	char norm[512];

	*name = NULL;
	if (image_ref_normalize(arg, norm, sizeof(norm), NULL) == 0 && !strchr(norm, '@') &&
	    storage_ref_lookup(&ctx->store, norm, id) == 0)
		return (*name = strdup(norm)) ? 0 : err_sys(err, ENOMEM, "save");
	return cmd_resolve_image(ctx, arg, id, err);
}

static int save_parse(struct cmd_ctx *ctx, int argc, char **argv, const char **output,
		      struct image_save_opts *o)
{
	static const struct option opts[] = { { "output", required_argument, 0, 'o' },
					      { "format", required_argument, 0, 'f' },
					      { "compress", required_argument, 0, 'z' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "o:h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx), -1;
		if (c == 'o')
			*output = optarg;
		if (c == 'f' && parse_format(optarg, &o->format) < 0)
			return cmd_fail(
				"save: unknown --format %s: use docker-archive or oci-archive",
				optarg);
		if (c == 'z')
			o->compression = optarg;
	}
	return cmd_nargs(ctx, argc - optind, 1, -1);
}

int cmd_save(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct image_save_opts o = { .format = IMAGE_ARCHIVE_DOCKER, .warn = print_warning };
	const char *output = NULL;
	struct err err = { 0 };
	int rc = save_parse(ctx, argc, argv, &output, &o), n;
	cleanup_free char(*ids)[DIGEST_BUF] = NULL;
	cleanup_free char **names = NULL;

	if (rc)
		return rc < 0 ? 0 : rc;
	n = argc - optind;
	ids = calloc((size_t)n, DIGEST_BUF);
	names = calloc((size_t)n, sizeof(*names));
	if (!ids || !names)
		return cmd_fail("save: out of memory");
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	for (int i = 0; i < n && rc == 0; i++)
		rc = save_arg(ctx, argv[optind + i], ids[i], &names[i], &err);
	if (rc == 0) {
		cleanup_free const char **idv = calloc((size_t)n, sizeof(*idv));
		if (!idv)
			rc = err_sys(&err, ENOMEM, "save");
		for (int i = 0; idv && i < n; i++)
			idv[i] = ids[i];
		if (rc == 0)
			rc = save_to(ctx, output, idv, (const char *const *)names, (size_t)n, &o,
				     &err);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	return rc < 0 ? cmd_fail_err(&err) : 0;
}

/* ---- export ------------------------------------------------------------------------- */

/* statx says whether a path is the root of a mount (bind mounts included). */
static bool is_mount_root(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int export_fd(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Mount the union if nobody has: the merged view is what export writes. */
static int export_mount(struct cmd_ctx *ctx, const struct storage_container *c, bool *mounted,
			struct err *err)
{
	cleanup_json json_t *cfg = storage_container_config(&ctx->store, c, err);
	json_t *layers = json_object_get(cfg, "Layers");
	cleanup_free char **chains = NULL;
	size_t n = json_array_size(layers);

	*mounted = false;
	if (!cfg)
		return -1;
	if (is_mount_root(c->merged))
		return 0;
	if (!(chains = calloc(n + 1, sizeof(*chains))))
		return err_sys(err, ENOMEM, "export");
	for (size_t i = 0; i < n; i++) {
		chains[i] = (char *)json_string_value(json_array_get(layers, i));
		if (!chains[i] || !digest_valid(chains[i]))
			return err_set(err, EINVAL,
				       "export: container config has a bad layer list");
	}
	if (storage_container_mount(&ctx->store, c, chains, n, err) < 0)
		return err_prefix(err, "export: mount");
	*mounted = true;
	return 0;
}

static int export_run(struct cmd_ctx *ctx, const struct storage_container *c, const char *path,
		      struct err *err)
{
	struct image_tar_result res;
	struct out_file f;
	cleanup_close int root = -1;
	bool mounted, ok;
	struct err e2 = { 0 };

	if (out_open(&f, path, err) < 0)
		return -1;
	if (export_mount(ctx, c, &mounted, err) < 0)
		return out_close(&f, false, err);
	root = open(c->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		err_sys(err, errno, "export: open %s", c->merged);
	/* The merged view holds no whiteouts: one flat tar, no compression. */
	ok = root >= 0 &&
	     image_layer_write_tar(root, WHITEOUT_OCI, "none", export_fd, &f.fd, &res, err) == 0;
	if (root >= 0)
		close(TAKE_FD(root));
	if (mounted && storage_container_umount(&ctx->store, c, &e2) < 0 && ok) {
		*err = e2;
		ok = false;
	}
	return out_close(&f, ok, err);
}

int cmd_export(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, 0, 'o' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *output = NULL;
	struct storage_container c;
	struct err err = { 0 };
	int ch;

	optind = 1;
	while ((ch = cmd_getopt(ctx, argc, argv, "o:h", opts, false)) != -1) {
		if (ch == '?')
			return EXIT_USAGE;
		if (ch == 'h')
			return cmd_help(ctx);
		output = optarg;
	}
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 ||
	    storage_container_lookup(&ctx->store, argv[optind], &c, &err) < 0 ||
	    export_run(ctx, &c, output, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

/* ---- history ---------------------------------------------------------------------- */

struct hist_opts {
	bool no_trunc, quiet, human;
};

/* Layer sizes, top first, for the history entries that made a layer. */
static long long *layer_sizes(struct cmd_ctx *ctx, const char *id, size_t *n)
{
	json_t *rec = storage_image_record(&ctx->store, id, NULL);
	json_t *layers = json_object_get(rec, "layers");
	long long *v;

	*n = json_array_size(layers);
	v = calloc(*n + 1, sizeof(*v));
	for (size_t i = 0; v && i < *n; i++) {
		struct storage_layer l;
		struct err e;
		const char *chain = json_string_value(json_array_get(layers, *n - 1 - i));
		if (chain && storage_layer_get(&ctx->store, chain, &l, &e) == 0)
			v[i] = l.size;
	}
	json_decref(rec);
	return v;
}

static void hist_row(const struct hist_opts *o, const char *image, json_t *h, long long size)
{
	const char *by = json_string_value(json_object_get(h, "created_by")) ?: "";
	const char *created = json_string_value(json_object_get(h, "created")) ?: "";
	const char *comment = json_string_value(json_object_get(h, "comment")) ?: "";
	char ago[64], sz[32], cut[64];
	time_t t = fmt_parse_time(created);

	if (o->quiet) {
		puts(image);
		return;
	}
	if (o->human)
		t < 0 ? snprintf(ago, sizeof(ago), "N/A") : (fmt_ago(t, ago, sizeof(ago)), 0);
	else
		snprintf(ago, sizeof(ago), "%s", created);
	o->human ? fmt_size(size, sz, sizeof(sz)) : (void)snprintf(sz, sizeof(sz), "%lld", size);
	if (!o->no_trunc && strlen(by) > 45) {
		snprintf(cut, sizeof(cut), "%.44s…", by);
		by = cut;
	}
	printf("%-15s%-24s%-48s%-10s%s\n", image, ago, by, sz, comment);
}

static int history_print(struct cmd_ctx *ctx, const char *id, const struct hist_opts *o,
			 struct err *err)
{
	cleanup_free char *bytes = NULL;
	cleanup_json json_t *cfg = NULL;
	cleanup_free long long *sizes = NULL;
	json_t *hist;
	size_t len, n_sizes, used = 0, n;
	char image[80];

	if (storage_blob_get(&ctx->store, id, &bytes, &len, err) < 0)
		return -1;
	if (!(cfg = json_loadb(bytes, len, 0, NULL)))
		return err_set(err, EIO, "history: image %.19s has a bad config", id);
	sizes = layer_sizes(ctx, id, &n_sizes);
	hist = json_object_get(cfg, "history");
	n = json_array_size(hist);
	if (!o->quiet)
		printf("%-15s%-24s%-48s%-10s%s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE",
		       "COMMENT");
	for (size_t i = n; i-- > 0;) {
		json_t *h = json_array_get(hist, i);
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		long long size = !empty && sizes && used < n_sizes ? sizes[used] : 0;
		used += !empty;
		if (i == n - 1)
			snprintf(image, sizeof(image), "%.*s", o->no_trunc ? 71 : 12,
				 o->no_trunc ? id : digest_hex(id));
		else
			snprintf(image, sizeof(image), "<missing>");
		hist_row(o, image, h, size);
	}
	return 0;
}

int cmd_history(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "no-trunc", no_argument, 0, 'n' },
					      { "quiet", no_argument, 0, 'q' },
					      { "human", required_argument, 0, 'H' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct hist_opts o = { .human = true };
	struct err err = { 0 };
	char id[DIGEST_BUF];
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "qH:h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 'n')
			o.no_trunc = true;
		if (c == 'q')
			o.quiet = true;
		if (c == 'H')
			o.human = strcmp(optarg, "false") != 0;
	}
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 || cmd_resolve_image(ctx, argv[optind], id, &err) < 0 ||
	    history_print(ctx, id, &o, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

/* ---- diff ------------------------------------------------------------------------------- */

struct change {
	char kind; /* 'A', 'C' or 'D' */
	char *path;
};

struct diff {
	enum whiteout_form wf;
	int *lowers; /* layer diff dirs, top first */
	size_t n_lowers;
	struct change *v;
	size_t n, cap;
	char path[PATH_MAX]; /* "/a/b" of the dir being walked, "" for the root */
	struct err *err;
};

static int change_add(struct diff *d, char kind, const char *name)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct change *nv = realloc(d->v, cap * sizeof(*nv));
		if (!nv)
			return err_sys(d->err, ENOMEM, "diff");
		d->v = nv;
		d->cap = cap;
	}
	if (asprintf(&d->v[d->n].path, "%s/%s", d->path, name) < 0)
		return err_sys(d->err, ENOMEM, "diff");
	d->v[d->n++].kind = kind;
	return 0;
}

static bool probe(int layer, const char *dir, const char *name, struct stat *st)
{
	char p[PATH_MAX + 300];
	struct stat ign;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = fs_open_in_root(layer, p, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		return false;
	fstat(fd, st ? st : &ign);
	close(fd);
	return true;
}

static bool dir_opaque(int layer, const char *dir)
{
	char v = 0;
	int fd = fs_open_in_root(layer, dir, O_RDONLY | O_DIRECTORY, 0);
	bool opaque;

	if (fd < 0)
		return false;
	opaque = fgetxattr(fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
	close(fd);
	return opaque;
}

/* Does this layer delete rel or one of its parents, or make a parent
 * opaque? Then the layers below do not count for rel. */
static bool layer_hides(const struct diff *d, int layer, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s", rel);
	for (;;) {
		char *slash = strrchr(p, '/');
		const char *base = slash ? slash + 1 : p, *dir = slash ? p : ".";
		char wh[300];

		if (slash)
			*slash = '\0';
		snprintf(wh, sizeof(wh), ".wh.%s", base);
		if (d->wf == WHITEOUT_OCI &&
		    (probe(layer, dir, wh, NULL) || probe(layer, dir, ".wh..wh..opq", NULL)))
			return true;
		if (d->wf == WHITEOUT_OVERLAY &&
		    ((probe(layer, dir, base, &st) && S_ISCHR(st.st_mode) && st.st_rdev == 0) ||
		     dir_opaque(layer, dir)))
			return true;
		if (!slash)
			return false;
	}
}

/* Docker's rule for an entry of the upper dir: C if the image has it. */
static bool in_lowers(const struct diff *d, const char *rel)
{
	for (size_t i = 0; i < d->n_lowers; i++) {
		struct stat st;
		int fd = fs_open_in_root(d->lowers[i], rel, O_PATH | O_NOFOLLOW, 0);
		if (fd >= 0) {
			bool wh = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0 &&
				  d->wf == WHITEOUT_OVERLAY;
			close(fd);
			return !wh;
		}
		if (layer_hides(d, d->lowers[i], rel))
			return false;
	}
	return false;
}

static int diff_walk(struct diff *d, int dirfd);

static int diff_entry(struct diff *d, int dirfd, const char *name)
{
	struct stat st;
	const char *target = NULL;
	enum {
		OTHER,
		WH,
		META
	} k = OTHER;
	size_t saved = strlen(d->path);
	int rc = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(d->err, errno, "diff: stat %s/%s", d->path, name);
	if (d->wf == WHITEOUT_OVERLAY && S_ISCHR(st.st_mode) && st.st_rdev == 0)
		k = WH;
	if (d->wf == WHITEOUT_OCI && !strncmp(name, ".wh.", 4))
		k = strncmp(name, ".wh..wh.", 8) == 0 ? META : WH;
	if (k == META)
		return 0;
	if (k == WH) {
		if (d->wf == WHITEOUT_OCI)
			target = name + 4;
		return change_add(d, 'D', target ? target : name);
	}
	if ((size_t)snprintf(d->path + saved, sizeof(d->path) - saved, "/%s", name) >=
	    sizeof(d->path) - saved)
		return err_set(d->err, ENAMETOOLONG, "diff: path too long");
	if (is_runtime_file(d->path + 1)) {
		d->path[saved] = '\0';
		return 0;
	}
	bool lower = in_lowers(d, d->path + 1);
	d->path[saved] = '\0';
	rc = change_add(d, lower ? 'C' : 'A', name);
	if (rc == 0 && S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return err_sys(d->err, errno, "diff: open %s/%s", d->path, name);
		snprintf(d->path + saved, sizeof(d->path) - saved, "/%s", name);
		rc = diff_walk(d, fd);
		d->path[saved] = '\0';
		close(fd);
	}
	return rc;
}

static int diff_walk(struct diff *d, int dirfd)
{
	DIR *dir;
	struct dirent *de;
	int fd = dup(dirfd), rc = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return err_sys(d->err, errno, "diff: read %s", d->path[0] ? d->path : "/");
	}
	while (rc == 0 && (de = readdir(dir))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = diff_entry(d, dirfd, de->d_name);
	}
	closedir(dir);
	return rc;
}

static int change_cmp(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

static int diff_lowers(struct cmd_ctx *ctx, const struct storage_container *c, struct diff *d)
{
	cleanup_json json_t *cfg = storage_container_config(&ctx->store, c, d->err);
	json_t *layers = json_object_get(cfg, "Layers");
	size_t n = json_array_size(layers);
	char p[PATH_MAX];

	if (!cfg)
		return -1;
	if (!(d->lowers = calloc(n + 1, sizeof(int))))
		return err_sys(d->err, ENOMEM, "diff");
	for (size_t i = 0; i < n; i++) {
		const char *chain = json_string_value(json_array_get(layers, n - 1 - i));
		if (!chain || !digest_valid(chain) ||
		    storage_layer_diff_path(&ctx->store, chain, p, sizeof(p)) < 0)
			return err_set(d->err, EINVAL,
				       "diff: container config has a bad layer list");
		d->lowers[i] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d->lowers[i] < 0)
			return err_sys(d->err, errno, "diff: open layer %.19s", chain);
		d->n_lowers++;
	}
	return 0;
}

static int diff_run(struct cmd_ctx *ctx, const struct storage_container *c, struct err *err)
{
	struct diff d = { .wf = storage_whiteout_form(&ctx->store), .err = err };
	cleanup_close int upper = open_upper(ctx, c, err);
	int rc = upper < 0 ? -1 : diff_lowers(ctx, c, &d);

	if (rc == 0)
		rc = diff_walk(&d, upper);
	if (rc == 0) {
		/* Docker lists changes sorted by path. */
		if (d.n > 1)
			qsort(d.v, d.n, sizeof(*d.v), change_cmp);
		for (size_t i = 0; i < d.n; i++)
			printf("%c %s\n", d.v[i].kind, d.v[i].path);
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i].path);
	free(d.v);
	for (size_t i = 0; i < d.n_lowers; i++)
		close(d.lowers[i]);
	free(d.lowers);
	return rc;
}

int cmd_diff(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	struct storage_container c;
	struct err err = { 0 };
	int ch;

	optind = 1;
	while ((ch = cmd_getopt(ctx, argc, argv, "h", opts, false)) != -1)
		return ch == '?' ? EXIT_USAGE : cmd_help(ctx);
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 ||
	    storage_container_lookup(&ctx->store, argv[optind], &c, &err) < 0 ||
	    diff_run(ctx, &c, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}
