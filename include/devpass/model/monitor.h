/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: udev monitor
 *
 * The uevents of USB devices (usb_device, not interfaces) and PCI functions,
 * read without blocking from udev's netlink group (events come after udev's
 * rules ran, so properties are complete). Poll monitor_get_fd() for POLLIN,
 * then call monitor_receive() until it returns MONITOR_E_EMPTY.
 */

#include "devpass/util/common.h"
#include "devpass/model/device.h"

struct udev;
struct monitor;

/**
 * enum monitor_result - expected outcomes of monitor_receive().
 * @MONITOR_E_EMPTY: nothing is pending.
 * @MONITOR_E_SKIPPED: an event was read that is not about a device devpass
 *                     handles (a root hub, or a device that vanished or
 *                     held garbage, which the model logged); call again.
 */
enum monitor_result {
	MONITOR_E_EMPTY = 1,
	MONITOR_E_SKIPPED,
};

/**
 * monitor_new() - subscribe to USB and PCI uevents.
 * Return: 0 or -errno, logged here.
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
 * Return: 0 with all three set (@dev NULL on remove); MONITOR_E_EMPTY or
 * MONITOR_E_SKIPPED with all three NULL; -ENOMEM, logged here.
 */
int monitor_receive(struct monitor *m, char **action, struct device **dev,
		    char **syspath);
