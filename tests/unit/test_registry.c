/* test_registry: the registry client's pure logic: WWW-Authenticate,
 * registry error bodies, media types, platforms and index selection,
 * manifests, insecure hosts, base64 and the credentials file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/registry_internal.h"

#define DG_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DG_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DG_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DG_D "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static void challenge_bearer(void **state)
{
	struct reg_challenge c;

	(void)state;
	assert_int_equal(reg_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
					     "service=\"registry.docker.io\","
					     "scope=\"repository:library/busybox:pull,push\"",
					     &c),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	/* The comma inside the quotes belongs to the scope. */
	assert_string_equal(c.scope, "repository:library/busybox:pull,push");
}

static void challenge_basic_and_errors(void **state)
{
	struct reg_challenge c;

	(void)state;
	assert_int_equal(reg_challenge_parse("Basic realm=\"basic-realm\"", &c), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "basic-realm");
	assert_int_equal(reg_challenge_parse("BEARER realm=x, error=\"insufficient_scope\", "
					     "unknown=\"a\\\"b\"",
					     &c),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "x");
	assert_string_equal(c.error, "insufficient_scope");
	assert_int_equal(reg_challenge_parse("", &c), -1);
	assert_int_equal(reg_challenge_parse("Bearer realm=\"unterminated", &c), -1);
	assert_int_equal(reg_challenge_parse("Bearer novalue", &c), -1);
}

static void error_body(void **state)
{
	char out[200];
	const char *j =
		"{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}";

	(void)state;
	reg_error_body(j, strlen(j), out, sizeof(out));
	assert_string_equal(out, "manifest unknown: manifest unknown");
	reg_error_body("not json", 8, out, sizeof(out));
	assert_string_equal(out, "");
	reg_error_body(NULL, 0, out, sizeof(out));
	assert_string_equal(out, "");
}

static void media_types(void **state)
{
	const char *idx = "{\"schemaVersion\":2,\"manifests\":[]}";
	const char *man = "{\"schemaVersion\":2,\"layers\":[]}";
	const char *s1 = "{\"schemaVersion\":1,\"fsLayers\":[]}";

	(void)state;
	assert_int_equal(reg_media_kind(REG_MT_DOCKER_MANIFEST), REG_KIND_MANIFEST);
	assert_int_equal(reg_media_kind(REG_MT_OCI_MANIFEST "; charset=utf-8"), REG_KIND_MANIFEST);
	assert_int_equal(reg_media_kind(REG_MT_OCI_INDEX), REG_KIND_INDEX);
	assert_int_equal(reg_media_kind(REG_MT_DOCKER_LIST), REG_KIND_INDEX);
	assert_int_equal(reg_media_kind(REG_MT_SCHEMA1_SIGNED), REG_KIND_SCHEMA1);
	assert_int_equal(reg_media_kind("application/json"), REG_KIND_UNKNOWN);
	assert_int_equal(reg_media_kind(REG_MT_OCI_MANIFEST "x"), REG_KIND_UNKNOWN);
	assert_int_equal(reg_media_kind(NULL), REG_KIND_UNKNOWN);
	/* A registry that answers application/json: the document decides. */
	assert_int_equal(reg_doc_kind("application/json", idx, strlen(idx)), REG_KIND_INDEX);
	assert_int_equal(reg_doc_kind("", man, strlen(man)), REG_KIND_MANIFEST);
	assert_int_equal(reg_doc_kind(NULL, s1, strlen(s1)), REG_KIND_SCHEMA1);
	assert_int_equal(reg_doc_kind(REG_MT_OCI_INDEX, man, strlen(man)), REG_KIND_INDEX);
	assert_true(reg_media_is_layer(REG_MT_DOCKER_LAYER_GZIP));
	assert_true(reg_media_is_layer(REG_MT_OCI_LAYER_GZIP));
	assert_true(reg_media_is_layer("application/vnd.oci.image.layer.v1.tar+zstd"));
	assert_true(reg_media_is_layer("application/vnd.oci.image.layer.v1.tar"));
	assert_false(reg_media_is_layer(REG_MT_OCI_CONFIG));
	assert_false(reg_media_is_layer("application/vnd.in-toto+json"));
}

static void platforms(void **state)
{
	struct reg_platform p;
	struct err err = { 0 };
	char buf[100];

	(void)state;
	assert_int_equal(reg_platform_parse(NULL, &p, &err), 0);
	assert_string_equal(p.os, "linux");
	assert_true(p.arch[0] != '\0');
	assert_int_equal(reg_platform_parse("linux/arm/v7", &p, &err), 0);
	assert_string_equal(p.arch, "arm");
	assert_string_equal(p.variant, "v7");
	reg_platform_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "linux/arm/v7");
	assert_int_equal(reg_platform_parse("arm64", &p, &err), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.arch, "arm64");
	assert_int_equal(reg_platform_parse("linux//amd64", &p, &err), -1);
	assert_int_equal(reg_platform_parse("linux/amd64/", &p, &err), -1);
	assert_int_equal(reg_platform_parse("a/b/c/d", &p, &err), -1);
	assert_non_null(strstr(err.msg, "os/arch"));
}

static const char *INDEX =
	"{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_OCI_INDEX "\",\"manifests\":["
	"{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"digest\":\"" DG_A "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"digest\":\"" DG_B "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
	"{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"digest\":\"" DG_C "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
	"{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"digest\":\"" DG_D "\",\"size\":1,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";

static void pick(const char *plat, const char *want)
{
	struct reg_platform p;
	struct err err = { 0 };
	char dg[DIGEST_BUF] = "", mt[128];

	assert_int_equal(reg_platform_parse(plat, &p, &err), 0);
	if (!want) {
		assert_int_equal(
			reg_index_select(INDEX, strlen(INDEX), &p, dg, mt, sizeof(mt), &err), -1);
		assert_non_null(strstr(err.msg, "no matching manifest for"));
		return;
	}
	assert_int_equal(reg_index_select(INDEX, strlen(INDEX), &p, dg, mt, sizeof(mt), &err), 0);
	assert_string_equal(dg, want);
	assert_string_equal(mt, REG_MT_OCI_MANIFEST);
}

static void index_select(void **state)
{
	(void)state;
	pick("linux/amd64", DG_A);
	pick("linux/arm/v7", DG_C);
	pick("linux/arm", DG_B);      /* no variant wanted: the first arm entry */
	pick("linux/arm64/v8", DG_D); /* arm64 without variant is v8 */
	pick("linux/s390x", NULL);
	pick("windows/amd64", NULL);
}

static const char *MANIFEST = "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_MANIFEST "\","
			      "\"config\":{\"mediaType\":\"" REG_MT_DOCKER_CONFIG
			      "\",\"size\":10,\"digest\":\"" DG_A "\"},"
			      "\"layers\":[{\"mediaType\":\"" REG_MT_DOCKER_LAYER_GZIP
			      "\",\"size\":20,\"digest\":\"" DG_B
			      "\"},{\"mediaType\":\"" REG_MT_DOCKER_LAYER_GZIP
			      "\",\"size\":30,\"digest\":\"" DG_C "\"}]}";

static void manifest_parse(void **state)
{
	struct reg_manifest m;
	struct err err = { 0 };
	char *built;

	(void)state;
	assert_int_equal(reg_manifest_parse(MANIFEST, strlen(MANIFEST), &m, &err), 0);
	assert_string_equal(m.config.digest, DG_A);
	assert_int_equal(m.config.size, 10);
	assert_int_equal(m.n_layers, 2);
	assert_string_equal(m.layers[1].digest, DG_C);
	assert_int_equal(m.layers[1].size, 30);
	/* Building it again gives the same bytes: a push of a pulled image
	 * keeps its manifest digest. */
	built = reg_manifest_build(&m.config, m.layers, m.n_layers, false);
	assert_non_null(built);
	assert_string_equal(built, MANIFEST);
	free(built);
	built = reg_manifest_build(&m.config, m.layers, m.n_layers, true);
	assert_non_null(strstr(built, REG_MT_OCI_MANIFEST));
	free(built);
	reg_manifest_release(&m);
}

static void manifest_bad(void **state)
{
	struct reg_manifest m;
	struct err err = { 0 };
	const char *bad_digest =
		"{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":\"sha256:../x\"},"
		"\"layers\":[]}";
	const char *bad_layer =
		"{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":\"" DG_A "\"},"
		"\"layers\":[{\"mediaType\":\"text/plain\",\"size\":1,\"digest\":\"" DG_B "\"}]}";
	const char *no_size = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG_A
			      "\"},\"layers\":[]}";

	(void)state;
	assert_int_equal(reg_manifest_parse(bad_digest, strlen(bad_digest), &m, &err), -1);
	assert_non_null(strstr(err.msg, "digest"));
	assert_int_equal(reg_manifest_parse(bad_layer, strlen(bad_layer), &m, &err), -1);
	assert_non_null(strstr(err.msg, "unsupported media type"));
	assert_int_equal(reg_manifest_parse(no_size, strlen(no_size), &m, &err), -1);
	assert_int_equal(reg_manifest_parse("{\"schemaVersion\":1}", 19, &m, &err), -1);
	assert_int_equal(reg_manifest_parse("[", 1, &m, &err), -1);
}

static void hosts(void **state)
{
	const char *named[] = { "myreg.example:5000", "other.example", NULL };

	(void)state;
	assert_true(reg_host_insecure("127.0.0.1:5000", NULL));
	assert_true(reg_host_insecure("127.1.2.3", NULL));
	assert_true(reg_host_insecure("localhost:5000", NULL));
	assert_false(reg_host_insecure("10.0.0.1:5000", NULL));
	assert_false(reg_host_insecure("128.0.0.1", NULL));
	assert_false(reg_host_insecure("docker.io", NULL));
	assert_true(reg_host_insecure("myreg.example:5000", named));
	assert_false(reg_host_insecure("myreg.example:5001", named));
	assert_true(reg_host_insecure("other.example:443", named));
	assert_true(reg_host_invalid("nosuch.invalid"));
	assert_true(reg_host_invalid("a.b.INVALID:5000"));
	assert_false(reg_host_invalid("invalid.example"));
	assert_string_equal(reg_api_host("docker.io"), "registry-1.docker.io");
	assert_string_equal(reg_api_host("127.0.0.1:5000"), "127.0.0.1:5000");
}

static void base64(void **state)
{
	char enc[64], dec[64];

	(void)state;
	assert_int_equal(reg_base64_encode("user:pass", 9, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "dXNlcjpwYXNz");
	assert_int_equal(reg_base64_decode(enc, dec, sizeof(dec)), 9);
	assert_string_equal(dec, "user:pass");
	assert_int_equal(reg_base64_encode("ab", 2, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "YWI=");
	assert_int_equal(reg_base64_decode("YWI=", dec, sizeof(dec)), 2);
	assert_string_equal(dec, "ab");
	assert_int_equal(reg_base64_decode("abc", dec, sizeof(dec)), -1);
	assert_int_equal(reg_base64_encode("user:pass", 9, enc, 5), -1);
}

static void credentials(void **state)
{
	char dir[] = "/tmp/mydocker-test-creds.XXXXXX", path[128], user[64], pass[64];
	struct err err = { 0 };
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/auth.json", dir);
	assert_int_equal(
		reg_creds_get(path, "h:5000", user, sizeof(user), pass, sizeof(pass), &err), 0);
	assert_int_equal(reg_creds_set(path, "h:5000", "alice", "s3cr:et", &err), 0);
	assert_int_equal(reg_creds_set(path, "other", "bob", "pw", &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(
		reg_creds_get(path, "h:5000", user, sizeof(user), pass, sizeof(pass), &err), 1);
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "s3cr:et");
	assert_int_equal(reg_creds_erase(path, "h:5000", &err), 1);
	assert_int_equal(reg_creds_erase(path, "h:5000", &err), 0);
	assert_int_equal(
		reg_creds_get(path, "h:5000", user, sizeof(user), pass, sizeof(pass), &err), 0);
	assert_int_equal(reg_creds_get(path, "other", user, sizeof(user), pass, sizeof(pass), &err),
			 1);
	assert_string_equal(user, "bob");
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

static void credentials_bad_file(void **state)
{
	char path[] = "/tmp/mydocker-test-auth.XXXXXX", user[64], pass[64];
	struct err err = { 0 };
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[1,2]", 5), 5);
	close(fd);
	assert_int_equal(reg_creds_get(path, "h", user, sizeof(user), pass, sizeof(pass), &err),
			 -1);
	assert_non_null(strstr(err.msg, "not a credentials file"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(challenge_bearer),
		cmocka_unit_test(challenge_basic_and_errors),
		cmocka_unit_test(error_body),
		cmocka_unit_test(media_types),
		cmocka_unit_test(platforms),
		cmocka_unit_test(index_select),
		cmocka_unit_test(manifest_parse),
		cmocka_unit_test(manifest_bad),
		cmocka_unit_test(hosts),
		cmocka_unit_test(base64),
		cmocka_unit_test(credentials),
		cmocka_unit_test(credentials_bad_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
