/* test_config: image config parsing, chain ids, import configs and
 * --change lines (image/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "image/image.h"
/* after jansson.h (via image.h), so cleanup_json exists */
#include "base/cleanup.h"
#include "image/load_internal.h"

/* printf a | sha256sum, printf b | sha256sum */
#define D1 "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define D2 "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
/* printf '%s %s' $D1 $D2 | sha256sum */
#define C2 "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676"

static int parse(const char *json, struct image_config *c, struct err *e)
{
	return image_config_parse(json, strlen(json), c, e);
}

static void config_valid(void **state)
{
	const char *j = "{\"architecture\":\"amd64\",\"os\":\"linux\","
			"\"config\":{\"Env\":[\"PATH=/bin\",\"A=b\"],\"Cmd\":[\"sh\"],"
			"\"Entrypoint\":null,\"WorkingDir\":\"/w\",\"User\":\"1:2\","
			"\"Volumes\":{\"/data\":{}}},"
			"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
	struct image_config c;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(parse(j, &c, &e), 0);
	assert_int_equal(c.n_diff_ids, 2);
	assert_string_equal(c.diff_ids[1], D2);
	assert_null(c.diff_ids[2]);
	assert_string_equal(c.env[1], "A=b");
	assert_null(c.env[2]);
	assert_string_equal(c.cmd[0], "sh");
	assert_null(c.entrypoint);
	assert_string_equal(c.working_dir, "/w");
	assert_string_equal(c.user, "1:2");
	assert_string_equal(c.volumes[0], "/data");
	assert_string_equal(c.os, "linux");
	assert_string_equal(c.architecture, "amd64");
	image_config_release(&c);
	assert_null(c.env);
}

static void config_minimal_no_runtime_part(void **state)
{
	struct image_config c;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(parse("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", &c, &e), 0);
	assert_int_equal(c.n_diff_ids, 0);
	assert_null(c.cmd);
	image_config_release(&c);
}

static void config_invalid(void **state)
{
	static const char *bad[] = {
		"",
		"[]",
		"{\"os\":\"linux\"}",
		"{\"rootfs\":{\"type\":\"other\",\"diff_ids\":[]}}",
		"{\"rootfs\":{\"type\":\"layers\"}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:abc\"]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:../../etc/passwd\"]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[42]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Env\":\"x\"}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Cmd\":[1]}}",
		"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"User\":7}}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct image_config c;
		struct err e = { 0 };
		assert_int_equal(parse(bad[i], &c, &e), -1);
		assert_int_not_equal(e.code, 0);
		assert_non_null(strstr(e.msg, "invalid image config"));
		assert_null(c.diff_ids);
	}
}

static void chain_ids(void **state)
{
	char *ids[] = { D1, D2 };
	char out[2][DIGEST_BUF];

	(void)state;
	assert_int_equal(image_chain_ids(ids, 2, out), 0);
	assert_string_equal(out[0], D1); /* a base layer's chain id is its diff_id */
	assert_string_equal(out[1], C2);
	ids[1] = "sha256:nothex";
	assert_int_equal(image_chain_ids(ids, 2, out), -1);
}

/* Apply lines to a fresh config object; returns the object (or NULL). */
static json_t *apply(const char *const *lines, struct err *e)
{
	json_t *cfg = json_object();
	for (size_t i = 0; lines[i]; i++) {
		if (image_config_change(cfg, lines[i], e) < 0) {
			json_decref(cfg);
			return NULL;
		}
	}
	return cfg;
}

static const char *arr_str(json_t *cfg, const char *key, size_t i)
{
	return json_string_value(json_array_get(json_object_get(cfg, key), i));
}

static void change_cmd_entrypoint(void **state)
{
	const char *lines[] = { "CMD [\"echo\", \"hi\"]", "entrypoint /bin/run --flag", NULL };
	struct err e = { 0 };
	cleanup_json json_t *cfg = apply(lines, &e);

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(arr_str(cfg, "Cmd", 0), "echo");
	assert_string_equal(arr_str(cfg, "Cmd", 1), "hi");
	assert_string_equal(arr_str(cfg, "Entrypoint", 0), "/bin/sh");
	assert_string_equal(arr_str(cfg, "Entrypoint", 1), "-c");
	assert_string_equal(arr_str(cfg, "Entrypoint", 2), "/bin/run --flag");
}

static void change_env_label(void **state)
{
	const char *lines[] = {
		"ENV A=1 B=\"two words\" C=x\\ y", "ENV LEGACY some value", "ENV A=3",
		"LABEL org.x=\"v 1\" y=2",         "LABEL legacy a b",      NULL
	};
	struct err e = { 0 };
	cleanup_json json_t *cfg = apply(lines, &e);
	json_t *labels;

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(arr_str(cfg, "Env", 0), "A=3"); /* replaced in place */
	assert_string_equal(arr_str(cfg, "Env", 1), "B=two words");
	assert_string_equal(arr_str(cfg, "Env", 2), "C=x y");
	assert_string_equal(arr_str(cfg, "Env", 3), "LEGACY=some value");
	assert_int_equal(json_array_size(json_object_get(cfg, "Env")), 4);
	labels = json_object_get(cfg, "Labels");
	assert_string_equal(json_string_value(json_object_get(labels, "org.x")), "v 1");
	assert_string_equal(json_string_value(json_object_get(labels, "y")), "2");
	assert_string_equal(json_string_value(json_object_get(labels, "legacy")), "a b");
}

static void change_misc(void **state)
{
	const char *lines[] = { "WORKDIR /app",
				"WORKDIR sub",
				"USER nobody:nogroup",
				"EXPOSE 80 53/udp 8000-8001/tcp",
				"VOLUME [\"/a\", \"/b\"]",
				"VOLUME /c",
				"STOPSIGNAL SIGINT",
				NULL };
	struct err e = { 0 };
	cleanup_json json_t *cfg = apply(lines, &e);
	json_t *ports, *vols;

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(json_string_value(json_object_get(cfg, "WorkingDir")), "/app/sub");
	assert_string_equal(json_string_value(json_object_get(cfg, "User")), "nobody:nogroup");
	ports = json_object_get(cfg, "ExposedPorts");
	assert_int_equal(json_object_size(ports), 4);
	assert_non_null(json_object_get(ports, "80/tcp"));
	assert_non_null(json_object_get(ports, "53/udp"));
	assert_non_null(json_object_get(ports, "8001/tcp"));
	vols = json_object_get(cfg, "Volumes");
	assert_int_equal(json_object_size(vols), 3);
	assert_non_null(json_object_get(vols, "/c"));
	assert_string_equal(json_string_value(json_object_get(cfg, "StopSignal")), "SIGINT");
}

static void change_invalid(void **state)
{
	static const char *bad[] = { "RUN echo hi",
				     "FROM busybox",
				     "CMD",
				     "",
				     "ENV A",
				     "ENV =x",
				     "EXPOSE 70000",
				     "EXPOSE 80/foo",
				     "EXPOSE 9-8",
				     "STOPSIGNAL a;b",
				     "ENV A=\"unterminated" };
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *lines[] = { bad[i], NULL };
		struct err e = { 0 };
		json_t *cfg = apply(lines, &e);
		assert_null(cfg);
		assert_non_null(strstr(e.msg, "invalid --change"));
	}
}

static void import_config(void **state)
{
	const char *changes[] = { "CMD [\"sh\"]", "ENV X=1", NULL };
	struct err e = { 0 };
	cleanup_json json_t *cfg = image_config_new_import(D1, changes, "hello", &e);
	cleanup_free char *bytes = NULL;
	struct image_config c;
	const char *created;

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(json_string_value(json_object_get(cfg, "os")), "linux");
	assert_string_equal(json_string_value(json_object_get(cfg, "architecture")),
			    image_host_arch());
	created = json_string_value(json_object_get(cfg, "created"));
	assert_non_null(created);
	assert_int_equal(created[strlen(created) - 1], 'Z');
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(cfg, "history"), 0), "comment")),
			    "hello");
	bytes = json_dumps(cfg, 0);
	assert_int_equal(image_config_parse(bytes, strlen(bytes), &c, &e), 0);
	assert_int_equal(c.n_diff_ids, 1);
	assert_string_equal(c.diff_ids[0], D1);
	assert_string_equal(c.env[0],
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_string_equal(c.env[1], "X=1");
	assert_string_equal(c.cmd[0], "sh");
	image_config_release(&c);

	changes[1] = "ONBUILD RUN x";
	assert_null(image_config_new_import(D1, changes, NULL, &e));
	assert_non_null(strstr(e.msg, "invalid --change"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_valid),
		cmocka_unit_test(config_minimal_no_runtime_part),
		cmocka_unit_test(config_invalid),
		cmocka_unit_test(chain_ids),
		cmocka_unit_test(change_cmd_entrypoint),
		cmocka_unit_test(change_env_label),
		cmocka_unit_test(change_misc),
		cmocka_unit_test(change_invalid),
		cmocka_unit_test(import_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
