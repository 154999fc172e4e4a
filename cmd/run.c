/* run: image -> container record -> union mount -> runtime_run -> cleanup. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "cmd/format.h"
#include "cmd/lifecycle.h"
#include "cmd/net_run.h"
#include "cmd/run.h"
#include "image/image.h"
#include "storage/container.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Everything a run owns, released in one place. */
struct run {
	struct run_opts o;
	struct image_config img;
	char image_id[DIGEST_BUF];
	char (*chains)[DIGEST_BUF];
	struct strv env, argv;
	struct run_mounts mounts;
	struct storage_container c;
	bool created, mounted;
	struct runtime_rlimit rlimits[16];
	size_t n_rlimits;
	char hostname[256];
	char files[3][PATH_MAX]; /* hostname, hosts, resolv.conf */
	struct net_run net;
};

static int env_set(struct strv *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < env->n; i++) {
		if (!strncmp(env->v[i], kv, klen) && env->v[i][klen] == '=') {
			char *d = strdup(kv);
			if (!d)
				return -1;
			free(env->v[i]);
			env->v[i] = d;
			return 0;
		}
	}
	return strv_push(env, kv);
}

/* -e KEY without a value takes it from our environment, or is dropped. */
static int env_add_user(struct strv *env, const char *arg)
{
	char buf[8192];
	const char *val;

	if (strchr(arg, '='))
		return env_set(env, arg);
	val = getenv(arg);
	if (!val)
		return 0;
	snprintf(buf, sizeof(buf), "%s=%s", arg, val);
	return env_set(env, buf);
}

static int env_file(struct strv *env, const char *path, struct err *err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	char line[8192];

	if (!f)
		return err_sys(err, errno, "open env file %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (*p == '=')
			return err_set(err, EINVAL, "invalid environment variable in %s: %s", path,
				       p);
		if (env_add_user(env, p) < 0)
			return err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int build_env(struct run *r, struct err *err)
{
	bool has_path = false;

	for (size_t i = 0; r->img.env && r->img.env[i]; i++)
		if (env_set(&r->env, r->img.env[i]) < 0)
			return err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < r->o.env_files.n; i++)
		if (env_file(&r->env, r->o.env_files.v[i], err) < 0)
			return -1;
	for (size_t i = 0; i < r->o.env.n; i++)
		if (env_add_user(&r->env, r->o.env.v[i]) < 0)
			return err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < r->env.n; i++)
		has_path |= !strncmp(r->env.v[i], "PATH=", 5);
	if (!has_path && strv_push(&r->env, DEFAULT_PATH) < 0)
		return err_set(err, ENOMEM, "out of memory");
	return 0;
}

/* Docker's rule: --entrypoint replaces the image's entrypoint and drops its
 * Cmd; arguments after the image replace Cmd. */
static int build_argv(struct run *r, struct err *err)
{
	char **cmd = r->o.n_args ? r->o.args : (r->o.has_entrypoint ? NULL : r->img.cmd);
	int rc = 0;

	if (r->o.has_entrypoint) {
		if (r->o.entrypoint[0])
			rc |= strv_push(&r->argv, r->o.entrypoint);
	} else {
		for (size_t i = 0; r->img.entrypoint && r->img.entrypoint[i]; i++)
			rc |= strv_push(&r->argv, r->img.entrypoint[i]);
	}
	for (int i = 0; cmd && cmd[i] && (r->o.n_args == 0 || i < r->o.n_args); i++)
		rc |= strv_push(&r->argv, cmd[i]);
	if (rc)
		return err_set(err, ENOMEM, "out of memory");
	if (r->argv.n == 0)
		return err_set(err, EINVAL, "no command specified");
	return 0;
}

static const struct {
	const char *name;
	int res;
} ulimit_names[] = {
	{ "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
	{ "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE },     { "nproc", RLIMIT_NPROC },
	{ "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};

static int build_rlimits(struct run *r, struct err *err)
{
	for (size_t i = 0; i < r->o.ulimits.n && i < 16; i++) {
		const char *a = r->o.ulimits.v[i];
		size_t klen = strcspn(a, "=");
		unsigned long long soft, hard;
		int res = -1, n;
		char extra;

		for (size_t k = 0; k < sizeof(ulimit_names) / sizeof(ulimit_names[0]); k++)
			if (strlen(ulimit_names[k].name) == klen &&
			    !strncmp(a, ulimit_names[k].name, klen))
				res = ulimit_names[k].res;
		if (res < 0 || a[klen] != '=')
			return err_set(err, EINVAL, "invalid ulimit: \"%s\"", a);
		n = sscanf(a + klen + 1, "%llu:%llu%c", &soft, &hard, &extra);
		if (n == 1)
			hard = soft;
		else if (n != 2 || soft > hard)
			return err_set(err, EINVAL, "invalid ulimit: \"%s\"", a);
		r->rlimits[r->n_rlimits++] = (struct runtime_rlimit){ res, soft, hard };
	}
	return 0;
}

static int load_image(struct cmd_ctx *ctx, struct run *r, struct err *err)
{
	cleanup_free char *cfg = NULL;
	size_t len = 0;

	if (cmd_resolve_image(ctx, r->o.image, r->image_id, err) < 0)
		return err_set(err, ENOENT, "Unable to find image '%s' locally", r->o.image);
	if (storage_blob_get(&ctx->store, r->image_id, &cfg, &len, err) < 0 ||
	    image_config_parse(cfg, len, &r->img, err) < 0)
		return -1;
	r->chains = calloc(r->img.n_diff_ids + 1, sizeof(*r->chains));
	if (!r->chains || image_chain_ids(r->img.diff_ids, r->img.n_diff_ids, r->chains) < 0)
		return err_set(err, ENOMEM, "chain ids");
	return 0;
}

/* config.json: what was asked, in docker inspect's shape. */
static json_t *container_config(struct cmd_ctx *ctx, struct run *r)
{
	json_t *layers = json_array(), *labels = json_object(), *cfg;
	char created[64];

	for (size_t i = 0; i < r->img.n_diff_ids; i++)
		json_array_append_new(layers, json_string(r->chains[i]));
	for (size_t i = 0; i < r->o.labels.n; i++) {
		char *eq = strchr(r->o.labels.v[i], '=');
		if (eq) {
			*eq = '\0';
			json_object_set_new(labels, r->o.labels.v[i], json_string(eq + 1));
			*eq = '=';
		} else {
			json_object_set_new(labels, r->o.labels.v[i], json_string(""));
		}
	}
	fmt_now(created, sizeof(created));
	cfg = json_pack(
		"{s:s, s:s, s:s, s:s, s:o, s:{s:s?, s:s?, s:o, s:o, s:o, s:s?, s:b, s:b, s:o},"
		" s:{s:b, s:b, s:b, s:s, s:o, s:o, s:b, s:b, s:b}, s:O}",
		"Created", created, "Image", r->image_id, "ImageName", r->o.image, "Driver",
		storage_driver_name(&ctx->store), "Layers", layers, "Config", "Hostname",
		r->o.hostname, "User", r->o.user ? r->o.user : r->img.user, "Env", json_array(),
		"Cmd", json_array(), "Entrypoint", json_null(), "WorkingDir",
		r->o.workdir ? r->o.workdir : r->img.working_dir, "Tty", r->o.tty, "OpenStdin",
		r->o.interactive, "Labels", labels, "HostConfig", "AutoRemove", r->o.rm,
		"Privileged", r->o.privileged, "ReadonlyRootfs", r->o.readonly, "NetworkMode",
		r->o.network ? r->o.network : "none", "CapAdd", json_array(), "CapDrop",
		json_array(), "Init", r->o.init, "NoNewPrivileges", r->o.no_new_privs, "Seccomp",
		r->o.seccomp, "Mounts", r->mounts.json);
	lifecycle_config_add(cfg, &r->o); /* RestartPolicy, GroupAdd (cmd/lifecycle.c) */
	for (size_t i = 0; i < r->env.n; i++)
		json_array_append_new(json_object_get(json_object_get(cfg, "Config"), "Env"),
				      json_string(r->env.v[i]));
	for (size_t i = 0; i < r->argv.n; i++)
		json_array_append_new(json_object_get(json_object_get(cfg, "Config"), "Cmd"),
				      json_string(r->argv.v[i]));
	for (size_t i = 0; i < r->o.cap_add.n; i++)
		json_array_append_new(json_object_get(json_object_get(cfg, "HostConfig"), "CapAdd"),
				      json_string(r->o.cap_add.v[i]));
	for (size_t i = 0; i < r->o.cap_drop.n; i++)
		json_array_append_new(json_object_get(json_object_get(cfg, "HostConfig"),
						      "CapDrop"),
				      json_string(r->o.cap_drop.v[i]));
	return cfg;
}

static int write_etc_file(struct run *r, int idx, const char *name, const char *data,
			  struct err *err)
{
	int dfd;
	int rc;

	snprintf(r->files[idx], sizeof(r->files[idx]), "%s/%s", r->c.dir, name);
	dfd = open(r->c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, errno, "open %s", r->c.dir);
	rc = fs_write_file(dfd, name, data, strlen(data), 0644, !r->o.rm, err);
	close(dfd);
	return rc;
}

/* resolv.conf as Docker writes it: the host's, minus loopback resolvers
 * that would be unreachable from the container's network namespace. */
static void resolv_conf(char *out, size_t len, bool host_net)
{
	cleanup_fclose FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512];
	size_t used = 0;
	bool ns = false;

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f) && used + strlen(line) < len) {
		if (!host_net && !strncmp(line, "nameserver", 10) &&
		    (strstr(line, " 127.") || strstr(line, " ::1")))
			continue;
		ns |= !strncmp(line, "nameserver", 10);
		used += (size_t)snprintf(out + used, len - used, "%s", line);
	}
	if (!ns && used + 64 < len)
		snprintf(out + used, len - used, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

static int write_etc_files(struct run *r, bool host_net, struct err *err)
{
	char hosts[1024], resolv[4096];

	snprintf(r->hostname, sizeof(r->hostname), "%s", r->o.hostname ? r->o.hostname : r->c.id);
	if (!r->o.hostname)
		r->hostname[12] = '\0';
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		 "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
		 "ff02::2\tip6-allrouters\n");
	resolv_conf(resolv, sizeof(resolv), host_net);
	char hn[300];
	snprintf(hn, sizeof(hn), "%s\n", r->hostname);
	if (write_etc_file(r, 0, "hostname", hn, err) < 0 ||
	    write_etc_file(r, 1, "hosts", hosts, err) < 0 ||
	    write_etc_file(r, 2, "resolv.conf", resolv, err) < 0)
		return -1;
	return 0;
}

static int on_created(pid_t pid, void *data, struct err *err)
{
	struct cmd_ctx *ctx = ((void **)data)[0];
	struct run *r = ((void **)data)[1];
	char now[64];
	json_t *st;
	int rc;

	fmt_now(now, sizeof(now));
	st = json_pack("{s:s, s:b, s:i, s:s, s:s, s:i}", "Status", "running", "Running", 1, "Pid",
		       (int)pid, "StartedAt", now, "FinishedAt", "0001-01-01T00:00:00Z", "ExitCode",
		       0);
	rc = storage_container_set_state(&ctx->store, &r->c, st, err);
	net_run_started(ctx, &r->net, pid);
	json_decref(st);
	return rc;
}

static void record_exit(struct cmd_ctx *ctx, struct run *r, int code, const char *error)
{
	char now[64];
	struct err e = { 0 };
	json_t *st;

	fmt_now(now, sizeof(now));
	st = json_pack("{s:s, s:b, s:i, s:s, s:i, s:s}", "Status", "exited", "Running", 0, "Pid", 0,
		       "FinishedAt", now, "ExitCode", code, "Error", error ? error : "");
	if (storage_container_set_state(&ctx->store, &r->c, st, &e) < 0)
		log_warn("%s", e.msg);
	json_decref(st);
}

static void fill_spec(struct run *r, struct runtime_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->rootfs = r->c.merged;
	sp->readonly_rootfs = r->o.readonly;
	sp->mounts = r->mounts.m;
	sp->n_mounts = r->mounts.n;
	sp->hostname_path = r->files[0];
	sp->hosts_path = r->files[1];
	sp->resolv_path = r->files[2];
	sp->argv = r->argv.v;
	sp->env = r->env.v;
	sp->cwd = r->o.workdir ?
			  (char *)r->o.workdir :
			  (r->img.working_dir && r->img.working_dir[0] ? r->img.working_dir : "/");
	sp->user = r->o.user ? (char *)r->o.user :
			       (r->img.user && r->img.user[0] ? r->img.user : NULL);
	sp->add_groups = r->o.group_add.v;
	sp->terminal = r->o.tty;
	sp->interactive = r->o.interactive;
	sp->init = r->o.init;
	sp->hostname = r->hostname;
	net_run_spec(&r->net, sp);
	sp->userns = r->o.userns;
	sp->uidmap = r->o.uidmap;
	sp->gidmap = r->o.gidmap;
	sp->privileged = r->o.privileged;
	sp->cap_add = r->o.cap_add.v;
	sp->cap_drop = r->o.cap_drop.v;
	sp->no_new_privs = r->o.no_new_privs;
	sp->seccomp = r->o.seccomp && !r->o.privileged;
	sp->rlimits = r->rlimits;
	sp->n_rlimits = r->n_rlimits;
	r->o.res.cgroup_name = r->c.id;
	sp->resources = &r->o.res;
}

static int prepare(struct cmd_ctx *ctx, struct run *r, struct err *err)
{
	json_t *cfg;
	int rc;

	if (cmd_store(ctx, err) < 0 || load_image(ctx, r, err) < 0 || build_env(r, err) < 0 ||
	    build_argv(r, err) < 0 || build_rlimits(r, err) < 0 ||
	    run_mounts_build(ctx, &r->o, r->img.volumes, &r->mounts, err) < 0)
		return -1;
	cfg = container_config(ctx, r);
	if (!cfg)
		return err_set(err, ENOMEM, "out of memory");
	run_resources_to_json(&r->o.res, json_object_get(cfg, "HostConfig"));
	if (net_config_add(cfg, &r->o, err) < 0) {
		json_decref(cfg);
		return -1;
	}
	rc = storage_container_create(&ctx->store, r->o.name, r->image_id, cfg, &r->c, err);
	json_decref(cfg);
	if (rc < 0)
		return -1;
	r->created = true;
	char **chain_ptrs = calloc(r->img.n_diff_ids + 1, sizeof(char *));
	if (!chain_ptrs)
		return err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < r->img.n_diff_ids; i++)
		chain_ptrs[i] = r->chains[i];
	rc = storage_container_mount(&ctx->store, &r->c, chain_ptrs, r->img.n_diff_ids, err);
	free(chain_ptrs);
	if (rc < 0)
		return -1;
	r->mounted = true;
	return run_mounts_copy_up(ctx, &r->mounts, r->c.merged, err) < 0 ||
			       write_etc_files(r, r->o.network && !strcmp(r->o.network, "host"),
					       err) < 0 ||
			       net_run_prepare(ctx, &r->net, &r->c, r->hostname, r->files[1],
					       r->files[2], err) < 0 ?
		       -1 :
		       0;
}

/* After the process: unmount always; remove the record with --rm. */
static void finish(struct cmd_ctx *ctx, struct run *r)
{
	struct err e = { 0 };

	if (r->mounted && storage_container_umount(&ctx->store, &r->c, &e) < 0)
		log_warn("%s", e.msg);
	if (r->created && r->o.rm) {
		json_t *cfg = storage_container_config(&ctx->store, &r->c, &e);
		if (storage_container_delete(&ctx->store, &r->c, &e) < 0)
			fprintf(stderr, "mydocker: %s\n", e.msg);
		if (cfg)
			run_remove_anonymous_volumes(ctx, json_object_get(cfg, "Mounts"));
		json_decref(cfg);
	}
	/* Last: the kernel tears the veth down with the netns meanwhile. */
	net_run_release(ctx, &r->net);
}

static void run_release(struct run *r)
{
	run_opts_release(&r->o);
	image_config_release(&r->img);
	free(r->chains);
	strv_free(&r->env);
	strv_free(&r->argv);
	run_mounts_release(&r->mounts);
}

int cmd_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct run r = { 0 };
	struct runtime_spec spec;
	struct runtime_result res = { 0 };
	struct err err = { 0 };
	void *hook[2] = { ctx, &r };
	char cache_dir[PATH_MAX]; /* <root>/cache: compiled seccomp filters */
	bool done;
	int code;

	code = run_parse(ctx, argc, argv, &r.o, &done);
	if (code || done) {
		run_opts_release(&r.o);
		return code;
	}
	if (prepare(ctx, &r, &err) < 0) {
		code = EXIT_USAGE;
		fprintf(stderr, "mydocker: %s\n", err.msg);
		if (r.created)
			record_exit(ctx, &r, code, err.msg);
		goto out;
	}
	if (r.o.detach || !strcmp(ctx->name, "create")) {
		/* The monitor sets up networking per start (cmd/monitor.c). */
		net_run_release(ctx, &r.net);
		code = lifecycle_after_create(ctx, &r.c, r.o.detach);
		run_release(&r);
		return code;
	}
	fill_spec(&r, &spec);
	if (fs_join(cache_dir, sizeof(cache_dir), ctx->store.root, "cache") == 0)
		spec.cache_dir = cache_dir;
	/* Cgroups of runners that were killed before they could clean up. */
	runtime_cgroup_prune(r.o.res.cgroup_parent, spec.cache_dir);
	spec.on_created = on_created;
	spec.hook_data = hook;
	if (runtime_run(&spec, &res, &err) < 0) {
		code = runtime_exit_code_for(&err);
		fprintf(stderr, "mydocker: %s\n", err.msg);
		record_exit(ctx, &r, code, err.msg);
	} else {
		code = res.exit_code;
		record_exit(ctx, &r, code, NULL);
		run_resources_record_oom(ctx, &r.c, res.oom_killed);
	}
out:
	finish(ctx, &r);
	run_release(&r);
	return code;
}
