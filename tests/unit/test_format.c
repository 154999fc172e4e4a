/* Unit tests of output formatting and size parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/format.h"

static void test_sizes(void **state)
{
	char b[32];
	(void)state;
	fmt_size(0, b, sizeof(b));
	assert_string_equal(b, "0B");
	fmt_size(999, b, sizeof(b));
	assert_string_equal(b, "999B");
	fmt_size(4261234, b, sizeof(b));
	assert_string_equal(b, "4.26MB");
	fmt_size(1500000000LL, b, sizeof(b));
	assert_string_equal(b, "1.5GB");
}

static void test_parse_size(void **state)
{
	(void)state;
	assert_int_equal(cmd_parse_size("1024"), 1024);
	assert_int_equal(cmd_parse_size("64m"), 64LL << 20);
	assert_int_equal(cmd_parse_size("1g"), 1LL << 30);
	assert_int_equal(cmd_parse_size("16MB"), 16LL << 20);
	assert_int_equal(cmd_parse_size("1.5k"), 1536);
	assert_int_equal(cmd_parse_size("x"), -1);
	assert_int_equal(cmd_parse_size("-1"), -1);
	assert_int_equal(cmd_parse_size("10q"), -1);
}

static void test_template(void **state)
{
	json_t *o = json_pack("{s:s, s:{s:i, s:[s]}}", "Id", "abc", "State", "Pid", 42, "L", "x");
	char *s;
	(void)state;
	s = fmt_template("{{.Id}} {{ .State.Pid }}", o);
	assert_string_equal(s, "abc 42");
	free(s);
	s = fmt_template("{{json .State.L}}\\n{{.Nope}}", o);
	assert_string_equal(s, "[\"x\"]\n<no value>");
	free(s);
	json_decref(o);
}

static void test_parse_time(void **state)
{
	(void)state;
	assert_int_equal(fmt_parse_time("1970-01-02T00:00:00.123Z"), 86400);
	assert_int_equal(fmt_parse_time("garbage"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_parse_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
