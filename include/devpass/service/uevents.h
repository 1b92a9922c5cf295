/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: uevents into the device list, coalesced
 *
 * What a uevent does to the device list, and whether it is worth a
 * reconcile: a "change" (or "bind", or a child node's event) that leaves
 * the device's model as it was alters nothing devpass matches or writes,
 * so it costs no LXD request. A flapping device's thousands of changes
 * are read and dropped here. After a loss (MONITOR_E_LOST) the list is
 * read again whole, as at start.
 *
 * The monitor is drained a bounded number of events per loop round
 * (UEVENTS_PER_ROUND), so that a storm on one device leaves room for the
 * other fds (control socket, LXD) and for the reconcile of a device
 * plugged meanwhile.
 */

#include "devpass/model/device.h"
#include "devpass/model/monitor.h"
#include "devpass/service/held.h"

struct udev;

#define UEVENTS_PER_ROUND MONITOR_BATCH_MAX

/**
 * enum uevents_result - expected outcomes of uevents_apply().
 * @UEVENTS_E_UNCHANGED: the list is as it was (the model read again is
 *                       the same; a remove of a device not in the list).
 */
enum uevents_result {
	UEVENTS_E_UNCHANGED = 1,
};

/**
 * uevents_apply() - apply one uevent to @l.
 * @dev: the device as it is now (taken over, freed here when not kept);
 *       NULL for a "remove" of @syspath.
 * Return: 0 when @l changed; UEVENTS_E_UNCHANGED; -ENOMEM (logged).
 */
int uevents_apply(struct device_list *l, const char *action, struct device *dev,
		  const char *syspath);

/**
 * uevents_resync() - enumerate every device again into *@l (replaced),
 * after uevents were lost; queued events are flushed first (@m may be
 * NULL). Logs what the new list holds.
 * Return: 0 or -errno (logged where it happened; *@l is then kept).
 */
int uevents_resync(struct udev *udev, struct monitor *m,
		   struct device_list **l);

/**
 * uevents_drain() - read at most UEVENTS_PER_ROUND uevents from @m into
 * *@l (one batch: a device's events superseded by a later one in it, and
 * "change"s telling nothing *@l does not hold, are not read from sysfs);
 * on a loss, flush and enumerate again (uevents_resync()).
 * Return: 0 when the list changed (reconcile), UEVENTS_E_UNCHANGED, or
 * -ENOMEM (logged).
 */
int uevents_drain(struct udev *udev, struct monitor *m, struct device_list **l);

/**
 * uevents_hold() - read at most UEVENTS_PER_ROUND uevents from @m into @h
 * while a pass plans with the device list @l (held.h); on a loss, flush
 * and hold the loss. A "change" telling nothing new of what @h and @l will
 * hold is not held.
 */
void uevents_hold(struct monitor *m, struct held *h,
		  const struct device_list *l);

/**
 * uevents_release() - apply what @h holds to *@l and empty @h: each
 * uevent as uevents_apply() does, or, after a loss, enumerate again
 * (uevents_resync()).
 * Return: 0 when the list changed (reconcile), UEVENTS_E_UNCHANGED, or
 * -errno (logged).
 */
int uevents_release(struct udev *udev, struct held *h, struct device_list **l);
