/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: device model
 *
 * One struct device per USB device or PCI function, built from udev (and
 * sysfs descriptors / libpci names). Everything a rule can match on or an
 * LXD entry needs is here, so the matcher and planner never touch udev.
 * Strings read from sysfs are kept as they are (they may hold anything a
 * device reports); pass them through text_escape_dup() (util/text.h)
 * before showing them.
 *
 * Inside the model, device.c dispatches to the builders usb.c and pci.c
 * and keeps the list; they build on udev-read.c (sysattrs and properties)
 * and device-core.c (the struct's allocation and freeing), which depend on
 * nothing else of the model.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devpass/util/common.h"

struct udev;
struct udev_device;

enum device_subsystem {
	DEVICE_USB,
	DEVICE_PCI,
};

/**
 * struct device_prop - one udev property (KEY=VALUE).
 */
struct device_prop {
	char *key;
	char *value;
};

/**
 * struct device_node - a character device node that belongs to a USB device:
 * its /dev/bus/usb node, or a child's (video4linux, sound, tty, hidraw,
 * input, usbmisc).
 * @kind: enum node_kind bit of its subsystem (node.h).
 * @subsystem: udev subsystem ("usb", "video4linux", "input", ...).
 * @devnode: path in /dev.
 * @major, @minor: device numbers.
 * @props: the child's udev properties (Property= matches these too).
 */
struct device_node {
	unsigned kind;
	char *subsystem;
	char *devnode;
	unsigned major;
	unsigned minor;
	struct device_prop *props;
	size_t n_props;
};

/**
 * struct device - a USB device or a PCI function.
 * @subsystem: USB or PCI.
 * @syspath: /sys/devices/... path.
 * @id: USB port path ("1-1.5.2") or PCI address ("0000:65:00.0").
 * @vendor, @product: idVendor/idProduct, PCI vendor/device.
 * @serial: USB serial string or NULL.
 * @manufacturer, @name: USB strings; for PCI the pci.ids vendor and device
 *                       names (NULL when unknown).
 * @usb_class: bDeviceClass.
 * @interface_classes: bInterfaceClass of every interface.
 * @pci_class: 24-bit class code (0x030000 for VGA).
 * @driver: bound kernel driver or NULL.
 * @busnum, @devnum: USB bus and device number.
 * @iommu_group: PCI IOMMU group number or -1 when none.
 * @boot_vga: PCI boot_vga=1.
 * @nodes: the USB device's own node first, then child nodes.
 * @props: the device's udev properties.
 */
struct device {
	enum device_subsystem subsystem;
	char *syspath;
	char *id;
	uint16_t vendor;
	uint16_t product;
	char *serial;
	char *manufacturer;
	char *name;
	uint8_t usb_class;
	uint8_t *interface_classes;
	size_t n_interface_classes;
	uint32_t pci_class;
	char *driver;
	unsigned busnum;
	unsigned devnum;
	int iommu_group;
	bool boot_vga;
	struct device_node *nodes;
	size_t n_nodes;
	struct device_prop *props;
	size_t n_props;
};

void device_free(struct device *d);
DEFINE_FREEP(struct device, device_free)

/**
 * enum device_result - expected outcomes of the device constructors.
 * @DEVICE_E_NOT_HANDLED: not a device devpass handles (a USB interface, a
 *                        root hub, another subsystem, a node of no USB
 *                        device); *out is left NULL.
 */
enum device_result {
	DEVICE_E_NOT_HANDLED = 1,
};

/**
 * device_new_from_udev() - build the model of a usb_device or PCI device.
 * A failure is logged here, with the device's syspath; callers only
 * forward it (or skip the device).
 * Return: 0; DEVICE_E_NOT_HANDLED; -EINVAL when its ids are missing or
 * garbage; -ENOMEM or -errno.
 */
int device_new_from_udev(struct udev_device *ud, struct device **out);

/**
 * device_new_for_child() - the USB device that a child node (video4linux,
 * sound, tty, hidraw, input, usbmisc) belongs to, read again because the
 * child came or went: the kernel adds a USB device before its interfaces'
 * drivers create their nodes, so the device's "add" may list none of them.
 * @gone_devnode: a node to leave out (the child being removed), or NULL.
 * Return: as device_new_from_udev(); DEVICE_E_NOT_HANDLED when @child is
 * no USB device's node.
 */
int device_new_for_child(struct udev_device *child, const char *gone_devnode,
			 struct device **out);

/**
 * struct device_list - devices sorted by subsystem, then id.
 */
struct device_list {
	struct device **devices;
	size_t n_devices;
	size_t cap; /* room in @devices */
};

void device_list_free(struct device_list *l);
DEFINE_FREEP(struct device_list, device_list_free)

/**
 * device_enumerate() - every USB device and PCI function udev knows now.
 * Devices that vanish meanwhile or hold garbage are left out (and said
 * why, at their origin). Failures are logged here.
 * Return: 0 or -errno.
 */
int device_enumerate(struct udev *udev, struct device_list **out);

/**
 * device_list_put() - add @d to @l, or replace the device with its syspath
 * (a "change", "bind" or "unbind" event). @l owns @d on success.
 * Return: 0 or -ENOMEM, logged here (then the caller still owns @d).
 */
int device_list_put(struct device_list *l, struct device *d);

/* Removes and frees the device with @syspath; false when there is none. */
bool device_list_remove(struct device_list *l, const char *syspath);

/**
 * device_find() - find a device by USB port path, PCI address or syspath.
 * Return: the device (owned by @l) or NULL.
 */
struct device *device_find(const struct device_list *l, const char *what);

/**
 * device_equal() - whether @a and @b are the same device to devpass:
 * every field of the model (ids, strings, classes, driver, bus and device
 * numbers, IOMMU group, nodes and their properties, udev properties). A
 * uevent's own keys (ACTION, SEQNUM, SYNTH_*) are not in the model, so
 * two reads of an unchanged device are equal.
 */
bool device_equal(const struct device *a, const struct device *b);

/**
 * device_uevent_is_moot() - whether @ud, a uevent of @d's own device (not
 * of a child node), is a "change" that tells nothing @d does not hold:
 * the same driver and udev properties. Reading the device again would give
 * @d: the rest of the model is either fixed while the device is plugged
 * (ids, strings, bus and device numbers, class, IOMMU group) or changes
 * through its children's own uevents (nodes, interfaces). A flapping
 * device's storm of "change"s then costs no sysfs read.
 */
bool device_uevent_is_moot(const struct device *d, struct udev_device *ud);

/* The device of @l at @syspath, or NULL. */
const struct device *device_list_find(const struct device_list *l,
				      const char *syspath);

/* Whether @d is a PCI display controller (class 03), LXD's "gpu". */
bool device_is_gpu(const struct device *d);

/* Property value of @d (not its nodes) or NULL. */
const char *device_get_prop(const struct device *d, const char *key);
