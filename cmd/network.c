/* network: `mydocker network create|ls|inspect|rm|connect|disconnect|prune`. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "cmd/net_run.h"
#include "base/banned.h"

static bool predefined(const char *name)
{
	return !strcmp(name, "bridge") || !strcmp(name, "host") || !strcmp(name, "none");
}

/* What a new subnet must not overlap: the host's routes, and (for an
 * automatic pick) the store's other networks. */
static int avoid_list(struct cmd_ctx *ctx, bool with_networks, struct ipam_cidr **out, size_t *n,
		      struct err *err)
{
	struct runtime_cidr *routes = NULL;
	char **names = NULL;
	size_t nr = 0, nn = 0;

	if (runtime_net_host_routes(&routes, &nr, err) < 0)
		return -1;
	if (with_networks && storage_network_list(&ctx->store, &names, &nn, err) < 0) {
		free(routes);
		return -1;
	}
	*out = calloc(nr + nn + 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; *out && i < nr; i++)
		(*out)[(*n)++] =
			(struct ipam_cidr){ ntohl(routes[i].addr.s_addr), routes[i].prefix };
	for (size_t i = 0; *out && i < nn; i++) {
		struct storage_network o;
		struct err e = { 0 };
		if (storage_network_get(&ctx->store, names[i], &o, &e) == 0)
			(*out)[(*n)++] = o.subnet;
	}
	free(routes);
	storage_strv_free(names, nn);
	return *out ? 0 : err_set(err, ENOMEM, "out of memory");
}

static int choose_subnet(struct cmd_ctx *ctx, struct ipam_cidr *sub, bool given, struct err *err)
{
	cleanup_free struct ipam_cidr *used = NULL;
	size_t n;

	if (avoid_list(ctx, !given, &used, &n, err) < 0)
		return -1;
	if (!given)
		return ipam_pool_pick(used, n, sub, err);
	for (size_t i = 0; i < n; i++) {
		if (ipam_cidr_overlap(sub, &used[i])) {
			char a[40], b[40];
			ipam_cidr_format(sub, a, sizeof(a));
			ipam_cidr_format(&used[i], b, sizeof(b));
			return err_set(
				err, EEXIST,
				"Pool overlaps with other one on this address space: %s overlaps the host's route %s",
				a, b);
		}
	}
	return 0;
}

static int net_create(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "subnet", required_argument, 0, 's' },
					      { "gateway", required_argument, 0, 'g' },
					      { "driver", required_argument, 0, 'd' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct storage_network n = { 0 };
	const char *subnet = NULL, *gateway = NULL;
	struct err err = { 0 };
	uint32_t gw = 0;
	bool created;
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "s:g:d:h", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		if (c == 's')
			subnet = optarg;
		else if (c == 'g')
			gateway = optarg;
		else if (strcmp(optarg, "bridge"))
			return cmd_fail("network create: only the bridge driver is supported");
	}
	if (cmd_nargs(ctx, argc - optind, 1, 1))
		return EXIT_USAGE;
	snprintf(n.name, sizeof(n.name), "%s", argv[optind]);
	if (predefined(n.name))
		return cmd_fail("network with name %s already exists", n.name);
	if ((subnet && ipam_cidr_parse(subnet, &n.subnet, &err) < 0) ||
	    (gateway && ipam_ip_parse(gateway, &gw, &err) < 0))
		return cmd_fail_err(&err);
	if (gateway && !subnet)
		return cmd_fail("network create: --gateway needs --subnet");
	if (cmd_store(ctx, &err) < 0 || choose_subnet(ctx, &n.subnet, subnet, &err) < 0)
		return cmd_fail_err(&err);
	n.gateway = gw ? gw : n.subnet.addr + 1;
	if (storage_network_create(&ctx->store, &n, &err) < 0)
		return cmd_fail_err(&err);
	if (net_bridge_up(&n, &created, &err) < 0) {
		struct err e2 = { 0 };
		if (storage_network_remove(&ctx->store, n.name, &e2) < 0)
			log_warn("%s", e2.msg);
		return cmd_fail_err(&err);
	}
	puts(n.id);
	return 0;
}

static void ls_row(struct cmd_ctx *ctx, const char *name, bool quiet)
{
	struct storage_network n;
	struct err e = { 0 };
	char id[13] = "";

	if (!strcmp(name, "host") || !strcmp(name, "none")) {
		/* Docker lists them too; they have no record: a stable fake id. */
		snprintf(id, sizeof(id), "%s",
			 !strcmp(name, "host") ? "686f73740000" : "6e6f6e650000");
	} else if (net_lookup(ctx, name, &n, &e) == 0) {
		snprintf(id, sizeof(id), "%.12s", n.id);
	} else {
		return;
	}
	if (quiet)
		printf("%s\n", id);
	else
		printf("%-14s %-20s %-10s %s\n", id, name,
		       strcmp(name, "host") && strcmp(name, "none") ? "bridge" : name, "local");
}

static int net_ls(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "quiet", no_argument, 0, 'q' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct err err = { 0 };
	bool quiet = false;
	char **names;
	size_t n;
	int c;

	optind = 1;
	while ((c = cmd_getopt(ctx, argc, argv, "qh", opts, false)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h')
			return cmd_help(ctx);
		quiet = true;
	}
	if (cmd_nargs(ctx, argc - optind, 0, 0))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	if (!quiet)
		printf("%-14s %-20s %-10s %s\n", "NETWORK ID", "NAME", "DRIVER", "SCOPE");
	ls_row(ctx, "bridge", quiet);
	ls_row(ctx, "host", quiet);
	ls_row(ctx, "none", quiet);
	if (storage_network_list(&ctx->store, &names, &n, &err) < 0)
		return cmd_fail_err(&err);
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], "bridge"))
			ls_row(ctx, names[i], quiet);
	storage_strv_free(names, n);
	return 0;
}

/* Docker's shape: IPAM.Config and Options beside our record. */
static json_t *inspect_one(struct cmd_ctx *ctx, const char *arg, struct err *err)
{
	struct storage_network n;
	json_t *j;

	if (net_lookup(ctx, arg, &n, err) < 0)
		return NULL;
	j = storage_network_json(&ctx->store, n.name, err);
	if (!j)
		return NULL;
	json_object_set_new(j, "Scope", json_string("local"));
	json_object_set_new(j, "IPAM",
			    json_pack("{s:s, s:[{s:O, s:O}]}", "Driver", "default", "Config",
				      "Subnet", json_object_get(j, "Subnet"), "Gateway",
				      json_object_get(j, "Gateway")));
	json_object_set_new(j, "Options",
			    json_pack("{s:s}", "com.docker.network.bridge.name", n.bridge));
	return j;
}

static int net_inspect(struct cmd_ctx *ctx, int argc, char **argv)
{
	json_t *all;
	struct err err = { 0 };
	int rc = 0;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cmd_help(ctx);
	if (cmd_nargs(ctx, argc - 1, 1, -1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	all = json_array();
	for (int i = 1; i < argc; i++) {
		json_t *j = inspect_one(ctx, argv[i], &err);
		if (!j) {
			rc = cmd_fail_err(&err);
			continue;
		}
		json_array_append_new(all, j);
	}
	json_dumpf(all, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(all);
	return rc ? 1 : 0;
}

/* Reap stale endpoints (dead containers) and undo their host side. */
static void reap(struct cmd_ctx *ctx, const char *name)
{
	struct storage_endpoint *stale;
	size_t n;
	struct err e = { 0 };

	if (storage_network_reap(&ctx->store, name, &stale, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		net_endpoint_cleanup(&stale[i]);
	free(stale);
}

static int remove_one(struct cmd_ctx *ctx, const char *arg, struct err *err)
{
	struct storage_network n;
	struct runtime_cidr sub;

	if (predefined(arg))
		return err_set(err, EPERM, "%s is a pre-defined network and cannot be removed",
			       arg);
	if (storage_network_get(&ctx->store, arg, &n, err) < 0)
		return -1;
	reap(ctx, n.name);
	if (storage_network_remove(&ctx->store, n.name, err) < 0)
		return -1;
	net_cidr_to_rt(&n.subnet, &sub);
	if (runtime_nat_network_del(n.bridge, &sub, err) < 0)
		return -1;
	return runtime_net_link_delete(n.bridge, err);
}

static int net_rm(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct err err = { 0 };
	int rc = 0;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cmd_help(ctx);
	if (cmd_nargs(ctx, argc - 1, 1, -1))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0)
		return cmd_fail_err(&err);
	for (int i = 1; i < argc; i++) {
		err_clear(&err);
		if (remove_one(ctx, argv[i], &err) < 0)
			rc = cmd_fail_err(&err);
		else
			puts(argv[i]);
	}
	return rc ? 1 : 0;
}

static int net_prune(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct err err = { 0 };
	char **names;
	size_t n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			puts("Usage:  mydocker network prune [-f]\n\nRemove all unused networks");
			return 0;
		}
		/* -f/--force accepted: there is no prompt */
		if (strcmp(argv[i], "-f") && strcmp(argv[i], "--force"))
			return cmd_fail("network prune: unknown flag: %s", argv[i]);
	}
	if (cmd_store(ctx, &err) < 0 || storage_network_list(&ctx->store, &names, &n, &err) < 0)
		return cmd_fail_err(&err);
	for (size_t i = 0; i < n; i++) {
		struct err e = { 0 };
		if (!predefined(names[i]) && remove_one(ctx, names[i], &e) == 0)
			printf("Deleted Network: %s\n", names[i]);
	}
	storage_strv_free(names, n);
	return 0;
}

/* ---- connect / disconnect ------------------------------------------------------------- */

static pid_t running_pid(struct cmd_ctx *ctx, const struct storage_container *c)
{
	json_t *st = cmd_container_state(ctx, c);
	pid_t pid = json_is_true(json_object_get(st, "Running")) ?
			    (pid_t)json_integer_value(json_object_get(st, "Pid")) :
			    0;

	json_decref(st);
	return pid;
}

/* The next free ethN inside the container. */
static void next_ifname(struct cmd_ctx *ctx, const char *cid, char *buf, size_t len)
{
	char **names;
	size_t n, used = 0;
	struct err e = { 0 };

	if (storage_network_list(&ctx->store, &names, &n, &e) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct storage_endpoint *eps;
			size_t cnt;
			if (storage_network_endpoints(&ctx->store, names[i], &eps, &cnt, &e) < 0)
				continue;
			for (size_t k = 0; k < cnt; k++)
				used += !strcmp(eps[k].container_id, cid);
			free(eps);
		}
		storage_strv_free(names, n);
	}
	snprintf(buf, len, "eth%zu", used);
}

static int connect_running(struct cmd_ctx *ctx, const struct storage_network *n,
			   const struct storage_container *c, pid_t pid, uint32_t ip,
			   struct err *err)
{
	struct net_run nr = { 0 };
	struct storage_endpoint *stale;
	size_t n_stale;
	unsigned int rnd;
	bool created;

	nr.net = *n;
	snprintf(nr.ep.container_id, sizeof(nr.ep.container_id), "%s", c->id);
	snprintf(nr.ep.name, sizeof(nr.ep.name), "%s", c->name);
	snprintf(nr.ep.hostname, sizeof(nr.ep.hostname), "%.12s", c->id);
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return err_sys(err, errno, "getrandom");
	snprintf(nr.ep.host_if, sizeof(nr.ep.host_if), "veth%07x", rnd & 0xfffffff);
	next_ifname(ctx, c->id, nr.ep.ifname, sizeof(nr.ep.ifname));
	nr.ep.ip = ip;
	if (net_bridge_up(n, &created, err) < 0 ||
	    storage_network_alloc(&ctx->store, n->name, &nr.ep, &stale, &n_stale, err) < 0)
		return -1;
	free(stale);
	nr.rn = (struct runtime_net){ .prefix = n->subnet.prefix };
	snprintf(nr.rn.bridge, sizeof(nr.rn.bridge), "%s", n->bridge);
	snprintf(nr.rn.host_if, sizeof(nr.rn.host_if), "%s", nr.ep.host_if);
	snprintf(nr.rn.ifname, sizeof(nr.rn.ifname), "%s", nr.ep.ifname);
	nr.rn.addr.s_addr = htonl(nr.ep.ip);
	nr.rn.gateway.s_addr = htonl(n->gateway);
	memcpy(nr.rn.mac, nr.ep.mac, 6);
	if (runtime_net_attach(&nr.rn, pid, err) < 0 ||
	    storage_network_set_pid(&ctx->store, n->name, c->id, pid, err) < 0) {
		struct err e2 = { 0 };
		if (storage_network_release(&ctx->store, n->name, c->id, NULL, &e2) < 0)
			log_warn("%s", e2.msg);
		return -1;
	}
	net_hosts_refresh(ctx, n);
	return 0;
}

static int net_connect(struct cmd_ctx *ctx, int argc, char **argv, bool connect)
{
	static const struct option opts[] = { { "ip", required_argument, 0, 'i' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	struct storage_network n;
	struct storage_container c;
	struct storage_endpoint ep;
	struct err err = { 0 };
	uint32_t ip = 0;
	pid_t pid;
	int o;

	optind = 1;
	while ((o = cmd_getopt(ctx, argc, argv, "h", opts, false)) != -1) {
		if (o == '?')
			return EXIT_USAGE;
		if (o == 'h')
			return cmd_help(ctx);
		if (ipam_ip_parse(optarg, &ip, &err) < 0)
			return cmd_fail_err(&err);
	}
	if (cmd_nargs(ctx, argc - optind, 2, 2))
		return EXIT_USAGE;
	if (cmd_store(ctx, &err) < 0 || net_lookup(ctx, argv[optind], &n, &err) < 0 ||
	    storage_container_lookup(&ctx->store, argv[optind + 1], &c, &err) < 0)
		return cmd_fail_err(&err);
	if (!connect) {
		int rc = storage_network_release(&ctx->store, n.name, c.id, &ep, &err);
		if (rc < 0)
			return cmd_fail_err(&err);
		if (rc > 0)
			return cmd_fail("container %s is not connected to network %s",
					argv[optind + 1], n.name);
		net_endpoint_cleanup(&ep);
		net_hosts_refresh(ctx, &n);
		return 0;
	}
	pid = running_pid(ctx, &c);
	if (pid <= 0)
		return cmd_fail("container %s is not running", argv[optind + 1]);
	if (connect_running(ctx, &n, &c, pid, ip, &err) < 0)
		return cmd_fail_err(&err);
	return 0;
}

static int net_disconnect(struct cmd_ctx *ctx, int argc, char **argv)
{
	return net_connect(ctx, argc, argv, false);
}

static int net_connect_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
	return net_connect(ctx, argc, argv, true);
}

int cmd_network(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct cmd_sub subs[] = {
		{ "create", NULL, net_create },
		{ "ls", NULL, net_ls },
		{ "list", NULL, net_ls },
		{ "inspect", NULL, net_inspect },
		{ "rm", NULL, net_rm },
		{ "remove", NULL, net_rm },
		{ "prune", NULL, net_prune },
		{ "connect", NULL, net_connect_cmd },
		{ "disconnect", NULL, net_disconnect },
	};

	return cmd_dispatch(ctx, argc, argv, subs, sizeof(subs) / sizeof(subs[0]));
}
