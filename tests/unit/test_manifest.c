/* test_manifest: docker-archive manifest.json, OCI index.json and manifest
 * parsing, and the path/digest checks that keep hostile archives from
 * naming files outside themselves (image/archive.c, load_internal.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "image/image.h"
#include "image/load_internal.h"

#define HEX1 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define HEX2 "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"

static void path_valid(void **state)
{
	static const char *good[] = { "manifest.json", "abc/layer.tar", "blobs/sha256/" HEX1,
				      "a.b/..c/d..", "x/.hidden" };
	static const char *bad[] = { "",      "/etc/passwd", "../x", "a/../../x", "a/..", "./a",
				     "a/./b", "a//b",        "a/",   ".",         "..",   "/" };
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(load_path_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(load_path_valid(bad[i]));
	assert_false(load_path_valid(NULL));
}

static void path_digest(void **state)
{
	char d[DIGEST_BUF], p[128];
	struct err e = { 0 };

	(void)state;
	assert_int_equal(load_path_digest("blobs/sha256/" HEX1, d), 0);
	assert_string_equal(d, "sha256:" HEX1);
	assert_int_equal(load_path_digest(HEX2 ".json", d), 0);
	assert_string_equal(d, "sha256:" HEX2);
	assert_int_equal(load_path_digest("abc/layer.tar", d), -1);
	assert_int_equal(load_path_digest("blobs/sha256/" HEX1 "x", d), -1);
	assert_int_equal(
		load_path_digest(
			"blobs/sha256/ZZ78112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
			d),
		-1);

	assert_int_equal(load_blob_path("sha256:" HEX1, p, sizeof(p), &e), 0);
	assert_string_equal(p, "blobs/sha256/" HEX1);
	assert_int_equal(load_blob_path("sha256:../../../etc/passwd", p, sizeof(p), &e), -1);
	assert_non_null(strstr(e.msg, "invalid digest"));
	assert_int_equal(load_blob_path("sha512:" HEX1, p, sizeof(p), &e), -1);
	assert_int_equal(load_blob_path(NULL, p, sizeof(p), &e), -1);
}

static int docker_parse(const char *j, struct load_image **v, size_t *n, struct err *e)
{
	return load_docker_manifest_parse(j, strlen(j), v, n, e);
}

static void docker_manifest_legacy(void **state)
{
	const char *j = "[{\"Config\":\"" HEX1 ".json\",\"RepoTags\":[\"busybox:latest\",\"b:1\"],"
			"\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]},"
			"{\"Config\":\"cfg.json\",\"RepoTags\":null,\"Layers\":[]}]";
	struct load_image *v;
	size_t n;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(docker_parse(j, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].config_path, HEX1 ".json");
	assert_string_equal(v[0].config_digest, "sha256:" HEX1);
	assert_int_equal(v[0].n_layers, 2);
	assert_string_equal(v[0].layer_paths[1], "bbb/layer.tar");
	assert_string_equal(v[0].layer_digests[1], "");
	assert_string_equal(v[0].layer_media[0], MEDIA_DOCKER_LAYER);
	assert_int_equal(v[0].n_tags, 2);
	assert_string_equal(v[0].tags[1], "b:1");
	assert_null(v[0].manifest);
	assert_string_equal(v[1].config_digest, "");
	assert_int_equal(v[1].n_tags, 0);
	load_images_free(v, n);
}

static void docker_manifest_blobs_layout(void **state)
{
	const char *j = "[{\"Config\":\"blobs/sha256/" HEX1 "\",\"RepoTags\":[\"x:1\"],"
			"\"Layers\":[\"blobs/sha256/" HEX2 "\"]}]";
	struct load_image *v;
	size_t n;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(docker_parse(j, &v, &n, &e), 0);
	assert_string_equal(v[0].config_digest, "sha256:" HEX1);
	assert_string_equal(v[0].layer_digests[0], "sha256:" HEX2);
	load_images_free(v, n);
}

static void docker_manifest_hostile(void **state)
{
	static const char *bad[] = {
		"[{\"Config\":\"../../etc/passwd\",\"Layers\":[]}]",
		"[{\"Config\":\"/etc/passwd\",\"Layers\":[]}]",
		"[{\"Config\":\"c.json\",\"Layers\":[\"../x/layer.tar\"]}]",
		"[{\"Config\":\"c.json\",\"Layers\":[\"a/../../layer.tar\"]}]",
		"[{\"Config\":\"c.json\",\"Layers\":[\"/abs/layer.tar\"]}]",
		"[{\"Config\":\"c.json\",\"Layers\":[7]}]",
		"[{\"Config\":\"c.json\",\"Layers\":\"x\"}]",
		"[{\"Config\":\"c.json\",\"Layers\":[],\"RepoTags\":[1]}]",
		"[{\"Layers\":[]}]",
		"[]",
		"{}",
		"not json",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct load_image *v = (void *)1;
		size_t n = 99;
		struct err e = { 0 };
		assert_int_equal(docker_parse(bad[i], &v, &n, &e), -1);
		assert_null(v);
		assert_int_equal(n, 0);
		assert_non_null(strstr(e.msg, "manifest.json"));
	}
}

static void oci_index(void **state)
{
	const char *j = "{\"schemaVersion\":2,\"manifests\":["
			"{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"sha256:" HEX1
			"\",\"size\":1,"
			"\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}},"
			"{\"mediaType\":\"" MEDIA_OCI_INDEX "\",\"digest\":\"sha256:" HEX2
			"\",\"size\":1,"
			"\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/a:1\","
			"\"org.opencontainers.image.ref.name\":\"1\"}}]}";
	struct load_desc *v;
	size_t n;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(load_oci_index_parse(j, strlen(j), &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].digest, "sha256:" HEX1);
	assert_string_equal(v[0].ref_name, "latest");
	assert_false(load_media_is_index(v[0].media_type));
	assert_true(load_media_is_index(v[1].media_type));
	assert_string_equal(v[1].ref_name, "docker.io/library/a:1");
	load_descs_free(v, n);
}

static void oci_index_hostile(void **state)
{
	static const char *bad[] = {
		"{\"manifests\":[{\"digest\":\"sha256:../../../../etc/shadow\"}]}",
		"{\"manifests\":[{\"digest\":\"sha256:" HEX1 "/../x\"}]}",
		"{\"manifests\":[{\"digest\":\"md5:abc\"}]}",
		"{\"manifests\":[{}]}",
		"{\"manifests\":[]}",
		"{\"manifests\":{}}",
		"[]",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct load_desc *v = (void *)1;
		size_t n = 9;
		struct err e = { 0 };
		assert_int_equal(load_oci_index_parse(bad[i], strlen(bad[i]), &v, &n, &e), -1);
		assert_null(v);
		assert_non_null(strstr(e.msg, "index.json"));
	}
}

static void oci_index_pick(void **state)
{
	struct load_desc v[3] = {
		{ .os = "linux", .arch = "arm64", .media_type = MEDIA_OCI_MANIFEST },
		{ .os = "linux", .arch = "amd64", .media_type = MEDIA_OCI_MANIFEST },
		{ .os = "unknown", .arch = "unknown", .media_type = MEDIA_OCI_MANIFEST },
	};
	(void)state;
	assert_int_equal(load_oci_index_pick(v, 3, "amd64"), 1);
	assert_int_equal(load_oci_index_pick(v, 3, "s390x"), -1);
	assert_int_equal(load_oci_index_pick(&v[2], 1, "amd64"), 0); /* the only one */
}

static void oci_manifest(void **state)
{
	const char *j = "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
			"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			"\"digest\":\"sha256:" HEX1 "\",\"size\":2},\"layers\":["
			"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
			"\"digest\":\"sha256:" HEX2 "\",\"size\":3},"
			"{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
			"\"digest\":\"sha256:" HEX1 "\",\"size\":3}]}";
	struct load_image im;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(load_oci_manifest_parse(j, strlen(j), &im, &e), 0);
	assert_string_equal(im.config_path, "blobs/sha256/" HEX1);
	assert_string_equal(im.config_digest, "sha256:" HEX1);
	assert_int_equal(im.n_layers, 2);
	assert_string_equal(im.layer_paths[0], "blobs/sha256/" HEX2);
	assert_string_equal(im.layer_digests[0], "sha256:" HEX2);
	assert_string_equal(im.layer_media[1], "application/vnd.docker.image.rootfs.diff.tar.gzip");
	assert_int_equal(im.manifest_len, strlen(j));
	assert_memory_equal(im.manifest, j, im.manifest_len);
	load_image_release(&im);
}

static void oci_manifest_hostile(void **state)
{
#define CFG "\"config\":{\"digest\":\"sha256:" HEX1 "\"}"
	static const char *bad[] = {
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:../../x\"},\"layers\":[]}",
		"{\"schemaVersion\":2,\"layers\":[]}",
		"{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":"
		"\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:/etc/passwd\"}]}",
		"{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":"
		"\"application/vnd.in-toto+json\",\"digest\":\"sha256:" HEX2 "\"}]}",
		"{\"schemaVersion\":2," CFG "}",
		"{\"schemaVersion\":1," CFG ",\"layers\":[]}",
		"[1]",
	};
#undef CFG
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct load_image im;
		struct err e = { 0 };
		assert_int_equal(load_oci_manifest_parse(bad[i], strlen(bad[i]), &im, &e), -1);
		assert_null(im.config_path);
		assert_null(im.layer_paths);
		assert_non_null(strstr(e.msg, "manifest"));
	}
}

static void media_types(void **state)
{
	(void)state;
	assert_true(load_media_is_layer("application/vnd.oci.image.layer.v1.tar"));
	assert_true(load_media_is_layer("application/vnd.oci.image.layer.v1.tar+zstd"));
	assert_true(load_media_is_layer(MEDIA_DOCKER_LAYER));
	assert_false(load_media_is_layer("application/vnd.oci.image.config.v1+json"));
	assert_false(load_media_is_layer(NULL));
	assert_true(load_media_is_index(MEDIA_DOCKER_LIST));
	assert_false(load_media_is_index(MEDIA_DOCKER_MANIFEST));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_valid),
		cmocka_unit_test(path_digest),
		cmocka_unit_test(docker_manifest_legacy),
		cmocka_unit_test(docker_manifest_blobs_layout),
		cmocka_unit_test(docker_manifest_hostile),
		cmocka_unit_test(oci_index),
		cmocka_unit_test(oci_index_hostile),
		cmocka_unit_test(oci_index_pick),
		cmocka_unit_test(oci_manifest),
		cmocka_unit_test(oci_manifest_hostile),
		cmocka_unit_test(media_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
