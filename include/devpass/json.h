/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: JSON shapes shared by `devpass list`, `devpass status` and the
 * control socket. Field names are stable: scripts read them.
 */

#include <json-c/json.h>

#include "devpass/device.h"

DEFINE_FREEP(json_object, json_object_put)

/* A string, or JSON null for NULL. */
json_object *json_string_or_null(const char *s);

/* A device-reported string: as it is when valid UTF-8, else escaped. */
json_object *json_device_string(const char *s);

/* An array of strings from a NULL-terminated list (empty for NULL). */
json_object *json_from_strv(char *const *v);

/**
 * json_from_device() - the device as an object: subsystem, id, syspath,
 * vendor, product (4 hex digits), serial, manufacturer, name, class
 * (2 hex digits USB, 6 PCI), interface_classes (USB), driver, busnum and
 * devnum (USB), iommu_group (PCI, null when none), boot_vga (PCI), nodes
 * ([{subsystem, devnode, major, minor}]).
 * Return: a new object, or NULL on ENOMEM.
 */
json_object *json_from_device(const struct device *d);
