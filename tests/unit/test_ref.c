/* test_ref: image reference parsing and normalization (Docker's grammar). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "image/image.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIG "sha256:" HEX64

struct parsed {
	const char *in, *domain, *path, *tag, *digest;
};

static void test_parse_fields(void **state)
{
	static const struct parsed cases[] = {
		{ "busybox", "docker.io", "library/busybox", "latest", "" },
		{ "busybox:1.36", "docker.io", "library/busybox", "1.36", "" },
		{ "user/app", "docker.io", "user/app", "latest", "" },
		{ "docker.io/library/busybox:1", "docker.io", "library/busybox", "1", "" },
		{ "index.docker.io/user/app", "docker.io", "user/app", "latest", "" },
		{ "127.0.0.1:5000/library/busybox", "127.0.0.1:5000", "library/busybox", "latest",
		  "" },
		{ "localhost/app", "localhost", "app", "latest", "" },
		{ "localhost:5000/a/b/c:v2", "localhost:5000", "a/b/c", "v2", "" },
		{ "quay.io/coreos/etcd", "quay.io", "coreos/etcd", "latest", "" },
		{ "Example.COM/app", "Example.COM", "app", "latest", "" },
		{ "[::1]:5000/app:x", "[::1]:5000", "app", "x", "" },
		{ "busybox@" DIG, "docker.io", "library/busybox", "", DIG },
		{ "busybox:1@" DIG, "docker.io", "library/busybox", "1", DIG },
		{ "ab/c__d---e/f_g.h", "docker.io", "ab/c__d---e/f_g.h", "latest", "" },
		{ "my-reg.example.com:443/f_g.h", "my-reg.example.com:443", "f_g.h", "latest", "" },
		{ "foo__bar/x--y", "docker.io", "foo__bar/x--y", "latest", "" },
		{ "localhost:5000", "docker.io", "library/localhost", "5000", "" },
		{ "app:V1_2.3-rc", "docker.io", "library/app", "V1_2.3-rc", "" },
		{ "app:_x", "docker.io", "library/app", "_x", "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct image_ref r;
		struct err err = { 0 };
		if (image_ref_parse(cases[i].in, &r, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err.msg);
		assert_string_equal(r.domain, cases[i].domain);
		assert_string_equal(r.path, cases[i].path);
		assert_string_equal(r.tag, cases[i].tag);
		assert_string_equal(r.digest, cases[i].digest);
	}
}

static void test_invalid(void **state)
{
	char long_name[300], long_tag[200];
	const char *cases[] = {
		"",
		"Busybox",
		"user/App",
		"busybox:",
		":tag",
		"busybox@",
		"busybox@sha256:abc",
		"busybox@sha256:" HEX64 "0",
		"busybox@md5:" HEX64,
		"busybox@SHA256:" HEX64,
		"busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"a//b",
		"a/",
		"/a",
		"-a",
		"a-",
		"a..b",
		"a___b",
		"_a",
		"a/.b",
		"a:b:c",
		"a:.x",
		"a:-x",
		"a:b/c",
		"a b",
		"a\tb",
		"ex$ample.com/x",
		"-bad.com/x",
		"bad-.com/x",
		"host:port/x",
		"host:/x",
		"a_b.com/x",
		"[zz]:1/x",
		HEX64,
		"app:t@g",
		"app@" DIG "x",
		long_name,
		long_tag,
	};
	(void)state;
	memset(long_name, 'a', 256);
	long_name[256] = '\0';
	memcpy(long_tag, "app:", 4);
	memset(long_tag + 4, 't', 129);
	long_tag[133] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct image_ref r;
		struct err err = { 0 };
		if (image_ref_parse(cases[i], &r, &err) == 0)
			fail_msg("accepted invalid reference \"%s\"", cases[i]);
		assert_int_not_equal(err.code, 0);
		assert_non_null(strstr(err.msg, "invalid reference format"));
		assert_null(strchr(err.msg, '\n'));
	}
}

static void test_limits(void **state)
{
	char name[300], tag[140];
	struct image_ref r;
	struct err err = { 0 };

	(void)state;
	/* 255 characters in all is the longest name. */
	memset(name, 'a', 255);
	memcpy(name, "ex.com/", 7);
	name[255] = '\0';
	assert_int_equal(image_ref_parse(name, &r, &err), 0);
	memcpy(tag, "a:", 2);
	memset(tag + 2, 't', 128);
	tag[130] = '\0';
	assert_int_equal(image_ref_parse(tag, &r, &err), 0);
	assert_int_equal(strlen(r.tag), 128);
	assert_int_equal(image_ref_parse("a:b", &r, &err), 0);
	assert_string_equal(r.tag, "b");
}

static void test_uppercase_message(void **state)
{
	struct image_ref r;
	struct err err = { 0 };

	(void)state;
	assert_int_equal(image_ref_parse("library/BusyBox", &r, &err), -1);
	assert_non_null(strstr(err.msg, "must be lowercase"));
}

static void test_familiar(void **state)
{
	static const char *const cases[][2] = {
		{ "busybox", "busybox:latest" },
		{ "busybox:1", "busybox:1" },
		{ "docker.io/library/busybox:1", "busybox:1" },
		{ "index.docker.io/library/busybox", "busybox:latest" },
		{ "library/busybox", "busybox:latest" },
		{ "127.0.0.1:5000/library/busybox", "127.0.0.1:5000/library/busybox:latest" },
		{ "docker.io/user/app", "user/app:latest" },
		{ "docker.io/library/a/b", "library/a/b:latest" },
		{ "localhost/app:v1", "localhost/app:v1" },
		{ "busybox@" DIG, "busybox@" DIG },
		{ "quay.io/x/y@" DIG, "quay.io/x/y@" DIG },
		{ "busybox:1@" DIG, "busybox:1@" DIG },
		/* Dropping "docker.io/" here would name another registry. */
		{ "docker.io/localhost/x", "docker.io/localhost/x:latest" },
		{ "docker.io/a.b/x:1", "docker.io/a.b/x:1" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[512];
		struct err err = { 0 };
		if (image_ref_normalize(cases[i][0], out, sizeof(out), &err) < 0)
			fail_msg("%s: %s", cases[i][0], err.msg);
		assert_string_equal(out, cases[i][1]);
		/* Normalizing is idempotent: the familiar name parses to itself. */
		assert_int_equal(image_ref_normalize(out, out, sizeof(out), &err), 0);
		assert_string_equal(out, cases[i][1]);
	}
}

static void test_familiar_too_small(void **state)
{
	struct image_ref r;
	struct err err = { 0 };
	char out[8];

	(void)state;
	assert_int_equal(image_ref_parse("busybox", &r, &err), 0);
	assert_int_equal(image_ref_familiar(&r, out, sizeof(out)), -1);
	assert_int_equal(image_ref_normalize("busybox", out, sizeof(out), &err), -1);
	assert_int_not_equal(err.code, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields), cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_limits),       cmocka_unit_test(test_uppercase_message),
		cmocka_unit_test(test_familiar),     cmocka_unit_test(test_familiar_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
