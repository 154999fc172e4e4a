/* ctr_spec: the runtime spec of a stored container, rebuilt from its
 * config.json, for start, restart and the monitor (Docker does the same:
 * a container is started from what was recorded at create). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "cmd/lifecycle.h"
#include "base/banned.h"

static int strv_from_json(struct strv *v, json_t *arr)
{
	size_t i;
	json_t *s;

	json_array_foreach (arr, i, s) {
		if (json_is_string(s) && strv_push(v, json_string_value(s)) < 0)
			return -1;
	}
	/* An empty vector is still a NULL-terminated array. */
	if (!v->v && strv_push(v, "") == 0) {
		free(v->v[0]);
		v->v[0] = NULL;
		v->n = 0;
	}
	return 0;
}

static int mounts_from_json(struct ctr_spec *cs, json_t *arr, struct err *err)
{
	size_t i, n = json_array_size(arr);
	json_t *m;

	cs->mounts = calloc(n + 1, sizeof(*cs->mounts));
	if (!cs->mounts)
		return err_set(err, ENOMEM, "out of memory");
	json_array_foreach (arr, i, m) {
		struct runtime_mount *rm = &cs->mounts[cs->n_mounts];
		const char *type = json_string_value(json_object_get(m, "Type")) ?: "";
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *opts = json_string_value(json_object_get(m, "Options"));

		if (!dst)
			continue;
		rm->type = !strcmp(type, "tmpfs") ? RT_MOUNT_TMPFS : RT_MOUNT_BIND;
		rm->readonly = json_is_false(json_object_get(m, "RW"));
		rm->destination = strdup(dst);
		rm->source = src ? strdup(src) : NULL;
		rm->options = opts && *opts ? strdup(opts) : NULL;
		cs->n_mounts++;
		if (!rm->destination || (src && !rm->source) || (opts && *opts && !rm->options))
			return err_set(err, ENOMEM, "out of memory");
		if (rm->type == RT_MOUNT_BIND && !src)
			return err_set(err, EINVAL, "mount %s has no source", dst);
	}
	return 0;
}

/* The hostname written at create (containers/<id>/hostname). */
static void read_hostname(const struct storage_container *c, char *buf, size_t len)
{
	char path[PATH_MAX];
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/hostname", c->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (n <= 0) {
		snprintf(buf, len, "%.12s", c->id);
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void etc_files(const struct storage_container *c, struct ctr_spec *cs)
{
	static const char *const names[3] = { "hostname", "hosts", "resolv.conf" };

	for (int i = 0; i < 3; i++) {
		snprintf(cs->files[i], sizeof(cs->files[i]), "%s/%s", c->dir, names[i]);
		if (access(cs->files[i], F_OK) < 0)
			cs->files[i][0] = '\0';
	}
	cs->spec.hostname_path = cs->files[0][0] ? cs->files[0] : NULL;
	cs->spec.hosts_path = cs->files[1][0] ? cs->files[1] : NULL;
	cs->spec.resolv_path = cs->files[2][0] ? cs->files[2] : NULL;
}

/* "Ulimits": [{"Name": "nofile", "Soft": n, "Hard": n}] (Docker's shape). */
static void rlimits_from_json(struct ctr_spec *cs, json_t *arr)
{
	static const struct {
		const char *name;
		int res;
	} names[] = { { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
		      { "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
		      { "nofile", RLIMIT_NOFILE },     { "nproc", RLIMIT_NPROC },
		      { "stack", RLIMIT_STACK },       { "memlock", RLIMIT_MEMLOCK },
		      { "locks", RLIMIT_LOCKS },       { "sigpending", RLIMIT_SIGPENDING },
		      { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
		      { "rtprio", RLIMIT_RTPRIO },     { "rss", RLIMIT_RSS } };
	size_t i;
	json_t *u;

	json_array_foreach (arr, i, u) {
		const char *n = json_string_value(json_object_get(u, "Name")) ?: "";
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && cs->spec.n_rlimits < 16;
		     k++)
			if (!strcmp(n, names[k].name))
				cs->rlimits[cs->spec.n_rlimits++] = (struct runtime_rlimit){
					names[k].res,
					(uint64_t)json_integer_value(json_object_get(u, "Soft")),
					(uint64_t)json_integer_value(json_object_get(u, "Hard"))
				};
	}
	cs->spec.rlimits = cs->rlimits;
}

static void idmap_from_json(struct runtime_idmap *m, json_t *j)
{
	m->container_id = (uint32_t)json_integer_value(json_object_get(j, "ContainerID"));
	m->host_id = (uint32_t)json_integer_value(json_object_get(j, "HostID"));
	m->size = (uint32_t)json_integer_value(json_object_get(j, "Size"));
}

static char *keep(struct ctr_spec *cs, const char *s)
{
	size_t used = cs->strings ? strlen(cs->strings) + 1 : 0;
	size_t n = strlen(s) + 1;
	char *nb;

	/* Both strings live in one buffer released at once; cwd first. */
	nb = realloc(cs->strings, used + n + 1);
	if (!nb)
		return NULL;
	cs->strings = nb;
	memcpy(nb + used, s, n);
	nb[used + n] = '\0';
	return nb + used;
}

static void flags_from_json(struct ctr_spec *cs, json_t *conf, json_t *host)
{
	struct runtime_spec *sp = &cs->spec;
	const char *net = json_string_value(json_object_get(host, "NetworkMode")) ?: "none";

	sp->readonly_rootfs = json_is_true(json_object_get(host, "ReadonlyRootfs"));
	sp->terminal = json_is_true(json_object_get(conf, "Tty"));
	sp->interactive = json_is_true(json_object_get(conf, "OpenStdin"));
	sp->init = json_is_true(json_object_get(host, "Init"));
	sp->privileged = json_is_true(json_object_get(host, "Privileged"));
	sp->no_new_privs = json_is_true(json_object_get(host, "NoNewPrivileges"));
	sp->seccomp = !json_is_false(json_object_get(host, "Seccomp")) && !sp->privileged;
	sp->netmode = !strcmp(net, "host") ? RT_NET_HOST : RT_NET_NONE;
	if (json_is_object(json_object_get(host, "UIDMap"))) {
		sp->userns = true;
		idmap_from_json(&sp->uidmap, json_object_get(host, "UIDMap"));
		idmap_from_json(&sp->gidmap, json_object_get(host, "GIDMap"));
	}
}

int ctr_spec_build(const struct storage_container *c, json_t *cfg, struct ctr_spec *cs,
		   struct err *err)
{
	json_t *conf = json_object_get(cfg, "Config"), *host = json_object_get(cfg, "HostConfig");
	const char *wd = json_string_value(json_object_get(conf, "WorkingDir"));
	const char *user = json_string_value(json_object_get(conf, "User"));
	struct runtime_spec *sp = &cs->spec;
	char *cwd_copy;

	memset(cs, 0, sizeof(*cs));
	if (strv_from_json(&cs->env, json_object_get(conf, "Env")) < 0 ||
	    strv_from_json(&cs->argv, json_object_get(conf, "Cmd")) < 0 ||
	    strv_from_json(&cs->cap_add, json_object_get(host, "CapAdd")) < 0 ||
	    strv_from_json(&cs->cap_drop, json_object_get(host, "CapDrop")) < 0 ||
	    strv_from_json(&cs->groups, json_object_get(host, "GroupAdd")) < 0)
		return err_set(err, ENOMEM, "out of memory");
	if (cs->argv.n == 0)
		return err_set(err, EINVAL, "container %.12s has no command", c->id);
	if (mounts_from_json(cs, json_object_get(cfg, "Mounts"), err) < 0)
		return -1;
	cwd_copy = keep(cs, wd && *wd ? wd : "/");
	if (!cwd_copy)
		return err_set(err, ENOMEM, "out of memory");
	sp->user = user && *user ? keep(cs, user) : NULL;
	sp->cwd = cs->strings; /* realloc may have moved it: first string */
	sp->rootfs = (char *)c->merged;
	sp->mounts = cs->mounts;
	sp->n_mounts = cs->n_mounts;
	sp->argv = cs->argv.v;
	sp->env = cs->env.v;
	sp->cap_add = cs->cap_add.v;
	sp->cap_drop = cs->cap_drop.v;
	sp->add_groups = cs->groups.n ? cs->groups.v : NULL;
	read_hostname(c, cs->hostname, sizeof(cs->hostname));
	sp->hostname = cs->hostname;
	etc_files(c, cs);
	flags_from_json(cs, conf, host);
	rlimits_from_json(cs, json_object_get(host, "Ulimits"));
	return 0;
}

void ctr_spec_release(struct ctr_spec *cs)
{
	strv_free(&cs->env);
	strv_free(&cs->argv);
	strv_free(&cs->cap_add);
	strv_free(&cs->cap_drop);
	strv_free(&cs->groups);
	for (size_t i = 0; i < cs->n_mounts; i++) {
		free(cs->mounts[i].source);
		free(cs->mounts[i].destination);
		free(cs->mounts[i].options);
	}
	free(cs->mounts);
	free(cs->strings);
	memset(cs, 0, sizeof(*cs));
}
