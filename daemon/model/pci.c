/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libudev.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "device-core.h"
#include "devpass/util/log.h"
#include "libpci.h"
#include "pci.h"
#include "udev-read.h"

/*
 * One pci_access for the whole process: loading pci.ids takes a while, and
 * only names are looked up through it (the devices come from udev).
 */
static struct pci_access *pci_names;

static void pci_names_cleanup(void)
{
	pci_cleanupp(&pci_names);
	pci_names = NULL;
}

static struct pci_access *pci_names_get(void)
{
	if (!pci_names && (pci_names = libpci_new()))
		atexit(pci_names_cleanup);
	return pci_names;
}

/*
 * pci.ids name of vendor @v (and device @d when @flag asks), or NULL.
 * Not udev's hwdb: libpci never frees the udev it opens for that.
 */
static int pci_lookup(int flag, unsigned v, unsigned d, char **out)
{
	struct pci_access *a = pci_names_get();
	char buf[256], *name;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	name = pci_lookup_name(
		a, buf, sizeof(buf),
		flag | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, v, d);
	if (name && !(*out = strdup(name)))
		return -ENOMEM;
	return 0;
}

/* The number at the end of an iommu_group link's target, or -1. */
static int pci_parse_iommu_group(const char *target)
{
	const char *base = strrchr(target, '/');
	unsigned long group;

	base = base ? base + 1 : target;
	/* As iommu.c reads the groups: the kernel writes no leading zeros. */
	if ((base[0] == '0' && base[1]) ||
	    udev_read_parse_uint(base, 10, INT_MAX, &group) < 0 ||
	    strspn(base, "0123456789") != strlen(base))
		return -1;
	return (int)group;
}

/* The group number from the iommu_group link, -1 without one. */
static int pci_read_iommu_group(const char *syspath)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/iommu_group", syspath) >=
	    (int)sizeof(path))
		return -1;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	int group = pci_parse_iommu_group(target);
	if (group < 0)
		log_warning("%s: odd iommu_group link '%s', taken as none",
			    syspath, target);
	return group;
}

static int pci_read_ids(struct device *d, struct udev_device *ud)
{
	unsigned long vendor, device, cls, boot_vga = 0;

	if (udev_read_uint(ud, "vendor", 16, 0xffff, &vendor) < 0 ||
	    udev_read_uint(ud, "device", 16, 0xffff, &device) < 0 ||
	    udev_read_uint(ud, "class", 16, 0xffffff, &cls) < 0) {
		log_warning("%s: no valid vendor/device/class, ignoring device",
			    d->syspath);
		return -EINVAL;
	}
	(void)udev_read_uint(ud, "boot_vga", 10, 1, &boot_vga);
	d->vendor = (uint16_t)vendor;
	d->product = (uint16_t)device;
	d->pci_class = (uint32_t)cls;
	d->boot_vga = boot_vga == 1;
	return 0;
}

static int pci_read_rest(struct device *d, struct udev_device *ud)
{
	const char *driver = udev_device_get_driver(ud);
	int r;

	if (driver && !(d->driver = strdup(driver)))
		return -ENOMEM;
	d->iommu_group = pci_read_iommu_group(d->syspath);
	if ((r = pci_lookup(PCI_LOOKUP_VENDOR, d->vendor, 0,
			    &d->manufacturer)) < 0 ||
	    (r = pci_lookup(PCI_LOOKUP_DEVICE, d->vendor, d->product,
			    &d->name)) < 0)
		return r;
	return udev_read_props(ud, &d->props, &d->n_props);
}

int pci_device_new(struct udev_device *ud, struct device **out)
{
	_cleanup_(device_freep) struct device *d = NULL;
	int r;

	if ((r = device_alloc(DEVICE_PCI, ud, &d)) < 0)
		return log_err_errno(r, "%s: out of memory",
				     udev_device_get_syspath(ud));
	if ((r = pci_read_ids(d, ud)) < 0)
		return r;
	if ((r = pci_read_rest(d, ud)) < 0)
		return log_err_errno(r, "%s: %s", d->syspath, strerror(-r));
	*out = steal_ptr(&d);
	return 0;
}
