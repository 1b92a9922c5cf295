/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "devpass/cli/commands.h"
#include "devpass/rules/generate.h"

int cmd_generate(const struct cli_options *o, const char *what)
{
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	if (cli_load_devices(&l) < 0)
		return EXIT_TROUBLE;
	const struct device *d = cli_find_device(l, what);
	if (!d)
		return EXIT_TROUBLE;
	_cleanup_(freep) char *text = NULL;
	if (generate_rule(d, o->instance, &text) < 0)
		return EXIT_TROUBLE; /* logged by generate_rule() */
	fputs(text, stdout);
	return EXIT_OK;
}
