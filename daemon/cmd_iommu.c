/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "devpass/commands.h"
#include "devpass/iommu.h"
#include "devpass/json.h"


#define PCI_CLASS_BRIDGE_PCI 0x0604

static const char no_iommu_advice[] =
	"No IOMMU groups: the IOMMU is off or absent, so no PCI device can go "
	"to a VM.\n"
	"Enable VT-d (Intel) or AMD-Vi (AMD) in the firmware, and boot with "
	"intel_iommu=on\n"
	"(Intel; AMD enables it by default) and iommu=pt on the kernel command "
	"line.\n";

/* Why @d keeps its group from going to a VM, or NULL when it does not. */
static const char *blocker(const struct device *d)
{
	if (!d)
		return "not in the device list";
	if ((d->pci_class >> 8) == PCI_CLASS_BRIDGE_PCI || !d->driver ||
	    strcmp(d->driver, "vfio-pci") == 0 ||
	    strcmp(d->driver, "pci-stub") == 0)
		return NULL;
	return "bound to a host driver";
}

static void print_group(const struct iommu_group *g,
			const struct device_list *l)
{
	bool viable = true;
	for (char **a = g->addresses; *a; a++)
		viable &= !blocker(device_find(l, *a));
	printf("Group %d: %s\n", g->number,
	       viable ? "viable for a VM"
		      : "not viable for a VM as it is (a member is bound to a "
			"host driver)");
	for (char **a = g->addresses; *a; a++) {
		const struct device *d = device_find(l, *a);
		_cleanup_(freep) char *label = d ? cli_device_label(d) : NULL;
		_cleanup_(freep) char *driver = d ? cli_printable(d->driver) : NULL;
		char ids[10] = "?";
		printf("  %s %s  %-9s %s%s%s\n", a[1] ? "├─" : "└─", *a,
		       d ? cli_format_ids(d, ids) : ids,
		       driver ? driver : "(no driver)",
		       label && *label ? "  " : "", label ? label : "");
	}
}

static json_object *group_json(const struct iommu_group *g,
			       const struct device_list *l)
{
	json_object *o = json_object_new_object();
	json_object *devs = json_object_new_array();
	bool viable = true;
	for (char **a = g->addresses; *a; a++) {
		const struct device *d = device_find(l, *a);
		const char *why = blocker(d);
		json_object *j = d ? json_from_device(d) : json_object_new_object();
		json_object_object_add(j, "address", json_object_new_string(*a));
		json_object_object_add(j, "blocks", json_string_or_null(why));
		json_object_array_add(devs, j);
		viable &= !why;
	}
	json_object_object_add(o, "group", json_object_new_int(g->number));
	json_object_object_add(o, "viable", json_object_new_boolean(viable));
	json_object_object_add(o, "devices", devs);
	return o;
}

static void print_json(const struct iommu_list *groups,
		       const struct device_list *l)
{
	_cleanup_(json_object_putp) json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();
	json_object_object_add(root, "iommu", json_object_new_boolean(groups != NULL));
	json_object_object_add(root, "groups", arr);
	for (size_t i = 0; groups && i < groups->n_groups; i++)
		json_object_array_add(arr, group_json(&groups->groups[i], l));
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
}

int cmd_iommu(const struct cli_options *o)
{
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	_cleanup_(iommu_list_freep) struct iommu_list *groups = NULL;
	if (cli_load_devices(&l) < 0)
		return EXIT_TROUBLE;
	int r = iommu_list_read(NULL, &groups);
	if (r < 0) {
		fprintf(stderr, "cannot read %s: %s\n", IOMMU_GROUPS_DIR, strerror(-r));
		return EXIT_TROUBLE;
	}
	if (o->json)
		print_json(groups, l);
	else if (!groups)
		fputs(no_iommu_advice, stdout);
	for (size_t i = 0; !o->json && groups && i < groups->n_groups; i++)
		print_group(&groups->groups[i], l);
	return EXIT_OK;
}
