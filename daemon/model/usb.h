/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The builder of USB devices' models, for device.c. Private to the model. */

#include <libudev.h>

#include "devpass/model/device.h"

/*
 * The model of usb_device @ud. Its failures are logged here.
 * Return: 0 and *@out set; DEVICE_E_NOT_HANDLED for an interface or a root
 * hub; -EINVAL when its ids are missing or garbage; -ENOMEM or -errno.
 */
int usb_device_new(struct udev_device *ud, struct device **out);

/*
 * The model of the USB device that child node @child belongs to, without
 * the node @gone_devnode (NULL: none).
 * Return: as usb_device_new(); DEVICE_E_NOT_HANDLED when @child is no USB
 * device's node.
 */
int usb_device_new_for_child(struct udev_device *child,
			     const char *gone_devnode, struct device **out);
