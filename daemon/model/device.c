/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libudev.h>
#include <string.h>

#include "devpass/model/device.h"
#include "devpass/util/log.h"
#include "pci.h"
#include "usb.h"

void device_list_free(struct device_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_devices; i++)
		device_free(l->devices[i]);
	free(l->devices);
	free(l);
}

int device_new_from_udev(struct udev_device *ud, struct device **out)
{
	const char *subsystem = udev_device_get_subsystem(ud);

	*out = NULL;
	if (streq_ptr(subsystem, "usb"))
		return usb_device_new(ud, out);
	if (streq_ptr(subsystem, "pci"))
		return pci_device_new(ud, out);
	return DEVICE_E_NOT_HANDLED;
}

/* Only USB devices have child nodes. */
int device_new_for_child(struct udev_device *child, const char *gone_devnode,
			 struct device **out)
{
	*out = NULL;
	return usb_device_new_for_child(child, gone_devnode, out);
}

/* Room for one more device: doubling, so that a coldplug of thousands
 * costs no quadratic copying. */
static int device_list_grow(struct device_list *l, const struct device *d)
{
	if (l->n_devices < l->cap)
		return 0;
	size_t cap = l->cap ? 2 * l->cap : 32;
	struct device **grown = realloc(l->devices, cap * sizeof(*grown));
	if (!grown)
		return log_err_errno(-ENOMEM, "%s: out of memory keeping it",
				     d->syspath);
	l->devices = grown;
	l->cap = cap;
	return 0;
}

static int device_list_add(struct device_list *l, struct device *d)
{
	int r = device_list_grow(l, d);
	if (r < 0)
		return r;
	l->devices[l->n_devices++] = d;
	return 0;
}

/*
 * Adds the model of @syspath to @l. A device that vanished or that holds
 * garbage is left out (usb.c/pci.c said why); only -ENOMEM stops the scan.
 */
static int device_list_add_syspath(struct device_list *l, struct udev *udev,
				   const char *syspath)
{
	_cleanup_(udev_device_unrefp) struct udev_device *ud =
		udev_device_new_from_syspath(udev, syspath);
	_cleanup_(device_freep) struct device *d = NULL;

	if (!ud && errno == ENOMEM)
		return log_err_errno(-ENOMEM, "%s: out of memory", syspath);
	if (!ud) {
		log_debug("%s: gone while enumerating", syspath);
		return 0;
	}
	int r = device_new_from_udev(ud, &d);
	if (r == -ENOMEM)
		return r;
	if (r != 0)
		return 0;
	r = device_list_add(l, d);
	if (r < 0)
		return r;
	d = NULL;
	return 0;
}

static int device_enumerate_into(struct device_list *l, struct udev *udev)
{
	_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *e =
		udev_enumerate_new(udev);
	struct udev_list_entry *entry;

	if (!e || udev_enumerate_add_match_subsystem(e, "usb") < 0 ||
	    udev_enumerate_add_match_subsystem(e, "pci") < 0)
		return log_err_errno(-ENOMEM, "udev enumerate: out of memory");
	int r = udev_enumerate_scan_devices(e);
	if (r < 0)
		return log_err_errno(r, "udev enumerate: %s", strerror(-r));
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e)) {
		r = device_list_add_syspath(l, udev,
					    udev_list_entry_get_name(entry));
		if (r < 0)
			return r;
	}
	return 0;
}

/* USB before PCI, then by id in natural order (1-1.2 before 1-1.10). */
static int device_cmp(const void *a, const void *b)
{
	const struct device *x = *(struct device *const *)a;
	const struct device *y = *(struct device *const *)b;

	if (x->subsystem != y->subsystem)
		return x->subsystem < y->subsystem ? -1 : 1;
	return strverscmp(x->id, y->id);
}

static void device_list_sort(struct device_list *l)
{
	if (l->n_devices > 1)
		qsort(l->devices, l->n_devices, sizeof(*l->devices),
		      device_cmp);
}

int device_enumerate(struct udev *udev, struct device_list **out)
{
	_cleanup_(device_list_freep) struct device_list *l =
		calloc(1, sizeof(*l));

	if (!l)
		return log_err_errno(-ENOMEM, "device list: out of memory");
	int r = device_enumerate_into(l, udev);
	if (r < 0)
		return r;
	device_list_sort(l);
	*out = steal_ptr(&l);
	return 0;
}

static ssize_t device_list_index(const struct device_list *l,
				 const char *syspath)
{
	for (size_t i = 0; i < l->n_devices; i++)
		if (streq_ptr(l->devices[i]->syspath, syspath))
			return (ssize_t)i;
	return -1;
}

/* Where @d goes in the sorted @l: after every device that sorts before
 * or with it. */
static size_t device_list_slot(const struct device_list *l,
			       const struct device *d)
{
	size_t lo = 0, hi = l->n_devices;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (device_cmp(&l->devices[mid], &d) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct device *device_list_find(const struct device_list *l,
				      const char *syspath)
{
	ssize_t i = l ? device_list_index(l, syspath) : -1;
	return i < 0 ? NULL : l->devices[i];
}

int device_list_put(struct device_list *l, struct device *d)
{
	ssize_t i = device_list_index(l, d->syspath);
	if (i >= 0) {
		device_free(l->devices[i]);
		l->devices[i] = d;
		return 0;
	}
	int r = device_list_grow(l, d);
	if (r < 0)
		return r;
	/* one move, not a sort, per plug */
	size_t at = device_list_slot(l, d);
	memmove(&l->devices[at + 1], &l->devices[at],
		(l->n_devices - at) * sizeof(*l->devices));
	l->devices[at] = d;
	l->n_devices++;
	return 0;
}

bool device_list_remove(struct device_list *l, const char *syspath)
{
	ssize_t i = device_list_index(l, syspath);
	if (i < 0)
		return false;
	device_free(l->devices[i]);
	memmove(&l->devices[i], &l->devices[i + 1],
		(l->n_devices - (size_t)i - 1) * sizeof(*l->devices));
	l->n_devices--;
	return true;
}

struct device *device_find(const struct device_list *l, const char *what)
{
	if (!l || !what)
		return NULL;
	for (size_t i = 0; i < l->n_devices; i++) {
		struct device *d = l->devices[i];
		if (streq_ptr(d->id, what) || streq_ptr(d->syspath, what))
			return d;
	}
	return NULL;
}
