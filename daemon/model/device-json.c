/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "devpass/model/device-json.h"
#include "devpass/util/json.h"

static json_object *device_json_hex(unsigned value, int digits)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%0*x", digits, value);
	return json_object_new_string(buf);
}

static json_object *device_json_nodes(const struct device *d)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; a && i < d->n_nodes; i++) {
		const struct device_node *n = &d->nodes[i];
		json_object *o = json_object_new_object();
		if (!o)
			break; /* ENOMEM: the array goes without the rest */
		json_object_object_add(o, "subsystem",
				       json_string_or_null(n->subsystem));
		json_object_object_add(o, "devnode",
				       json_device_string(n->devnode));
		json_object_object_add(o, "major",
				       json_object_new_int64(n->major));
		json_object_object_add(o, "minor",
				       json_object_new_int64(n->minor));
		json_object_array_add(a, o);
	}
	return a;
}

static void device_json_add_usb(json_object *o, const struct device *d)
{
	json_object *ifc = json_object_new_array();
	for (size_t i = 0; i < d->n_interface_classes; i++)
		json_object_array_add(
			ifc, device_json_hex(d->interface_classes[i], 2));
	json_object_object_add(o, "class", device_json_hex(d->usb_class, 2));
	json_object_object_add(o, "interface_classes", ifc);
	json_object_object_add(o, "busnum", json_object_new_int64(d->busnum));
	json_object_object_add(o, "devnum", json_object_new_int64(d->devnum));
}

static void device_json_add_pci(json_object *o, const struct device *d)
{
	json_object_object_add(o, "class", device_json_hex(d->pci_class, 6));
	json_object_object_add(o, "iommu_group",
			       d->iommu_group >= 0
				       ? json_object_new_int(d->iommu_group)
				       : NULL);
	json_object_object_add(o, "boot_vga",
			       json_object_new_boolean(d->boot_vga));
}

json_object *device_json_new(const struct device *d)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	bool usb = d->subsystem == DEVICE_USB;
	json_object_object_add(o, "subsystem",
			       json_object_new_string(usb ? "usb" : "pci"));
	json_object_object_add(o, "id", json_device_string(d->id));
	json_object_object_add(o, "syspath", json_device_string(d->syspath));
	json_object_object_add(o, "vendor", device_json_hex(d->vendor, 4));
	json_object_object_add(o, "product", device_json_hex(d->product, 4));
	json_object_object_add(o, "serial", json_device_string(d->serial));
	json_object_object_add(o, "manufacturer",
			       json_device_string(d->manufacturer));
	json_object_object_add(o, "name", json_device_string(d->name));
	json_object_object_add(o, "driver", json_device_string(d->driver));
	if (usb)
		device_json_add_usb(o, d);
	else
		device_json_add_pci(o, d);
	json_object_object_add(o, "nodes", device_json_nodes(d));
	return o;
}
