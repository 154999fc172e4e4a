/* test_ipam: CIDR parsing and overlap, address picking and exhaustion, pool
 * choice, and network records with endpoint allocation/release/reclaim in a
 * temp store. No root needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "storage/container.h"
#include "storage/network.h"

static void test_cidr_parse(void **state)
{
	struct ipam_cidr c;
	struct err err = { 0 };
	char buf[40];

	(void)state;
	assert_int_equal(ipam_cidr_parse("172.18.0.0/16", &c, &err), 0);
	assert_int_equal(c.addr, 0xac120000u);
	assert_int_equal(c.prefix, 16);
	ipam_cidr_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "172.18.0.0/16");
	assert_int_equal(ipam_cidr_parse("172.18.0.1/16", &c, &err), -1);
	assert_non_null(strstr(err.msg, "it should be 172.18.0.0/16"));
	assert_int_equal(ipam_cidr_parse("10.0.0.0/33", &c, &err), -1);
	assert_int_equal(ipam_cidr_parse("10.0.0.0", &c, &err), -1);
	assert_int_equal(ipam_cidr_parse("10.0.0/8", &c, &err), -1);
	assert_int_equal(ipam_cidr_parse("10.0.0.0/", &c, &err), -1);
	assert_int_equal(ipam_cidr_parse("0.0.0.0/0", &c, &err), 0);
}

static void test_overlap(void **state)
{
	struct ipam_cidr a = { 0xac120000u, 16 }, b = { 0xac120500u, 24 }, c = { 0xac130000u, 16 };
	struct ipam_cidr all = { 0, 0 };

	(void)state;
	assert_true(ipam_cidr_overlap(&a, &b));
	assert_true(ipam_cidr_overlap(&b, &a));
	assert_false(ipam_cidr_overlap(&a, &c));
	assert_true(ipam_cidr_overlap(&all, &c));
	assert_true(ipam_cidr_contains(&a, 0xac12ffffu));
	assert_false(ipam_cidr_contains(&a, 0xac130001u));
}

static void test_pick_and_exhaust(void **state)
{
	struct ipam_cidr c = { 0x0a000000u, 29 }; /* 10.0.0.0/29: .1-.6 usable */
	uint32_t taken[8], ip, gw = 0x0a000001u;
	size_t n = 0;
	struct err err = { 0 };

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ipam_pick(&c, gw, taken, n, 0, &ip, &err), 0);
		assert_true(ip != gw && ip > c.addr && ip < 0x0a000007u);
		taken[n++] = ip;
	}
	assert_int_equal(taken[0], 0x0a000002u);
	assert_int_equal(ipam_pick(&c, gw, taken, n, 0, &ip, &err), -1);
	assert_int_equal(err.code, EADDRNOTAVAIL);
	/* a released address is handed out again */
	taken[2] = taken[--n];
	assert_int_equal(ipam_pick(&c, gw, taken, n, 0, &ip, &err), 0);
	assert_int_equal(ip, 0x0a000004u);
	/* an asked-for address: free, taken, gateway, outside */
	assert_int_equal(ipam_pick(&c, gw, taken, n, 0x0a000002u, &ip, &err), -1);
	assert_int_equal(err.code, EADDRINUSE);
	assert_int_equal(ipam_pick(&c, gw, taken, n, gw, &ip, &err), -1);
	assert_int_equal(ipam_pick(&c, gw, taken, n, 0x0b000002u, &ip, &err), -1);
	assert_int_equal(ipam_pick(&c, gw, taken, n, 0x0a000007u, &ip, &err), -1);
}

static void test_pool(void **state)
{
	struct ipam_cidr used[2] = { { 0xac110000u, 16 }, { 0xac120100u, 24 } }, out;
	struct err err = { 0 };

	(void)state;
	assert_int_equal(ipam_pool_pick(NULL, 0, &out, &err), 0);
	assert_int_equal(out.addr, 0xac110000u);
	assert_int_equal(ipam_pool_pick(used, 2, &out, &err), 0);
	assert_int_equal(out.addr, 0xac130000u); /* 172.19: 17 used, 18 overlaps */
	struct ipam_cidr everything = { 0, 0 };
	assert_int_equal(ipam_pool_pick(&everything, 1, &out, &err), -1);
}

struct fx {
	char tmp[256];
	struct store s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err err = { 0 };
	char root[300];

	if (!f)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/mydocker-ut-ipam.XXXXXX");
	if (!mkdtemp(f->tmp))
		return -1;
	snprintf(root, sizeof(root), "%s/root", f->tmp);
	if (storage_open(&f->s, root, "vfs", &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct err err;
	int rc;

	storage_close(&f->s);
	rc = fs_rm_rf_at(AT_FDCWD, f->tmp, &err);
	free(f);
	return rc;
}

static void make_net(struct store *s, const char *name, const char *cidr, struct err *err,
		     int expect)
{
	struct storage_network n = { 0 };

	snprintf(n.name, sizeof(n.name), "%s", name);
	assert_int_equal(ipam_cidr_parse(cidr, &n.subnet, err), 0);
	n.gateway = n.subnet.addr + 1;
	assert_int_equal(storage_network_create(s, &n, err), expect);
}

static void fake_container(struct store *s, const char *id)
{
	char rel[200];
	int fd;

	snprintf(rel, sizeof(rel), "containers/%s", id);
	(void)!mkdirat(s->root_fd, "containers", 0700);
	assert_int_equal(mkdirat(s->root_fd, rel, 0700), 0);
	snprintf(rel, sizeof(rel), "containers/%s/config.json", id);
	fd = openat(s->root_fd, rel, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void test_records(void **state)
{
	struct fx *f = *state;
	struct storage_network n;
	struct err err = { 0 };

	make_net(&f->s, "one", "10.1.0.0/24", &err, 0);
	make_net(&f->s, "one", "10.2.0.0/24", &err, -1);
	assert_non_null(strstr(err.msg, "already exists"));
	make_net(&f->s, "two", "10.1.0.128/25", &err, -1);
	assert_non_null(strstr(err.msg, "overlaps"));
	make_net(&f->s, "host", "10.3.0.0/24", &err, -1);
	assert_int_equal(storage_network_get(&f->s, "one", &n, &err), 0);
	assert_int_equal(strlen(n.bridge), 15); /* "br-" + 12 hex: IFNAMSIZ - 1 */
	assert_int_equal(strncmp(n.bridge, "br-", 3), 0);
	assert_int_equal(storage_network_get(&f->s, n.id, &n, &err), 0);
	assert_int_equal(storage_network_get(&f->s, "nope", &n, &err), -1);
	assert_int_equal(storage_network_remove(&f->s, "one", &err), 0);
	assert_int_equal(storage_network_get(&f->s, "one", &n, &err), -1);
}

static void test_alloc_release_reclaim(void **state)
{
	struct fx *f = *state;
	struct storage_endpoint ep, *stale, *eps;
	size_t n_stale, n;
	struct err err = { 0 };
	const char *a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	uint32_t first;

	make_net(&f->s, "net", "10.9.0.0/30", &err, 0); /* one container address: .2 */
	fake_container(&f->s, a);
	fake_container(&f->s, b);
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.container_id, sizeof(ep.container_id), "%s", a);
	assert_int_equal(storage_network_alloc(&f->s, "net", &ep, &stale, &n_stale, &err), 0);
	free(stale);
	first = ep.ip;
	assert_int_equal(first, 0x0a090002u);
	assert_int_equal(ep.mac[0], 0x02);
	assert_int_equal(ep.mac[5], 0x02);
	/* exhausted while a's owner (this process) lives */
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.container_id, sizeof(ep.container_id), "%s", b);
	assert_int_equal(storage_network_alloc(&f->s, "net", &ep, &stale, &n_stale, &err), -1);
	free(stale);
	assert_int_equal(err.code, EADDRNOTAVAIL);
	assert_int_equal(storage_network_remove(&f->s, "net", &err), -1);
	assert_non_null(strstr(err.msg, "active endpoints"));
	/* released: free again */
	assert_int_equal(storage_network_release(&f->s, "net", a, NULL, &err), 0);
	assert_int_equal(storage_network_release(&f->s, "net", a, NULL, &err), 1);
	assert_int_equal(storage_network_alloc(&f->s, "net", &ep, &stale, &n_stale, &err), 0);
	free(stale);
	assert_int_equal(ep.ip, first);
	/* a dead pid makes it stale: reclaimed and handed back for cleanup */
	assert_int_equal(storage_network_set_pid(&f->s, "net", b, 0x3fffffff, &err), 0);
	assert_int_equal(storage_network_endpoints(&f->s, "net", &eps, &n, &err), 0);
	free(eps);
	assert_int_equal(n, 0);
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.container_id, sizeof(ep.container_id), "%s", a);
	assert_int_equal(storage_network_alloc(&f->s, "net", &ep, &stale, &n_stale, &err), 0);
	assert_int_equal(n_stale, 1);
	assert_string_equal(stale[0].container_id, b);
	free(stale);
	/* a container record that is gone frees it too */
	char rel[200];
	snprintf(rel, sizeof(rel), "containers/%s", a);
	assert_int_equal(fs_rm_rf_at(f->s.root_fd, rel, &err), 0);
	assert_int_equal(storage_network_reap(&f->s, "net", &stale, &n_stale, &err), 0);
	assert_int_equal(n_stale, 1);
	free(stale);
	assert_int_equal(storage_network_remove(&f->s, "net", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_pick_and_exhaust),
		cmocka_unit_test(test_pool),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_release_reclaim, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
