/* Unit tests of the store core: blobs, layer commit, refs, resolution,
 * deletion with shared layers, and rollback of an interrupted commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"

struct fx {
	char dir[64];
	struct store s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err e = { 0 };

	snprintf(f->dir, sizeof(f->dir), "/tmp/mydocker-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(storage_open(&f->s, f->dir, "vfs", &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };

	storage_close(&f->s);
	assert_int_equal(fs_rm_rf_at(AT_FDCWD, f->dir, &e), 0);
	free(f);
	return 0;
}

static void test_layout_modes(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char p[128];

	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(p, sizeof(p), "%s/containers", f->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_string_equal(storage_driver_name(&f->s), "vfs");
}

static void test_driver_is_sticky(void **state)
{
	struct fx *f = *state;
	struct store s2;
	struct err e = { 0 };

	assert_int_equal(storage_open(&s2, f->dir, "overlay", &e), -1);
	assert_non_null(strstr(e.msg, "uses storage driver vfs"));
}

static void test_blob_roundtrip(void **state)
{
	struct fx *f = *state;
	char d[DIGEST_BUF], *out = NULL;
	size_t len = 0;
	struct err e = { 0 };

	assert_int_equal(storage_blob_put(&f->s, "hello", 5, d, &e), 0);
	assert_string_equal(
		d, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	assert_true(storage_blob_has(&f->s, d));
	assert_int_equal(storage_blob_get(&f->s, d, &out, &len, &e), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	/* A path-like digest is never used as a file name. */
	assert_false(storage_blob_has(&f->s, "sha256:../../etc/passwd"));
	assert_int_equal(storage_blob_get(&f->s, "sha256:../x", &out, &len, &e), -1);
}

static void test_blob_corruption_detected(void **state)
{
	struct fx *f = *state;
	char d[DIGEST_BUF], p[256], *out = NULL;
	struct err e = { 0 };
	FILE *fp;

	assert_int_equal(storage_blob_put(&f->s, "{\"a\":1}", 7, d, &e), 0);
	snprintf(p, sizeof(p), "%s/blobs/sha256/%s", f->dir, d + 7);
	fp = fopen(p, "w");
	fputs("{\"a\":2}", fp);
	fclose(fp);
	assert_int_equal(storage_blob_get(&f->s, d, &out, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "corrupted"));
}

/* Stage one layer dir with a file and commit it as an image. */
static void commit_image(struct fx *f, const char *content, const char *tag, char id[DIGEST_BUF],
			 char chain[DIGEST_BUF], bool *existed)
{
	struct storage_staging st;
	struct storage_layer l = { 0 };
	struct err e = { 0 };
	const char *staged[1] = { "l0" };
	const char *tags[2] = { tag, NULL };
	char cfg[512];
	int fd;

	assert_int_equal(storage_staging_new(&f->s, &st, &e), 0);
	assert_int_equal(mkdirat(st.dirfd, "l0", 0755), 0);
	fd = openat(st.dirfd, "l0/file", O_CREAT | O_WRONLY, 0644);
	assert_true(write(fd, content, strlen(content)) > 0);
	close(fd);
	assert_int_equal(digest_buf(content, strlen(content), l.diff_id), 0);
	assert_int_equal(digest_chain_id(NULL, l.diff_id, l.chain_id), 0);
	snprintf(cfg, sizeof(cfg), "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		 l.diff_id);
	struct storage_commit c = { .layers = &l,
				    .staged = staged,
				    .n = 1,
				    .config = cfg,
				    .config_len = strlen(cfg),
				    .tags = tags };
	assert_int_equal(storage_image_commit(&f->s, &st, &c, id, existed, &e), 0);
	storage_staging_discard(&f->s, &st);
	snprintf(chain, DIGEST_BUF, "%s", l.chain_id);
}

static void test_commit_and_refs(void **state)
{
	struct fx *f = *state;
	char id[DIGEST_BUF], id2[DIGEST_BUF], chain[DIGEST_BUF], got[DIGEST_BUF], p[300];
	struct err e = { 0 };
	bool existed;
	char **ids;
	size_t n;

	commit_image(f, "one", "a:latest", id, chain, &existed);
	assert_false(existed);
	assert_true(storage_layer_exists(&f->s, chain));
	assert_true(storage_image_exists(&f->s, id));
	assert_int_equal(storage_ref_lookup(&f->s, "a:latest", got), 0);
	assert_string_equal(got, id);
	/* Same content again: same image, no second layer. */
	commit_image(f, "one", "b:latest", id2, chain, &existed);
	assert_true(existed);
	assert_string_equal(id, id2);
	assert_int_equal(storage_image_list(&f->s, &ids, &n, &e), 0);
	assert_int_equal(n, 1);
	storage_strv_free(ids, n);
	/* Resolution by short id and by "sha256:" prefix. */
	snprintf(p, 13, "%s", id + 7);
	assert_int_equal(storage_image_resolve(&f->s, p, got, &e), 0);
	assert_string_equal(got, id);
	assert_int_equal(storage_image_resolve(&f->s, "nosuch:latest", got, &e), -1);
	assert_non_null(strstr(e.msg, "No such image"));
	/* Nothing left in tmp/. */
	snprintf(p, sizeof(p), "%s/tmp", f->dir);
	assert_int_equal(fs_du_at(AT_FDCWD, p), 0);
}

static void test_delete_keeps_shared_layers(void **state)
{
	struct fx *f = *state;
	char id1[DIGEST_BUF], id2[DIGEST_BUF], c1[DIGEST_BUF], c2[DIGEST_BUF], got[DIGEST_BUF];
	struct err e = { 0 };
	bool existed;

	commit_image(f, "one", "a:1", id1, c1, &existed);
	commit_image(f, "two", "a:2", id2, c2, &existed);
	assert_int_equal(storage_image_delete(&f->s, id1, &e), 0);
	assert_false(storage_image_exists(&f->s, id1));
	assert_false(storage_layer_exists(&f->s, c1));
	assert_false(storage_blob_has(&f->s, id1));
	assert_int_equal(storage_ref_lookup(&f->s, "a:1", got), -1);
	assert_true(storage_layer_exists(&f->s, c2));
	assert_int_equal(storage_ref_lookup(&f->s, "a:2", got), 0);
}

static void test_rollback_of_dead_commit(void **state)
{
	struct fx *f = *state;
	char p[400], hex[65];
	struct err e = { 0 };
	struct store s2;
	FILE *fp;

	/* A dead process's staging dir with a plan and a layer it installed
	 * but no image record referencing it. */
	memset(hex, 'a', 64);
	hex[64] = '\0';
	snprintf(p, sizeof(p), "%s/tmp/stage-1-dead", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tmp/stage-1-dead/txn.json", f->dir);
	fp = fopen(p, "w");
	fprintf(fp, "{\"layers\":[\"%s\"]}", hex);
	fclose(fp);
	snprintf(p, sizeof(p), "%s/layers/%s", f->dir, hex);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(storage_open(&s2, f->dir, NULL, &e), 0);
	storage_close(&s2);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/tmp/stage-1-dead", f->dir);
	assert_int_equal(access(p, F_OK), -1);
}

static void test_live_staging_survives(void **state)
{
	struct fx *f = *state;
	struct storage_staging st;
	struct store s2;
	struct err e = { 0 };

	assert_int_equal(storage_staging_new(&f->s, &st, &e), 0);
	/* The lock is per open file description: a second store in this
	 * process must still see the dir as owned. */
	assert_int_equal(storage_open(&s2, f->dir, NULL, &e), 0);
	storage_close(&s2);
	assert_int_equal(access(st.path, F_OK), 0);
	storage_staging_discard(&f->s, &st);
	assert_int_equal(access(st.path, F_OK), -1);
}

/* Whether a layer may be deleted: when the containers cannot be listed,
 * it must count as used. */
static void test_layer_referenced_fails_safe(void **state)
{
	struct fx *f = *state;
	char path[128];
	const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	int fd;

	assert_false(storage_layer_referenced(&f->s, hex));
	snprintf(path, sizeof(path), "%s/containers", f->dir);
	assert_int_equal(rmdir(path), 0);
	assert_false(storage_layer_referenced(&f->s, hex)); /* none yet: unused */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_true(storage_layer_referenced(&f->s, hex));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* The start time stays the same for a live process, whatever its comm
 * (which may hold ") Z "), and is 0 once it is a zombie or reaped. */
static void test_proc_start(void **state)
{
	int sync_pipe[2];
	unsigned long long start;
	siginfo_t si;
	char c;
	pid_t pid;

	(void)state;
	assert_true(storage_proc_start(getpid()) > 0);
	assert_int_equal(storage_proc_start(0), 0);
	assert_int_equal(pipe(sync_pipe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, "x) Z 1 2 (y");
		(void)!write(sync_pipe[1], "r", 1);
		pause();
		_exit(0);
	}
	close(sync_pipe[1]);
	assert_int_equal(read(sync_pipe[0], &c, 1), 1);
	close(sync_pipe[0]);
	start = storage_proc_start(pid);
	assert_true(start > 0);
	assert_true(storage_proc_start(pid) == start);
	kill(pid, SIGKILL);
	/* WNOWAIT: the child stays a zombie until the next wait. */
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(storage_proc_start(pid), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(storage_proc_start(pid), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_is_sticky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_corruption_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_and_refs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_keeps_shared_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_of_dead_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_staging_survives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layer_referenced_fails_safe, setup, teardown),
		cmocka_unit_test(test_proc_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
