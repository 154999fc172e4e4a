/* net_run: a container's networking, from config.json to the runtime's
 * veth and back (see cmd/net_run.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <jansson.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/log.h"
#include "cmd/net_run.h"
#include "base/banned.h"

#define HOSTS_MARK "# mydocker network members (rewritten as containers join and leave)\n"

/* ---- flags ----------------------------------------------------------------------- */

int net_opts_take(struct run_opts *o, int c, const char *arg)
{
	struct strv *target;

	switch (c) {
	case NET_OPT_MAC: o->net.mac = arg; return 0;
	case NET_OPT_IP: o->net.ip = arg; return 0;
	case NET_OPT_PUBLISH: target = &o->net.publish; break;
	case NET_OPT_DNS: target = &o->net.dns; break;
	case NET_OPT_DNS_SEARCH: target = &o->net.dns_search; break;
	case NET_OPT_DNS_OPT: target = &o->net.dns_opt; break;
	case NET_OPT_ADD_HOST: target = &o->net.add_host; break;
	default: return EXIT_USAGE;
	}
	if (strv_push(target, arg) < 0)
		return cmd_fail("out of memory");
	return 0;
}

void net_opts_release(struct run_net_opts *n)
{
	strv_free(&n->publish);
	strv_free(&n->dns);
	strv_free(&n->dns_search);
	strv_free(&n->dns_opt);
	strv_free(&n->add_host);
}

static json_t *strv_json(const struct strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned int m[6];
	char extra;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &extra) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (m[i] > 255)
			return -1;
		mac[i] = (unsigned char)m[i];
	}
	/* A multicast MAC cannot be an interface's address. */
	return (mac[0] & 1) ? -1 : 0;
}

static int check_flags(const struct run_opts *o, const char *mode, struct err *err)
{
	bool bridged = strcmp(mode, "none") && strcmp(mode, "host");
	unsigned char mac[6];
	uint32_t ip;

	if (o->net.mac && parse_mac(o->net.mac, mac) < 0)
		return err_set(err, EINVAL, "invalid MAC address: %s", o->net.mac);
	if (o->net.ip && ipam_ip_parse(o->net.ip, &ip, err) < 0)
		return -1;
	if (o->net.ip && (!bridged || !strcmp(mode, STORAGE_NET_DEFAULT)))
		return err_set(
			err, EINVAL,
			"user specified IP address is supported on user defined networks only");
	if (!bridged && o->net.publish.n)
		log_warn("published ports are discarded when using %s network mode", mode);
	for (size_t i = 0; i < o->net.publish.n; i++) {
		struct runtime_port p;
		if (runtime_port_parse(o->net.publish.v[i], &p, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < o->net.dns.n; i++)
		if (ipam_ip_parse(o->net.dns.v[i], &ip, NULL) < 0)
			return err_set(err, EINVAL, "%s is not an ip address", o->net.dns.v[i]);
	for (size_t i = 0; i < o->net.add_host.n; i++) {
		const char *a = o->net.add_host.v[i], *c = strchr(a, ':');
		if (!c || c == a || ipam_ip_parse(c + 1, &ip, NULL) < 0)
			return err_set(
				err, EINVAL,
				"invalid argument \"%s\" for \"--add-host\" flag: want host:ip", a);
	}
	return 0;
}

int net_config_add(json_t *cfg, const struct run_opts *o, struct err *err)
{
	const char *mode = o->network ? o->network : STORAGE_NET_DEFAULT;
	json_t *hc = json_object_get(cfg, "HostConfig"), *c = json_object_get(cfg, "Config");

	if (!strcmp(mode, "default"))
		mode = STORAGE_NET_DEFAULT;
	if (check_flags(o, mode, err) < 0)
		return -1;
	if (!hc || !c)
		return err_set(err, EINVAL, "container config without HostConfig");
	json_object_set_new(hc, "NetworkMode", json_string(mode));
	json_object_set_new(hc, "PortBindings", strv_json(&o->net.publish));
	json_object_set_new(hc, "Dns", strv_json(&o->net.dns));
	json_object_set_new(hc, "DnsSearch", strv_json(&o->net.dns_search));
	json_object_set_new(hc, "DnsOptions", strv_json(&o->net.dns_opt));
	json_object_set_new(hc, "ExtraHosts", strv_json(&o->net.add_host));
	json_object_set_new(c, "MacAddress", json_string(o->net.mac ? o->net.mac : ""));
	json_object_set_new(c, "IPAddress", json_string(o->net.ip ? o->net.ip : ""));
	return 0;
}

/* ---- the default network ---------------------------------------------------------- */

void net_cidr_to_rt(const struct ipam_cidr *c, struct runtime_cidr *out)
{
	out->addr.s_addr = htonl(c->addr);
	out->prefix = c->prefix;
}

/* Subnet of the default network: $MYDOCKER_BRIDGE_SUBNET, else the one
 * mydocker0 already has (shared by every store on the host), else the
 * first of Docker's pools clear of the host's routes. */
static int default_subnet(struct storage_network *n, struct err *err)
{
	const char *env = getenv("MYDOCKER_BRIDGE_SUBNET");
	struct runtime_cidr have, *routes = NULL;
	struct ipam_cidr *used;
	size_t cnt = 0;
	int rc;

	if (env && *env)
		return ipam_cidr_parse(env, &n->subnet, err);
	if (runtime_net_link_addr(n->bridge, &have) == 1) {
		uint32_t a = ntohl(have.addr.s_addr);
		n->subnet.prefix = have.prefix;
		n->subnet.addr = have.prefix ? a & (~0u << (32 - have.prefix)) : 0;
		n->gateway = a;
		return 0;
	}
	if (runtime_net_host_routes(&routes, &cnt, err) < 0)
		return -1;
	used = calloc(cnt + 1, sizeof(*used));
	for (size_t i = 0; used && i < cnt; i++)
		used[i] = (struct ipam_cidr){ ntohl(routes[i].addr.s_addr), routes[i].prefix };
	rc = used ? ipam_pool_pick(used, cnt, &n->subnet, err) :
		    err_set(err, ENOMEM, "out of memory");
	free(routes);
	free(used);
	return rc;
}

static int create_default(struct cmd_ctx *ctx, struct storage_network *n, struct err *err)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", STORAGE_NET_DEFAULT);
	snprintf(n->bridge, sizeof(n->bridge), "mydocker0");
	n->is_default = true;
	if (default_subnet(n, err) < 0)
		return -1;
	if (!n->gateway)
		n->gateway = n->subnet.addr + 1;
	if (storage_network_create(&ctx->store, n, err) < 0 && err->code != EEXIST)
		return -1;
	/* EEXIST: a parallel run created it first; use theirs. */
	err_clear(err);
	return storage_network_get(&ctx->store, STORAGE_NET_DEFAULT, n, err);
}

int net_lookup(struct cmd_ctx *ctx, const char *arg, struct storage_network *n, struct err *err)
{
	struct err e = { 0 };

	if (storage_network_get(&ctx->store, arg, n, &e) == 0)
		return 0;
	if (e.code == ENOENT && !strcmp(arg, STORAGE_NET_DEFAULT))
		return create_default(ctx, n, err);
	*err = e;
	return -1;
}

int net_bridge_up(const struct storage_network *n, bool *created, struct err *err)
{
	struct runtime_cidr sub;
	struct in_addr gw = { .s_addr = htonl(n->gateway) };

	if (runtime_net_bridge_ensure(n->bridge, gw, n->subnet.prefix, created, err) < 0)
		return -1;
	if (!*created)
		return 0;
	net_cidr_to_rt(&n->subnet, &sub);
	if (runtime_nat_network_add(n->bridge, &sub, err) < 0) {
		struct err e2 = { 0 };
		runtime_net_link_delete(n->bridge, &e2);
		*created = false;
		return -1;
	}
	return 0;
}

/* ---- endpoints ------------------------------------------------------------------------ */

static size_t ports_from_strings(char (*s)[32], size_t n, struct runtime_port *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char ip[16], proto[4];
		unsigned int hp, cp;
		if (sscanf(s[i], "%15[0-9.]:%u->%u/%3s", ip, &hp, &cp, proto) != 4 || hp > 65535 ||
		    cp > 65535 || inet_pton(AF_INET, ip, &out[k].host_ip) != 1)
			continue;
		out[k].proto = strcmp(proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP;
		out[k].host_port = (uint16_t)hp;
		out[k].ctr_port = (uint16_t)cp;
		k++;
	}
	return k;
}

void net_endpoint_cleanup(const struct storage_endpoint *ep)
{
	struct runtime_port ports[STORAGE_EP_MAX_PORTS];
	size_t n = ports_from_strings((char(*)[32])ep->ports, ep->n_ports, ports);
	struct err e = { 0 };

	runtime_nat_ports_del(ports, n);
	if (ep->host_if[0] && runtime_net_link_delete(ep->host_if, &e) < 0)
		log_warn("%s", e.msg);
}

static void cleanup_stale(struct storage_endpoint *stale, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		log_info("reclaiming %.12s's address on a dead container", stale[i].container_id);
		net_endpoint_cleanup(&stale[i]);
	}
	free(stale);
}

static const char *cfg_str(json_t *cfg, const char *sect, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(cfg, sect), key));
	return v ? v : "";
}

static int endpoint_request(struct net_run *nr, const struct storage_container *c, json_t *cfg,
			    const char *hostname, struct err *err)
{
	json_t *pb = json_object_get(json_object_get(cfg, "HostConfig"), "PortBindings"), *v;
	struct storage_endpoint *ep = &nr->ep;
	unsigned char rnd[4];
	size_t i;

	memset(ep, 0, sizeof(*ep));
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", c->id);
	snprintf(ep->name, sizeof(ep->name), "%s", c->name);
	snprintf(ep->hostname, sizeof(ep->hostname), "%s", hostname);
	snprintf(ep->ifname, sizeof(ep->ifname), "eth0");
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return err_sys(err, errno, "getrandom");
	snprintf(ep->host_if, sizeof(ep->host_if), "veth%02x%02x%02x%x", rnd[0], rnd[1], rnd[2],
		 rnd[3] & 0xf);
	if (cfg_str(cfg, "Config", "MacAddress")[0])
		(void)parse_mac(cfg_str(cfg, "Config", "MacAddress"), ep->mac);
	if (cfg_str(cfg, "Config", "IPAddress")[0] &&
	    ipam_ip_parse(cfg_str(cfg, "Config", "IPAddress"), &ep->ip, err) < 0)
		return -1;
	json_array_foreach (pb, i, v) {
		if (nr->n_ports >= STORAGE_EP_MAX_PORTS)
			return err_set(err, E2BIG, "too many published ports (max %d)",
				       STORAGE_EP_MAX_PORTS);
		if (runtime_port_parse(json_string_value(v) ?: "", &nr->ports[nr->n_ports], err) <
		    0)
			return -1;
		runtime_port_format(&nr->ports[nr->n_ports], ep->ports[ep->n_ports++],
				    sizeof(ep->ports[0]));
		nr->n_ports++;
	}
	return 0;
}

static void fill_rt(struct net_run *nr)
{
	struct runtime_net *rn = &nr->rn;

	memset(rn, 0, sizeof(*rn));
	snprintf(rn->bridge, sizeof(rn->bridge), "%s", nr->net.bridge);
	snprintf(rn->host_if, sizeof(rn->host_if), "%s", nr->ep.host_if);
	snprintf(rn->ifname, sizeof(rn->ifname), "%s", nr->ep.ifname);
	rn->addr.s_addr = htonl(nr->ep.ip);
	rn->gateway.s_addr = htonl(nr->net.gateway);
	rn->prefix = nr->net.subnet.prefix;
	memcpy(rn->mac, nr->ep.mac, 6);
	rn->default_route = true;
}

/* ---- /etc files --------------------------------------------------------------------------- */

static int append_file(const char *path, const char *text, struct err *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return err_sys(err, errno, "write %s", path);
	return 0;
}

/* Own address and --add-host entries, before the member section. */
static int hosts_own(json_t *cfg, const char *path, uint32_t ip, const char *hostname,
		     struct err *err)
{
	json_t *xh = json_object_get(json_object_get(cfg, "HostConfig"), "ExtraHosts"), *v;
	char line[400], a[16];
	size_t i;

	if (ip) {
		ipam_ip_format(ip, a, sizeof(a));
		snprintf(line, sizeof(line), "%s\t%s\n", a, hostname);
		if (append_file(path, line, err) < 0)
			return -1;
	}
	json_array_foreach (xh, i, v) {
		const char *h = json_string_value(v) ?: "", *c = strchr(h, ':');
		if (!c)
			continue;
		snprintf(line, sizeof(line), "%s\t%.*s\n", c + 1, (int)(c - h), h);
		if (append_file(path, line, err) < 0)
			return -1;
	}
	return append_file(path, HOSTS_MARK, err);
}

static void strv_line(char *buf, size_t len, const char *key, json_t *arr)
{
	size_t used = (size_t)snprintf(buf, len, "%s", key), i;
	json_t *v;

	json_array_foreach (arr, i, v)
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, " %s",
						 json_string_value(v));
	if (used < len)
		snprintf(buf + used, len - used, "\n");
}

/* --dns replaces the nameservers, --dns-search and --dns-option the
 * search and options lines; the rest of the file run wrote stays. */
static int resolv_apply(json_t *cfg, const char *path, struct err *err)
{
	json_t *hc = json_object_get(cfg, "HostConfig");
	json_t *dns = json_object_get(hc, "Dns"), *srch = json_object_get(hc, "DnsSearch");
	json_t *opt = json_object_get(hc, "DnsOptions"), *v;
	cleanup_free char *old = NULL;
	char out[8192], line[1024];
	size_t used = 0, i;

	if (!json_array_size(dns) && !json_array_size(srch) && !json_array_size(opt))
		return 0;
	if (fs_read_all(AT_FDCWD, path, &old, NULL, 1 << 20, err) < 0)
		return -1;
	for (char *l = strtok(old, "\n"); l; l = strtok(NULL, "\n")) {
		if ((json_array_size(dns) && !strncmp(l, "nameserver", 10)) ||
		    (json_array_size(srch) &&
		     (!strncmp(l, "search", 6) || !strncmp(l, "domain", 6))) ||
		    (json_array_size(opt) && !strncmp(l, "options", 7)))
			continue;
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s\n", l);
	}
	json_array_foreach (dns, i, v)
		used += (size_t)snprintf(out + used, used < sizeof(out) ? sizeof(out) - used : 0,
					 "nameserver %s\n", json_string_value(v));
	if (json_array_size(srch) && used < sizeof(out)) {
		strv_line(line, sizeof(line), "search", srch);
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s", line);
	}
	if (json_array_size(opt) && used < sizeof(out)) {
		strv_line(line, sizeof(line), "options", opt);
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s", line);
	}
	if (used >= sizeof(out))
		return err_set(err, E2BIG, "resolv.conf too long");
	cleanup_close int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || write(fd, out, used) != (ssize_t)used)
		return err_sys(err, errno, "write %s", path);
	return 0;
}

/* ---- /etc/hosts of the members of user networks -------------------------------------------- */

struct net_members {
	struct storage_network net;
	struct storage_endpoint *eps;
	size_t n;
};

static void members_free(struct net_members *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].eps);
	free(m);
}

/* Live endpoints of every user network of the store. */
static struct net_members *members_load(struct cmd_ctx *ctx, size_t *n)
{
	char **names;
	size_t cnt, k = 0;
	struct err e = { 0 };
	struct net_members *m;

	*n = 0;
	if (storage_network_list(&ctx->store, &names, &cnt, &e) < 0)
		return NULL;
	m = calloc(cnt + 1, sizeof(*m));
	for (size_t i = 0; m && i < cnt; i++) {
		if (storage_network_get(&ctx->store, names[i], &m[k].net, &e) < 0 ||
		    m[k].net.is_default ||
		    storage_network_endpoints(&ctx->store, names[i], &m[k].eps, &m[k].n, &e) < 0)
			continue;
		k++;
	}
	storage_strv_free(names, cnt);
	*n = k;
	return m;
}

static bool on_network(const struct net_members *m, const char *cid)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->eps[i].container_id, cid))
			return true;
	return false;
}

/* Rewrite the part after HOSTS_MARK in place: the file is bind-mounted
 * into the running container, so its inode must stay (no rename). */
static void hosts_rewrite(struct cmd_ctx *ctx, const char *cid, const struct net_members *m,
			  size_t n)
{
	char path[PATH_MAX], a[16];
	cleanup_free char *buf = NULL;
	struct err e = { 0 };
	size_t len, cap;
	char *mark, *out;

	snprintf(path, sizeof(path), "%s/containers/%s/hosts", ctx->store.root, cid);
	if (fs_read_all(AT_FDCWD, path, &buf, &len, 1 << 20, &e) < 0 ||
	    !(mark = strstr(buf, HOSTS_MARK)))
		return;
	cap = (size_t)(mark - buf) + strlen(HOSTS_MARK) + 1;
	out = calloc(1, cap + 65536);
	if (!out)
		return;
	memcpy(out, buf, cap - 1);
	len = cap - 1;
	for (size_t i = 0; i < n; i++) {
		if (!on_network(&m[i], cid))
			continue;
		for (size_t k = 0; k < m[i].n && len + 600 < cap + 65536; k++) {
			const struct storage_endpoint *p = &m[i].eps[k];
			if (!strcmp(p->container_id, cid))
				continue;
			ipam_ip_format(p->ip, a, sizeof(a));
			len += (size_t)snprintf(out + len, cap + 65536 - len, "%s\t%s %s\n", a,
						p->name, p->hostname);
		}
	}
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		if (write(fd, out, len) != (ssize_t)len)
			log_warn("rewrite %s: %s", path, strerror(errno));
		close(fd);
	}
	free(out);
}

void net_hosts_refresh(struct cmd_ctx *ctx, const struct storage_network *net)
{
	struct net_members *m;
	size_t n;
	struct err e = { 0 };

	if (net->is_default || storage_lock(&ctx->store, &e) < 0)
		return;
	m = members_load(ctx, &n);
	for (size_t i = 0; m && i < n; i++) {
		if (strcmp(m[i].net.name, net->name))
			continue;
		for (size_t k = 0; k < m[i].n; k++)
			hosts_rewrite(ctx, m[i].eps[k].container_id, m, n);
	}
	members_free(m, n);
	storage_unlock(&ctx->store);
}

/* ---- a run ----------------------------------------------------------------------------------- */

static int bridged_prepare(struct cmd_ctx *ctx, struct net_run *nr,
			   const struct storage_container *c, json_t *cfg, const char *hostname,
			   struct err *err)
{
	struct storage_endpoint *stale;
	size_t n_stale;
	bool created;

	if (net_lookup(ctx, cfg_str(cfg, "HostConfig", "NetworkMode"), &nr->net, err) < 0)
		return -1;
	if (net_bridge_up(&nr->net, &created, err) < 0 ||
	    endpoint_request(nr, c, cfg, hostname, err) < 0)
		return -1;
	if (storage_network_alloc(&ctx->store, nr->net.name, &nr->ep, &stale, &n_stale, err) < 0)
		return -1;
	nr->active = true;
	cleanup_stale(stale, n_stale);
	fill_rt(nr);
	if (runtime_nat_ports_add(nr->ports, nr->n_ports, nr->rn.addr, err) < 0)
		return -1;
	nr->ports_added = nr->n_ports > 0;
	return 0;
}

int net_run_prepare(struct cmd_ctx *ctx, struct net_run *nr, const struct storage_container *c,
		    const char *hostname, const char *hosts_path, const char *resolv_path,
		    struct err *err)
{
	cleanup_json json_t *cfg = storage_container_config(&ctx->store, c, err);
	const char *mode;

	if (!cfg)
		return -1;
	snprintf(nr->store_root, sizeof(nr->store_root), "%s", ctx->store.root);
	mode = cfg_str(cfg, "HostConfig", "NetworkMode");
	if (!mode[0])
		mode = STORAGE_NET_DEFAULT;
	nr->mode = !strcmp(mode, "host") ? RT_NET_HOST :
		   !strcmp(mode, "none") ? RT_NET_NONE :
					   RT_NET_BRIDGE;
	if (nr->mode == RT_NET_BRIDGE && bridged_prepare(ctx, nr, c, cfg, hostname, err) < 0)
		return -1;
	if (hosts_own(cfg, hosts_path, nr->active ? nr->ep.ip : 0, hostname, err) < 0 ||
	    resolv_apply(cfg, resolv_path, err) < 0)
		return -1;
	if (nr->active)
		net_hosts_refresh(ctx, &nr->net);
	return 0;
}

void net_run_spec(struct net_run *nr, struct runtime_spec *spec)
{
	spec->netmode = nr->mode;
	spec->net = nr->active ? &nr->rn : NULL;
}

void net_run_started(struct cmd_ctx *ctx, struct net_run *nr, pid_t pid)
{
	struct err e = { 0 };

	nr->started = nr->active;
	if (nr->active &&
	    storage_network_set_pid(&ctx->store, nr->net.name, nr->ep.container_id, pid, &e) < 0)
		log_warn("%s", e.msg);
}

/* The pair goes with the container's netns: the kernel deletes it in its
 * own worker once the last process of the namespace is gone. Deleting it
 * ourselves would only queue behind that teardown (rtnl_lock, then an
 * rcu_barrier of our own: ~15 ms a run), so a started container's veth is
 * waited for, briefly, and deleted only if it outlives that (its netns held
 * by someone). A container that never started had no process to take it. */
static void release_veth(struct net_run *nr)
{
	struct err e = { 0 };

	if (nr->started && runtime_net_link_wait_gone(nr->ep.host_if, 100))
		return;
	if (runtime_net_link_delete(nr->ep.host_if, &e) < 0)
		log_warn("%s", e.msg);
}

void net_run_release(struct cmd_ctx *ctx, struct net_run *nr)
{
	struct err e = { 0 };
	int rc;

	if (!nr->active)
		return;
	if (nr->ports_added)
		runtime_nat_ports_del(nr->ports, nr->n_ports);
	nr->ports_added = false;
	rc = storage_network_release(&ctx->store, nr->net.name, nr->ep.container_id, NULL, &e);
	if (rc < 0)
		log_warn("%s", e.msg);
	nr->active = false;
	net_hosts_refresh(ctx, &nr->net);
	release_veth(nr);
}

void net_container_release(struct cmd_ctx *ctx, const char *container_id)
{
	char **names;
	size_t n;
	struct err e = { 0 };

	if (storage_network_list(&ctx->store, &names, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct storage_endpoint ep;
		struct storage_network net;
		if (storage_network_release(&ctx->store, names[i], container_id, &ep, &e) != 0)
			continue;
		net_endpoint_cleanup(&ep);
		if (storage_network_get(&ctx->store, names[i], &net, &e) == 0)
			net_hosts_refresh(ctx, &net);
	}
	storage_strv_free(names, n);
}
