/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: udev monitor
 *
 * The uevents of USB devices (usb_device, not interfaces) and PCI functions,
 * read without blocking from udev's netlink group (events come after udev's
 * rules ran, so properties are complete). Poll monitor_get_fd() for POLLIN,
 * then call monitor_receive() until it returns MONITOR_EMPTY.
 */

#include "devpass/util/common.h"
#include "devpass/model/device.h"

struct udev;
struct monitor;

/* monitor_receive(): nothing is pending. */
#define MONITOR_EMPTY 1
/* monitor_receive(): an event was read that is not about a device devpass
 * handles (a root hub, or a device that vanished before it could be read);
 * call again. */
#define MONITOR_SKIPPED 2

/**
 * monitor_new() - subscribe to USB and PCI uevents.
 * Return: 0 or -errno.
 */
int monitor_new(struct udev *udev, struct monitor **out);
void monitor_free(struct monitor *m);
DEFINE_FREEP(struct monitor, monitor_free)

/* The fd to poll for POLLIN. Owned by @m. */
int monitor_get_fd(const struct monitor *m);

/**
 * monitor_receive() - read one pending uevent.
 * @action: "add", "remove", "change", "bind", "unbind", ...; caller frees.
 * @dev: the device as it is now; NULL for "remove" (sysfs is gone then, the
 *       caller looks up the model it kept under @syspath). Caller frees.
 * @syspath: the device's syspath; caller frees.
 *
 * Return: 0 with all three set (@dev NULL on remove); MONITOR_EMPTY or
 * MONITOR_SKIPPED with all three NULL; -ENOMEM.
 */
int monitor_receive(struct monitor *m, char **action, struct device **dev,
		    char **syspath);
