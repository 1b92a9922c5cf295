/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "devpass/cli/commands.h"
#include "devpass/plan/host_guard.h"
#include "devpass/rules/generate.h"

/*
 * Why the host needs @d (host_guard.h), or NULL. A generated PCI rule
 * names the device's very address, and that is what lifts the guard, so
 * such a rule is written only when asked for by name.
 * Return: 0 and *@need (a static string or NULL), or -ENOMEM (logged).
 */
static int host_need(const struct device_list *l, const struct device *d,
		     const char **need)
{
	struct host_guard h;
	*need = NULL;
	if (d->subsystem != DEVICE_PCI)
		return 0;
	if (host_guard_read(l, NULL, NULL, &h) < 0)
		return cli_oom();
	*need = host_guard_needs(&h, d);
	host_guard_clear(&h);
	return 0;
}

static int refuse(const struct device *d, const char *need)
{
	fprintf(stderr,
		"devpass generate: not writing a rule for %s: the host needs "
		"it (%s), and a rule naming its address hands it over all "
		"the same (it lifts the guard that keeps such a device on "
		"the host); give --allow-host-device to write it anyway\n",
		d->id, need);
	return EXIT_NEGATIVE;
}

int cmd_generate(const struct cli_options *o, const char *what)
{
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	if (cli_load_devices(&l) < 0)
		return EXIT_TROUBLE;
	const struct device *d = cli_find_device(l, what);
	if (!d)
		return EXIT_TROUBLE;
	const char *need = NULL;
	if (host_need(l, d, &need) < 0)
		return EXIT_TROUBLE;
	if (need && !o->allow_host_device)
		return refuse(d, need);
	_cleanup_(freep) char *text = NULL;
	if (generate_rule(d, o->instance, &text) < 0)
		return EXIT_TROUBLE; /* logged by generate_rule() */
	if (need)
		printf("# The host needs this device (%s): written because "
		       "--allow-host-device was given.\n",
		       need);
	fputs(text, stdout);
	return EXIT_OK;
}
