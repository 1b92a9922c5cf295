/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/cli/commands.h"
#include "devpass/service/control.h"
#include "devpass/cli/table.h"

static const char *const headers[] = {
	"DEVICE", "ID", "RULE", "INSTANCE", "STATE", "WHY",
};

static const char *field(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int add_row(struct table *t, json_object *dev)
{
	char ids[16], inst[256];
	snprintf(ids, sizeof(ids), "%s:%s", field(dev, "vendor") ?: "?",
		 field(dev, "product") ?: "?");
	const char *project = field(dev, "project");
	const char *name = field(dev, "instance");
	if (name && project && strcmp(project, "default") != 0)
		snprintf(inst, sizeof(inst), "%s/%s", project, name);
	else
		snprintf(inst, sizeof(inst), "%s", name ? name : "-");
	const char *row[] = {field(dev, "id"),	  ids,
			     field(dev, "rule"),  inst,
			     field(dev, "state"), field(dev, "reason")};
	return table_add_row(t, row);
}

static void print_lxd(json_object *reply)
{
	json_object *lxd = NULL;
	json_object_object_get_ex(reply, "lxd", &lxd);
	const char *err = field(lxd, "error");
	const char *server = field(lxd, "server");
	/* "LXD: lxd 5.0.2 at /var/lib/lxd/unix.socket", or Incus's */
	printf("LXD: %s%s%s%s%s\n", server ?: "", server ? " at " : "",
	       field(lxd, "socket") ?: "(no socket)", err ? ": " : "",
	       err ? err : "");
}

static int print_table(json_object *reply)
{
	json_object *devs = NULL;
	if (!json_object_object_get_ex(reply, "devices", &devs) ||
	    !json_object_is_type(devs, json_type_array))
		return -EPROTO;
	_cleanup_(table_freep) struct table *t =
		table_new(ARRAY_SIZE(headers), headers);
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < json_object_array_length(devs); i++)
		if (add_row(t, json_object_array_get_idx(devs, i)) < 0)
			return -ENOMEM;
	print_lxd(reply);
	table_print(t, stdout, "");
	return 0;
}

static void explain_failure(const char *path, int r)
{
	if (r == -ENOENT || r == -ECONNREFUSED)
		fprintf(stderr,
			"devpass status: devpassd is not running (no "
			"control socket at %s)\n",
			path);
	else if (r == -EACCES || r == -EPERM)
		fprintf(stderr,
			"devpass status: %s: permission denied (only "
			"root may ask devpassd)\n",
			path);
	else
		fprintf(stderr, "devpass status: %s: %s\n", path, strerror(-r));
}

int cmd_status(const struct cli_options *o)
{
	const char *path =
		o->control_path ? o->control_path : CONTROL_DEFAULT_PATH;
	_cleanup_(json_object_putp) json_object *reply = NULL;
	int r = control_request(path, "status", &reply);
	if (r < 0) {
		explain_failure(path, r);
		return EXIT_TROUBLE;
	}
	const char *err = field(reply, "error");
	if (err) {
		fprintf(stderr, "devpass status: devpassd says: %s\n", err);
		return EXIT_TROUBLE;
	}
	if (o->json)
		return cli_print_json(reply) < 0 ? EXIT_TROUBLE : EXIT_OK;
	if (print_table(reply) < 0) {
		fprintf(stderr,
			"devpass status: devpassd's reply is malformed\n");
		return EXIT_TROUBLE;
	}
	return EXIT_OK;
}
