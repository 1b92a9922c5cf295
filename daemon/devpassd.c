/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devpassd: attach host devices to LXD instances by rule. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "devpass/service/control.h"
#include "devpass/util/log.h"
#include "devpass/rules/rules.h"
#include "devpass/service/service.h"

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
	"                      $LXD_DIR/unix.socket, snap, Debian, Incus)\n"
	"  --control PATH      control socket for `devpass status`\n"
	"                      (default " CONTROL_DEFAULT_PATH ")\n"
	"  --dry-run           log the changes it would make to LXD, make none\n"
	"  --once              coldplug, reconcile, exit (0 if everything wanted\n"
	"                      is attached, 1 if not, 2 on errors)\n"
	"  --log-level LEVEL   debug, info, notice, warning or err (default info)\n"
	"  -h, --help          this help\n"
	"  --version           the version\n"
	"\n"
	"SIGHUP reloads the rules; SIGTERM stops the daemon (entries stay).\n";

enum {
	OPT_RULES_DIR = 256,
	OPT_SOCKET,
	OPT_CONTROL,
	OPT_DRY_RUN,
	OPT_ONCE,
	OPT_LOG_LEVEL,
	OPT_VERSION
};

static const struct option long_options[] = {
	{"rules-dir", required_argument, NULL, OPT_RULES_DIR},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"control", required_argument, NULL, OPT_CONTROL},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"once", no_argument, NULL, OPT_ONCE},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{0},
};

static int set_log_level(const char *name)
{
	int level = log_level_from_string(name);
	if (level < 0) {
		fprintf(stderr,
			"devpassd: unknown log level \"%s\" (debug, "
			"info, notice, warning, err)\n",
			name);
		return -1;
	}
	log_set_max_level(level);
	return 0;
}

/* Returns -1 to exit with *code (help, version, bad usage). */
static int parse_options(int argc, char **argv, struct service_options *o,
			 int *code)
{
	int c;
	*code = 2;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_RULES_DIR:
			if (strv_push(&o->rules_dirs, optarg) < 0)
				return -1;
			break;
		case OPT_SOCKET:
			o->socket = optarg;
			break;
		case OPT_CONTROL:
			o->control = optarg;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_ONCE:
			o->once = true;
			break;
		case OPT_LOG_LEVEL:
			if (set_log_level(optarg) < 0)
				return -1;
			break;
		case 'h':
			fputs(usage, stdout);
			*code = 0;
			return -1;
		case OPT_VERSION:
			puts("devpassd " DEVPASS_VERSION);
			*code = 0;
			return -1;
		default:
			fputs("Try `devpassd --help`.\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "devpassd: unexpected argument \"%s\"\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct service_options o = {0};
	int code = 0;
	if (parse_options(argc, argv, &o, &code) == 0)
		code = service_run(&o);
	strv_free(o.rules_dirs);
	return code;
}
