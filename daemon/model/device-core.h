/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The struct device itself, below its builders (usb.c, pci.c) and the list
 * (device.c): allocating one and freeing its parts. Private to the model.
 */

#include <libudev.h>

#include "devpass/model/device.h"

/*
 * A zeroed struct device of @subsystem with syspath and id (the sysname)
 * of @ud and no IOMMU group.
 * Return: 0 and *@out set, or -ENOMEM.
 */
int device_alloc(enum device_subsystem subsystem, struct udev_device *ud,
		 struct device **out);

/* Frees @n properties and the array. */
void device_props_free(struct device_prop *props, size_t n);

/* Frees what @n owns and zeroes it. */
void device_node_clear(struct device_node *n);
