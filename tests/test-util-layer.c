/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The util layer's one-of-a-kind helpers: strv_join(), the UTF-8 decoder,
 * LXD's device-name characters, text_printf() and the whole-buffer JSON
 * parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/util/json.h"
#include "devpass/util/strv.h"
#include "devpass/util/text.h"
#include "test-util.h"

static void join_puts_separator_between_only(void **state)
{
	char *three[] = {"a", "bc", "", NULL};
	char *one[] = {"only", NULL};
	_cleanup_(freep) char *j3 = strv_join(three, ", ");
	_cleanup_(freep) char *j1 = strv_join(one, ", ");
	_cleanup_(freep) char *j0 = strv_join(NULL, ", ");
	_cleanup_(freep) char *nosep = strv_join(three, "");

	assert_string_equal(j3, "a, bc, ");
	assert_string_equal(j1, "only");
	assert_string_equal(j0, "");
	assert_string_equal(nosep, "abc");
}

static void foreach_visits_every_string_and_none_of_null(void **state)
{
	char *v[] = {"x", "y", NULL};
	size_t n = 0;

	STRV_FOREACH(s, v)
		assert_string_equal(*s, v[n++]);
	assert_int_equal(n, 2);
	STRV_FOREACH(s, NULL)
		fail();
}

static void builder_is_null_terminated_while_it_grows(void **state)
{
	_cleanup_(strv_builder_clear) struct strv_builder b = {0};

	assert_null(strv_builder_steal(&b));
	assert_int_equal(strv_builder_add(&b, "a"), 0);
	assert_int_equal(strv_builder_add(&b, "b"), 0);
	assert_int_equal(strv_length(b.v), 2);
	assert_string_equal(b.v[1], "b");
	assert_int_equal(strv_builder_reserve(&b, 1000), 0);
	assert_true(b.cap >= 1003);
	assert_null(b.v[2]);
	_cleanup_(strv_freep) char **v = strv_builder_steal(&b);
	assert_int_equal(strv_length(v), 2);
	assert_null(b.v);
	assert_int_equal(b.n, 0);
}

/* strv_push() moved the whole array once per string (200k foreign LXD
 * entries cost 8.8 s); the builder grows geometrically: few moves. */
static void builder_of_200k_strings_grows_a_few_times_only(void **state)
{
	_cleanup_(strv_builder_clear) struct strv_builder b = {0};
	size_t grows = 0, cap = 0;

	for (size_t i = 0; i < 200000; i++) {
		assert_int_equal(strv_builder_add(&b, "devpass-x"), 0);
		grows += b.cap != cap;
		cap = b.cap;
	}
	assert_int_equal(b.n, 200000);
	assert_null(b.v[200000]);
	assert_true(grows <= 20);
	assert_true(b.cap <= 2 * 200000 + 8);
}

static size_t decode(const char *s, size_t n, uint32_t *cp)
{
	*cp = 0xffffffff;
	return text_utf8_decode(s, n, cp);
}

static void utf8_decodes_each_length_and_refuses_malformed(void **state)
{
	uint32_t cp;

	assert_int_equal(decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(decode("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(decode("\xe2\x98\x95", 3, &cp), 3);
	assert_int_equal(cp, 0x2615);
	assert_int_equal(decode("\xf0\x9d\x84\x9e", 4, &cp), 4);
	assert_int_equal(cp, 0x1d11e);
	/* overlong, surrogate, past U+10FFFF, lone continuation, cut short */
	assert_int_equal(decode("\xc0\xaf", 2, &cp), 0);
	assert_int_equal(decode("\xed\xa0\x80", 3, &cp), 0);
	assert_int_equal(decode("\xf4\x90\x80\x80", 4, &cp), 0);
	assert_int_equal(decode("\x80", 1, &cp), 0);
	assert_int_equal(decode("\xe2\x98\x95", 2, &cp), 0);
	assert_int_equal(decode("\xe2\x00\x95", 3, &cp), 0);
	assert_int_equal(decode("A", 0, &cp), 0);
}

static void utf8_valid_takes_nul_but_not_a_cut_sequence(void **state)
{
	assert_true(text_utf8_valid("a\0b\xc3\xa9", 5));
	assert_false(text_utf8_valid("a\xc3", 2));
	assert_true(text_utf8_valid("", 0));
}

static void device_name_chars_are_lxds(void **state)
{
	const char *ok = "azAZ09/:_.-";
	const char *bad = " \t\"'\\*?[]{}$;,=@+~\x7f\x80";

	for (const char *c = ok; *c; c++)
		assert_true(text_is_device_name_char(*c));
	for (const char *c = bad; *c; c++)
		assert_false(text_is_device_name_char(*c));
	assert_false(text_is_device_name_char('\0'));
}

static void printf_builds_a_new_string_of_any_length(void **state)
{
	_cleanup_(freep) char *s = text_printf("%s-%04x", "dev", 0x46d);
	_cleanup_(freep) char *big = text_printf("%5000s", "x");

	assert_string_equal(s, "dev-046d");
	assert_int_equal(strlen(big), 5000);
	assert_int_equal(big[4999], 'x');
}

static void json_add_takes_the_value_and_add_ref_shares_it(void **state)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	_cleanup_(json_object_putp) json_object *shared =
		json_object_new_string("v");

	assert_int_equal(json_add(o, "taken", json_object_new_int(1)), 0);
	assert_int_equal(json_add(o, "null", NULL), 0);
	assert_int_equal(json_add_ref(o, "shared", shared), 0);
	assert_string_equal(
		json_object_to_json_string(o),
		"{ \"taken\": 1, \"null\": null, \"shared\": \"v\" }");
	/* Both hold it: dropping the object leaves ours alive (ASan). */
	json_object_put(steal_ptr(&o));
	assert_string_equal(json_object_get_string(shared), "v");
}

static int parse(const char *text, json_object **out)
{
	char why[128];
	*out = NULL;
	int r = json_parse_buffer(text, strlen(text), out, why, sizeof(why));
	if (r < 0)
		print_message("%s: %s\n", text, why);
	return r;
}

static void json_buffer_is_one_whole_strict_value(void **state)
{
	_cleanup_(json_object_putp) json_object *o = NULL;

	assert_int_equal(parse("{\"a\": [1, 2]}\n", &o), 0);
	assert_true(json_object_is_type(o, json_type_object));
	json_object *bad = NULL;
	assert_int_equal(parse("{\"a\": 1} {}", &bad), -EBADMSG);
	assert_int_equal(parse("{\"a\": ", &bad), -EBADMSG);
	assert_int_equal(parse("", &bad), -EBADMSG);
	assert_int_equal(parse("[1, 2,]", &bad), -EBADMSG);
	assert_int_equal(parse("\"\xff\"", &bad), -EBADMSG);
	/* overlong '/' and an encoded surrogate, which json-c lets through */
	assert_int_equal(parse("\"\xc0\xaf\"", &bad), -EBADMSG);
	assert_int_equal(parse("\"\xed\xa0\x80\"", &bad), -EBADMSG);
	assert_null(bad);
	/* A NUL inside the buffer ends nothing: it is trailing data. */
	char why[128];
	assert_int_equal(json_parse_buffer("{}\0{}", 5, &bad, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "byte 2"));
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(join_puts_separator_between_only),
		cmocka_unit_test(foreach_visits_every_string_and_none_of_null),
		cmocka_unit_test(builder_is_null_terminated_while_it_grows),
		cmocka_unit_test(
			builder_of_200k_strings_grows_a_few_times_only),
		cmocka_unit_test(
			utf8_decodes_each_length_and_refuses_malformed),
		cmocka_unit_test(utf8_valid_takes_nul_but_not_a_cut_sequence),
		cmocka_unit_test(device_name_chars_are_lxds),
		cmocka_unit_test(printf_builds_a_new_string_of_any_length),
		cmocka_unit_test(
			json_add_takes_the_value_and_add_ref_shares_it),
		cmocka_unit_test(json_buffer_is_one_whole_strict_value),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
