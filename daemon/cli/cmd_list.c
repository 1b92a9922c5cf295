/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "devpass/cli/commands.h"
#include "devpass/util/json.h"
#include "devpass/model/device-json.h"
#include "devpass/rules/match.h"
#include "devpass/cli/table.h"

static const char *const usb_headers[] = {
	"PORT", "ID", "CLASS", "DEVICE", "SERIAL", "NODES", "RULE", "INSTANCE",
};
static const char *const pci_headers[] = {
	"ADDRESS", "ID",    "CLASS", "DEVICE",
	"DRIVER",  "IOMMU", "RULE",  "INSTANCE",
};

/*
 * USB devices form a tree by port path: "1-1.5.2" hangs below "1-1.5".
 * The parent is the nearest listed device whose id is a prefix ending at
 * a '.' (a hub port); devices directly on a root hub have none.
 */
static bool usb_is_parent(const char *parent, const char *child)
{
	size_t n = strlen(parent);
	return strncmp(parent, child, n) == 0 && child[n] == '.';
}

static const struct device *usb_parent(const struct device_list *l,
				       const struct device *d)
{
	const struct device *best = NULL;
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct device *p = l->devices[i];
		if (p->subsystem == DEVICE_USB && usb_is_parent(p->id, d->id) &&
		    (!best || strlen(p->id) > strlen(best->id)))
			best = p;
	}
	return best;
}

/* "bus/usb/001/003 input/event5": the device's nodes below /dev. */
static char *usb_nodes(const struct device *d)
{
	_cleanup_(strv_freep) char **v = NULL;
	for (size_t i = 0; i < d->n_nodes; i++) {
		const char *node = d->nodes[i].devnode;
		if (strncmp(node, "/dev/", 5) == 0)
			node += 5;
		if (strv_push(&v, node) < 0)
			return NULL;
	}
	return strv_join(v, " ");
}

static int usb_add_row(struct table *t, const struct device *d,
		       const char *prefix, const struct ruleset *rs)
{
	const struct rule *r = match_ruleset(rs, d);
	char ids[10], cls[4];
	snprintf(cls, sizeof(cls), "%02x", d->usb_class);
	for (size_t i = 0; i < d->n_interface_classes && d->usb_class == 0; i++)
		snprintf(cls, sizeof(cls), "%02x", d->interface_classes[i]);
	_cleanup_(freep) char *port = NULL;
	_cleanup_(freep) char *label = cli_device_label(d);
	_cleanup_(freep) char *serial = cli_printable(d->serial);
	_cleanup_(freep) char *nodes = usb_nodes(d);
	_cleanup_(freep) char *inst = r ? strv_join(r->instances, " ") : NULL;
	if (!label || !nodes || (r && !inst) ||
	    asprintf(&port, "%s%s", prefix, d->id) < 0)
		return cli_oom();
	const char *row[] = {port,  cli_format_ids(d, ids), cls, label, serial,
			     nodes, r ? r->name : NULL,	    inst};
	return table_add_row(t, row);
}

/* Index of the first child of @d at or after @from, or l->n_devices. */
static size_t usb_next_child(const struct device_list *l,
			     const struct device *d, size_t from)
{
	for (size_t i = from; i < l->n_devices; i++)
		if (l->devices[i]->subsystem == DEVICE_USB &&
		    usb_parent(l, l->devices[i]) == d)
			return i;
	return l->n_devices;
}

/* Adds @d's row, then its children's subtrees, drawn with tree glyphs. */
static int usb_add_subtree(struct table *t, const struct device_list *l,
			   const struct device *d, const char *lead,
			   const char *branch, const char *stem,
			   const struct ruleset *rs)
{
	_cleanup_(freep) char *prefix = NULL, *child_lead = NULL;
	if (asprintf(&prefix, "%s%s", lead, branch) < 0 ||
	    asprintf(&child_lead, "%s%s", lead, stem) < 0)
		return cli_oom();
	int r = usb_add_row(t, d, prefix, rs);
	size_t i = usb_next_child(l, d, 0);
	while (r == 0 && i < l->n_devices) {
		size_t next = usb_next_child(l, d, i + 1);
		bool last = next == l->n_devices;
		r = usb_add_subtree(t, l, l->devices[i], child_lead,
				    last ? "└─ " : "├─ ", last ? "   " : "│  ",
				    rs);
		i = next;
	}
	return r;
}

static int print_usb(const struct device_list *l, const struct ruleset *rs)
{
	_cleanup_(table_freep) struct table *t =
		table_new(ARRAY_SIZE(usb_headers), usb_headers);
	if (!t)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r == 0 && i < l->n_devices; i++) {
		const struct device *d = l->devices[i];
		if (d->subsystem == DEVICE_USB && !usb_parent(l, d))
			r = usb_add_subtree(t, l, d, "", "", "", rs);
	}
	if (r == 0 && l->n_devices && l->devices[0]->subsystem == DEVICE_USB) {
		printf("USB devices\n");
		table_print(t, stdout, "  ");
	} else if (r == 0)
		printf("USB devices: none\n");
	return r;
}

static int pci_add_row(struct table *t, const struct device *d,
		       const struct ruleset *rs)
{
	const struct rule *r = match_ruleset(rs, d);
	char ids[10], cls[8], group[16];
	snprintf(cls, sizeof(cls), "%06x", d->pci_class);
	snprintf(group, sizeof(group), "%d", d->iommu_group);
	_cleanup_(freep) char *label = cli_device_label(d);
	_cleanup_(freep) char *driver = cli_printable(d->driver);
	_cleanup_(freep) char *inst = r ? strv_join(r->instances, " ") : NULL;
	if (!label || (r && !inst))
		return cli_oom();
	const char *row[] = {d->id,
			     cli_format_ids(d, ids),
			     cls,
			     label,
			     driver,
			     d->iommu_group >= 0 ? group : NULL,
			     r ? r->name : NULL,
			     inst};
	return table_add_row(t, row);
}

static int print_pci(const struct device_list *l, const struct ruleset *rs)
{
	_cleanup_(table_freep) struct table *t =
		table_new(ARRAY_SIZE(pci_headers), pci_headers);
	if (!t)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r == 0 && i < l->n_devices; i++)
		if (l->devices[i]->subsystem == DEVICE_PCI)
			r = pci_add_row(t, l->devices[i], rs);
	if (r == 0) {
		printf("PCI devices\n");
		table_print(t, stdout, "  ");
	}
	return r;
}

static int print_json(const struct device_list *l, const struct ruleset *rs)
{
	_cleanup_(json_object_putp) json_object *root =
		json_object_new_object();
	json_object *devs = json_object_new_array();
	json_object_object_add(root, "devices", devs);
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct rule *r = match_ruleset(rs, l->devices[i]);
		json_object *o = device_json_new(l->devices[i]);
		if (!o)
			return cli_oom();
		json_object_object_add(
			o, "rule", r ? json_object_new_string(r->name) : NULL);
		json_object_object_add(o, "instances",
				       r ? json_from_strv(r->instances) : NULL);
		json_object_array_add(devs, o);
	}
	json_object_object_add(root, "rule_errors", json_from_strv(rs->errors));
	return cli_print_json(root);
}

int cmd_list(const struct cli_options *o)
{
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	if (cli_load_rules(o, o->json, &rs) < 0 || cli_load_devices(&l) < 0)
		return EXIT_TROUBLE;
	int r = o->json ? print_json(l, rs) : print_usb(l, rs);
	if (r == 0 && !o->json) {
		putchar('\n');
		r = print_pci(l, rs);
	}
	return r < 0 ? EXIT_TROUBLE : EXIT_OK;
}
