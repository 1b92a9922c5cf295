/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: a device as JSON, for `devpass list --json` and `devpass status`.
 * Field names are stable: scripts read them.
 */

#include <json-c/json.h>

#include "devpass/model/device.h"

/**
 * device_json_new() - the device as an object: subsystem, id, syspath,
 * vendor, product (4 hex digits), serial, manufacturer, name, class
 * (2 hex digits USB, 6 PCI), interface_classes (USB), driver, busnum and
 * devnum (USB), iommu_group (PCI, null when none), boot_vga (PCI), nodes
 * ([{subsystem, devnode, major, minor}]).
 * Return: a new object, or NULL on ENOMEM.
 */
json_object *device_json_new(const struct device *d);
