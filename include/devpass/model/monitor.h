/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: udev monitor
 *
 * The uevents of USB devices (usb_device, not interfaces) and PCI functions,
 * read without blocking from udev's netlink group (events come after udev's
 * rules ran, so properties are complete). Poll monitor_get_fd() for POLLIN,
 * then call monitor_receive() until it returns MONITOR_E_EMPTY.
 *
 * Lost events: the kernel drops uevents when the socket's receive buffer
 * is full (a burst; a flapping device) and says so once, with ENOBUFS on
 * the next receive. monitor_receive() turns that into MONITOR_E_LOST; the
 * caller then calls monitor_flush() (what is queued is older than what a
 * scan sees) and enumerates again (device_enumerate()): a lost "add"
 * attaches, a lost "remove" detaches, as after a restart. SEQNUM gaps are
 * no sign of loss here: udev's kernel-side filter drops what we do not
 * subscribe to, and that leaves gaps too.
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
 * @MONITOR_E_LOST: the kernel dropped uevents (ENOBUFS); logged here,
 *                  at warning the first time. Flush and enumerate again.
 */
enum monitor_result {
	MONITOR_E_EMPTY = 1,
	MONITOR_E_SKIPPED,
	MONITOR_E_LOST,
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
 * Return: 0 with all three set (@dev NULL on remove); MONITOR_E_EMPTY,
 * MONITOR_E_SKIPPED or MONITOR_E_LOST with all three NULL; -ENOMEM,
 * logged here.
 */
int monitor_receive(struct monitor *m, char **action, struct device **dev,
		    char **syspath);

#define MONITOR_BATCH_MAX 64

/**
 * struct monitor_event - one uevent, as monitor_receive() returns it.
 */
struct monitor_event {
	char *action;
	struct device *dev;
	char *syspath;
};

/**
 * struct monitor_known - how monitor_receive_batch() finds the model the
 * caller holds of a device.
 * @find: the device at @syspath as the caller will hold it once what it
 *        has read is applied, or NULL (none, or its removal is pending).
 */
struct monitor_known {
	const struct device *(*find)(const void *ctx, const char *syspath);
	const void *ctx;
};

/**
 * struct monitor_batch - uevents read at once, coalesced.
 * @v, @n: the events left, in order; each owns its fields.
 * @read: uevents read off the socket.
 * @coalesced: of those, how many were dropped unbuilt because a later one
 *             of the same device (not a child node's) supersedes them.
 * @moot: how many were dropped unbuilt as "change"s that tell nothing the
 *        caller's devices do not hold (device_uevent_is_moot()).
 */
struct monitor_batch {
	struct monitor_event v[MONITOR_BATCH_MAX];
	size_t n;
	size_t read;
	size_t coalesced;
	size_t moot;
};

/* Frees the events of @b and empties it. */
void monitor_batch_clear(struct monitor_batch *b);

/**
 * monitor_receive_batch() - read up to MONITOR_BATCH_MAX pending uevents
 * and build the models only of those no later event of the batch
 * supersedes: of a device's 64 queued "change"s, one is read from sysfs.
 * A device's "remove" followed by its "add" is its "add", an "add" and
 * its "remove" the "remove". Child-node events are all kept (each says
 * which node came or went). A "change" that tells nothing new of the
 * device @known finds (device_uevent_is_moot()) is dropped unbuilt too;
 * @known may be NULL.
 * Return: 0 with @b filled (@b->n may be 0 when all were skipped);
 * MONITOR_E_EMPTY when nothing was pending; MONITOR_E_LOST (then what was
 * read is dropped: the scan that follows covers it); -ENOMEM, logged.
 * @b is empty on anything but 0.
 */
int monitor_receive_batch(struct monitor *m, const struct monitor_known *known,
			  struct monitor_batch *b);

/**
 * monitor_flush() - drop every uevent queued on @m, unread: after a loss,
 * an enumeration supersedes them.
 * Return: how many were dropped.
 */
size_t monitor_flush(struct monitor *m);

/* How many times the kernel dropped uevents on @m (MONITOR_E_LOST). */
unsigned long monitor_losses(const struct monitor *m);

/* The socket's receive buffer in bytes, as the kernel granted it (half of
 * what SO_RCVBUF reads: the kernel doubles it); 0 if unknown. */
size_t monitor_receive_buffer(const struct monitor *m);
