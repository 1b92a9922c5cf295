/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: kinds of device node
 *
 * A USB device's own /dev/bus/usb node and the nodes its interfaces'
 * drivers create, one kind per udev subsystem. The device model sorts its
 * nodes into these kinds; a rule's Nodes= names them by subsystem.
 */

#include <stddef.h>

/* A kind of node, as a bit so that a set of them (Nodes=) is a mask. */
enum node_kind {
	NODE_USB = 1u << 0, /* /dev/bus/usb/BBB/DDD */
	NODE_VIDEO4LINUX = 1u << 1,
	NODE_SOUND = 1u << 2,
	NODE_TTY = 1u << 3,
	NODE_HIDRAW = 1u << 4,
	NODE_INPUT = 1u << 5,
	NODE_USBMISC = 1u << 6,
	NODE_ALL = (1u << 7) - 1,
};

/* The subsystem of the single kind @k ("usb", "video4linux", ...), "all"
 * for NODE_ALL, or NULL. */
const char *node_kind_to_string(enum node_kind k);

/* The kind of node of udev subsystem @subsystem (NODE_ALL for "all"), or 0
 * for none. */
enum node_kind node_kind_from_string(const char *subsystem);

/* The i-th subsystem of USB child nodes (all kinds but NODE_USB), or NULL
 * past the last. */
const char *node_child_subsystem(size_t i);
