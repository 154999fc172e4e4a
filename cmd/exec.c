/* exec: run a command in a running container (runtime_exec), with the
 * container's environment, user and security unless flags say otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "cmd/lifecycle.h"
#include "base/banned.h"

struct exec_opts {
	bool detach, interactive, tty, privileged;
	const char *workdir, *user;
	struct strv env;
};

static int exec_parse(struct cmd_ctx *ctx, int argc, char **argv, struct exec_opts *o)
{
	static const struct option opts[] = { { "detach", no_argument, 0, 'd' },
					      { "interactive", no_argument, 0, 'i' },
					      { "tty", no_argument, 0, 't' },
					      { "env", required_argument, 0, 'e' },
					      { "workdir", required_argument, 0, 'w' },
					      { "user", required_argument, 0, 'u' },
					      { "privileged", no_argument, 0, 'P' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "dite:w:u:h", opts, true)) != -1) {
		switch (c) {
		case 'd': o->detach = true; break;
		case 'i': o->interactive = true; break;
		case 't': o->tty = true; break;
		case 'P': o->privileged = true; break;
		case 'w': o->workdir = optarg; break;
		case 'u': o->user = optarg; break;
		case 'e':
			if (strv_push(&o->env, optarg) < 0)
				return cmd_fail("out of memory");
			break;
		case 'h': cmd_help(ctx); return -1;
		default: return EXIT_USAGE;
		}
	}
	return cmd_nargs(ctx, argc - optind, 2, -1) ? EXIT_USAGE : 0;
}

/* -e KEY=V replaces KEY of the container's environment. */
static int merge_env(struct strv *env, const struct strv *add)
{
	for (size_t i = 0; i < add->n; i++) {
		size_t k = strcspn(add->v[i], "=");
		bool done = false;
		if (!add->v[i][k])
			continue; /* KEY alone: from our environment, as docker does */
		for (size_t j = 0; j < env->n && !done; j++) {
			if (!strncmp(env->v[j], add->v[i], k) && env->v[j][k] == '=') {
				char *d = strdup(add->v[i]);
				if (!d)
					return -1;
				free(env->v[j]);
				env->v[j] = d;
				done = true;
			}
		}
		if (!done && strv_push(env, add->v[i]) < 0)
			return -1;
	}
	return 0;
}

static int exec_in(struct cmd_ctx *ctx, const struct storage_container *c, struct exec_opts *o,
		   char **argv, struct err *err)
{
	json_t *st = cmd_container_state(ctx, c), *cfg = NULL;
	pid_t pid = ctr_running_pid(st);
	struct runtime_result res;
	struct ctr_spec cs;
	char cache_dir[PATH_MAX];
	int rc = -1;

	if (!pid || json_is_true(json_object_get(st, "Paused"))) {
		err_set(err, EINVAL,
			pid ? "Container %.12s is paused, unpause the container before exec" :
			      "Container %.12s is not running",
			c->id);
		goto out;
	}
	cfg = storage_container_config(&ctx->store, c, err);
	if (!cfg)
		goto out;
	if (ctr_spec_build(c, cfg, &cs, err) < 0)
		goto release;
	if (merge_env(&cs.env, &o->env) < 0) {
		err_set(err, ENOMEM, "out of memory");
		goto release;
	}
	cs.spec.env = cs.env.v;
	cs.spec.argv = argv;
	/* The compiled seccomp filter, as run keeps it: libseccomp compiling
	 * Docker's profile was half of an exec's CPU time. */
	if (fs_join(cache_dir, sizeof(cache_dir), ctx->store.root, "cache") == 0)
		cs.spec.cache_dir = cache_dir;
	cs.spec.terminal = o->tty;
	cs.spec.interactive = o->interactive;
	if (o->workdir)
		cs.spec.cwd = (char *)o->workdir;
	if (o->user)
		cs.spec.user = (char *)o->user;
	if (o->privileged) {
		cs.spec.privileged = true;
		cs.spec.seccomp = false;
	}
	rc = runtime_exec(pid, &cs.spec, o->detach, &res, err);
	if (rc == 0)
		rc = o->detach ? 0 : res.exit_code;
release:
	ctr_spec_release(&cs);
out:
	json_decref(cfg);
	json_decref(st);
	return rc;
}

int cmd_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct exec_opts o = { 0 };
	struct storage_container c;
	struct err err = { 0 };
	int rc = exec_parse(ctx, argc, argv, &o);

	if (rc) {
		strv_free(&o.env);
		return rc < 0 ? 0 : rc;
	}
	if (ctr_find(ctx, argv[optind], &c, &err) < 0) {
		strv_free(&o.env);
		return cmd_fail_err(&err);
	}
	fflush(stdout);
	rc = exec_in(ctx, &c, &o, argv + optind + 1, &err);
	strv_free(&o.env);
	if (rc < 0) {
		cmd_fail_err(&err);
		return runtime_exit_code_for(&err) ?: EXIT_USAGE;
	}
	return rc;
}
