/* network: network records (networks/<name>.json) and their endpoints, the
 * IPAM of mydocker. Address arithmetic is in storage/ipam.c.
 *
 * The endpoints live apart, in networks/<name>.endpoints (the "Containers"
 * object of the record, merged back in on load). The record is written
 * durably, once; the endpoints change on every start and stop, and are
 * written without fsync: atomic while the system stays up, and a crash that
 * could tear them down also killed every container they describe. One fsync
 * per change cost a run up to 15 ms (a journal commit, with discards). */
#include "storage/network.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "storage/names.h"
#include "storage/storage_internal.h"
#include "base/banned.h"

static void net_rel(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "networks/%s.json", name);
}

static void eps_rel(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "networks/%s.endpoints", name);
}

static bool reserved_name(const char *name)
{
	return !strcmp(name, "host") || !strcmp(name, "none");
}

static int eps_merge(struct store *s, const char *name, json_t *j, struct err *err);

static json_t *net_load(struct store *s, const char *name, struct err *err)
{
	char rel[200];

	if (!storage_name_is_valid(name) || strlen(name) >= 128)
		return err_set(err, ENOENT, "network %s not found", name), NULL;
	net_rel(rel, sizeof(rel), name);
	json_t *j = storage_json_read(s, rel, err);
	if (!j && err && err->code == ENOENT)
		err_set(err, ENOENT, "network %s not found", name);
	if (j && eps_merge(s, name, j, err) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Replace the record's "Containers" by networks/<name>.endpoints. No such
 * file: a fresh network, or a store from before the split (its endpoints are
 * still in the record). An unreadable one can only be a crash's work, and
 * nothing it listed survived that crash: no endpoints. */
static int eps_merge(struct store *s, const char *name, json_t *j, struct err *err)
{
	cleanup_free char *buf = NULL;
	struct err e = { 0 };
	char rel[200];
	json_t *eps;

	eps_rel(rel, sizeof(rel), name);
	if (fs_read_all(s->root_fd, rel, &buf, NULL, 16 << 20, &e) < 0) {
		if (e.code != ENOENT)
			return err ? (*err = e, -1) : -1;
		if (json_is_object(json_object_get(j, "Containers")))
			return 0;
	}
	eps = buf ? json_loads(buf, 0, NULL) : NULL;
	if (!json_is_object(eps)) {
		json_decref(eps);
		eps = json_object();
	}
	if (!eps || json_object_set_new(j, "Containers", eps) < 0)
		return err_set(err, ENOMEM, "out of memory");
	return 0;
}

/* Write the endpoints of a loaded record (see the top of the file). */
static int eps_save(struct store *s, const char *name, json_t *j, struct err *err)
{
	json_t *eps = json_object_get(j, "Containers");
	char rel[200];

	eps_rel(rel, sizeof(rel), name);
	if (!json_is_object(eps))
		return err_set(err, EINVAL, "network %s: no endpoints", name);
	return storage_json_write_file(s, rel, eps, false, err);
}

static int net_save(struct store *s, const char *name, json_t *j, struct err *err)
{
	char rel[200];

	if (mkdirat(s->root_fd, "networks", 0700) < 0 && errno != EEXIST)
		return err_sys(err, errno, "create %s/networks", s->root);
	net_rel(rel, sizeof(rel), name);
	return storage_json_write(s, rel, j, err);
}

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static int net_from_json(json_t *j, struct storage_network *n, struct err *err)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", jstr(j, "Name"));
	snprintf(n->id, sizeof(n->id), "%s", jstr(j, "Id"));
	snprintf(n->bridge, sizeof(n->bridge), "%s", jstr(j, "Bridge"));
	n->is_default = json_is_true(json_object_get(j, "Default"));
	if (ipam_cidr_parse(jstr(j, "Subnet"), &n->subnet, err) < 0 ||
	    ipam_ip_parse(jstr(j, "Gateway"), &n->gateway, err) < 0)
		return err_prefix(err, "network %s: corrupted record", n->name);
	return 0;
}

static int random_id(char id[65], struct err *err)
{
	unsigned char rnd[32];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return err_sys(err, errno, "getrandom");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

int storage_network_list(struct store *s, char ***names, size_t *n, struct err *err)
{
	cleanup_close int dfd = openat(s->root_fd, "networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0;

	*names = NULL;
	*n = 0;
	if (dfd < 0)
		return errno == ENOENT ? 0 : err_sys(err, errno, "open %s/networks", s->root);
	d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return err_sys(err, errno, "read %s/networks", s->root);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **nv;
		if (len <= 5 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv || !(nv[cnt] = strndup(e->d_name, len - 5))) {
			closedir(d);
			storage_strv_free(nv ? nv : v, cnt);
			return err_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		cnt++;
	}
	closedir(d);
	*names = v;
	*n = cnt;
	return 0;
}

/* Another network of the store with the same subnet space. */
static int check_overlap(struct store *s, const struct storage_network *n, struct err *err)
{
	char **names;
	size_t cnt;
	int rc = 0;

	if (storage_network_list(s, &names, &cnt, err) < 0)
		return -1;
	for (size_t i = 0; i < cnt && rc == 0; i++) {
		struct storage_network o;
		struct err e = { 0 };
		json_t *j = net_load(s, names[i], &e);
		if (j && net_from_json(j, &o, &e) == 0 &&
		    ipam_cidr_overlap(&o.subnet, &n->subnet)) {
			char a[32], b[32];
			ipam_cidr_format(&n->subnet, a, sizeof(a));
			ipam_cidr_format(&o.subnet, b, sizeof(b));
			rc = err_set(
				err, EEXIST,
				"Pool overlaps with other one on this address space: %s overlaps network %s (%s)",
				a, o.name, b);
		}
		json_decref(j);
	}
	storage_strv_free(names, cnt);
	return rc;
}

static json_t *net_to_json(const struct storage_network *n)
{
	char sub[32], gw[16], created[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ipam_cidr_format(&n->subnet, sub, sizeof(sub));
	ipam_ip_format(n->gateway, gw, sizeof(gw));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:{}}", "Name", n->name, "Id",
			 n->id, "Created", created, "Driver", "bridge", "Bridge", n->bridge,
			 "Subnet", sub, "Gateway", gw, "Default", n->is_default, "Containers");
}

static int create_locked(struct store *s, struct storage_network *n, struct err *err)
{
	char rel[200];
	json_t *j;
	int rc;

	net_rel(rel, sizeof(rel), n->name);
	if (reserved_name(n->name) || faccessat(s->root_fd, rel, F_OK, 0) == 0)
		return err_set(err, EEXIST, "network with name %s already exists", n->name);
	if (check_overlap(s, n, err) < 0 || random_id(n->id, err) < 0)
		return -1;
	if (!n->bridge[0])
		snprintf(n->bridge, sizeof(n->bridge), "br-%.12s", n->id);
	j = net_to_json(n);
	if (!j)
		return err_set(err, ENOMEM, "out of memory");
	/* One left by a crash between rm's two unlinks must not come back. */
	eps_rel(rel, sizeof(rel), n->name);
	if (unlinkat(s->root_fd, rel, 0) < 0 && errno != ENOENT) {
		json_decref(j);
		return err_sys(err, errno, "remove %s/%s", s->root, rel);
	}
	rc = net_save(s, n->name, j, err);
	json_decref(j);
	return rc;
}

int storage_network_create(struct store *s, struct storage_network *n, struct err *err)
{
	int rc;

	if (!storage_name_is_valid(n->name) || strlen(n->name) >= sizeof(n->name))
		return err_set(
			err, EINVAL,
			"invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
			n->name);
	if (!ipam_cidr_contains(&n->subnet, n->gateway) || n->gateway == n->subnet.addr)
		return err_set(err, EINVAL, "gateway is not a host address of the subnet");
	if (storage_lock(s, err) < 0)
		return -1;
	rc = create_locked(s, n, err);
	storage_unlock(s);
	return rc;
}

static int find_by_id(struct store *s, const char *arg, struct storage_network *n, struct err *err)
{
	char **names;
	size_t cnt, hits = 0;

	if (storage_network_list(s, &names, &cnt, err) < 0)
		return -1;
	for (size_t i = 0; i < cnt; i++) {
		struct storage_network o;
		struct err e = { 0 };
		json_t *j = net_load(s, names[i], &e);
		if (j && net_from_json(j, &o, &e) == 0 && !strncmp(o.id, arg, strlen(arg)) &&
		    hits++ == 0)
			*n = o;
		json_decref(j);
	}
	storage_strv_free(names, cnt);
	if (hits == 1)
		return 0;
	return err_set(err, ENOENT,
		       hits ? "network %s is ambiguous (%zu matches)" : "network %s not found", arg,
		       hits);
}

int storage_network_get(struct store *s, const char *arg, struct storage_network *n,
			struct err *err)
{
	struct err e = { 0 };
	json_t *j = net_load(s, arg, &e);
	int rc;

	if (!j) {
		if (e.code != ENOENT)
			return *err = e, -1;
		if (strlen(arg) < 3)
			return err_set(err, ENOENT, "network %s not found", arg);
		return find_by_id(s, arg, n, err);
	}
	rc = net_from_json(j, n, err);
	json_decref(j);
	return rc;
}

json_t *storage_network_json(struct store *s, const char *name, struct err *err)
{
	return net_load(s, name, err);
}

/* ---- endpoints ------------------------------------------------------------------- */

static bool pid_alive(json_t *ep, const char *pk, const char *sk)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(ep, pk));
	unsigned long long want = (unsigned long long)json_integer_value(json_object_get(ep, sk));

	return pid > 0 && storage_proc_start(pid) == want && want != 0;
}

static bool ep_live(struct store *s, const char *cid, json_t *ep)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "containers/%s/config.json", cid);
	if (faccessat(s->root_fd, rel, F_OK, 0) < 0)
		return false;
	if (json_integer_value(json_object_get(ep, "Pid")) > 0)
		return pid_alive(ep, "Pid", "PidStart");
	return pid_alive(ep, "Owner", "OwnerStart");
}

static void mac_format(const unsigned char *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void ep_from_json(const char *cid, json_t *j, struct storage_endpoint *ep)
{
	struct ipam_cidr c = { 0 };
	unsigned int m[6] = { 0 };
	json_t *v;
	size_t i;

	memset(ep, 0, sizeof(*ep));
	snprintf(ep->container_id, sizeof(ep->container_id), "%s", cid);
	snprintf(ep->name, sizeof(ep->name), "%s", jstr(j, "Name"));
	snprintf(ep->hostname, sizeof(ep->hostname), "%s", jstr(j, "Hostname"));
	snprintf(ep->host_if, sizeof(ep->host_if), "%s", jstr(j, "HostIf"));
	snprintf(ep->ifname, sizeof(ep->ifname), "%s", jstr(j, "IfName"));
	if (ipam_cidr_parse(jstr(j, "IPv4Address"), &c, NULL) < 0) {
		/* host bits are set in "172.18.0.2/16": parse the address part */
		char ip[20];
		snprintf(ip, sizeof(ip), "%s", jstr(j, "IPv4Address"));
		ip[strcspn(ip, "/")] = '\0';
		if (ipam_ip_parse(ip, &c.addr, NULL) < 0)
			c.addr = 0;
	}
	ep->ip = c.addr;
	if (sscanf(jstr(j, "MacAddress"), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5]) == 6)
		for (int k = 0; k < 6; k++)
			ep->mac[k] = (unsigned char)m[k];
	ep->pid = (pid_t)json_integer_value(json_object_get(j, "Pid"));
	json_array_foreach (json_object_get(j, "Ports"), i, v) {
		if (ep->n_ports < STORAGE_EP_MAX_PORTS)
			snprintf(ep->ports[ep->n_ports++], sizeof(ep->ports[0]), "%s",
				 json_string_value(v) ?: "");
	}
}

static json_t *ep_to_json(const struct storage_endpoint *ep, int prefix)
{
	char ip[16], addr[24], mac[24];
	pid_t self = getpid();
	json_t *ports = json_array();

	ipam_ip_format(ep->ip, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), "%s/%d", ip, prefix);
	mac_format(ep->mac, mac, sizeof(mac));
	for (size_t i = 0; i < ep->n_ports; i++)
		json_array_append_new(ports, json_string(ep->ports[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:I, s:o}", "Name",
			 ep->name, "Hostname", ep->hostname, "HostIf", ep->host_if, "IfName",
			 ep->ifname, "IPv4Address", addr, "MacAddress", mac, "Pid", 0, "PidStart",
			 (json_int_t)0, "Owner", (int)self, "OwnerStart",
			 (json_int_t)storage_proc_start(self), "Ports", ports);
}

/* Drop stale endpoints from the record (appending them to *stale). */
static int reap_json(struct store *s, json_t *eps, struct storage_endpoint **stale, size_t *n_stale,
		     bool *changed, struct err *err)
{
	const char *cid;
	json_t *ep, *tmp;

	json_object_foreach_safe (eps, tmp, cid, ep) {
		struct storage_endpoint *nv;
		if (ep_live(s, cid, ep))
			continue;
		if (stale) {
			nv = realloc(*stale, (*n_stale + 1) * sizeof(*nv));
			if (!nv)
				return err_set(err, ENOMEM, "out of memory");
			*stale = nv;
			ep_from_json(cid, ep, &nv[(*n_stale)++]);
		}
		json_object_del(eps, cid);
		*changed = true;
	}
	return 0;
}

static int alloc_locked(struct store *s, const char *net, struct storage_endpoint *ep,
			struct storage_endpoint **stale, size_t *n_stale, struct err *err)
{
	cleanup_json json_t *j = net_load(s, net, err);
	struct storage_network n;
	cleanup_free uint32_t *taken = NULL;
	json_t *eps, *v;
	const char *cid;
	size_t cnt = 0;
	bool changed = false;

	if (!j || net_from_json(j, &n, err) < 0)
		return -1;
	eps = json_object_get(j, "Containers");
	if (!json_is_object(eps))
		json_object_set_new(j, "Containers", eps = json_object());
	if (reap_json(s, eps, stale, n_stale, &changed, err) < 0)
		return -1;
	if (json_object_get(eps, ep->container_id))
		return err_set(err, EEXIST, "container %.12s is already connected to network %s",
			       ep->container_id, n.name);
	taken = calloc(json_object_size(eps) + 1, sizeof(*taken));
	if (!taken)
		return err_set(err, ENOMEM, "out of memory");
	json_object_foreach (eps, cid, v) {
		struct storage_endpoint o;
		ep_from_json(cid, v, &o);
		taken[cnt++] = o.ip;
	}
	if (ipam_pick(&n.subnet, n.gateway, taken, cnt, ep->ip, &ep->ip, err) < 0)
		return err_prefix(err, "network %s", n.name);
	if (!ep->mac[0] && !ep->mac[1] && !ep->mac[2]) {
		unsigned char mac[6] = { 0x02,
					 0x42,
					 (unsigned char)(ep->ip >> 24),
					 (unsigned char)(ep->ip >> 16),
					 (unsigned char)(ep->ip >> 8),
					 (unsigned char)ep->ip };
		memcpy(ep->mac, mac, 6);
	}
	v = ep_to_json(ep, n.subnet.prefix);
	if (!v)
		return err_set(err, ENOMEM, "out of memory");
	json_object_set_new(eps, ep->container_id, v);
	return eps_save(s, net, j, err);
}

int storage_network_alloc(struct store *s, const char *net, struct storage_endpoint *ep,
			  struct storage_endpoint **stale, size_t *n_stale, struct err *err)
{
	int rc;

	*stale = NULL;
	*n_stale = 0;
	if (storage_lock(s, err) < 0)
		return -1;
	rc = alloc_locked(s, net, ep, stale, n_stale, err);
	storage_unlock(s);
	return rc;
}

int storage_network_set_pid(struct store *s, const char *net, const char *container_id, pid_t pid,
			    struct err *err)
{
	json_t *j, *ep;
	int rc = -1;

	if (storage_lock(s, err) < 0)
		return -1;
	j = net_load(s, net, err);
	ep = json_object_get(json_object_get(j, "Containers"), container_id);
	if (!ep) {
		rc = j ? err_set(err, ENOENT, "no endpoint of %.12s on %s", container_id, net) : -1;
	} else {
		json_object_set_new(ep, "Pid", json_integer(pid));
		json_object_set_new(ep, "PidStart",
				    json_integer((json_int_t)storage_proc_start(pid)));
		rc = eps_save(s, net, j, err);
	}
	json_decref(j);
	storage_unlock(s);
	return rc;
}

int storage_network_release(struct store *s, const char *net, const char *container_id,
			    struct storage_endpoint *out, struct err *err)
{
	json_t *j, *eps, *ep;
	int rc = 1;

	if (storage_lock(s, err) < 0)
		return -1;
	j = net_load(s, net, err);
	eps = json_object_get(j, "Containers");
	ep = json_object_get(eps, container_id);
	if (!j) {
		rc = -1;
	} else if (ep) {
		if (out)
			ep_from_json(container_id, ep, out);
		json_object_del(eps, container_id);
		rc = eps_save(s, net, j, err);
	}
	json_decref(j);
	storage_unlock(s);
	return rc;
}

int storage_network_endpoints(struct store *s, const char *net, struct storage_endpoint **out,
			      size_t *n, struct err *err)
{
	cleanup_json json_t *j = net_load(s, net, err);
	json_t *eps, *v;
	const char *cid;

	*out = NULL;
	*n = 0;
	if (!j)
		return -1;
	eps = json_object_get(j, "Containers");
	*out = calloc(json_object_size(eps) + 1, sizeof(**out));
	if (!*out)
		return err_set(err, ENOMEM, "out of memory");
	json_object_foreach (eps, cid, v) {
		if (ep_live(s, cid, v))
			ep_from_json(cid, v, &(*out)[(*n)++]);
	}
	return 0;
}

int storage_network_reap(struct store *s, const char *net, struct storage_endpoint **stale,
			 size_t *n_stale, struct err *err)
{
	json_t *j;
	bool changed = false;
	int rc;

	*stale = NULL;
	*n_stale = 0;
	if (storage_lock(s, err) < 0)
		return -1;
	j = net_load(s, net, err);
	rc = j ? reap_json(s, json_object_get(j, "Containers"), stale, n_stale, &changed, err) : -1;
	if (rc == 0 && changed)
		rc = eps_save(s, net, j, err);
	json_decref(j);
	storage_unlock(s);
	return rc;
}

static int remove_locked(struct store *s, const char *name, struct err *err)
{
	cleanup_json json_t *j = net_load(s, name, err);
	json_t *eps, *v;
	const char *cid;
	char rel[200];

	if (!j)
		return -1;
	eps = json_object_get(j, "Containers");
	json_object_foreach (eps, cid, v) {
		if (ep_live(s, cid, v))
			return err_set(
				err, EBUSY,
				"error while removing network: network %s has active endpoints (%s)",
				name, jstr(v, "Name"));
	}
	net_rel(rel, sizeof(rel), name);
	if (unlinkat(s->root_fd, rel, 0) < 0)
		return err_sys(err, errno, "remove network %s", name);
	eps_rel(rel, sizeof(rel), name);
	if (unlinkat(s->root_fd, rel, 0) < 0 && errno != ENOENT)
		return err_sys(err, errno, "remove network %s's endpoints", name);
	return 0;
}

int storage_network_remove(struct store *s, const char *name, struct err *err)
{
	int rc;

	if (storage_lock(s, err) < 0)
		return -1;
	rc = remove_locked(s, name, err);
	storage_unlock(s);
	return rc;
}
