/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The option parser both mains use (util/options.h), and devpass's table
 * of it (cli_options_parse()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/cli/commands.h"
#include "devpass/util/log.h"
#include "devpass/util/options.h"
#include "test-util.h"

struct opts {
	char **dirs;
	const char *control;
	bool json;
};

static int parse(struct opts *o, bool no_operands, char **argv)
{
	const struct options_spec specs[] = {
		{.name = "rules-dir", .strv = &o->dirs},
		{.name = "control", .string = &o->control},
		{.name = "json", .flag = &o->json},
		{.name = "log-level", .log_level = true},
		{0},
	};
	const struct options_program p = {
		.name = "prog",
		.usage = "Usage: prog\n",
		.specs = specs,
		.no_operands = no_operands,
	};
	int argc = 0;
	while (argv[argc])
		argc++;
	return options_parse(&p, argc, argv);
}

static void every_kind_of_option_is_stored(void **state)
{
	char *argv[] = {"prog", "--rules-dir", "a", "--json",	   "--control",
			"x",	"--rules-dir", "b", "--control=y", NULL};
	struct opts o = {0};

	assert_int_equal(parse(&o, true, argv), 0);
	/* Repeated --rules-dir keeps every value, in order. */
	assert_int_equal(strv_length(o.dirs), 2);
	assert_string_equal(o.dirs[0], "a");
	assert_string_equal(o.dirs[1], "b");
	/* A string option: the last one wins. */
	assert_string_equal(o.control, "y");
	assert_true(o.json);
	strv_free(o.dirs);
}

static void operands_are_permuted_after_the_options(void **state)
{
	char *argv[] = {"prog", "explain", "--json", "1-1", NULL};
	struct opts o = {0};

	assert_int_equal(parse(&o, false, argv), 0);
	assert_true(o.json);
	assert_int_equal(optind, 2);
	assert_string_equal(argv[optind], "explain");
	assert_string_equal(argv[optind + 1], "1-1");
}

static void operands_are_refused_when_the_program_takes_none(void **state)
{
	char *argv[] = {"prog", "--json", "stray", NULL};
	struct opts o = {0};

	assert_int_equal(parse(&o, true, argv), -EINVAL);
}

static void help_and_version_ask_to_exit(void **state)
{
	char *help[] = {"prog", "--json", "-h", NULL};
	char *help_long[] = {"prog", "--help", NULL};
	char *version[] = {"prog", "--version", NULL};
	struct opts o = {0};

	assert_int_equal(parse(&o, true, help), OPTIONS_E_EXIT);
	assert_int_equal(parse(&o, true, help_long), OPTIONS_E_EXIT);
	assert_int_equal(parse(&o, true, version), OPTIONS_E_EXIT);
}

static void unknown_options_and_missing_arguments_are_refused(void **state)
{
	char *unknown[] = {"prog", "--jsn", NULL};
	char *missing[] = {"prog", "--rules-dir", NULL};
	char *flag_arg[] = {"prog", "--json=yes", NULL};
	struct opts o = {0};

	assert_int_equal(parse(&o, true, unknown), -EINVAL);
	assert_int_equal(parse(&o, true, missing), -EINVAL);
	assert_null(o.dirs);
	assert_int_equal(parse(&o, true, flag_arg), -EINVAL);
}

static void log_level_sets_the_level_or_is_refused(void **state)
{
	char *debug[] = {"prog", "--log-level", "debug", NULL};
	char *bad[] = {"prog", "--log-level=loud", NULL};
	int before = log_get_max_level();
	struct opts o = {0};

	assert_int_equal(parse(&o, true, debug), 0);
	assert_int_equal(log_get_max_level(), LOG_DEBUG);
	assert_int_equal(parse(&o, true, bad), -EINVAL);
	assert_int_equal(log_get_max_level(), LOG_DEBUG);
	log_set_max_level(before);
}

static void devpass_options_fill_cli_options(void **state)
{
	char *argv[] = {"devpass",     "generate", "--instance", "c1",
			"--rules-dir", "/r1",	   "1-1",	 "--rules-dir",
			"/r2",	       "--json",   "--control",	 "/c",
			NULL};
	struct cli_options o = {0};

	assert_int_equal(
		cli_options_parse(&o, "", (int)ARRAY_SIZE(argv) - 1, argv), 0);
	assert_string_equal(o.instance, "c1");
	assert_string_equal(o.control_path, "/c");
	assert_true(o.json);
	assert_int_equal(strv_length(o.rules_dirs), 2);
	assert_string_equal(o.rules_dirs[1], "/r2");
	assert_string_equal(argv[optind], "generate");
	assert_string_equal(argv[optind + 1], "1-1");
	cli_options_clear(&o);
	assert_null(o.rules_dirs);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(every_kind_of_option_is_stored),
		cmocka_unit_test(operands_are_permuted_after_the_options),
		cmocka_unit_test(
			operands_are_refused_when_the_program_takes_none),
		cmocka_unit_test(help_and_version_ask_to_exit),
		cmocka_unit_test(
			unknown_options_and_missing_arguments_are_refused),
		cmocka_unit_test(log_level_sets_the_level_or_is_refused),
		cmocka_unit_test(devpass_options_fill_cli_options),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
