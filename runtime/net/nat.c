/* nat: masquerade and published ports in one nftables table of our own,
 * `table ip mydocker`, driven through libnftables (libnftables(3)).
 *
 * The rules are fixed and written once; what changes per network and per
 * container are set and map elements (bridges, subnets, port maps), added
 * and deleted by key. So a container's cleanup never needs a rule handle,
 * and `nft delete table ip mydocker` removes all of it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/net/net.h"
#include "base/banned.h"

#define NAT_TABLE "ip mydocker"
/* Host-wide: the table and the bridges are shared by every store. */
#define NAT_LOCK "/run/mydocker-net.lock"

/* prerouting/output: packets for a local address (127.0.0.1 included) whose
 * port is published go to the container (hports: one host address;
 * ports: every address). postrouting: masquerade what leaves the subnets
 * for the world, what the host sends from 127.0.0.1 into a bridge (the
 * container could not answer 127.0.0.1), and hairpin traffic DNATed back
 * into the bridge it came from. */
static const char nat_ruleset[] =
	"table ip mydocker {\n"
	" set bridges { type ifname; }\n"
	" set subnets { type ipv4_addr; flags interval; }\n"
	" map ports_tcp { type inet_service : ipv4_addr . inet_service; }\n"
	" map ports_udp { type inet_service : ipv4_addr . inet_service; }\n"
	" map hports_tcp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
	" map hports_udp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }\n"
	" chain ports {\n"
	"  dnat ip to ip daddr . tcp dport map @hports_tcp\n"
	"  dnat ip to ip daddr . udp dport map @hports_udp\n"
	"  dnat ip to tcp dport map @ports_tcp\n"
	"  dnat ip to udp dport map @ports_udp\n"
	" }\n"
	" chain prerouting {\n"
	"  type nat hook prerouting priority dstnat; policy accept;\n"
	"  fib daddr type local jump ports\n"
	" }\n"
	" chain output {\n"
	"  type nat hook output priority -100; policy accept;\n"
	"  fib daddr type local jump ports\n"
	" }\n"
	" chain postrouting {\n"
	"  type nat hook postrouting priority srcnat; policy accept;\n"
	"  ip saddr @subnets oifname != @bridges masquerade\n"
	"  oifname @bridges ip saddr 127.0.0.0/8 masquerade\n"
	"  oifname @bridges ct status dnat ip saddr @subnets masquerade\n"
	" }\n"
	"}\n";

struct nft {
	struct nft_ctx *ctx;
};

static int nft_open(struct nft *n, struct err *err)
{
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx)
		return err_set(err, ENOMEM, "nftables: cannot create a context");
	/* Errors come back as text; keep them off our stderr. */
	if (nft_ctx_buffer_error(n->ctx) < 0 || nft_ctx_buffer_output(n->ctx) < 0) {
		nft_ctx_free(n->ctx);
		return err_set(err, ENOMEM, "nftables: cannot buffer output");
	}
	return 0;
}

static void nft_close(struct nft *n)
{
	if (n->ctx)
		nft_ctx_free(n->ctx);
	n->ctx = NULL;
}

/* Run one buffer (one transaction: all of it or nothing). On failure err
 * holds the first line of nft's message, prefixed with what. */
static int nft_run(struct nft *n, const char *cmd, const char *what, struct err *err)
{
	const char *msg;
	size_t len;

	if (nft_run_cmd_from_buffer(n->ctx, cmd) == 0)
		return 0;
	msg = nft_ctx_get_error_buffer(n->ctx);
	msg = msg ? msg : "";
	if (!strncmp(msg, "Error: ", 7))
		msg += 7;
	len = strcspn(msg, "\n");
	return err_set(err, EIO, "%s: %.*s", what, (int)len, msg);
}

static int lock_host(struct err *err)
{
	int fd = open(NAT_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return err_sys(err, errno, "open %s", NAT_LOCK);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return err_sys(err, e, "lock %s", NAT_LOCK);
	}
	return fd;
}

/* The table, once: its rules are not idempotent (add rule appends), so
 * existence is checked and the table created under a host-wide lock. */
static int ensure_table(struct nft *n, struct err *err)
{
	cleanup_close int lock_fd = -1;
	struct err ignored = { 0 };

	if (nft_run(n, "list table " NAT_TABLE, "", &ignored) == 0)
		return 0;
	lock_fd = lock_host(err);
	if (lock_fd < 0)
		return -1;
	if (nft_run(n, "list table " NAT_TABLE, "", &ignored) == 0)
		return 0;
	return nft_run(n, nat_ruleset, "nftables: create table ip mydocker", err);
}

static int network_elements(const char *verb, const char *bridge, const struct runtime_cidr *subnet,
			    struct err *err)
{
	struct nft n = { 0 };
	char cmd[512], ip[INET_ADDRSTRLEN];
	int rc;

	if (nft_open(&n, err) < 0)
		return -1;
	inet_ntop(AF_INET, &subnet->addr, ip, sizeof(ip));
	snprintf(cmd, sizeof(cmd),
		 "%s element " NAT_TABLE " bridges { \"%s\" }\n"
		 "%s element " NAT_TABLE " subnets { %s/%d }\n",
		 verb, bridge, verb, ip, subnet->prefix);
	if (strcmp(verb, "add") == 0) {
		rc = ensure_table(&n, err);
		if (rc == 0)
			rc = nft_run(&n, cmd, "nftables", err);
	} else {
		/* Each element on its own: one already gone must not keep the other. */
		struct err ignored = { 0 };
		char *second = strchr(cmd, '\n') + 1;
		(void)nft_run(&n, second, "", &ignored);
		*second = '\0';
		(void)nft_run(&n, cmd, "", &ignored);
		rc = 0;
	}
	nft_close(&n);
	return rc;
}

int runtime_nat_network_add(const char *bridge, const struct runtime_cidr *subnet, struct err *err)
{
	return network_elements("add", bridge, subnet, err);
}

int runtime_nat_network_del(const char *bridge, const struct runtime_cidr *subnet, struct err *err)
{
	struct nft n = { 0 };
	struct err ignored = { 0 };
	int rc;

	if (nft_open(&n, err) < 0)
		return -1;
	rc = nft_run(&n, "list table " NAT_TABLE, "", &ignored);
	nft_close(&n);
	if (rc < 0)
		return 0; /* no table, nothing of ours to delete */
	return network_elements("delete", bridge, subnet, err);
}

/* ---- ports ------------------------------------------------------------------- */

static const char *proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* "create element ip mydocker ports_tcp { 8080 : 172.18.0.2 . 80 }" (value
 * omitted for delete). */
static int port_cmd(char *buf, size_t len, const char *verb, const struct runtime_port *p,
		    const struct in_addr *ctr)
{
	char hip[INET_ADDRSTRLEN], cip[INET_ADDRSTRLEN], key[64], val[64] = "";
	bool any = p->host_ip.s_addr == htonl(INADDR_ANY);

	inet_ntop(AF_INET, &p->host_ip, hip, sizeof(hip));
	if (any)
		snprintf(key, sizeof(key), "%u", p->host_port);
	else
		snprintf(key, sizeof(key), "%s . %u", hip, p->host_port);
	if (ctr) {
		inet_ntop(AF_INET, ctr, cip, sizeof(cip));
		snprintf(val, sizeof(val), " : %s . %u", cip, p->ctr_port);
	}
	return snprintf(buf, len, "%s element " NAT_TABLE " %sports_%s { %s%s }\n", verb,
			any ? "" : "h", proto_name(p->proto), key, val);
}

int runtime_nat_ports_add(const struct runtime_port *p, size_t n, struct in_addr ctr,
			  struct err *err)
{
	struct nft nf = { 0 };
	char *cmd;
	size_t used = 0, cap = 160 * (n + 1);
	int rc;

	if (n == 0)
		return 0;
	cmd = calloc(1, cap);
	if (!cmd)
		return err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		used += (size_t)port_cmd(cmd + used, cap - used, "create", &p[i], &ctr);
	rc = nft_open(&nf, err);
	if (rc == 0)
		rc = ensure_table(&nf, err);
	/* One buffer, one transaction: either every port is published or none. */
	if (rc == 0 && nft_run(&nf, cmd, "nftables", err) < 0) {
		char where[64];
		runtime_port_format(&p[0], where, sizeof(where));
		where[strcspn(where, "-")] = '\0';
		if (strstr(err->msg, "File exists"))
			err_set(err, EADDRINUSE, "Bind for %s failed: port is already allocated",
				n == 1 ? where : "one of the published ports");
		rc = -1;
	}
	nft_close(&nf);
	free(cmd);
	return rc;
}

void runtime_nat_ports_del(const struct runtime_port *p, size_t n)
{
	struct nft nf = { 0 };
	struct err ignored = { 0 };
	char cmd[160];

	if (n == 0 || nft_open(&nf, &ignored) < 0)
		return;
	/* One by one: a port someone else deleted must not keep the others. */
	for (size_t i = 0; i < n; i++) {
		port_cmd(cmd, sizeof(cmd), "delete", &p[i], NULL);
		(void)nft_run(&nf, cmd, "", &ignored);
	}
	nft_close(&nf);
}

/* ---- -p parsing ----------------------------------------------------------------- */

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	char *end;
	unsigned long v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtoul(buf, &end, 10);
	if (*end || v == 0 || v > 65535 || buf[0] == '-' || buf[0] == '+')
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Split "[hostip:]hostport:ctrport" at its colons (IPv4 only). */
static int port_fields(const char *spec, struct runtime_port *p)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char ip[INET_ADDRSTRLEN];

	if (!c1)
		return parse_port(spec, strlen(spec), &p->ctr_port) < 0 ?
			       -1 :
			       (p->host_port = p->ctr_port, 0);
	if (c2) {
		if ((size_t)(c1 - spec) >= sizeof(ip))
			return -1;
		memcpy(ip, spec, (size_t)(c1 - spec));
		ip[c1 - spec] = '\0';
		if (ip[0] && inet_pton(AF_INET, ip, &p->host_ip) != 1)
			return -1;
		spec = c1 + 1;
		c1 = c2;
	}
	if (strchr(c1 + 1, ':') || parse_port(spec, (size_t)(c1 - spec), &p->host_port) < 0 ||
	    parse_port(c1 + 1, strlen(c1 + 1), &p->ctr_port) < 0)
		return -1;
	return 0;
}

int runtime_port_parse(const char *s, struct runtime_port *p, struct err *err)
{
	char spec[96];
	char *slash;

	memset(p, 0, sizeof(*p));
	p->proto = IPPROTO_TCP;
	p->host_ip.s_addr = htonl(INADDR_ANY);
	if (snprintf(spec, sizeof(spec), "%s", s) >= (int)sizeof(spec))
		return err_set(err, EINVAL, "invalid published port \"%s\"", s);
	slash = strchr(spec, '/');
	if (slash) {
		*slash = '\0';
		if (!strcmp(slash + 1, "udp"))
			p->proto = IPPROTO_UDP;
		else if (strcmp(slash + 1, "tcp"))
			return err_set(err, EINVAL,
				       "invalid proto \"%s\" in \"%s\": use tcp or udp", slash + 1,
				       s);
	}
	if (port_fields(spec, p) < 0)
		return err_set(
			err, EINVAL,
			"invalid published port \"%s\": want [hostip:]hostport:ctrport[/tcp|udp]",
			s);
	return 0;
}

void runtime_port_format(const struct runtime_port *p, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &p->host_ip, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u->%u/%s", ip, p->host_port, p->ctr_port, proto_name(p->proto));
}
