/* run_opts: `mydocker run` flags, Docker's names and meanings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/net_run.h"
#include "cmd/run.h"

int strv_push(struct strv *s, const char *str)
{
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(str)))
		return -1;
	s->v[++s->n] = NULL;
	return 0;
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

enum {
	OPT_NAME = 1000,
	OPT_RM,
	OPT_ENV_FILE,
	OPT_TMPFS,
	OPT_ENTRYPOINT,
	OPT_READONLY,
	OPT_NETWORK,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_PRIVILEGED,
	OPT_SECURITY_OPT,
	OPT_ULIMIT,
	OPT_INIT,
	OPT_USERNS,
	OPT_UIDMAP,
	OPT_GIDMAP,
	OPT_GROUP_ADD,
	OPT_HELP,
	OPT_RESTART,
};

static const struct option run_longopts[] = {
	{ "name", required_argument, 0, OPT_NAME },
	{ "rm", no_argument, 0, OPT_RM },
	{ "interactive", no_argument, 0, 'i' },
	{ "tty", no_argument, 0, 't' },
	{ "detach", no_argument, 0, 'd' },
	{ "env", required_argument, 0, 'e' },
	{ "env-file", required_argument, 0, OPT_ENV_FILE },
	{ "volume", required_argument, 0, 'v' },
	{ "tmpfs", required_argument, 0, OPT_TMPFS },
	{ "workdir", required_argument, 0, 'w' },
	{ "user", required_argument, 0, 'u' },
	{ "hostname", required_argument, 0, 'h' },
	{ "entrypoint", required_argument, 0, OPT_ENTRYPOINT },
	{ "read-only", no_argument, 0, OPT_READONLY },
	{ "network", required_argument, 0, OPT_NETWORK },
	{ "net", required_argument, 0, OPT_NETWORK },
	{ "cap-add", required_argument, 0, OPT_CAP_ADD },
	{ "cap-drop", required_argument, 0, OPT_CAP_DROP },
	{ "privileged", no_argument, 0, OPT_PRIVILEGED },
	{ "security-opt", required_argument, 0, OPT_SECURITY_OPT },
	{ "ulimit", required_argument, 0, OPT_ULIMIT },
	{ "init", no_argument, 0, OPT_INIT },
	{ "userns", required_argument, 0, OPT_USERNS },
	{ "uidmap", required_argument, 0, OPT_UIDMAP },
	{ "gidmap", required_argument, 0, OPT_GIDMAP },
	{ "group-add", required_argument, 0, OPT_GROUP_ADD },
	{ "label", required_argument, 0, 'l' },
	NET_RUN_LONGOPTS,
	RUN_RESOURCE_LONGOPTS,
	{ "help", no_argument, 0, OPT_HELP },
	{ "restart", required_argument, 0, OPT_RESTART },
	{ 0, 0, 0, 0 },
};

static const char run_usage[] =
	"Usage:  mydocker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
	"Create and run a new container from an image\n\n"
	"Options:\n"
	"      --cap-add list           Add Linux capabilities\n"
	"  -d, --detach                 Run container in background and print container ID\n"
	"      --restart string         Restart policy: no, on-failure[:N], always, unless-stopped\n"
	"      --cap-drop list          Drop Linux capabilities\n"
	"      --entrypoint string      Overwrite the default ENTRYPOINT of the image\n"
	"  -e, --env list               Set environment variables\n"
	"      --env-file list          Read in a file of environment variables\n"
	"      --gidmap ctr:host:size   GID mapping for a user namespace (implies --userns private)\n"
	"      --group-add list         Add additional groups to join\n"
	"  -h, --hostname string        Container host name\n"
	"      --init                   Run an init inside the container that forwards signals and reaps processes\n"
	"  -i, --interactive            Keep STDIN open\n"
	"  -l, --label list             Set meta data on a container\n"
	"      --name string            Assign a name to the container\n" NET_RUN_USAGE
	"      --privileged             Give extended privileges to this container\n"
	"      --read-only              Mount the container's root filesystem as read only\n"
	"      --rm                     Automatically remove the container and its anonymous volumes when it exits\n"
	"      --security-opt list      no-new-privileges[:true|false], seccomp=unconfined\n"
	"      --tmpfs list             Mount a tmpfs directory (PATH[:OPTIONS])\n"
	"  -t, --tty                    Allocate a pseudo-TTY\n"
	"      --uidmap ctr:host:size   UID mapping for a user namespace (implies --userns private)\n"
	"      --ulimit list            Ulimit options (NAME=SOFT[:HARD])\n"
	"  -u, --user string            Username or UID (format: <name|uid>[:<group|gid>])\n"
	"      --userns string          User namespace: host (default) or private (0 -> 100000, 65536 ids)\n"
	"  -v, --volume list            Bind mount a volume (/host:/ctr[:ro], NAME:/ctr, /ctr)\n"
	"  -w, --workdir string         Working directory inside the container\n"
	"\n" RUN_RESOURCE_USAGE;

/* Docker's --restart values; the monitor applies them. */
static int run_restart_check(struct run_opts *o, const char *v)
{
	char *end;

	if (!strcmp(v, "no") || !strcmp(v, "always") || !strcmp(v, "unless-stopped") ||
	    !strcmp(v, "on-failure") ||
	    (!strncmp(v, "on-failure:", 11) && strtol(v + 11, &end, 10) >= 0 && !*end && v[11])) {
		o->restart = v;
		return 0;
	}
	return cmd_fail(
		"run: invalid restart policy \"%s\": no, on-failure[:N], always or unless-stopped",
		v);
}

static int parse_idmap(const char *s, struct runtime_idmap *m)
{
	unsigned long c, h, n;
	char extra;

	if (sscanf(s, "%lu:%lu:%lu%c", &c, &h, &n, &extra) != 3 || n == 0 || c > UINT32_MAX ||
	    h > UINT32_MAX || n > UINT32_MAX)
		return -1;
	m->container_id = (uint32_t)c;
	m->host_id = (uint32_t)h;
	m->size = (uint32_t)n;
	return 0;
}

static int security_opt(struct run_opts *o, const char *v)
{
	if (!strcmp(v, "no-new-privileges") || !strcmp(v, "no-new-privileges:true") ||
	    !strcmp(v, "no-new-privileges=true"))
		o->no_new_privs = true;
	else if (!strcmp(v, "no-new-privileges:false") || !strcmp(v, "no-new-privileges=false"))
		o->no_new_privs = false;
	else if (!strcmp(v, "seccomp=unconfined") || !strcmp(v, "seccomp:unconfined"))
		o->seccomp = false;
	else if (!strncmp(v, "label", 5) || !strncmp(v, "apparmor", 8))
		; /* no LSM here: accepted and ignored, as docker does without one */
	else
		return cmd_fail("run: invalid --security-opt: \"%s\"", v);
	return 0;
}

static int take_opt(struct run_opts *o, int c, const char *arg)
{
	struct strv *target = NULL;

	switch (c) {
	case 'i': o->interactive = true; return 0;
	case 't': o->tty = true; return 0;
	case 'd': o->detach = true; return 0;
	case OPT_RESTART: return run_restart_check(o, arg);
	case OPT_NAME: o->name = arg; return 0;
	case OPT_RM: o->rm = true; return 0;
	case 'w': o->workdir = arg; return 0;
	case 'u': o->user = arg; return 0;
	case 'h': o->hostname = arg; return 0;
	case OPT_ENTRYPOINT:
		o->entrypoint = arg;
		o->has_entrypoint = true;
		return 0;
	case OPT_READONLY: o->readonly = true; return 0;
	case OPT_NETWORK: o->network = arg; return 0;
	case OPT_PRIVILEGED: o->privileged = true; return 0;
	case OPT_INIT: o->init = true; return 0;
	case OPT_SECURITY_OPT: return security_opt(o, arg);
	case OPT_USERNS:
		if (!strcmp(arg, "host") || !strcmp(arg, ""))
			o->userns = false;
		else if (!strcmp(arg, "private") || !strcmp(arg, "auto"))
			o->userns = true;
		else
			return cmd_fail("run: invalid --userns \"%s\": use host or private", arg);
		return 0;
	case OPT_UIDMAP:
	case OPT_GIDMAP:
		if (parse_idmap(arg, c == OPT_UIDMAP ? &o->uidmap : &o->gidmap) < 0)
			return cmd_fail("run: invalid --%s \"%s\": want ctr:host:size",
					c == OPT_UIDMAP ? "uidmap" : "gidmap", arg);
		o->userns = true;
		return 0;
	case 'e': target = &o->env; break;
	case OPT_ENV_FILE: target = &o->env_files; break;
	case 'v': target = &o->volumes; break;
	case OPT_TMPFS: target = &o->tmpfs; break;
	case OPT_CAP_ADD: target = &o->cap_add; break;
	case OPT_CAP_DROP: target = &o->cap_drop; break;
	case OPT_GROUP_ADD: target = &o->group_add; break;
	case 'l': target = &o->labels; break;
	case OPT_ULIMIT: target = &o->ulimits; break;
	case 'm':
	case 'c':
	case RUN_OPT_RES_FIRST ... RUN_OPT_RES_LAST: return run_resources_opt(&o->res, c, arg);
	default: return net_opts_take(o, c, arg);
	}
	if (strv_push(target, arg) < 0)
		return cmd_fail("out of memory");
	return 0;
}

static int check_caps(struct strv *caps)
{
	for (size_t i = 0; i < caps->n; i++)
		if (strcasecmp(caps->v[i], "ALL") && runtime_cap_valid(caps->v[i]) < 0)
			return cmd_fail("run: unknown capability: \"%s\"", caps->v[i]);
	return 0;
}

int run_parse(struct cmd_ctx *ctx, int argc, char **argv, struct run_opts *o, bool *done)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->seccomp = true;
	*done = false;
	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "itde:v:w:u:h:l:p:m:c:", run_longopts, true)) !=
	       -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == OPT_HELP) {
			if (!strcmp(ctx->name, "create"))
				printf("Usage:  mydocker create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
				       "Create a new container\n\n%s",
				       strstr(run_usage, "Options:"));
			else
				fputs(run_usage, stdout);
			*done = true;
			return 0;
		}
		if (take_opt(o, c, optarg) != 0)
			return EXIT_USAGE;
	}
	if (cmd_nargs(ctx, argc - optind, 1, -1))
		return EXIT_USAGE;
	if (o->userns && !o->uidmap.size)
		o->uidmap = (struct runtime_idmap){ 0, 100000, 65536 };
	if (o->userns && !o->gidmap.size)
		o->gidmap = o->uidmap;
	if (check_caps(&o->cap_add) || check_caps(&o->cap_drop) || run_resources_check(&o->res))
		return EXIT_USAGE;
	o->image = argv[optind];
	o->args = argv + optind + 1;
	o->n_args = argc - optind - 1;
	return 0;
}

void run_opts_release(struct run_opts *o)
{
	struct strv *all[] = { &o->env,      &o->env_files, &o->volumes, &o->tmpfs,  &o->cap_add,
			       &o->cap_drop, &o->group_add, &o->labels,  &o->ulimits };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		strv_free(all[i]);
	net_opts_release(&o->net);
	run_resources_release(&o->res);
}
