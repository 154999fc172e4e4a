/* rt_harness: drives runtime_run without the store, for tests/integration/runtime.bats.
 *
 * rt_harness [-t|--tty] [-i] [--ro] [--user U] [--bind SRC:DST[:ro]] [--tmpfs DST]
 *            [--cap-add X] [--cap-drop X] [--seccomp 0|1] [--userns] [--init]
 *            [--hostname H] [-w DIR] [-e K=V] [--net none|host] [--privileged]
 *            [--no-new-privs] [--hosts FILE] [--hook-fail] ROOTFS CMD...
 * --hook-fail: an on_created hook that fails, to test the parent's unwinding.
 * Exits with the container's code, or 125/126/127 with one line on stderr. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "base/banned.h"

#define MAX_ITEMS 32

struct harness {
	struct runtime_spec spec;
	struct runtime_mount mounts[MAX_ITEMS];
	char *env[MAX_ITEMS + 1], *cap_add[MAX_ITEMS + 1], *cap_drop[MAX_ITEMS + 1];
	size_t n_env, n_add, n_drop;
};

static const struct option opts[] = {
	{ "tty", no_argument, NULL, 't' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "ro", no_argument, NULL, 'r' },
	{ "user", required_argument, NULL, 'u' },
	{ "bind", required_argument, NULL, 'b' },
	{ "tmpfs", required_argument, NULL, 'T' },
	{ "cap-add", required_argument, NULL, 'A' },
	{ "cap-drop", required_argument, NULL, 'D' },
	{ "seccomp", required_argument, NULL, 'S' },
	{ "userns", no_argument, NULL, 'U' },
	{ "init", no_argument, NULL, 'I' },
	{ "hostname", required_argument, NULL, 'h' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "env", required_argument, NULL, 'e' },
	{ "net", required_argument, NULL, 'n' },
	{ "privileged", no_argument, NULL, 'P' },
	{ "no-new-privs", no_argument, NULL, 'N' },
	{ "hosts", required_argument, NULL, 'H' },
	{ "hook-fail", no_argument, NULL, 'F' },
	{ NULL, 0, NULL, 0 },
};

static int failing_hook(pid_t pid, void *data, struct err *err)
{
	(void)data;
	return err_set(err, EPERM, "on_created hook refused container %d", (int)pid);
}

static int usage(void)
{
	fprintf(stderr, "usage: rt_harness [options] ROOTFS CMD...\n");
	return 125;
}

static int add_item(char **list, size_t *n, char *item)
{
	if (*n >= MAX_ITEMS)
		return -1;
	list[(*n)++] = item;
	return 0;
}

/* "SRC:DST[:ro]" */
static int add_bind(struct harness *h, char *arg)
{
	struct runtime_mount *m;
	char *dst = strchr(arg, ':'), *mode;

	if (!dst || h->spec.n_mounts >= MAX_ITEMS)
		return -1;
	*dst++ = '\0';
	mode = strchr(dst, ':');
	if (mode)
		*mode++ = '\0';
	m = &h->mounts[h->spec.n_mounts++];
	m->type = RT_MOUNT_BIND;
	m->source = arg;
	m->destination = dst;
	m->readonly = mode && strcmp(mode, "ro") == 0;
	return 0;
}

static int add_tmpfs(struct harness *h, char *dst)
{
	struct runtime_mount *m;

	if (h->spec.n_mounts >= MAX_ITEMS)
		return -1;
	m = &h->mounts[h->spec.n_mounts++];
	m->type = RT_MOUNT_TMPFS;
	m->destination = dst;
	return 0;
}

static int apply_opt(struct harness *h, int c, char *arg)
{
	struct runtime_spec *s = &h->spec;

	switch (c) {
	case 't': s->terminal = true; return 0;
	case 'i': s->interactive = true; return 0;
	case 'r': s->readonly_rootfs = true; return 0;
	case 'u': s->user = arg; return 0;
	case 'b': return add_bind(h, arg);
	case 'T': return add_tmpfs(h, arg);
	case 'A': return add_item(h->cap_add, &h->n_add, arg);
	case 'D': return add_item(h->cap_drop, &h->n_drop, arg);
	case 'S': s->seccomp = strcmp(arg, "0") != 0; return 0;
	case 'U': s->userns = true; return 0;
	case 'I': s->init = true; return 0;
	case 'h': s->hostname = arg; return 0;
	case 'w': s->cwd = arg; return 0;
	case 'e': return add_item(h->env, &h->n_env, arg);
	case 'n': s->netmode = strcmp(arg, "host") == 0 ? RT_NET_HOST : RT_NET_NONE; return 0;
	case 'P': s->privileged = true; return 0;
	case 'N': s->no_new_privs = true; return 0;
	case 'H': s->hosts_path = arg; return 0;
	case 'F': s->on_created = failing_hook; return 0;
	default: return -1;
	}
}

int main(int argc, char **argv)
{
	static struct harness h;
	static char hostname[64];
	struct runtime_result res;
	struct err err = { 0 };
	int c;

	if (runtime_ensure_sealed_self(argc, argv, &err) < 0) {
		fprintf(stderr, "rt_harness: %s\n", err.msg);
		return 125;
	}
	snprintf(hostname, sizeof(hostname), "rt-%x", (unsigned)getpid());
	h.spec.hostname = hostname;
	h.spec.seccomp = true;
	h.spec.uidmap = (struct runtime_idmap){ 0, 100000, 65536 };
	h.spec.gidmap = (struct runtime_idmap){ 0, 100000, 65536 };
	while ((c = getopt_long(argc, argv, "+tiw:e:u:", opts, NULL)) != -1) {
		if (apply_opt(&h, c, optarg) < 0)
			return usage();
	}
	if (argc - optind < 2)
		return usage();
	h.spec.rootfs = argv[optind];
	h.spec.argv = argv + optind + 1;
	h.spec.mounts = h.mounts;
	h.spec.env = h.env;
	h.spec.cap_add = h.cap_add;
	h.spec.cap_drop = h.cap_drop;
	if (runtime_run(&h.spec, &res, &err) < 0) {
		fprintf(stderr, "rt_harness: %s\n", err.msg);
		return runtime_exit_code_for(&err);
	}
	return res.exit_code;
}
