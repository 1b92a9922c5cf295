/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by device.c, usb.c and pci.c only: the builders of the two kinds of
 * device and the udev reading helpers they have in common. Not part of the
 * public model (include/devpass/device.h).
 */

#include <libudev.h>

#include "devpass/model/device.h"

/* Returns 0, 1 when @ud is not a device devpass handles, or -errno. */
int usb_device_new(struct udev_device *ud, struct device **out);
int pci_device_new(struct udev_device *ud, struct device **out);

/* A zeroed struct device with @subsystem, syspath and id set, or NULL. */
struct device *device_alloc(enum device_subsystem subsystem,
			    struct udev_device *ud);

/* Copies every udev property of @ud. Return: 0 or -ENOMEM. */
int device_props_read(struct udev_device *ud, struct device_prop **props,
		      size_t *n_props);
void device_props_free(struct device_prop *props, size_t n);

/*
 * Copies sysattr @name of @ud into *@out (NULL when absent).
 * Return: 0 or -ENOMEM.
 */
int device_sysattr_dup(struct udev_device *ud, const char *name, char **out);

/*
 * Parses sysattr @name as an unsigned number in @base, at most @max.
 * Surrounding blanks are allowed, nothing else.
 * Return: 0, -ENOENT when absent, -EINVAL when not such a number.
 */
int device_sysattr_uint(struct udev_device *ud, const char *name, int base,
			unsigned long max, unsigned long *out);
