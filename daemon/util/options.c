/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "config.h"
#include "devpass/util/log.h"
#include "devpass/util/options.h"

/* getopt_long() values: a program's options are 256 + their index. */
enum { OPTION_HELP = 'h', OPTION_VERSION = 1, OPTION_SPEC = 256 };

/* @out gets room for OPTIONS_MAX + 3 entries. Return: 0 or -E2BIG. */
static int long_options(const struct options_spec *specs, struct option *out)
{
	size_t n = 0;

	for (; specs && specs[n].name; n++) {
		if (n == OPTIONS_MAX)
			return log_err_errno(-E2BIG, "more than %d options",
					     OPTIONS_MAX);
		out[n] = (struct option){
			.name = specs[n].name,
			.has_arg =
				specs[n].flag ? no_argument : required_argument,
			.val = OPTION_SPEC + (int)n,
		};
	}
	out[n++] = (struct option){"help", no_argument, NULL, OPTION_HELP};
	out[n++] =
		(struct option){"version", no_argument, NULL, OPTION_VERSION};
	out[n] = (struct option){0};
	return 0;
}

static int set_log_level(const struct options_program *p, const char *name)
{
	int level = log_level_from_string(name);
	if (level < 0) {
		fprintf(stderr,
			"%s: unknown log level \"%s\" (debug, info, notice, "
			"warning, err)\n",
			p->name, name);
		return -EINVAL;
	}
	log_set_max_level(level);
	return 0;
}

static int store(const struct options_program *p, const struct options_spec *s,
		 const char *arg)
{
	if (s->flag)
		*s->flag = true;
	else if (s->string)
		*s->string = arg;
	else if (s->strv && strv_push(s->strv, arg) < 0)
		return log_err_errno(-ENOMEM, "Out of memory");
	else if (s->log_level)
		return set_log_level(p, arg);
	return 0;
}

/* --help, --version, or what getopt_long() has already complained of. */
static int builtin(const struct options_program *p, int c)
{
	switch (c) {
	case OPTION_HELP:
		fputs(p->usage, stdout);
		return OPTIONS_E_EXIT;
	case OPTION_VERSION:
		printf("%s %s\n", p->name, DEVPASS_VERSION);
		return OPTIONS_E_EXIT;
	default:
		fprintf(stderr, "Try `%s --help`.\n", p->name);
		return -EINVAL;
	}
}

int options_parse(const struct options_program *p, int argc, char **argv)
{
	struct option longs[OPTIONS_MAX + 3];
	int c, r = long_options(p->specs, longs);

	if (r < 0)
		return r;
	optind = 0; /* glibc: start afresh, as for a new argv */
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		r = c >= OPTION_SPEC
			    ? store(p, &p->specs[c - OPTION_SPEC], optarg)
			    : builtin(p, c);
		if (r != 0)
			return r;
	}
	if (p->no_operands && optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", p->name,
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}
