/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: LXD entries
 *
 * What a matched device becomes in an instance's "devices" map (see
 * DESIGN.md, "What is written to LXD"):
 *
 * - USB to a container: one "unix-char" per node selected by Nodes=, with
 *   major/minor (so LXD needs no node on the host) and Mode/Uid/Gid.
 * - USB to a VM: one "usb" with vendorid/productid, pinned to this very
 *   device by busnum/devnum (and serial) when the server has the
 *   device_usb_serial extension.
 * - PCI GPU (class 03) to a container: "gpu", gputype=physical, pci=ADDRESS.
 * - PCI to a VM: "pci", address=ADDRESS (one call per function; the planner
 *   calls it for each endpoint of an IOMMU group with IommuGroup=whole).
 * - Any other PCI device to a container: refused.
 *
 * Entries are named devpass-RULE-ID[-NODE]: ID is the USB port path or the
 * PCI address, NODE the basename of a child node (the /dev/bus/usb node has
 * none). The "devpass-" prefix marks ownership: devpass touches no other
 * entry. All values are strings, as LXD's device config wants.
 *
 * Pure: nothing here logs. What keeps a device out, or a node left out,
 * is said in the reason it returns; -ENOMEM is returned for the caller
 * to log.
 */

#include <stdbool.h>

#include "devpass/model/device.h"
#include "devpass/plan/instance.h"
#include "devpass/rules/rule.h"

struct json_object;

#define ENTRY_PREFIX "devpass-"

/* LXD's longest device name. */
#define ENTRY_NAME_MAX 64

/**
 * enum entries_outcome - the expected outcomes entries_build() returns
 * besides 0 (dbus-broker's NAME_E_* model: positive, named, documented).
 * @ENTRIES_E_REFUSED: the device cannot go to an instance of that type as
 *                     its rule says; the reason says why.
 * @ENTRIES_E_NO_NODES: a USB device for a container has no node Nodes=
 *                      selects and none but its bus node yet: the kernel
 *                      adds its interfaces' nodes after the device (each a
 *                      uevent of its own), so it waits for them.
 */
enum entries_outcome {
	ENTRIES_E_REFUSED = 1,
	ENTRIES_E_NO_NODES,
};

/**
 * entry_name() - "devpass-@rule-@id[-@node]" as an LXD device name.
 * @node: NULL or "" for none.
 * @out: the name.
 *
 * Bytes outside [A-Za-z0-9_.-] become '_' (LXD allows ':' and '/' too,
 * but a VM's QEMU does not: 0000:01:00.0 is written 0000_01_00.0). A
 * name longer than ENTRY_NAME_MAX keeps its first 55 characters and ends
 * in '-' and the 8 hex digits of the FNV-1a 32 hash of the whole
 * unsanitised name, so it stays the same from run to run and differs from
 * its neighbours'.
 */
void entry_name(const char *rule, const char *id, const char *node,
		char out[ENTRY_NAME_MAX + 1]);

/* Whether @name is an entry devpass owns (starts with ENTRY_PREFIX). */
bool entry_is_ours(const char *name);

/**
 * entries_build() - the entries @r writes for @d into an instance of type @t.
 * @has_usb_serial: the server has the device_usb_serial API extension.
 * @out_map: a JSON object, entry name -> entry config.
 * @reason: NULL, or where to put a sentence (free() it): why @d is refused,
 *          or, on success, a note on a node left out (NULL when none).
 *
 * Return: 0 and *@out_map set; ENTRIES_E_REFUSED when @d cannot go to a
 * @t: a PCI device that is not a GPU to a container, a USB device none of
 * whose nodes Nodes= selects (or only nodes outside /dev), or one two of
 * whose nodes would get one entry name; ENTRIES_E_NO_NODES (with the
 * reason) for a USB device to a container that has no node but its bus
 * node yet; -ENOMEM.
 */
int entries_build(const struct rule *r, const struct device *d,
		  enum instance_type t, bool has_usb_serial,
		  struct json_object **out_map, char **reason);
