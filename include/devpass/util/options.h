/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: command-line options
 *
 * The one option parser of devpass and devpassd. Both take GNU long
 * options anywhere on the line (operands are permuted after them),
 * "-h"/"--help" for the usage and "--version"; each program lists its own
 * options in a table, each option storing into one variable of the
 * program's options struct:
 *
 *	const struct options_spec specs[] = {
 *		{.name = "rules-dir", .strv = &o.dirs}, // repeatable
 *		{.name = "control", .string = &o.ctl},  // the last one wins
 *		{.name = "json", .flag = &o.json},      // no argument
 *		{.name = "log-level", .log_level = true},
 *		{0},
 *	};
 *
 * String values point into argv; --rules-dir values are copies the
 * caller frees (strv_free()).
 */

#include <stdbool.h>

/**
 * struct options_spec - one long option; set exactly one of the targets.
 * @name: the option without "--".
 * @flag: set to true by an option without argument.
 * @string: set to the option's argument.
 * @strv: the option's argument is appended (the option is repeatable).
 * @log_level: the argument is a log level name (log_level_from_string()),
 *             given to log_set_max_level().
 */
struct options_spec {
	const char *name;
	bool *flag;
	const char **string;
	char ***strv;
	bool log_level;
};

/**
 * struct options_program - what a program's command line takes.
 * @name: the program's name, for --version and messages.
 * @usage: the text --help prints.
 * @specs: the program's options, ended by an entry with a NULL name.
 * @no_operands: refuse any argument that is not an option.
 */
struct options_program {
	const char *name;
	const char *usage;
	const struct options_spec *specs;
	bool no_operands;
};

/* The expected outcomes of options_parse() besides 0. */
enum {
	OPTIONS_E_EXIT = 1, /* --help or --version was printed: exit with 0 */
};

/* Most options a program may list (besides --help and --version). */
#define OPTIONS_MAX 32

/**
 * options_parse() - parse @argv as @p says, storing into the targets.
 *
 * Return: 0, optind then indexes the first operand; OPTIONS_E_EXIT;
 * -EINVAL for a bad command line (said on stderr, with a pointer to
 * --help); -ENOMEM (logged). On a failure, exit with 2.
 */
int options_parse(const struct options_program *p, int argc, char **argv);
