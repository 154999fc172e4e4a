/* test_fuzz_corpus: replays every file of tests/fuzz/corpus/<target>/ (the
 * seeds, and each input a fuzzer once crashed on) through the fuzz targets
 * of tests/fuzz/, built here with the normal compiler: a regression there
 * aborts or trips ASan in `make test` / `make test-asan`, no clang needed.
 * The corpus is found from this binary (build/tests/ -> tests/fuzz/corpus)
 * or $FUZZ_CORPUS_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"

/* Each target defines LLVMFuzzerTestOneInput: give each its own name. */
#define LLVMFuzzerTestOneInput fuzz_ref_one
#include "tests/fuzz/fuzz_ref.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_manifest_one
#include "tests/fuzz/fuzz_manifest.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_unpack_one
#include "tests/fuzz/fuzz_unpack.c"
#undef LLVMFuzzerTestOneInput

#define CORPUS_FILE_MAX (16u << 20)

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static void corpus_dir(const char *target, char *out, size_t len)
{
	const char *env = getenv("FUZZ_CORPUS_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(out, len, "%s/%s", env, target);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	/* <repo>/<build>/tests/test_fuzz_corpus */
	snprintf(out, len, "%s/../../tests/fuzz/corpus/%s", dirname(exe), target);
}

/* Run fn on every regular file of the target's corpus; at least one. */
static void replay(const char *target, fuzz_fn fn)
{
	char dir[PATH_MAX + 64];
	struct dirent *de;
	size_t count = 0;
	DIR *d;

	corpus_dir(target, dir, sizeof(dir));
	d = opendir(dir);
	if (!d)
		fail_msg("open corpus %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		struct err err = { 0 };
		char *data = NULL;
		size_t len = 0;

		if (de->d_name[0] == '.')
			continue;
		if (fs_read_all(dirfd(d), de->d_name, &data, &len, CORPUS_FILE_MAX, &err) < 0)
			fail_msg("read %s/%s: %s", dir, de->d_name, err.msg);
		fn((const uint8_t *)data, len);
		free(data);
		count++;
	}
	closedir(d);
	print_message("replayed %zu %s inputs\n", count, target);
	assert_true(count > 0);
}

static void test_replay_ref(void **state)
{
	(void)state;
	replay("ref", fuzz_ref_one);
}

static void test_replay_manifest(void **state)
{
	(void)state;
	replay("manifest", fuzz_manifest_one);
}

static void test_replay_unpack(void **state)
{
	char tmp[] = "/tmp/mydocker-fuzz-replay.XXXXXX";
	struct err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(tmp));
	setenv("FUZZ_UNPACK_DIR", tmp, 1);
	replay("unpack", fuzz_unpack_one);
	if (fuzz_unpack_base_fd >= 0)
		close(fuzz_unpack_base_fd);
	assert_int_equal(fs_rm_rf_at(AT_FDCWD, tmp, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_ref),
		cmocka_unit_test(test_replay_manifest),
		cmocka_unit_test(test_replay_unpack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
