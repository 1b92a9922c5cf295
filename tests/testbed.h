/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers for tests that run under a umockdev testbed (suite "umockdev").
 *
 * The test binary must run with LD_PRELOAD=libumockdev-preload.so.0 (the
 * suite's environment sets it); testbed_new() exits 77, meson's "skip",
 * without it. Create the testbed before the first use of libudev: the
 * preload redirects /sys, /dev and udev's netlink socket to the testbed.
 * A udev monitor in the test process receives umockdev_testbed_uevent(),
 * and the "add" that umockdev sends by itself for every device added.
 */

#include <stdbool.h>
#include <stdint.h>
#include <umockdev.h>

/* Whether the umockdev preload library is loaded into this process. */
bool testbed_preloaded(void);

/* A new, empty testbed; exits 77 when not preloaded. */
UMockdevTestbed *testbed_new(void);

/*
 * Loads a recording: @name is a file of tests/data/ (found through
 * $DEVPASS_SOURCE_DIR, else the working directory) or a path with a '/'.
 * Devices that are in the testbed already (the hubs and controllers that
 * several recordings share) are skipped, so recordings can be combined.
 * Aborts the test on failure.
 */
void testbed_load(UMockdevTestbed *tb, const char *name);

/*
 * A synthetic USB device. Zero/NULL fields are left out, except that
 * @interface_class < 0 means "no interface" (0 is a valid class).
 * @port: sysname and port path ("1-2"); required.
 * @parent: syspath of the parent (a hub), or NULL for /sys/devices/PORT.
 * @serial, @manufacturer, @product_name: the string sysattrs, as raw bytes.
 * @child_subsystem, @child_name: a child node under the interface, e.g.
 *   "input"/"event7" (/dev/input/event7) or "video4linux"/"video0".
 * @child_major, @child_minor: its device number.
 * @child_property: one extra "KEY=VALUE" udev property of the child.
 */
struct testbed_usb {
	const char *port;
	const char *parent;
	uint16_t vendor;
	uint16_t product;
	const char *serial;
	const char *manufacturer;
	const char *product_name;
	uint8_t device_class;
	unsigned busnum;
	unsigned devnum;
	int interface_class;
	const char *child_subsystem;
	const char *child_name;
	unsigned child_major;
	unsigned child_minor;
	const char *child_property;
};

/* Adds @u as a usb_device (and its interface and child). Return: its
 * syspath, g_free() it. Aborts the test on failure. */
char *testbed_add_usb_device(UMockdevTestbed *tb, const struct testbed_usb *u);

/*
 * Adds a PCI function at /sys/devices/ADDRESS with vendor/device/class
 * sysattrs, a driver link to /sys/bus/pci/drivers/DRIVER when @driver is
 * given, and, when @iommu_group >= 0, an iommu_group link and an entry in
 * /sys/kernel/iommu_groups/N/devices/. Return: its syspath, g_free() it.
 */
char *testbed_add_pci_device(UMockdevTestbed *tb, const char *address,
			     uint16_t vendor, uint16_t device, uint32_t cls,
			     const char *driver, int iommu_group);

/*
 * A PCI function with the rest of what testbed_add_pci_device() takes:
 * @parent: syspath of its upstream bridge, or NULL for /sys/devices.
 * @boot_vga: adds boot_vga=1.
 * @config, @config_len: the binary config attribute (libpci reads it),
 *   or NULL.
 */
struct testbed_pci {
	const char *address;
	const char *parent;
	uint16_t vendor;
	uint16_t device;
	uint32_t cls;
	const char *driver;
	int iommu_group;
	bool boot_vga;
	const uint8_t *config;
	size_t config_len;
};
char *testbed_add_pci(UMockdevTestbed *tb, const struct testbed_pci *p);

/* Binds @syspath to @driver (NULL: unbinds it) as the kernel shows it:
 * the driver link and DRIVER property change, then a "bind" ("unbind")
 * uevent. */
void testbed_pci_bind(UMockdevTestbed *tb, const char *syspath,
		      const char *driver);
