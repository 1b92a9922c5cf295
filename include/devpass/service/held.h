/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: uevents held while a reconcile pass runs
 *
 * A pass plans with the device list and keeps pointers into it until its
 * writes end (reconcile.h), which may be seconds when LXD is slow. The
 * monitor is still drained meanwhile (the kernel must not drop uevents),
 * but what it reads is held here and applied when the pass ends
 * (uevents_release()); the next pass then sees it. Nothing is applied
 * under a pass's feet, and a storm costs no memory: a later uevent of a
 * device supersedes the one held for it, so at most one is held per
 * device. A loss (the kernel dropped uevents) is held as such: what is
 * held is dropped, and the list is enumerated again when the pass ends.
 */

#include <stdbool.h>

#include "devpass/model/device.h"

struct held_uevent {
	struct device *dev; /* NULL: a removal */
	char *syspath;
	char *action;
};

struct held {
	struct held_uevent *v;
	size_t n;
	size_t cap;
	bool lost; /* uevents were lost: enumerate again */
};

/**
 * held_push() - hold a uevent: @dev (taken over; NULL for a removal) of
 * @syspath (copied), replacing one held for the same device.
 * Return: 0 or -ENOMEM (logged; @dev is freed; the loss is held, so that
 * the list is enumerated again).
 */
int held_push(struct held *h, const char *action, struct device *dev,
	      const char *syspath);

/* The device at @syspath as it will be once @h is applied to @l: the model
 * held for it (NULL for a held removal), else @l's (NULL if none). */
const struct device *held_latest(const struct held *h,
				 const struct device_list *l,
				 const char *syspath);

/* Drops what is held and holds a loss instead. */
void held_lose(struct held *h);

/* Frees what @h holds (not @h itself) and empties it. */
void held_clear(struct held *h);
