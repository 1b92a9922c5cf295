/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd: attach host devices to LXD instances by rule. */
#include "devpass/rules/load.h"
#include "devpass/service/control.h"
#include "devpass/service/service.h"
#include "devpass/util/options.h"

static const char usage[] =
	"Usage: devpassd [OPTIONS]\n"
	"\n"
	"Watch udev for USB and PCI devices, match them against the rules and\n"
	"attach them to (and detach them from) LXD instances.\n"
	"\n"
	"Options:\n"
	"  --rules-dir DIR     read rules from DIR (repeatable) instead of\n"
	"                      " RULES_DIR_ETC ", " RULES_DIR_RUN ",\n"
	"                      " RULES_DIR_LIB "\n"
	"  --socket PATH       LXD's unix socket (default: $LXD_SOCKET,\n"
	"                      $LXD_DIR/unix.socket, $INCUS_SOCKET,\n"
	"                      $INCUS_DIR/unix.socket, snap, Debian, Incus)\n"
	"  --control PATH      control socket for `devpass status`\n"
	"                      (default " CONTROL_DEFAULT_PATH ")\n"
	"  --dry-run           log the changes it would make to LXD, make none\n"
	"  --once              coldplug, reconcile, exit (0 if everything wanted\n"
	"                      is attached, 1 if not, 2 on errors; it logs each\n"
	"                      device not attached and why)\n"
	"  --log-level LEVEL   debug, info, notice, warning or err (default info)\n"
	"  -h, --help          this help\n"
	"  --version           the version\n"
	"\n"
	"SIGHUP reloads the rules; SIGTERM stops the daemon (entries stay).\n"
	"\n"
	"See devpassd(8), devpass.rules(5) (the rule files) and devpass(1).\n";

int main(int argc, char **argv)
{
	_cleanup_(strv_freep) char **rules_dirs = NULL;
	struct service_options o = {0};
	const struct options_spec specs[] = {
		{.name = "rules-dir", .strv = &rules_dirs},
		{.name = "socket", .string = &o.socket},
		{.name = "control", .string = &o.control},
		{.name = "dry-run", .flag = &o.dry_run},
		{.name = "once", .flag = &o.once},
		{.name = "log-level", .log_level = true},
		{0},
	};
	const struct options_program program = {
		.name = "devpassd",
		.usage = usage,
		.specs = specs,
		.no_operands = true,
	};

	int r = options_parse(&program, argc, argv);
	if (r != 0)
		return r == OPTIONS_E_EXIT ? 0 : 2;
	o.rules_dirs = rules_dirs;
	return service_run(&o);
}
