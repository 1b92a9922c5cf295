/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the devpass commands
 *
 * Each cmd_*() is one subcommand of `devpass`; it prints its result to
 * stdout, problems to stderr, and returns the process exit code
 * (0 success, 1 a negative answer such as rule errors or no match,
 * 2 a usage or system error).
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "devpass/model/device.h"
#include "devpass/rules/rule.h"

enum {
	EXIT_OK = 0,
	EXIT_NEGATIVE = 1,
	EXIT_TROUBLE = 2,
};

/**
 * struct cli_options - what the command line said.
 * @rules_dirs: --rules-dir values, NULL-terminated, or NULL for the defaults.
 * @control_path: --control, or NULL for the default control socket.
 * @socket: --socket of `explain`: LXD's socket, or NULL to look for it
 *          as devpassd does (lxd_socket_discover()).
 * @instance: --instance of `generate`, or NULL.
 * @json: --json.
 * @allow_host_device: --allow-host-device of `generate`: write the rule
 *                     even for a device the host needs (host_guard.h).
 */
struct cli_options {
	char **rules_dirs;
	const char *control_path;
	const char *socket;
	const char *instance;
	bool json;
	bool allow_host_device;
};

/**
 * cli_options_parse() - fill @o from devpass's command line (options.h);
 * @usage is what --help prints.
 * Return: as options_parse(): 0 with optind at the command; OPTIONS_E_EXIT
 * after --help/--version; -EINVAL (said on stderr) or -ENOMEM (logged).
 */
int cli_options_parse(struct cli_options *o, const char *usage, int argc,
		      char **argv);

/* Frees what the parser allocated in @o (not @o itself). */
void cli_options_clear(struct cli_options *o);

int cmd_list(const struct cli_options *o);
int cmd_check(const struct cli_options *o);
int cmd_explain(const struct cli_options *o, const char *device);
int cmd_generate(const struct cli_options *o, const char *device);
int cmd_iommu(const struct cli_options *o);
int cmd_status(const struct cli_options *o);

/* Shared by the commands: */

/* Logs out-of-memory. Return: -ENOMEM. */
int cli_oom(void);

/**
 * cli_print_json() - print @o and a newline to stdout: indented on a
 * terminal, one compact line otherwise (for scripts and pipes). Keys come
 * in the order they were added (json-c keeps it): devpass(1) documents
 * that order.
 * Return: 0, or -ENOMEM (logged).
 */
int cli_print_json(json_object *o);

/**
 * cli_load_rules() - the rule set of o->rules_dirs (or the defaults).
 * A --rules-dir that does not exist is added to ->errors.
 * @quiet: do not print the rule files' problems, warnings and notes (the
 *         caller shows them).
 * Return: 0 or a negative errno (already logged).
 */
int cli_load_rules(const struct cli_options *o, bool quiet,
		   struct ruleset **out);

/* Every device on this host (or testbed). Return: 0 or -errno (logged). */
int cli_load_devices(struct device_list **out);

/* The device named by @what, or NULL with a message naming what exists. */
struct device *cli_find_device(const struct device_list *l, const char *what);

/* "vvvv:pppp" of @d into @buf (10 bytes). */
const char *cli_format_ids(const struct device *d, char buf[static 10]);

/* text_escape_dup() that passes NULL through. */
char *cli_printable(const char *s);

/* "Manufacturer Name" of @d, escaped for a terminal; NULL on ENOMEM. */
char *cli_device_label(const struct device *d);
