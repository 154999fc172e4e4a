/* test_whiteout: classification of OCI whiteout names and their translation
 * to each layer form; the overlay xattr filter. Pure functions, no I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "image/image_internal.h"

static void test_classify(void **state)
{
	static const struct {
		const char *base;
		enum whiteout_kind kind;
		const char *target;
	} cases[] = {
		{ "file", WHITEOUT_KIND_NONE, NULL },
		{ ".wh", WHITEOUT_KIND_NONE, NULL },
		{ ".whfoo", WHITEOUT_KIND_NONE, NULL },
		{ "x.wh.foo", WHITEOUT_KIND_NONE, NULL },
		{ ".wh.foo", WHITEOUT_KIND_FILE, "foo" },
		{ ".wh..foo", WHITEOUT_KIND_FILE, ".foo" },
		{ ".wh....", WHITEOUT_KIND_FILE, "..." },
		{ ".wh..wh..opq", WHITEOUT_KIND_OPAQUE, NULL },
		{ ".wh..wh.plnk", WHITEOUT_KIND_META, NULL },
		{ ".wh..wh.aufs", WHITEOUT_KIND_META, NULL },
		{ ".wh..wh..opqx", WHITEOUT_KIND_META, NULL },
		{ ".wh.", WHITEOUT_KIND_BAD, NULL },
		{ ".wh..", WHITEOUT_KIND_BAD, NULL },
		{ ".wh...", WHITEOUT_KIND_BAD, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *target = NULL;
		enum whiteout_kind k = image_whiteout_classify(cases[i].base, &target);
		if (k != cases[i].kind)
			fail_msg("%s: kind %d, want %d", cases[i].base, k, cases[i].kind);
		if (cases[i].target)
			assert_string_equal(target, cases[i].target);
		else
			assert_null(target);
	}
	assert_int_equal(image_whiteout_classify(".wh.x", NULL), WHITEOUT_KIND_FILE);
}

static void test_actions(void **state)
{
	(void)state;
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_NONE, WHITEOUT_OVERLAY),
			 WHITEOUT_ACT_ENTRY);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_NONE, WHITEOUT_OCI),
			 WHITEOUT_ACT_ENTRY);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_OPAQUE, WHITEOUT_OVERLAY),
			 WHITEOUT_ACT_OPAQUE);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_OPAQUE, WHITEOUT_OCI),
			 WHITEOUT_ACT_EMPTY_FILE);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_FILE, WHITEOUT_OVERLAY),
			 WHITEOUT_ACT_CHARDEV);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_FILE, WHITEOUT_OCI),
			 WHITEOUT_ACT_EMPTY_FILE);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_META, WHITEOUT_OVERLAY),
			 WHITEOUT_ACT_SKIP);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_META, WHITEOUT_OCI),
			 WHITEOUT_ACT_SKIP);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_BAD, WHITEOUT_OVERLAY),
			 WHITEOUT_ACT_REJECT);
	assert_int_equal(image_whiteout_action(WHITEOUT_KIND_BAD, WHITEOUT_OCI),
			 WHITEOUT_ACT_REJECT);
}

static void test_xattr_filter(void **state)
{
	(void)state;
	assert_true(image_xattr_forbidden("trusted.overlay.opaque"));
	assert_true(image_xattr_forbidden("trusted.overlay.redirect"));
	assert_true(image_xattr_forbidden("trusted.overlay.metacopy"));
	assert_true(image_xattr_forbidden("user.overlay.opaque"));
	assert_false(image_xattr_forbidden("security.capability"));
	assert_false(image_xattr_forbidden("user.mime_type"));
	assert_false(image_xattr_forbidden("trusted.overlayx"));
	assert_false(image_xattr_forbidden("trusted.md5"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_xattr_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
