/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "devpass/commands.h"

static void print_rule(const struct rule *r)
{
	printf("  %-32s %s ->", r->name,
	       r->subsystem == RULE_SUBSYSTEM_USB ? "usb" : "pci");
	for (char **i = r->instances; *i; i++)
		printf(" %s", *i);
	if (r->project && strcmp(r->project, "default") != 0)
		printf(" (project %s)", r->project);
	printf("   %s\n", r->path);
}

int cmd_check(const struct cli_options *o)
{
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	if (cli_load_rules(o, false, &rs) < 0)
		return EXIT_TROUBLE;
	size_t n_errors = strv_length(rs->errors);
	printf("%zu rule%s loaded, in the order they are tried:\n",
	       rs->n_rules, rs->n_rules == 1 ? "" : "s");
	for (size_t i = 0; i < rs->n_rules; i++)
		print_rule(rs->rules[i]);
	if (n_errors) {
		printf("%zu error%s (see above); a rule with an error is "
		       "ignored whole\n",
		       n_errors, n_errors == 1 ? "" : "s");
		return EXIT_NEGATIVE;
	}
	return EXIT_OK;
}
