/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading one udev device's sysfs attributes and udev properties, for the
 * builders (usb.c, pci.c). Private to the model. Every value may hold
 * anything a device or a driver wrote; nothing here trusts it.
 */

#include <libudev.h>

#include "devpass/model/device.h"

/*
 * Parses @s as an unsigned number in @base (10 or 16), at most @max.
 * Surrounding blanks (space, tab, newline) are allowed, nothing else: no
 * sign, no empty string.
 * Return: 0 and *@out set, or -EINVAL.
 */
int udev_read_parse_uint(const char *s, int base, unsigned long max,
			 unsigned long *out);

/*
 * Sysattr @name of @ud as udev_read_parse_uint() reads it.
 * Return: 0, -ENOENT when absent, -EINVAL when not such a number.
 */
int udev_read_uint(struct udev_device *ud, const char *name, int base,
		   unsigned long max, unsigned long *out);

/*
 * Copies sysattr @name of @ud into *@out (NULL when absent).
 * Return: 0 or -ENOMEM.
 */
int udev_read_string(struct udev_device *ud, const char *name, char **out);

/* Copies every udev property of @ud. Return: 0 or -ENOMEM. */
int udev_read_props(struct udev_device *ud, struct device_prop **props,
		    size_t *n_props);

/* Whether @ud's properties are @props, in the order udev_read_props()
 * copies them (a different order reads as different). Copies nothing. */
bool udev_props_are(struct udev_device *ud, const struct device_prop *props,
		    size_t n_props);
