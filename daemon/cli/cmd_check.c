/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "devpass/cli/commands.h"
#include "devpass/cli/table.h"

static const char *const headers[] = {"RULE", "SUBSYSTEM", "INSTANCES", "FILE"};

/* "c1 c2", or "c1 c2 (project lab)" outside the default project. */
static char *instances_cell(const struct rule *r)
{
	_cleanup_(freep) char *list = strv_join(r->instances, " ");
	char *cell = NULL;

	if (!list)
		return NULL;
	if (strcmp(r->project, "default") == 0)
		return steal_ptr(&list);
	if (asprintf(&cell, "%s (project %s)", list, r->project) < 0)
		return NULL;
	return cell;
}

static int add_rule(struct table *t, const struct rule *r)
{
	_cleanup_(freep) char *instances = instances_cell(r);
	if (!instances)
		return cli_oom();
	const char *row[] = {r->name, rule_subsystem_to_string(r->subsystem),
			     instances, r->path};
	return table_add_row(t, row);
}

int cmd_check(const struct cli_options *o)
{
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	_cleanup_(table_freep) struct table *t =
		table_new(ARRAY_SIZE(headers), headers);
	if (!t || cli_load_rules(o, false, &rs) < 0)
		return EXIT_TROUBLE;
	for (size_t i = 0; i < rs->n_rules; i++)
		if (add_rule(t, rs->rules[i]) < 0)
			return EXIT_TROUBLE;
	printf("%zu rule%s loaded, tried in this order:\n", rs->n_rules,
	       rs->n_rules == 1 ? "" : "s");
	if (rs->n_rules)
		table_print(t, stdout, "  ");
	size_t n_errors = strv_length(rs->errors);
	size_t n_warnings = strv_length(rs->warnings);
	if (n_errors)
		printf("%zu error%s (above); a rule file with an error is "
		       "ignored whole\n",
		       n_errors, n_errors == 1 ? "" : "s");
	if (n_warnings)
		printf("%zu warning%s (above): what is loaded but cannot work "
		       "as written\n",
		       n_warnings, n_warnings == 1 ? "" : "s");
	return n_errors || n_warnings ? EXIT_NEGATIVE : EXIT_OK;
}
