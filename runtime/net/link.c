/* link: bridges, veth pairs, addresses and routes over rtnetlink (libmnl);
 * no shelling out to ip(8). See rtnetlink(7). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "runtime/net/net.h"
#include "base/banned.h"

struct nl {
	struct mnl_socket *sock;
	unsigned int portid, seq;
	size_t off; /* end of the requests queued for nl_flush */
	char buf[8192];
};

static int nl_open(struct nl *nl, struct err *err)
{
	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock)
		return err_sys(err, errno, "open rtnetlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return err_sys(err, e, "bind rtnetlink socket");
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf + nl->off);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++nl->seq;
	return h;
}

/* Send and run cb on every reply until the ACK or the dump's end. Returns 0
 * or -errno (the kernel's answer). */
static int nl_talk(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	static char rbuf[32768];
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sock, rbuf, sizeof(rbuf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(rbuf, (size_t)n, h->nlmsg_seq, nl->portid, cb, data);
	} while (rc > 0);
	return rc < 0 ? -errno : 0;
}

/* Queue the request just built for nl_flush. */
static void nl_queue(struct nl *nl, const struct nlmsghdr *h)
{
	nl->off += NLMSG_ALIGN(h->nlmsg_len);
}

/* Send the n queued requests in one sendmsg: the kernel runs them in order
 * and acks each. Returns 0, or the first failure's -errno with *failed its
 * index. */
static int nl_flush(struct nl *nl, size_t n, size_t *failed)
{
	static char rbuf[8192];
	unsigned int first = nl->seq - (unsigned int)n + 1;
	size_t acked = 0;

	*failed = 0;
	if (mnl_socket_sendto(nl->sock, nl->buf, nl->off) < 0)
		return -errno;
	nl->off = 0;
	while (acked < n) {
		ssize_t len = mnl_socket_recvfrom(nl->sock, rbuf, sizeof(rbuf));
		const struct nlmsghdr *h = (const struct nlmsghdr *)rbuf;
		int left = (int)len;

		if (len < 0)
			return *failed = acked, -errno;
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq - first >= n)
				continue;
			acked++;
			if (e->error)
				return *failed = h->nlmsg_seq - first, e->error;
		}
	}
	return 0;
}

static int link_index(const char *name)
{
	return (int)if_nametoindex(name);
}

bool runtime_net_link_exists(const char *name)
{
	return link_index(name) > 0;
}

bool runtime_net_link_wait_gone(const char *name, int timeout_ms)
{
	const struct timespec step = { .tv_nsec = 250 * 1000 };
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	/* Polling, not a netlink subscription: the teardown takes a few ms at
	 * most and is usually over before the first check. */
	while (runtime_net_link_exists(name)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return false;
		nanosleep(&step, NULL);
	}
	return true;
}

/* RTM_NEWLINK without NLM_F_CREATE: change flags of an existing link. */
static struct nlmsghdr *put_link_up(struct nl *nl, int index)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return h;
}

static int link_up(struct nl *nl, int index, const char *what, struct err *err)
{
	int rc = nl_talk(nl, put_link_up(nl, index), NULL, NULL);

	return rc < 0 ? err_sys(err, -rc, "set %s up", what) : 0;
}

static struct nlmsghdr *put_addr(struct nl *nl, int index, struct in_addr a, int prefix)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	struct in_addr brd = a;

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned int)index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (prefix < 31)
		brd.s_addr |= htonl(prefix ? (1u << (32 - prefix)) - 1 : ~0u);
	mnl_attr_put(h, IFA_LOCAL, sizeof(a), &a);
	mnl_attr_put(h, IFA_ADDRESS, sizeof(a), &a);
	mnl_attr_put(h, IFA_BROADCAST, sizeof(brd), &brd);
	return h;
}

static int addr_add(struct nl *nl, int index, struct in_addr a, int prefix, const char *what,
		    struct err *err)
{
	int rc = nl_talk(nl, put_addr(nl, index, a, prefix), NULL, NULL);

	return rc < 0 ? err_sys(err, -rc, "add address %s/%d to %s", inet_ntoa(a), prefix, what) :
			0;
}

static struct nlmsghdr *put_route_default(struct nl *nl, int index, struct in_addr gw)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));

	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(h, RTA_GATEWAY, sizeof(gw), &gw);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	return h;
}

/* /proc/sys writes: ip_forward for routing between the bridge and the
 * world, route_localnet so the kernel routes 127.0.0.1-sourced (DNATed
 * from the host's loopback) packets out of the bridge instead of
 * dropping them as martians. */
static int sysctl_set(const char *path, const char *val, struct err *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		return err_sys(err, errno, "write %s", path);
	return 0;
}

static int bridge_create(struct nl *nl, const char *bridge, struct err *err)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	struct nlattr *info;
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, bridge);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, info);
	rc = nl_talk(nl, h, NULL, NULL);
	/* EEXIST: a parallel run made it first, which is fine. */
	if (rc < 0 && rc != -EEXIST)
		return err_sys(err, -rc, "create bridge %s", bridge);
	return rc == -EEXIST ? 0 : 1;
}

static int bridge_configure(struct nl *nl, const char *bridge, struct in_addr gw, int prefix,
			    struct err *err)
{
	char path[128];
	int index = link_index(bridge);

	if (index <= 0)
		return err_sys(err, errno, "bridge %s", bridge);
	if (addr_add(nl, index, gw, prefix, bridge, err) < 0 || link_up(nl, index, bridge, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
	if (sysctl_set(path, "1", err) < 0)
		return -1;
	return sysctl_set("/proc/sys/net/ipv4/ip_forward", "1", err);
}

int runtime_net_bridge_ensure(const char *bridge, struct in_addr gw, int prefix, bool *created,
			      struct err *err)
{
	struct nl nl = { 0 };
	int rc;

	*created = false;
	if (runtime_net_link_exists(bridge))
		return 0; /* the fast path of every run: set up already */
	if (nl_open(&nl, err) < 0)
		return -1;
	rc = bridge_create(&nl, bridge, err);
	if (rc > 0) {
		*created = true;
		rc = bridge_configure(&nl, bridge, gw, prefix, err);
		if (rc < 0) {
			struct err e2 = { 0 };
			runtime_net_link_delete(bridge, &e2);
			*created = false;
		}
	}
	nl_close(&nl);
	return rc < 0 ? -1 : 0;
}

int runtime_net_link_delete(const char *name, struct err *err)
{
	struct nl nl = { 0 };
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;
	int rc;

	if (!runtime_net_link_exists(name))
		return 0;
	if (nl_open(&nl, err) < 0)
		return -1;
	h = nl_msg(&nl, RTM_DELLINK, NLM_F_ACK);
	ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	rc = nl_talk(&nl, h, NULL, NULL);
	nl_close(&nl);
	if (rc < 0 && rc != -ENODEV)
		return err_sys(err, -rc, "delete link %s", name);
	return 0;
}

/* ---- link address lookup ----------------------------------------------- */

struct addr_query {
	int index;
	struct runtime_cidr *out;
	bool found;
};

static int addr_cb(const struct nlmsghdr *h, void *data)
{
	struct addr_query *q = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	struct nlattr *a;

	if (q->found || ifa->ifa_family != AF_INET || (int)ifa->ifa_index != q->index)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4) {
			memcpy(&q->out->addr, mnl_attr_get_payload(a), 4);
			q->out->prefix = ifa->ifa_prefixlen;
			q->found = true;
		}
	}
	return MNL_CB_OK;
}

int runtime_net_link_addr(const char *name, struct runtime_cidr *out)
{
	struct addr_query q = { .index = link_index(name), .out = out };
	struct nl nl = { 0 };
	struct err e = { 0 };
	struct nlmsghdr *h;
	struct rtgenmsg *g;

	if (q.index <= 0 || nl_open(&nl, &e) < 0)
		return 0;
	h = nl_msg(&nl, RTM_GETADDR, NLM_F_DUMP);
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->rtgen_family = AF_INET;
	if (nl_talk(&nl, h, addr_cb, &q) < 0)
		q.found = false;
	nl_close(&nl);
	return q.found ? 1 : 0;
}

/* ---- host routes ----------------------------------------------------------- */

struct route_list {
	struct runtime_cidr *v;
	size_t n, cap;
	bool oom;
};

static int route_cb(const struct nlmsghdr *h, void *data)
{
	struct route_list *l = data;
	struct rtmsg *rt = mnl_nlmsg_get_payload(h);
	struct runtime_cidr c = { .prefix = rt->rtm_dst_len };
	struct nlattr *a;

	if (rt->rtm_family != AF_INET || rt->rtm_table != RT_TABLE_MAIN || rt->rtm_dst_len == 0)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*rt))
	{
		if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == 4)
			memcpy(&c.addr, mnl_attr_get_payload(a), 4);
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct runtime_cidr *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv) {
			l->oom = true;
			return MNL_CB_ERROR;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = c;
	return MNL_CB_OK;
}

int runtime_net_host_routes(struct runtime_cidr **out, size_t *n, struct err *err)
{
	struct route_list l = { 0 };
	struct nl nl = { 0 };
	struct nlmsghdr *h;
	struct rtmsg *rt;
	int rc;

	if (nl_open(&nl, err) < 0)
		return -1;
	h = nl_msg(&nl, RTM_GETROUTE, NLM_F_DUMP);
	rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rc = nl_talk(&nl, h, route_cb, &l);
	nl_close(&nl);
	if (rc < 0 || l.oom) {
		free(l.v);
		return l.oom ? err_set(err, ENOMEM, "out of memory") :
			       err_sys(err, -rc, "list the host's routes");
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ---- veth ------------------------------------------------------------------- */

/* One message creates both ends: the host end (on the bridge, up) here, the
 * peer directly in the container's netns under its final name, so there is
 * never a moment where the peer sits in the host namespace (veth(4)). */
static int veth_create(struct nl *nl, const struct runtime_net *n, pid_t pid, int br_index,
		       struct err *err)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi)), *peer;
	struct nlattr *info, *data, *pa;
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, n->host_if);
	mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)br_index);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	pa = mnl_attr_nest_start(h, VETH_INFO_PEER);
	peer = mnl_nlmsg_put_extra_header(h, sizeof(*peer));
	memset(peer, 0, sizeof(*peer));
	peer->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, n->ifname);
	mnl_attr_put(h, IFLA_ADDRESS, 6, n->mac);
	mnl_attr_put_u32(h, IFLA_NET_NS_PID, (uint32_t)pid);
	mnl_attr_nest_end(h, pa);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	rc = nl_talk(nl, h, NULL, NULL);
	if (rc == -EEXIST)
		return err_set(err, EEXIST, "create veth %s: interface exists", n->host_if);
	return rc < 0 ? err_sys(err, -rc, "create veth pair %s/%s", n->host_if, n->ifname) : 0;
}

/* Inside the container's netns: lo up, address, up, default route, in one
 * sendmsg (one round trip instead of four). */
static int configure_inside(const struct runtime_net *n, struct err *err)
{
	struct nl nl = { 0 };
	int idx = link_index(n->ifname), rc;
	size_t steps = n->default_route ? 4 : 3, failed;
	char gw[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];

	if (idx <= 0)
		return err_sys(err, errno, "find %s in the container", n->ifname);
	if (nl_open(&nl, err) < 0)
		return -1;
	nl_queue(&nl, put_link_up(&nl, 1));
	nl_queue(&nl, put_addr(&nl, idx, n->addr, n->prefix));
	nl_queue(&nl, put_link_up(&nl, idx));
	if (n->default_route)
		nl_queue(&nl, put_route_default(&nl, idx, n->gateway));
	rc = nl_flush(&nl, steps, &failed);
	nl_close(&nl);
	if (rc == 0)
		return 0;
	inet_ntop(AF_INET, &n->addr, a, sizeof(a));
	inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw));
	switch (failed) {
	case 0: return err_sys(err, -rc, "set lo up");
	case 1: return err_sys(err, -rc, "add address %s/%d to %s", a, n->prefix, n->ifname);
	case 2: return err_sys(err, -rc, "set %s up", n->ifname);
	default: return err_sys(err, -rc, "add default route via %s", gw);
	}
}

/* setns(2) into the container's netns for the configuration and back: our
 * process is single-threaded here (between clone and the child's go). */
static int in_netns(pid_t pid, const struct runtime_net *n, struct err *err)
{
	char path[64];
	cleanup_close int self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	cleanup_close int ns_fd = -1;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self_fd < 0 || ns_fd < 0)
		return err_sys(err, errno, "open network namespace of %d", (int)pid);
	if (setns(ns_fd, CLONE_NEWNET) < 0)
		return err_sys(err, errno, "enter the container's network namespace");
	rc = configure_inside(n, err);
	if (setns(self_fd, CLONE_NEWNET) < 0) {
		/* Staying in the container's netns would be worse than dying. */
		perror("mydocker: return to the host network namespace");
		abort();
	}
	return rc;
}

int runtime_net_attach(const struct runtime_net *n, pid_t pid, struct err *err)
{
	struct nl nl = { 0 };
	int br = link_index(n->bridge), rc;

	if (br <= 0)
		return err_sys(err, errno, "bridge %s", n->bridge);
	if (nl_open(&nl, err) < 0)
		return -1;
	rc = veth_create(&nl, n, pid, br, err);
	nl_close(&nl);
	if (rc < 0)
		return -1;
	if (in_netns(pid, n, err) < 0) {
		struct err e2 = { 0 };
		runtime_net_link_delete(n->host_if, &e2);
		return -1;
	}
	return 0;
}
