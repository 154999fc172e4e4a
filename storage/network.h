/* storage/network: network records and IPAM.
 *
 * networks/<name>.json holds a network (subnet, gateway, bridge) and its
 * endpoints: the addresses handed to containers, each with the container
 * id and the pid that keeps it alive. Every change happens under the store
 * lock, so parallel runs never get the same address. An endpoint whose
 * container record is gone, or whose process is dead, is stale: the next
 * allocation reclaims it (and hands it back so the caller can undo the
 * host side: veth, published ports). IPv4 only. */
#ifndef MYDOCKER_STORAGE_NETWORK_H
#define MYDOCKER_STORAGE_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "base/err.h"
#include "storage/storage.h"

/* ---- addresses (pure; host byte order) ------------------------------------ */

struct ipam_cidr {
	uint32_t addr; /* network address, host byte order */
	int prefix;    /* 0..32 */
};

/* "a.b.c.d" -> host order. */
int ipam_ip_parse(const char *s, uint32_t *ip, struct err *err) WUR;
void ipam_ip_format(uint32_t ip, char *buf, size_t len);
/* "a.b.c.d/n" with no host bits set ("172.18.0.1/16" is refused with a
 * hint to the network address). */
int ipam_cidr_parse(const char *s, struct ipam_cidr *c, struct err *err) WUR;
void ipam_cidr_format(const struct ipam_cidr *c, char *buf, size_t len);
bool ipam_cidr_contains(const struct ipam_cidr *c, uint32_t ip);
bool ipam_cidr_overlap(const struct ipam_cidr *a, const struct ipam_cidr *b);
/* The lowest free host address of c that is not gw and not in taken[]
 * (network and broadcast addresses excluded; /31 and /32 have none), or
 * want itself if it is free (want 0 = any). EADDRNOTAVAIL when full,
 * EADDRINUSE/EINVAL for a bad want. */
int ipam_pick(const struct ipam_cidr *c, uint32_t gw, const uint32_t *taken, size_t n,
	      uint32_t want, uint32_t *out, struct err *err) WUR;
/* The first candidate of Docker's default pools (172.17-31.0.0/16, then
 * 192.168.N.0/20) that overlaps none of used[]. */
int ipam_pool_pick(const struct ipam_cidr *used, size_t n, struct ipam_cidr *out,
		   struct err *err) WUR;

/* ---- networks ------------------------------------------------------------------- */

#define STORAGE_NET_DEFAULT "bridge"

struct storage_network {
	char name[128];
	char id[65];
	char bridge[16];
	struct ipam_cidr subnet;
	uint32_t gateway;
	bool is_default; /* the "bridge" network: no name resolution, as Docker */
};

/* Create networks/<name>.json. Refuses a taken name (host and none are
 * taken too) and a subnet overlapping another network of the store; the
 * caller checks the host's routes. n->id and (if empty) n->bridge
 * ("br-" + 12 hex of the id) are filled in. */
int storage_network_create(struct store *s, struct storage_network *n, struct err *err) WUR;
/* By name, full id or unique id prefix ("network X not found"). */
int storage_network_get(struct store *s, const char *arg, struct storage_network *n,
			struct err *err) WUR;
/* Names of all stored networks (heap; storage_strv_free). */
int storage_network_list(struct store *s, char ***names, size_t *n, struct err *err) WUR;
/* The whole record, endpoints included; caller decrefs. */
json_t *storage_network_json(struct store *s, const char *name, struct err *err);
/* Remove; refused while live endpoints exist ("has active endpoints"). */
int storage_network_remove(struct store *s, const char *name, struct err *err) WUR;

/* ---- endpoints -------------------------------------------------------------------- */

#define STORAGE_EP_MAX_PORTS 32

struct storage_endpoint {
	char container_id[65];
	char name[128];     /* container name, resolvable by the others */
	char hostname[256]; /* the container's hostname, resolvable too */
	char host_if[16];   /* host end of the veth */
	char ifname[16];    /* eth0, eth1... */
	uint32_t ip;        /* host order */
	unsigned char mac[6];
	pid_t pid;                            /* container init, 0 until started */
	char ports[STORAGE_EP_MAX_PORTS][32]; /* "tcp:0.0.0.0:8080:80", caller's format */
	size_t n_ports;
};

/* Allocate: ep->ip (0 = any free address) and everything else as given;
 * a zero mac becomes 02:42 + the address (Docker's). The process calling
 * is recorded as the owner until storage_network_set_pid. Stale endpoints
 * found on the way are removed and returned in *stale (heap, caller frees)
 * so their host side can be undone. */
int storage_network_alloc(struct store *s, const char *net, struct storage_endpoint *ep,
			  struct storage_endpoint **stale, size_t *n_stale, struct err *err) WUR;
int storage_network_set_pid(struct store *s, const char *net, const char *container_id, pid_t pid,
			    struct err *err) WUR;
/* Release the endpoint of container_id; *out (may be NULL) gets it. 0 if
 * released, 1 if there was none. */
int storage_network_release(struct store *s, const char *net, const char *container_id,
			    struct storage_endpoint *out, struct err *err) WUR;
/* Live endpoints (heap array, caller frees). */
int storage_network_endpoints(struct store *s, const char *net, struct storage_endpoint **eps,
			      size_t *n, struct err *err) WUR;
/* Remove stale endpoints of every network; returned as in alloc (with the
 * network's name in each's name field replaced? no: see *nets). */
int storage_network_reap(struct store *s, const char *net, struct storage_endpoint **stale,
			 size_t *n_stale, struct err *err) WUR;

#endif
