/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "devpass/cli/commands.h"
#include "devpass/rules/match.h"

static void print_device(const struct device *d)
{
	char ids[10];
	_cleanup_(freep) char *label = cli_device_label(d);
	_cleanup_(freep) char *serial = cli_printable(d->serial);
	printf("%s %s  %s  %s%s%s\n",
	       d->subsystem == DEVICE_USB ? "USB" : "PCI", d->id,
	       cli_format_ids(d, ids), label ? label : "",
	       serial ? "  serial " : "", serial ? serial : "");
}

static void print_owner(const struct rule *r)
{
	_cleanup_(freep) char *list = strv_join(r->instances, " ");

	if (!list)
		cli_oom();
	printf("  YES  %s matches: the device goes to the first running "
	       "of: %s\n",
	       r->name, list ? list : "?");
}

int cmd_explain(const struct cli_options *o, const char *what)
{
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	if (cli_load_rules(o, false, &rs) < 0 || cli_load_devices(&l) < 0)
		return EXIT_TROUBLE;
	const struct device *d = cli_find_device(l, what);
	if (!d)
		return EXIT_TROUBLE;
	print_device(d);
	const struct rule *owner = NULL;
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule *r = rs->rules[i];
		struct match_why why;
		if (!match_rule(r, d, &why))
			printf("  no   %s: %s\n", r->name, why.reason);
		else if (owner)
			printf("  also %s matches, but %s comes first\n",
			       r->name, owner->name);
		else {
			owner = r;
			print_owner(r);
		}
	}
	if (!owner)
		printf("No rule matches: the device stays on the host "
		       "(%zu rule%s tried).\n",
		       rs->n_rules, rs->n_rules == 1 ? "" : "s");
	return owner ? EXIT_OK : EXIT_NEGATIVE;
}
