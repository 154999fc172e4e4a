/* net_run: private to cmd/: a container's networking from its config.json
 * (network, published ports, DNS, extra hosts) to the runtime's veth, and
 * back: address allocation, bridge, NAT, /etc/hosts and resolv.conf. */
#ifndef MYDOCKER_CMD_NET_RUN_H
#define MYDOCKER_CMD_NET_RUN_H

#include <stdbool.h>
#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/run.h"
#include "runtime/net/net.h"
#include "runtime/runtime.h"
#include "storage/container.h"
#include "storage/network.h"

/* `run` flags of this module (values for getopt's option table). */
enum {
	NET_OPT_DNS = 3000,
	NET_OPT_DNS_SEARCH,
	NET_OPT_DNS_OPT,
	NET_OPT_ADD_HOST,
	NET_OPT_MAC,
	NET_OPT_IP,
	NET_OPT_PUBLISH = 'p',
};
#define NET_RUN_LONGOPTS                                                    \
	{ "publish", required_argument, 0, NET_OPT_PUBLISH },               \
		{ "dns", required_argument, 0, NET_OPT_DNS },               \
		{ "dns-search", required_argument, 0, NET_OPT_DNS_SEARCH }, \
		{ "dns-option", required_argument, 0, NET_OPT_DNS_OPT },    \
		{ "add-host", required_argument, 0, NET_OPT_ADD_HOST },     \
		{ "mac-address", required_argument, 0, NET_OPT_MAC },       \
	{                                                                   \
		"ip", required_argument, 0, NET_OPT_IP                      \
	}
#define NET_RUN_USAGE                                                                                  \
	"      --add-host list          Add a custom host-to-IP mapping (host:ip)\n"                   \
	"      --dns list               Set custom DNS servers\n"                                      \
	"      --dns-option list        Set DNS options\n"                                             \
	"      --dns-search list        Set custom DNS search domains\n"                               \
	"      --ip string              IPv4 address (e.g., 172.30.100.104), user networks only\n"     \
	"      --mac-address string     Container MAC address (e.g., 92:d0:c6:0a:29:33)\n"             \
	"      --network string         Connect a container to a network: bridge, host, none or\n"     \
	"                               a network of `mydocker network create` (default \"bridge\")\n" \
	"  -p, --publish list           Publish a container's port(s) to the host\n"                   \
	"                               ([hostip:]hostport:ctrport[/tcp|udp])\n"

/* Take one of the flags above into o->net; EXIT_USAGE if c is not ours. */
int net_opts_take(struct run_opts *o, int c, const char *arg);
void net_opts_release(struct run_net_opts *n);

/* Check the network flags and record them in config.json's HostConfig
 * (NetworkMode, PortBindings, Dns, DnsSearch, DnsOptions, ExtraHosts) and
 * Config (MacAddress, IPAddress): before the container record exists, so
 * a bad flag leaves nothing behind. */
int net_config_add(json_t *cfg, const struct run_opts *o, struct err *err) WUR;

/* What one start of a container holds; zero-initialize. */
struct net_run {
	enum runtime_netmode mode;
	bool active;      /* an endpoint is allocated */
	bool ports_added; /* its ports are in nftables */
	bool started;     /* a container process had the endpoint's netns */
	struct storage_network net;
	struct storage_endpoint ep;
	struct runtime_net rn;
	struct runtime_port ports[STORAGE_EP_MAX_PORTS];
	size_t n_ports;
	char store_root[PATH_MAX];
};

/* From config.json, after the container's etc files are written: ensure
 * the network and its bridge, allocate the address, publish the ports,
 * add hosts/resolv entries (and the new member to the other members'
 * /etc/hosts). On failure nr holds what to undo (net_run_release). */
int net_run_prepare(struct cmd_ctx *ctx, struct net_run *nr, const struct storage_container *c,
		    const char *hostname, const char *hosts_path, const char *resolv_path,
		    struct err *err) WUR;
/* Fill spec->netmode and spec->net. */
void net_run_spec(struct net_run *nr, struct runtime_spec *spec);
/* Record the container's pid on its endpoint (for crash reclamation). */
void net_run_started(struct cmd_ctx *ctx, struct net_run *nr, pid_t pid);
/* Undo everything net_run_prepare did; idempotent. */
void net_run_release(struct cmd_ctx *ctx, struct net_run *nr);
/* On rm: release whatever endpoint of the container is left anywhere. */
void net_container_release(struct cmd_ctx *ctx, const char *container_id);

/* ---- shared with cmd/network.c ---------------------------------------------------- */
/* The store's network arg (creating the default "bridge" record on first use). */
int net_lookup(struct cmd_ctx *ctx, const char *arg, struct storage_network *n,
	       struct err *err) WUR;
/* Bridge, address, NAT of n; with *created for undo. */
int net_bridge_up(const struct storage_network *n, bool *created, struct err *err) WUR;
/* Undo the host side of a released or stale endpoint. */
void net_endpoint_cleanup(const struct storage_endpoint *ep);
/* Rewrite the member section of /etc/hosts of every live member of the
 * user networks container_id is on (and of container_id itself). */
void net_hosts_refresh(struct cmd_ctx *ctx, const struct storage_network *n);
void net_cidr_to_rt(const struct ipam_cidr *c, struct runtime_cidr *out);

#endif
