/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libudev.h>
#include <limits.h>
#include <pci/pci.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "device-internal.h"
#include "devpass/util/log.h"

/*
 * One pci_access for the whole process: loading pci.ids takes a while, and
 * only names are looked up through it (the devices come from udev).
 */
static struct pci_access *pci_names;

/* The first extended capability's offset: readable means all of it is. */
#define PCI_ACS_PROBE_AT 0x100

static void pci_names_cleanup(void)
{
	if (pci_names)
		pci_cleanup(pci_names);
	pci_names = NULL;
}

_printf_(1, 2) static void pci_log_warning(char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	log_msgv(LOG_DEBUG, msg, ap);
	va_end(ap);
}

/*
 * libpci calls this only for bad arguments, which are a bug here. noreturn
 * as an attribute, not _Noreturn: clang takes it as part of the type.
 */
__attribute__((noreturn))
_printf_(1, 2) static void pci_log_error(char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	log_msgv(LOG_ERR, msg, ap);
	va_end(ap);
	abort();
}

static struct pci_access *pci_names_get(void)
{
	if (pci_names)
		return pci_names;
	pci_names = pci_alloc();
	if (!pci_names)
		return NULL;
	pci_names->error = pci_log_error;
	pci_names->warning = pci_log_warning;
	pci_names->debug = pci_log_warning;
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
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	char *end;
	errno = 0;
	long group = strtol(base, &end, 10);
	if (errno || end == base || *end || group < 0 || group > INT_MAX) {
		log_warning("%s: odd iommu_group link '%s', taken as none",
			    syspath, target);
		return -1;
	}
	return (int)group;
}

static int pci_read_ids(struct device *d, struct udev_device *ud)
{
	unsigned long vendor, device, cls, boot_vga = 0;

	if (device_sysattr_uint(ud, "vendor", 16, 0xffff, &vendor) < 0 ||
	    device_sysattr_uint(ud, "device", 16, 0xffff, &device) < 0 ||
	    device_sysattr_uint(ud, "class", 16, 0xffffff, &cls) < 0) {
		log_warning("%s: no valid vendor/device/class, ignoring device",
			    d->syspath);
		return -EINVAL;
	}
	(void)device_sysattr_uint(ud, "boot_vga", 10, 1, &boot_vga);
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
	return device_props_read(ud, &d->props, &d->n_props);
}

/* The ACS control word of @p, from its config space. */
static int pci_acs_of(struct pci_dev *p, uint16_t *ctrl)
{
	uint8_t probe[4];
	if (!p)
		return -ENOMEM;
	/* Past the first 64 bytes sysfs gives root only. */
	if (!pci_read_block(p, PCI_ACS_PROBE_AT, probe, sizeof(probe)))
		return -EACCES;
	pci_fill_info(p, PCI_FILL_EXT_CAPS);
	struct pci_cap *c =
		pci_find_cap(p, PCI_EXT_CAP_ID_ACS, PCI_CAP_EXTENDED);
	if (!c)
		return PCI_ACS_ABSENT;
	*ctrl = pci_read_word(p, c->addr + PCI_ACS_CTRL);
	return 0;
}

int pci_read_acs(const char *address, uint16_t *ctrl)
{
	unsigned dom, bus, dev, fn;
	char end;
	if (sscanf(address, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &end) != 4)
		return -EINVAL;
	struct pci_access *a = pci_alloc();
	if (!a)
		return -ENOMEM;
	a->error = pci_log_error;
	a->warning = pci_log_warning;
	a->debug = pci_log_warning;
	a->method = PCI_ACCESS_SYS_BUS_PCI;
	pci_init(a);
	struct pci_dev *p =
		pci_get_dev(a, (int)dom, (int)bus, (int)dev, (int)fn);
	int r = pci_acs_of(p, ctrl);
	if (p)
		pci_free_dev(p);
	pci_cleanup(a);
	return r;
}

int pci_device_new(struct udev_device *ud, struct device **out)
{
	_cleanup_(device_freep) struct device *d = NULL;
	int r;

	d = device_alloc(DEVICE_PCI, ud);
	if (!d)
		return log_err_errno(-ENOMEM, "PCI device: out of memory");
	if ((r = pci_read_ids(d, ud)) < 0)
		return r;
	if ((r = pci_read_rest(d, ud)) < 0)
		return log_err_errno(r, "%s: %s", d->syspath, strerror(-r));
	*out = steal_ptr(&d);
	return 0;
}
