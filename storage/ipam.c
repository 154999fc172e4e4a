/* ipam: IPv4 address arithmetic for networks: parsing, overlap, picking
 * a free address and a free subnet. Pure functions (unit-tested). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/network.h"
#include "base/banned.h"

static uint32_t mask_of(int prefix)
{
	return prefix <= 0 ? 0 : (prefix >= 32 ? ~0u : ~0u << (32 - prefix));
}

int ipam_ip_parse(const char *s, uint32_t *ip, struct err *err)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return err_set(err, EINVAL, "invalid IPv4 address \"%s\"", s ? s : "");
	*ip = ntohl(a.s_addr);
	return 0;
}

void ipam_ip_format(uint32_t ip, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, buf, (socklen_t)len);
}

int ipam_cidr_parse(const char *s, struct ipam_cidr *c, struct err *err)
{
	char ip[INET_ADDRSTRLEN], *end;
	const char *slash = s ? strchr(s, '/') : NULL;
	long prefix;
	uint32_t a = 0;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return err_set(err, EINVAL, "invalid subnet \"%s\": want a.b.c.d/n", s ? s : "");
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || prefix < 0 || prefix > 32 || errno ||
	    ipam_ip_parse(ip, &a, NULL) < 0)
		return err_set(err, EINVAL, "invalid subnet \"%s\": want a.b.c.d/n", s);
	if (a & ~mask_of((int)prefix)) {
		char net[INET_ADDRSTRLEN];
		ipam_ip_format(a & mask_of((int)prefix), net, sizeof(net));
		return err_set(err, EINVAL, "invalid subnet %s: it should be %s/%ld", s, net,
			       prefix);
	}
	c->addr = a;
	c->prefix = (int)prefix;
	return 0;
}

void ipam_cidr_format(const struct ipam_cidr *c, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	ipam_ip_format(c->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%d", ip, c->prefix);
}

bool ipam_cidr_contains(const struct ipam_cidr *c, uint32_t ip)
{
	return (ip & mask_of(c->prefix)) == c->addr;
}

/* Two prefixes overlap iff the shorter one contains the other's start. */
bool ipam_cidr_overlap(const struct ipam_cidr *a, const struct ipam_cidr *b)
{
	int p = a->prefix < b->prefix ? a->prefix : b->prefix;

	return ((a->addr ^ b->addr) & mask_of(p)) == 0;
}

static bool in_list(uint32_t ip, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == ip)
			return true;
	return false;
}

int ipam_pick(const struct ipam_cidr *c, uint32_t gw, const uint32_t *taken, size_t n,
	      uint32_t want, uint32_t *out, struct err *err)
{
	uint32_t first = c->addr + 1, last = c->addr | ~mask_of(c->prefix);
	char ip[INET_ADDRSTRLEN], sub[40];

	ipam_cidr_format(c, sub, sizeof(sub));
	if (c->prefix > 30)
		return err_set(err, EADDRNOTAVAIL, "subnet %s has no room for containers", sub);
	last--; /* broadcast */
	if (want) {
		ipam_ip_format(want, ip, sizeof(ip));
		if (want < first || want > last)
			return err_set(err, EINVAL,
				       "no configured subnet contains IP address %s (%s)", ip, sub);
		if (want == gw || in_list(want, taken, n))
			return err_set(err, EADDRINUSE, "Address already in use: %s", ip);
		*out = want;
		return 0;
	}
	for (uint64_t a = first; a <= last; a++) {
		if ((uint32_t)a != gw && !in_list((uint32_t)a, taken, n)) {
			*out = (uint32_t)a;
			return 0;
		}
	}
	return err_set(err, EADDRNOTAVAIL,
		       "no available IPv4 addresses on this network's address pools (%s)", sub);
}

/* Docker's default address pools, in its order. */
static bool pool_next(size_t i, struct ipam_cidr *c)
{
	if (i < 15) {
		c->addr = (172u << 24) | ((17u + (uint32_t)i) << 16);
		c->prefix = 16;
		return true;
	}
	if (i < 15 + 16) {
		c->addr = (192u << 24) | (168u << 16) | ((uint32_t)(i - 15) << 12);
		c->prefix = 20;
		return true;
	}
	return false;
}

int ipam_pool_pick(const struct ipam_cidr *used, size_t n, struct ipam_cidr *out, struct err *err)
{
	struct ipam_cidr c;

	for (size_t i = 0; pool_next(i, &c); i++) {
		bool clash = false;
		for (size_t k = 0; k < n && !clash; k++)
			clash = ipam_cidr_overlap(&c, &used[k]);
		if (!clash) {
			*out = c;
			return 0;
		}
	}
	return err_set(
		err, EADDRNOTAVAIL,
		"could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
}
