/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The builder of PCI functions' models, for device.c. Private to the model. */

#include <libudev.h>

#include "devpass/model/device.h"

/*
 * The model of PCI function @ud. Its failures are logged here.
 * Return: 0 and *@out set; -EINVAL when its ids are missing or garbage;
 * -ENOMEM.
 */
int pci_device_new(struct udev_device *ud, struct device **out);
