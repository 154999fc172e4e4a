/* runtime/net: the host side of container networking. rtnetlink (libmnl)
 * for bridges, veth pairs and addresses; nftables (libnftables) for
 * masquerade and published ports, all in one table of our own
 * (`table ip mydocker`) so that nothing else on the host is touched.
 *
 * Knows nothing of the store: cmd/ allocates addresses (storage/network.h)
 * and hands the result here. IPv4 only. */
#ifndef MYDOCKER_RUNTIME_NET_H
#define MYDOCKER_RUNTIME_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* An IPv4 prefix; addr in network byte order. */
struct runtime_cidr {
	struct in_addr addr;
	int prefix;
};

/* One interface to plug into a container (runtime_spec.net). */
struct runtime_net {
	char bridge[IFNAMSIZ];  /* host bridge the host end joins */
	char host_if[IFNAMSIZ]; /* host end, "vethXXXXXXX" */
	char ifname[IFNAMSIZ];  /* name inside the container, "eth0" */
	struct in_addr addr, gateway;
	int prefix;
	unsigned char mac[6];
	bool default_route; /* add "default via gateway" (first interface only) */
};

/* ---- links (runtime/net/link.c) ------------------------------------------ */

/* Make sure bridge exists, holds gw/prefix and is up; on creation also
 * turns on ip_forward and the bridge's route_localnet (so that DNATed
 * 127.0.0.1 traffic may leave through it). *created tells whether this
 * call made it (so a failing caller can undo exactly that). */
int runtime_net_bridge_ensure(const char *bridge, struct in_addr gw, int prefix, bool *created,
			      struct err *err) WUR;
/* Delete a link by name; a missing one is success. */
int runtime_net_link_delete(const char *name, struct err *err);
bool runtime_net_link_exists(const char *name);
/* Wait up to timeout_ms for a link to disappear (the kernel deletes a veth
 * pair with the network namespace of its peer, asynchronously once the
 * namespace's last process is gone); true once it is gone. */
bool runtime_net_link_wait_gone(const char *name, int timeout_ms);
/* The first IPv4 address of a link: 1 found, 0 none or no such link. */
int runtime_net_link_addr(const char *name, struct runtime_cidr *out);

/* Create the veth pair: host end on the bridge and up, the other end
 * created directly inside the network namespace of pid under n->ifname,
 * then (from inside that namespace) lo up, address, MAC, up, default route.
 * On failure the host end is deleted again (which takes its peer along). */
int runtime_net_attach(const struct runtime_net *n, pid_t pid, struct err *err) WUR;

/* The host's IPv4 routes of the main table (destinations and connected
 * subnets, default route excluded): what a new subnet must not overlap.
 * Heap array, caller frees. */
int runtime_net_host_routes(struct runtime_cidr **out, size_t *n, struct err *err) WUR;

/* ---- nftables (runtime/net/nat.c) ------------------------------------------ */

struct runtime_port {
	int proto;              /* IPPROTO_TCP or IPPROTO_UDP */
	struct in_addr host_ip; /* INADDR_ANY = every local address */
	uint16_t host_port, ctr_port;
};

/* Parse Docker's -p: [hostip:]hostport:ctrport[/tcp|udp] (or ctrport
 * alone: the same host port). One clear line on error. */
int runtime_port_parse(const char *s, struct runtime_port *p, struct err *err) WUR;
/* "0.0.0.0:8080->80/tcp" */
void runtime_port_format(const struct runtime_port *p, char *buf, size_t len);

/* Masquerade traffic leaving subnet through anything but our bridges, and
 * traffic DNATed from the host's own 127.0.0.1 into the bridge. Creates the
 * table on first use. Idempotent. */
int runtime_nat_network_add(const char *bridge, const struct runtime_cidr *subnet,
			    struct err *err) WUR;
int runtime_nat_network_del(const char *bridge, const struct runtime_cidr *subnet,
			    struct err *err) WUR;
/* Publish ports to ctr (DNAT from every local address, 127.0.0.1 included,
 * or from host_ip). All or nothing: a port already published fails with
 * "Bind for 0.0.0.0:8080 failed: port is already allocated". */
int runtime_nat_ports_add(const struct runtime_port *p, size_t n, struct in_addr ctr,
			  struct err *err) WUR;
/* Withdraw them; ports not (or no longer) published are ignored. */
void runtime_nat_ports_del(const struct runtime_port *p, size_t n);

#endif
