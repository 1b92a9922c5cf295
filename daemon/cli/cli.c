/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the devpass commands share: their options, rules, devices, labels. */
#include <libudev.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devpass/cli/commands.h"
#include "devpass/rules/load.h"
#include "devpass/util/log.h"
#include "devpass/util/options.h"
#include "devpass/util/text.h"

int cli_options_parse(struct cli_options *o, const char *usage, int argc,
		      char **argv)
{
	const struct options_spec specs[] = {
		{.name = "rules-dir", .strv = &o->rules_dirs},
		{.name = "control", .string = &o->control_path},
		{.name = "socket", .string = &o->socket},
		{.name = "instance", .string = &o->instance},
		{.name = "json", .flag = &o->json},
		{.name = "allow-host-device", .flag = &o->allow_host_device},
		{0},
	};
	const struct options_program program = {
		.name = "devpass",
		.usage = usage,
		.specs = specs,
	};
	return options_parse(&program, argc, argv);
}

void cli_options_clear(struct cli_options *o)
{
	strv_free(o->rules_dirs);
	o->rules_dirs = NULL;
}

int cli_oom(void)
{
	return log_err_errno(-ENOMEM, "Out of memory");
}

int cli_print_json(json_object *o)
{
	int flags = isatty(STDOUT_FILENO)
			    ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN;
	const char *text = json_object_to_json_string_ext(
		o, flags | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return cli_oom();
	puts(text);
	return 0;
}

/* A --rules-dir that does not exist is a mistake, not an empty set (the
 * loader skips missing directories: the defaults need not all exist). */
static int check_given_dirs(char *const *dirs, struct ruleset *rs)
{
	struct stat st;
	STRV_FOREACH(d, dirs) {
		if (stat(*d, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		_cleanup_(freep) char *e = NULL;
		if (asprintf(&e, "%s: no such rules directory (--rules-dir)",
			     *d) < 0 ||
		    strv_push(&rs->errors, e) < 0)
			return cli_oom();
	}
	return 0;
}

int cli_load_rules(const struct cli_options *o, bool quiet,
		   struct ruleset **out)
{
	char *const *dirs = o->rules_dirs ? o->rules_dirs : rules_default_dirs;
	int r = ruleset_load(dirs, out);
	if (r < 0)
		return r; /* logged by ruleset_load() */
	if (o->rules_dirs && (r = check_given_dirs(o->rules_dirs, *out)) < 0)
		return r;
	/* The problems of the rule files are data: shown here, once. */
	if (quiet)
		return 0;
	STRV_FOREACH(e, (*out)->errors)
		fprintf(stderr, "%s\n", *e);
	STRV_FOREACH(w, (*out)->warnings)
		fprintf(stderr, "warning: %s\n", *w);
	STRV_FOREACH(n, (*out)->notes)
		fprintf(stderr, "note: %s\n", *n);
	return 0;
}

int cli_load_devices(struct device_list **out)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	if (!udev)
		return log_err_errno(-ENOMEM, "cannot talk to udev");
	return device_enumerate(udev, out); /* logs its failures */
}

struct device *cli_find_device(const struct device_list *l, const char *what)
{
	struct device *d = device_find(l, what);
	if (d)
		return d;
	fprintf(stderr,
		"no device \"%s\": give a USB port path (1-1.5.2), a PCI "
		"address (0000:65:00.0) or a syspath; `devpass list` shows "
		"them\n",
		what);
	return NULL;
}

const char *cli_format_ids(const struct device *d, char buf[static 10])
{
	snprintf(buf, 10, "%04x:%04x", d->vendor, d->product);
	return buf;
}

char *cli_printable(const char *s)
{
	return s ? text_escape_dup(s) : NULL;
}

char *cli_device_label(const struct device *d)
{
	_cleanup_(freep) char *m = cli_printable(d->manufacturer);
	_cleanup_(freep) char *n = cli_printable(d->name);
	char *label = NULL;
	if (asprintf(&label, "%s%s%s", m ? m : "", m && n ? " " : "",
		     n ? n : "") < 0)
		return NULL;
	return label;
}
