/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: uevents held while a reconcile pass runs
 *
 * A pass plans with the device list and keeps pointers into it until its
 * writes end (reconcile.h), which may be seconds when LXD is slow. The
 * monitor is still drained meanwhile (the kernel must not drop uevents),
 * but what it reads is held here and applied, in order, when the pass
 * ends; the next pass then sees it. Nothing is lost, nothing is applied
 * under a pass's feet.
 */

#include "devpass/model/device.h"

struct held_uevent {
	struct device *dev; /* NULL: a removal */
	char *syspath;
};

struct held {
	struct held_uevent *v;
	size_t n;
	size_t cap;
};

/**
 * held_push() - hold a uevent: @dev (taken over; NULL for a removal) for
 * @syspath (copied). Return: 0 or -ENOMEM (logged; @dev is freed).
 */
int held_push(struct held *h, struct device *dev, const char *syspath);

/**
 * held_apply() - apply what is held to @devices, in order, and empty @h.
 * Return: the number of uevents applied.
 */
size_t held_apply(struct held *h, struct device_list *devices);

/* Frees what @h holds (not @h itself) and empties it. */
void held_clear(struct held *h);
