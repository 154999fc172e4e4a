/* test_dlib: libraries loaded on first use (base/dlib.h): a symbol is
 * resolved once and cached, a missing library or symbol gives the
 * fallback and one error line, and the shims forward to the real ones. */
#include <archive.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "base/dlib.h"

static struct dlib libm = DLIB_INIT("libm.so.6", "libc6");
static struct dlib libz = DLIB_INIT("libz.so.1", "zlib1g");
static struct dlib nolib = DLIB_INIT("libmydocker-test-missing.so.0", "mydocker-none");

/* zlib: a real library the test binary is not linked with. */
int mydocker_test_missing(int x);

DLIB_FORWARD(libz, NULL, const char *, zlibVersion, (void), ())
DLIB_FORWARD(nolib, -7, int, mydocker_test_missing, (int x), (x))

/* Run fn with stderr captured into buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	char path[] = "/tmp/mydocker-test-dlib.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void test_resolves_and_caches(void **state)
{
	void *slot = NULL, *p;

	(void)state;
	p = dlib_sym(&libm, &slot, "fabs");
	assert_non_null(p);
	assert_ptr_equal(slot, p);
	assert_ptr_equal(dlib_sym(&libm, &slot, "fabs"), p);
	assert_non_null(libm.handle);
}

static void missing_twice(void)
{
	assert_int_equal(mydocker_test_missing(3), -7);
	assert_int_equal(mydocker_test_missing(3), -7);
}

static void test_missing_library(void **state)
{
	char buf[1024];

	(void)state;
	capture_stderr(missing_twice, buf, sizeof(buf));
	assert_non_null(strstr(buf, "libmydocker-test-missing.so.0"));
	assert_non_null(strstr(buf, "install the Debian package mydocker-none"));
	/* Reported once, not per call. */
	assert_null(strstr(strstr(buf, "cannot load") + 1, "cannot load"));
}

static void missing_symbol(void)
{
	void *slot = NULL;

	assert_null(dlib_sym(&libm, &slot, "mydocker_no_such_function"));
	assert_null(slot);
}

static void test_missing_symbol(void **state)
{
	char buf[1024];

	(void)state;
	libm.reported = 0;
	capture_stderr(missing_symbol, buf, sizeof(buf));
	assert_non_null(strstr(buf, "mydocker_no_such_function"));
}

static void test_forward(void **state)
{
	(void)state;
	assert_string_equal(zlibVersion(), ZLIB_VERSION);
}

/* The real shims reach the real libraries (curl_easy_setopt through its
 * variadic forwarder: a long, a string and a function pointer). */
static size_t sink(char *p, size_t size, size_t n, void *data)
{
	(void)p;
	(void)data;
	return size * n;
}

static void test_shims(void **state)
{
	struct archive *a = archive_read_new();
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	CURL *c = curl_easy_init();
	char *esc;

	(void)state;
	assert_non_null(strstr(archive_version_string(), "libarchive"));
	assert_non_null(a);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
	assert_non_null(nft);
	nft_ctx_free(nft);
	assert_non_null(c);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40),
			 CURLE_OK);
	esc = curl_easy_escape(c, "a b", 0);
	assert_string_equal(esc, "a%20b");
	curl_free(esc);
	curl_easy_cleanup(c);
	assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolves_and_caches),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_symbol),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_shims),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
