/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpass: see, check and explain what devpassd does. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devpass/cli/commands.h"
#include "devpass/rules/load.h"
#include "devpass/util/log.h"
#include "devpass/util/options.h"

static const char usage[] =
	"Usage: devpass COMMAND [OPTIONS]\n"
	"\n"
	"Pass host USB and PCI devices into LXD instances by rule.\n"
	"\n"
	"Commands:\n"
	"  list [--json]              devices, their ids, strings, port, class,\n"
	"                             driver, IOMMU group and the rule owning each\n"
	"  check [--rules-dir DIR]    validate the rules (FILE:LINE errors and\n"
	"                             warnings; exit 1 on any)\n"
	"  explain DEVICE [--socket PATH]\n"
	"                             which rule matches DEVICE and why each other\n"
	"                             does not, and what devpassd does with it,\n"
	"                             planned as devpassd plans, with the\n"
	"                             instances LXD has (exit 1 unless it is\n"
	"                             attached)\n"
	"  generate DEVICE [--instance NAME] [--allow-host-device]\n"
	"                             print a rule matching exactly DEVICE; a\n"
	"                             device the host needs (a bridge, the boot\n"
	"                             VGA, the root disk's controller) only with\n"
	"                             --allow-host-device\n"
	"  iommu [--json]             IOMMU groups and whether each can go to a VM\n"
	"  status [--json] [--control PATH]\n"
	"                             ask devpassd what went where, and why not\n"
	"\n"
	"DEVICE is a USB port path (1-1.5.2), a PCI address (0000:65:00.0) or a\n"
	"syspath, as `devpass list` shows them.\n"
	"\n"
	"Options:\n"
	"  --rules-dir DIR            read rules (list, check, explain) from DIR\n"
	"                             instead of " RULES_DIR_ETC ",\n"
	"                             " RULES_DIR_RUN ", " RULES_DIR_LIB "\n"
	"                             (repeatable; earlier directories hide\n"
	"                             same-named files)\n"
	"  --control PATH             devpassd's control socket (status)\n"
	"  --socket PATH              LXD's socket (explain), as devpassd's\n"
	"  --instance NAME            instance for the generated rule\n"
	"  --allow-host-device        generate a rule for a device the host\n"
	"                             needs (its Address= lifts the guard)\n"
	"  --json                     machine-readable output (list, iommu,\n"
	"                             status)\n"
	"  -h, --help                 this help\n"
	"  --version                  the version\n"
	"\n"
	"Exit status: 0 ok; 1 a negative answer (check found errors or\n"
	"warnings, explain: not attached, generate: a device the host needs);\n"
	"2 a usage or system error.\n"
	"\n"
	"See devpass(1), devpass.rules(5) (the rule files) and devpassd(8).\n";

/* Commands that take no argument and those that take a DEVICE. */
static const struct {
	const char *name;
	int (*run)(const struct cli_options *o);
	int (*run_device)(const struct cli_options *o, const char *device);
} commands[] = {
	{"list", cmd_list, NULL},	{"check", cmd_check, NULL},
	{"explain", NULL, cmd_explain}, {"generate", NULL, cmd_generate},
	{"iommu", cmd_iommu, NULL},	{"status", cmd_status, NULL},
};

static int run(const struct cli_options *o, int argc, char **argv)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		int want = commands[i].run_device ? 2 : 1;
		if (argc != want) {
			fprintf(stderr,
				"devpass %s: %s; see `devpass --help`\n",
				argv[0],
				argc < want ? "DEVICE is missing"
					    : "too many arguments");
			return EXIT_TROUBLE;
		}
		return commands[i].run ? commands[i].run(o)
				       : commands[i].run_device(o, argv[1]);
	}
	fprintf(stderr,
		"devpass: unknown command \"%s\"; see `devpass --help`\n",
		argv[0]);
	return EXIT_TROUBLE;
}

int main(int argc, char **argv)
{
	_cleanup_(cli_options_clear) struct cli_options o = {0};
	log_set_max_level(LOG_WARNING);
	int r = cli_options_parse(&o, usage, argc, argv);
	if (r != 0)
		return r == OPTIONS_E_EXIT ? EXIT_OK : EXIT_TROUBLE;
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_TROUBLE;
	}
	return run(&o, argc - optind, argv + optind);
}
