/* run_mounts: -v, --tmpfs and image VOLUMEs -> runtime mounts and volumes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/run.h"
#include "storage/container.h"

struct vol_spec {
	char src[PATH_MAX], dst[PATH_MAX];
	bool ro, nocopy;
};

/* Docker's -v grammar: /ctr | SRC:/ctr | SRC:/ctr:OPTS. */
static int parse_volume(const char *arg, struct vol_spec *v, struct err *err)
{
	char buf[2 * PATH_MAX + 64], *parts[4] = { 0 }, *save = NULL, *p;
	int n = 0;

	memset(v, 0, sizeof(*v));
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return err_set(err, EINVAL, "invalid volume specification: '%s'", arg);
	for (p = strtok_r(buf, ":", &save); p && n < 4; p = strtok_r(NULL, ":", &save))
		parts[n++] = p;
	if (n == 0 || n > 3 || p)
		return err_set(err, EINVAL, "invalid volume specification: '%s'", arg);
	if (n == 1) {
		snprintf(v->dst, sizeof(v->dst), "%s", parts[0]);
	} else {
		snprintf(v->src, sizeof(v->src), "%s", parts[0]);
		snprintf(v->dst, sizeof(v->dst), "%s", parts[1]);
	}
	for (char *o = n == 3 ? strtok_r(parts[2], ",", &save) : NULL; o;
	     o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "ro"))
			v->ro = true;
		else if (!strcmp(o, "rw"))
			v->ro = false;
		else if (!strcmp(o, "nocopy"))
			v->nocopy = true;
		else if (strcmp(o, "z") && strcmp(o, "Z") && strcmp(o, "rprivate") &&
			 strcmp(o, "private") && strcmp(o, "delegated") && strcmp(o, "cached") &&
			 strcmp(o, "consistent"))
			return err_set(err, EINVAL, "invalid mode: %s", o);
	}
	if (v->dst[0] != '/')
		return err_set(err, EINVAL,
			       "invalid volume specification: '%s': mount path must be absolute",
			       arg);
	if (!strcmp(v->dst, "/"))
		return err_set(err, EINVAL,
			       "invalid volume specification: '%s': destination can't be '/'", arg);
	return 0;
}

static bool dest_taken(const struct run_mounts *rm, const char *dst)
{
	for (size_t i = 0; i < rm->n; i++)
		if (!strcmp(rm->m[i].destination, dst))
			return true;
	return false;
}

static int add_mount(struct run_mounts *rm, enum runtime_mount_type t, const char *src,
		     const char *dst, bool ro, const char *opts, struct err *err)
{
	struct runtime_mount *nm;

	if (dest_taken(rm, dst))
		return err_set(err, EINVAL, "Duplicate mount point: %s", dst);
	nm = realloc(rm->m, (rm->n + 1) * sizeof(*nm));
	if (!nm)
		return err_set(err, ENOMEM, "out of memory");
	rm->m = nm;
	nm = &rm->m[rm->n++];
	memset(nm, 0, sizeof(*nm));
	nm->type = t;
	nm->source = src ? strdup(src) : NULL;
	nm->destination = strdup(dst);
	nm->readonly = ro;
	nm->options = opts ? strdup(opts) : NULL;
	return 0;
}

static int add_volume(struct cmd_ctx *ctx, struct run_mounts *rm, const char *name, const char *dst,
		      bool ro, bool nocopy, struct err *err)
{
	struct storage_volume vol;

	if (storage_volume_create(&ctx->store, name, NULL, name == NULL, &vol, err) < 0)
		return -1;
	if (add_mount(rm, RT_MOUNT_BIND, vol.data, dst, ro, NULL, err) < 0)
		return -1;
	json_array_append_new(rm->json,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "Type",
					"volume", "Name", vol.name, "Source", vol.data,
					"Destination", dst, "Driver", "local", "RW", !ro,
					"Propagation", "", "Anonymous", name == NULL));
	if (vol.created && !nocopy) {
		strv_push(&rm->new_volumes, vol.name);
		strv_push(&rm->new_dests, dst);
	}
	return 0;
}

static int add_bind(struct run_mounts *rm, const struct vol_spec *v, struct err *err)
{
	struct stat st;

	/* Docker's --mount semantics: a missing source is a user error, not
	 * something to create behind the user's back. */
	if (stat(v->src, &st) < 0)
		return err_set(
			err, ENOENT,
			"invalid mount config for type \"bind\": bind source path does not exist: %s",
			v->src);
	if (add_mount(rm, RT_MOUNT_BIND, v->src, v->dst, v->ro, NULL, err) < 0)
		return -1;
	json_array_append_new(rm->json,
			      json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
					v->src, "Destination", v->dst, "Mode", v->ro ? "ro" : "",
					"RW", !v->ro, "Propagation", "rprivate"));
	return 0;
}

static int add_tmpfs(struct run_mounts *rm, const char *arg, struct err *err)
{
	char dst[PATH_MAX];
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);

	if (n == 0 || n >= sizeof(dst) || arg[0] != '/')
		return err_set(err, EINVAL,
			       "invalid tmpfs specification: '%s': path must be absolute", arg);
	memcpy(dst, arg, n);
	dst[n] = '\0';
	if (add_mount(rm, RT_MOUNT_TMPFS, NULL, dst, false, colon ? colon + 1 : NULL, err) < 0)
		return -1;
	json_array_append_new(rm->json,
			      json_pack("{s:s, s:s, s:s, s:b}", "Type", "tmpfs", "Destination", dst,
					"Options", colon ? colon + 1 : "", "RW", true));
	return 0;
}

static int one_volume(struct cmd_ctx *ctx, struct run_mounts *rm, const char *arg, struct err *err)
{
	struct vol_spec v;

	if (parse_volume(arg, &v, err) < 0)
		return -1;
	if (v.src[0] == '\0')
		return add_volume(ctx, rm, NULL, v.dst, v.ro, v.nocopy, err);
	if (v.src[0] == '/')
		return add_bind(rm, &v, err);
	return add_volume(ctx, rm, v.src, v.dst, v.ro, v.nocopy, err);
}

int run_mounts_build(struct cmd_ctx *ctx, const struct run_opts *o, char **image_volumes,
		     struct run_mounts *rm, struct err *err)
{
	memset(rm, 0, sizeof(*rm));
	rm->json = json_array();
	for (size_t i = 0; i < o->volumes.n; i++)
		if (one_volume(ctx, rm, o->volumes.v[i], err) < 0)
			return -1;
	for (size_t i = 0; i < o->tmpfs.n; i++)
		if (add_tmpfs(rm, o->tmpfs.v[i], err) < 0)
			return -1;
	/* The image's VOLUMEs not covered by the user become anonymous volumes. */
	for (size_t i = 0; image_volumes && image_volumes[i]; i++) {
		if (image_volumes[i][0] != '/' || dest_taken(rm, image_volumes[i]))
			continue;
		if (add_volume(ctx, rm, NULL, image_volumes[i], false, false, err) < 0)
			return -1;
	}
	return 0;
}

int run_mounts_copy_up(struct cmd_ctx *ctx, struct run_mounts *rm, const char *merged,
		       struct err *err)
{
	for (size_t i = 0; i < rm->new_volumes.n; i++) {
		struct storage_volume vol;
		if (storage_volume_get(&ctx->store, rm->new_volumes.v[i], &vol, err) < 0 ||
		    storage_volume_copy_up(merged, rm->new_dests.v[i], &vol, err) < 0)
			return -1;
	}
	return 0;
}

void run_mounts_release(struct run_mounts *rm)
{
	for (size_t i = 0; i < rm->n; i++) {
		free(rm->m[i].source);
		free(rm->m[i].destination);
		free(rm->m[i].options);
	}
	free(rm->m);
	json_decref(rm->json);
	strv_free(&rm->new_volumes);
	strv_free(&rm->new_dests);
	memset(rm, 0, sizeof(*rm));
}

void run_remove_anonymous_volumes(struct cmd_ctx *ctx, json_t *mounts)
{
	size_t i;
	json_t *m;

	json_array_foreach (mounts, i, m) {
		struct err e = { 0 };
		const char *name = json_string_value(json_object_get(m, "Name"));
		if (name && json_is_true(json_object_get(m, "Anonymous")))
			if (storage_volume_remove(&ctx->store, name, true, &e) < 0)
				fprintf(stderr, "mydocker: %s\n", e.msg);
	}
}
