/* test_volume: container/volume names, generated names, container records
 * (create, conflicts, lookup, delete) and volumes (create, modes, in-use
 * removal, copy-up that never leaves the container's root). No root needed. */
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

#include "base/cleanup.h"
#include "base/fs.h"
#include "storage/container.h"
#include "storage/names.h"

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
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/mydocker-ut-volume.XXXXXX");
	if (!mkdtemp(f->tmp))
		return -1;
	snprintf(root, sizeof(root), "%s/root", f->tmp);
	if (storage_open(&f->s, root, "vfs", &err) < 0) {
		print_error("storage_open: %s\n", err.msg);
		return -1;
	}
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

/* Permission bits of dir/sub (sub "" = dir itself). */
static mode_t mode_of(const char *dir, const char *sub)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s%s", dir, sub[0] ? "/" : "", sub);
	if (lstat(p, &st) < 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

/* ---- names -------------------------------------------------------------- */

static void test_name_validation(void **state)
{
	const char *good[] = { "ab", "a1", "web.1", "my_vol-2", "9lives", "A-", NULL };
	const char *bad[] = { "", "a", "_ab", ".ab", "-ab", "a/b", "a b", "a:b", "é1", NULL };
	(void)state;

	for (int i = 0; good[i]; i++)
		assert_true(storage_name_is_valid(good[i]));
	for (int i = 0; bad[i]; i++)
		assert_false(storage_name_is_valid(bad[i]));
	assert_false(storage_name_is_valid(NULL));
}

static void test_name_generation(void **state)
{
	char name[128], small[4], id[65];
	(void)state;

	for (int i = 0; i < 100; i++) {
		assert_int_equal(storage_name_generate(name, sizeof(name), 0), 0);
		assert_true(storage_name_is_valid(name));
		assert_non_null(strchr(name, '_'));
		assert_string_not_equal(name, "boring_wozniak");
	}
	assert_int_equal(storage_name_generate(name, sizeof(name), 1), 0);
	assert_true(name[strlen(name) - 1] >= '0' && name[strlen(name) - 1] <= '9');
	assert_int_equal(storage_name_generate(small, sizeof(small), 0), -1);
	assert_int_equal(storage_random_id(id), 0);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);
}

/* ---- containers ----------------------------------------------------------- */

static void create_ok(struct fx *f, const char *name, json_t *cfg, struct storage_container *c)
{
	struct err err = { 0 };
	int rc = storage_container_create(&f->s, name, "sha256:1111", cfg, c, &err);

	if (rc < 0)
		print_error("create: %s\n", err.msg);
	assert_int_equal(rc, 0);
}

static void test_container_create(void **state)
{
	struct fx *f = *state;
	struct storage_container c, c2;
	struct err err = { 0 };
	json_t *cfg = json_pack("{s:s}", "ImageName", "busybox");
	json_t *stored;
	mode_t old = umask(0077);

	create_ok(f, "web", cfg, &c);
	umask(old);
	assert_string_equal(c.name, "web");
	assert_int_equal(strlen(c.id), 64);
	assert_int_equal(mode_of(c.dir, ""), 0700);
	assert_int_equal(mode_of(c.dir, "upper"), 0755);
	assert_int_equal(mode_of(c.dir, "work"), 0700);
	assert_int_equal(mode_of(c.dir, "merged"), 0755);
	assert_int_equal(mode_of(f->s.root, "containers"), 0700);
	/* the caller's object is borrowed, not changed */
	assert_null(json_object_get(cfg, "Id"));
	stored = storage_container_config(&f->s, &c, &err);
	assert_non_null(stored);
	assert_string_equal(json_string_value(json_object_get(stored, "Name")), "/web");
	assert_string_equal(json_string_value(json_object_get(stored, "Id")), c.id);
	assert_string_equal(json_string_value(json_object_get(stored, "ImageName")), "busybox");
	assert_string_equal(json_string_value(json_object_get(stored, "Image")), "sha256:1111");
	json_decref(stored);

	assert_int_equal(storage_container_create(&f->s, "/web", "sha256:1111", cfg, &c2, &err),
			 -1);
	assert_int_equal(
		strncmp(err.msg, "Conflict. The container name \"/web\" is already in use", 53), 0);
	assert_int_equal(storage_container_create(&f->s, "a/b", NULL, cfg, &c2, &err), -1);
	assert_string_equal(err.msg, "Invalid container name (a/b), only "
				     "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
	create_ok(f, NULL, cfg, &c2);
	assert_true(storage_name_is_valid(c2.name));
	assert_non_null(strchr(c2.name, '_'));
	json_decref(cfg);
}

static void test_container_lookup_delete(void **state)
{
	struct fx *f = *state;
	struct storage_container c, got, many[17];
	struct err err = { 0 };
	json_t *st = json_pack("{s:s}", "Status", "created");
	char prefix[2] = { 0 }, path[4096];

	create_ok(f, "pg", NULL, &c);
	assert_int_equal(storage_container_lookup(&f->s, "pg", &got, &err), 0);
	assert_string_equal(got.id, c.id);
	assert_string_equal(got.image_id, "sha256:1111");
	assert_string_equal(got.merged, c.merged);
	assert_int_equal(storage_container_lookup(&f->s, "/pg", &got, &err), 0);
	assert_int_equal(storage_container_lookup(&f->s, c.id, &got, &err), 0);
	assert_string_equal(got.name, "pg");
	snprintf(path, 13, "%.12s", c.id);
	assert_int_equal(storage_container_lookup(&f->s, path, &got, &err), 0);
	assert_string_equal(got.id, c.id);
	assert_int_equal(storage_container_lookup(&f->s, "nope", &got, &err), -1);
	assert_string_equal(err.msg, "No such container: nope");
	/* 17 more ids: two share a first hex digit (pigeonhole) */
	for (int i = 0; i < 17; i++)
		create_ok(f, NULL, NULL, &many[i]);
	for (int i = 0; i < 17 && !prefix[0]; i++)
		for (int j = i + 1; j < 17; j++)
			if (many[i].id[0] == many[j].id[0])
				prefix[0] = many[i].id[0];
	assert_int_equal(storage_container_lookup(&f->s, prefix, &got, &err), -1);
	assert_int_equal(strncmp(err.msg, "multiple containers match prefix", 32), 0);

	assert_true(storage_image_in_use(&f->s, "sha256:1111"));
	assert_true(storage_image_in_use(&f->s, "1111"));
	assert_false(storage_image_in_use(&f->s, "sha256:2222"));
	assert_int_equal(storage_container_set_state(&f->s, &c, st, &err), 0);
	snprintf(path, sizeof(path), "%s/state.json", c.dir);
	assert_int_equal(access(path, F_OK), 0);
	json_decref(st);

	assert_int_equal(storage_container_delete(&f->s, &c, &err), 0);
	assert_int_equal(access(c.dir, F_OK), -1);
	assert_int_equal(storage_container_lookup(&f->s, "pg", &got, &err), -1);
	/* "pg" is not hex: no id prefix can match it */
	create_ok(f, "pg", NULL, &c); /* the name is free again */
}

static void test_container_list(void **state)
{
	struct fx *f = *state;
	struct storage_container a, b;
	struct err err = { 0 };
	char **ids;
	size_t n;

	assert_int_equal(storage_container_list(&f->s, &ids, &n, &err), 0);
	assert_int_equal(n, 0);
	storage_strv_free(ids, n);
	create_ok(f, "one", NULL, &a);
	create_ok(f, "two", NULL, &b);
	assert_int_equal(storage_container_list(&f->s, &ids, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(strcmp(ids[0], a.id) == 0 || strcmp(ids[1], a.id) == 0);
	storage_strv_free(ids, n);
}

/* ---- volumes ------------------------------------------------------------ */

static void vol_ok(struct fx *f, const char *name, struct storage_volume *v)
{
	struct err err = { 0 };
	int rc = storage_volume_create(&f->s, name, NULL, false, v, &err);

	if (rc < 0)
		print_error("volume create: %s\n", err.msg);
	assert_int_equal(rc, 0);
}

static void test_volume_create(void **state)
{
	struct fx *f = *state;
	struct storage_volume v, v2;
	struct err err = { 0 };
	json_t *info, *labels = json_pack("{s:s}", "team", "pg");
	mode_t old = umask(0);
	char **names;
	size_t n;

	assert_int_equal(storage_volume_create(&f->s, "data", labels, false, &v, &err), 0);
	umask(old);
	assert_true(v.created);
	assert_int_equal(mode_of(f->s.root, "volumes"), 0700);
	assert_int_equal(mode_of(f->s.root, "volumes/data"), 0755);
	assert_int_equal(mode_of(v.data, ""), 0755);
	info = storage_volume_info(&f->s, "data", &err);
	assert_non_null(info);
	assert_string_equal(json_string_value(json_object_get(info, "Name")), "data");
	assert_string_equal(json_string_value(json_object_get(info, "Driver")), "local");
	assert_string_equal(json_string_value(json_object_get(info, "Scope")), "local");
	assert_string_equal(json_string_value(json_object_get(info, "Mountpoint")), v.data);
	assert_true(json_is_false(json_object_get(info, "Anonymous")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(info, "Labels"), "team")), "pg");
	json_decref(info);
	json_decref(labels);

	vol_ok(f, "data", &v2);
	assert_false(v2.created);
	assert_string_equal(v2.data, v.data);
	assert_int_equal(storage_volume_create(&f->s, NULL, NULL, false, &v2, &err), 0);
	assert_int_equal(strlen(v2.name), 64);
	info = storage_volume_info(&f->s, v2.name, &err);
	assert_true(json_is_true(json_object_get(info, "Anonymous")));
	json_decref(info);
	assert_int_equal(storage_volume_create(&f->s, "x/y", NULL, false, &v2, &err), -1);
	assert_non_null(strstr(err.msg, "includes invalid characters for a local volume name"));
	assert_int_equal(storage_volume_get(&f->s, "data", &v2, &err), 0);
	assert_int_equal(storage_volume_get(&f->s, "nope", &v2, &err), -1);
	assert_string_equal(err.msg, "No such volume: nope");
	assert_int_equal(storage_volume_list(&f->s, &names, &n, &err), 0);
	assert_int_equal(n, 2);
	storage_strv_free(names, n);
}

static void test_volume_remove_in_use(void **state)
{
	struct fx *f = *state;
	struct storage_volume v;
	struct storage_container c;
	struct err err = { 0 };
	char want[512];
	json_t *cfg = json_pack("{s:[{s:s, s:s, s:s, s:b}]}", "Mounts", "Type", "volume", "Name",
				"data", "Destination", "/data", "RW", 1);

	vol_ok(f, "data", &v);
	vol_ok(f, "other", &v);
	create_ok(f, "user", cfg, &c);
	json_decref(cfg);
	assert_int_equal(storage_volume_remove(&f->s, "data", false, &err), -1);
	snprintf(want, sizeof(want), "remove data: volume is in use - [%s]", c.id);
	assert_string_equal(err.msg, want);
	assert_int_equal(storage_volume_remove(&f->s, "other", false, &err), 0);
	assert_int_equal(storage_volume_get(&f->s, "other", &v, &err), -1);
	assert_int_equal(storage_volume_remove(&f->s, "data", true, &err), 0);
	assert_int_equal(storage_volume_get(&f->s, "data", &v, &err), -1);
	assert_int_equal(storage_volume_remove(&f->s, "data", false, &err), -1);
	assert_string_equal(err.msg, "No such volume: data");
	assert_int_equal(storage_volume_remove(&f->s, "data", true, &err), 0);
}

static void put(const char *dir, const char *name, const char *data)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static bool empty_dir(const char *path)
{
	return rmdir(path) == 0 ? (mkdir(path, 0755) == 0) : false;
}

static void test_volume_copy_up(void **state)
{
	struct fx *f = *state;
	struct storage_volume v;
	struct err err = { 0 };
	char mg[512], p[4096], buf[64];

	snprintf(mg, sizeof(mg), "%s/merged", f->tmp);
	assert_int_equal(mkdir(mg, 0755), 0);
	snprintf(p, sizeof(p), "%s/data", mg);
	assert_int_equal(mkdir(p, 0750), 0);
	assert_int_equal(chmod(p, 0750), 0);
	put(p, "conf", "hello");
	snprintf(p, sizeof(p), "%s/data/sub", mg);
	assert_int_equal(mkdir(p, 0700), 0);
	put(p, "deep", "deep");
	snprintf(p, sizeof(p), "%s/data/etc", mg);
	assert_int_equal(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/escape", mg);
	assert_int_equal(symlink("/etc", p), 0); /* resolves to merged/etc: absent */
	snprintf(p, sizeof(p), "%s/file", mg);
	put(mg, "file", "not a dir");

	vol_ok(f, "cv", &v);
	assert_int_equal(storage_volume_copy_up(mg, "/escape", &v, &err), 0);
	assert_int_equal(storage_volume_copy_up(mg, "/missing", &v, &err), 0);
	assert_int_equal(storage_volume_copy_up(mg, "/file", &v, &err), 0);
	assert_true(empty_dir(v.data));
	assert_int_equal(storage_volume_copy_up(mg, "/data", &v, &err), 0);
	snprintf(p, sizeof(p), "%s/conf", v.data);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/sub/deep", v.data);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/etc", v.data);
	assert_int_equal(readlink(p, buf, sizeof(buf)), 4);
	assert_int_equal(mode_of(v.data, ""), 0750);
	assert_int_equal(mode_of(v.data, "sub"), 0700);
	/* not empty any more: a second copy-up leaves it alone */
	snprintf(p, sizeof(p), "%s/conf", v.data);
	unlink(p);
	put(v.data, "mine", "x");
	assert_int_equal(storage_volume_copy_up(mg, "/data", &v, &err), 0);
	assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_validation),
		cmocka_unit_test(test_name_generation),
		cmocka_unit_test_setup_teardown(test_container_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_lookup_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_remove_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_copy_up, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
