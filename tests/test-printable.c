/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* text_escape_dup() and cli_printable(): what a terminal or a log line may
 * show of a string a device reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "devpass/cli/commands.h"
#include "devpass/util/text.h"
#include "test-util.h"

static void check(const char *in, const char *want)
{
	_cleanup_(freep) char *out = text_escape_dup(in);

	assert_non_null(out);
	assert_string_equal(out, want);
}

static void printable_kept(void **state)
{
	check("", "");
	check("Canon Digital Camera", "Canon Digital Camera");
	check("Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9d\x84\x9e",
	      "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9d\x84\x9e");
	check("~!@#$%^&*()_+{}|:\"<>?", "~!@#$%^&*()_+{}|:\"<>?");
	/* An absent string stays absent: the caller shows "-" or nothing. */
	assert_null(cli_printable(NULL));
}

static void printable_controls(void **state)
{
	check("a\x1b[31mred", "a\\x1b[31mred");
	check("tab\there\nnl\rcr\x7f", "tab\\x09here\\x0anl\\x0dcr\\x7f");
	/* C1 controls in valid UTF-8 are controls too (U+0085, U+009B). */
	check("\xc2\x85x\xc2\x9b", "\\xc2\\x85x\\xc2\\x9b");
	check("\\x41", "\\x5cx41");
}

static void printable_invalid_utf8(void **state)
{
	check("\xff\xfe", "\\xff\\xfe");
	check("\xe2\x82", "\\xe2\\x82"); /* truncated */
	check("\xe2\x82"
	      "A",
	      "\\xe2\\x82A");			  /* truncated, then ASCII */
	check("\xc0\xaf", "\\xc0\\xaf");	  /* overlong '/' */
	check("\xe0\x80\xaf", "\\xe0\\x80\\xaf"); /* overlong, 3 bytes */
	check("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	check("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	check("\x80", "\\x80"); /* lone continuation */
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(printable_kept),
	    cmocka_unit_test(printable_controls),
	    cmocka_unit_test(printable_invalid_utf8),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
