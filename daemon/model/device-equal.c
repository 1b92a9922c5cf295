/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whether two models of a device are the same to devpass: everything a
 * rule can match and an entry can carry. A flapping device sends thousands
 * of "change" uevents that alter nothing; this is what tells them apart
 * from the one that does.
 */
#include <string.h>

#include "devpass/model/device.h"
#include "udev-read.h"

static bool props_equal(const struct device_prop *a, size_t na,
			const struct device_prop *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!streq_ptr(a[i].key, b[i].key) ||
		    !streq_ptr(a[i].value, b[i].value))
			return false;
	return true;
}

static bool node_equal(const struct device_node *a, const struct device_node *b)
{
	return a->kind == b->kind && a->major == b->major &&
	       a->minor == b->minor && streq_ptr(a->subsystem, b->subsystem) &&
	       streq_ptr(a->devnode, b->devnode) &&
	       props_equal(a->props, a->n_props, b->props, b->n_props);
}

static bool nodes_equal(const struct device *a, const struct device *b)
{
	if (a->n_nodes != b->n_nodes)
		return false;
	for (size_t i = 0; i < a->n_nodes; i++)
		if (!node_equal(&a->nodes[i], &b->nodes[i]))
			return false;
	return true;
}

static bool strings_equal(const struct device *a, const struct device *b)
{
	return streq_ptr(a->syspath, b->syspath) && streq_ptr(a->id, b->id) &&
	       streq_ptr(a->serial, b->serial) &&
	       streq_ptr(a->manufacturer, b->manufacturer) &&
	       streq_ptr(a->name, b->name) && streq_ptr(a->driver, b->driver);
}

static bool numbers_equal(const struct device *a, const struct device *b)
{
	return a->subsystem == b->subsystem && a->vendor == b->vendor &&
	       a->product == b->product && a->usb_class == b->usb_class &&
	       a->pci_class == b->pci_class && a->busnum == b->busnum &&
	       a->devnum == b->devnum && a->iommu_group == b->iommu_group &&
	       a->boot_vga == b->boot_vga &&
	       a->n_interface_classes == b->n_interface_classes &&
	       (a->n_interface_classes == 0 ||
		memcmp(a->interface_classes, b->interface_classes,
		       a->n_interface_classes) == 0);
}

bool device_equal(const struct device *a, const struct device *b)
{
	if (!a || !b)
		return a == b;
	return numbers_equal(a, b) && strings_equal(a, b) &&
	       nodes_equal(a, b) &&
	       props_equal(a->props, a->n_props, b->props, b->n_props);
}

bool device_uevent_is_moot(const struct device *d, struct udev_device *ud)
{
	const char *action = udev_device_get_action(ud);

	return d && streq_ptr(action, "change") &&
	       streq_ptr(udev_device_get_syspath(ud), d->syspath) &&
	       streq_ptr(udev_device_get_driver(ud), d->driver) &&
	       udev_props_are(ud, d->props, d->n_props);
}
