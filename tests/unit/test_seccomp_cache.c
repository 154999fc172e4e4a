/* test_seccomp_cache: a cached seccomp program is the compiled one, is
 * found again, and a damaged, foreign or unusable cache only means a
 * rebuild (runtime/seccomp_cache.c). */
#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "runtime/internal.h"

struct fixture {
	char dir[64];  /* the temp dir: the cache_dir handed to the runtime */
	char sub[128]; /* <dir>/seccomp */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mydocker-test-scache.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sub, sizeof(f->sub), "%s/seccomp", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	int rc = fs_rm_rf_at(AT_FDCWD, f->dir, &err);

	free(f);
	return rc;
}

/* The one entry of the cache (there must be exactly one), in path. */
static void only_entry(const struct fixture *f, char *path, size_t len)
{
	DIR *d = opendir(f->sub);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && ++n == 1)
			snprintf(path, len, "%s/%s", f->sub, de->d_name);
	closedir(d);
	assert_int_equal(n, 1);
}

static int count_entries(const struct fixture *f)
{
	DIR *d = opendir(f->sub);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void assert_same_prog(const void *a, const void *b)
{
	const struct sock_fprog *x = a, *y = b;

	assert_int_equal(x->len, y->len);
	assert_memory_equal(x->filter, y->filter, x->len * sizeof(struct sock_filter));
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A one-instruction "allow everything": valid, and unlike any real build,
 * so getting it back proves the program came from the file. */
static const struct sock_filter allow_all = BPF_STMT(BPF_RET | BPF_K, 0x7fff0000U);

static void *get(const char *dir, uint64_t caps)
{
	struct err err = { 0 };
	void *prog = NULL;

	assert_int_equal(rt_seccomp_get(caps, dir, &prog, &err), 0);
	assert_non_null(prog);
	return prog;
}

static void test_no_cache_dir_builds(void **state)
{
	struct err err = { 0 };
	void *built = NULL, *got;

	(void)state;
	assert_int_equal(rt_seccomp_build(rt_caps_default(), &built, &err), 0);
	got = get(NULL, rt_caps_default());
	assert_same_prog(built, got);
	rt_seccomp_free(built);
	rt_seccomp_free(got);
}

static void test_miss_then_hit(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	void *built = NULL, *got;
	char path[512];
	struct stat st;

	assert_int_equal(rt_seccomp_build(rt_caps_default(), &built, &err), 0);
	got = get(f->dir, rt_caps_default());
	assert_same_prog(built, got);
	rt_seccomp_free(got);
	only_entry(f, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, ((const struct sock_fprog *)built)->len * 8);
	assert_int_equal(stat(f->sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* The second call reads the file: replace it and get that back. */
	write_file(path, &allow_all, sizeof(allow_all), 0600);
	got = get(f->dir, rt_caps_default());
	assert_int_equal(((const struct sock_fprog *)got)->len, 1);
	rt_seccomp_free(got);
	rt_seccomp_free(built);
}

static void test_caps_are_part_of_the_key(void **state)
{
	struct fixture *f = *state;
	void *a = get(f->dir, rt_caps_default());
	void *b = get(f->dir, UINT64_MAX);

	assert_int_equal(count_entries(f), 2);
	/* CAP_SYS_ADMIN opens the namespace rules: different programs. */
	assert_true(((struct sock_fprog *)a)->len != ((struct sock_fprog *)b)->len ||
		    memcmp(((struct sock_fprog *)a)->filter, ((struct sock_fprog *)b)->filter,
			   ((struct sock_fprog *)a)->len * sizeof(struct sock_filter)));
	rt_seccomp_free(a);
	rt_seccomp_free(b);
}

/* Each damaged entry is ignored, rebuilt and replaced by a good one. */
static void check_rebuilt(const struct fixture *f, const void *data, size_t len, mode_t mode)
{
	struct err err = { 0 };
	void *built = NULL, *got;
	char path[512];
	struct stat st;

	only_entry(f, path, sizeof(path));
	write_file(path, data, len, mode);
	got = get(f->dir, rt_caps_default());
	assert_int_equal(rt_seccomp_build(rt_caps_default(), &built, &err), 0);
	assert_same_prog(built, got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, ((const struct sock_fprog *)built)->len * 8);
	rt_seccomp_free(built);
	rt_seccomp_free(got);
}

static void test_damaged_entries_rebuilt(void **state)
{
	struct fixture *f = *state;
	static const char zeros[64], odd[13];

	rt_seccomp_free(get(f->dir, rt_caps_default()));
	check_rebuilt(f, "", 0, 0600);                         /* empty */
	check_rebuilt(f, odd, sizeof(odd), 0600);              /* not whole insns */
	check_rebuilt(f, zeros, sizeof(zeros), 0600);          /* no RET last */
	check_rebuilt(f, &allow_all, sizeof(allow_all), 0666); /* writable by others */
}

static void test_foreign_dir_ignored(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(f->sub, 0777), 0);
	assert_int_equal(chmod(f->sub, 0777), 0);
	rt_seccomp_free(get(f->dir, rt_caps_default()));
	assert_int_equal(count_entries(f), 0); /* neither read nor written */
}

static void test_unusable_dir_still_builds(void **state)
{
	struct fixture *f = *state;
	char file[128];

	snprintf(file, sizeof(file), "%s/not-a-dir", f->dir);
	write_file(file, "x", 1, 0600);
	rt_seccomp_free(get(file, rt_caps_default()));
}

static void test_trim(void **state)
{
	struct fixture *f = *state;
	char path[512];

	assert_int_equal(mkdir(f->sub, 0700), 0);
	for (int i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "%s/stale-%d.bpf", f->sub, i);
		write_file(path, &allow_all, sizeof(allow_all), 0600);
	}
	rt_seccomp_free(get(f->dir, rt_caps_default()));
	assert_int_equal(count_entries(f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_cache_dir_builds),
		cmocka_unit_test_setup_teardown(test_miss_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps_are_part_of_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_entries_rebuilt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_dir_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_dir_still_builds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
