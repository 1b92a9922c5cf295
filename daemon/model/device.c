/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <libudev.h>
#include <stdio.h>
#include <string.h>

#include "device-internal.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"


void device_props_free(struct device_prop *props, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(props[i].key);
		free(props[i].value);
	}
	free(props);
}

void device_free(struct device *d)
{
	if (!d)
		return;
	free(d->syspath);
	free(d->id);
	free(d->serial);
	free(d->manufacturer);
	free(d->name);
	free(d->interface_classes);
	free(d->driver);
	for (size_t i = 0; i < d->n_nodes; i++) {
		free(d->nodes[i].subsystem);
		free(d->nodes[i].devnode);
		device_props_free(d->nodes[i].props, d->nodes[i].n_props);
	}
	free(d->nodes);
	device_props_free(d->props, d->n_props);
	free(d);
}

void device_list_free(struct device_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_devices; i++)
		device_free(l->devices[i]);
	free(l->devices);
	free(l);
}

struct device *device_alloc(enum device_subsystem subsystem,
			    struct udev_device *ud)
{
	_cleanup_(device_freep) struct device *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->subsystem = subsystem;
	d->iommu_group = -1;
	d->syspath = strdup(udev_device_get_syspath(ud));
	d->id = strdup(udev_device_get_sysname(ud));
	if (!d->syspath || !d->id)
		return NULL;
	return steal_ptr(&d);
}

int device_props_read(struct udev_device *ud, struct device_prop **props,
		      size_t *n_props)
{
	struct udev_list_entry *e;
	size_t n = 0;

	udev_list_entry_foreach(e, udev_device_get_properties_list_entry(ud))
		n++;
	struct device_prop *p = calloc(n ? n : 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*props = p;
	*n_props = 0;
	udev_list_entry_foreach(e, udev_device_get_properties_list_entry(ud))
	{
		const char *value = udev_list_entry_get_value(e);
		p->key = strdup(udev_list_entry_get_name(e));
		p->value = strdup(value ? value : "");
		(*n_props)++;
		if (!p->key || !p->value)
			return -ENOMEM;
		p++;
	}
	return 0;
}

int device_sysattr_dup(struct udev_device *ud, const char *name, char **out)
{
	const char *v = udev_device_get_sysattr_value(ud, name);

	*out = NULL;
	if (!v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

int device_sysattr_uint(struct udev_device *ud, const char *name, int base,
			unsigned long max, unsigned long *out)
{
	const char *v = udev_device_get_sysattr_value(ud, name);
	char *end;

	if (!v)
		return -ENOENT;
	v += strspn(v, " \t\n");
	/* strtoul() takes signs and would wrap "-1"; a sysattr has none. */
	if (!isxdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	unsigned long n = strtoul(v, &end, base);
	if (errno || end == v || end[strspn(end, " \t\n")] != '\0' || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

int device_new_from_udev(struct udev_device *ud, struct device **out)
{
	const char *subsystem = udev_device_get_subsystem(ud);

	*out = NULL;
	if (streq_ptr(subsystem, "usb"))
		return usb_device_new(ud, out);
	if (streq_ptr(subsystem, "pci"))
		return pci_device_new(ud, out);
	return 1;
}

static int device_list_add(struct device_list *l, struct device *d)
{
	struct device **grown =
		realloc(l->devices, (l->n_devices + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	l->devices = grown;
	l->devices[l->n_devices++] = d;
	return 0;
}

/*
 * Adds the model of @syspath to @l. A device that vanished or that holds
 * garbage is left out (usb.c/pci.c say why); only -ENOMEM stops the scan.
 */
static int device_list_add_syspath(struct device_list *l, struct udev *udev,
				   const char *syspath)
{
	_cleanup_(udev_device_unrefp) struct udev_device *ud =
		udev_device_new_from_syspath(udev, syspath);
	_cleanup_(device_freep) struct device *d = NULL;

	if (!ud) {
		log_debug("%s: gone while enumerating", syspath);
		return errno == ENOMEM ? -ENOMEM : 0;
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
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e))
	{
		r = device_list_add_syspath(l, udev,
					    udev_list_entry_get_name(entry));
		if (r < 0)
			return log_err_errno(r, "udev enumerate: %s",
					     strerror(-r));
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

int device_enumerate(struct udev *udev, struct device_list **out)
{
	_cleanup_(device_list_freep) struct device_list *l =
		calloc(1, sizeof(*l));

	if (!l)
		return log_err_errno(-ENOMEM, "device list: out of memory");
	int r = device_enumerate_into(l, udev);
	if (r < 0)
		return r;
	if (l->n_devices > 1)
		qsort(l->devices, l->n_devices, sizeof(*l->devices),
		      device_cmp);
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

int device_list_put(struct device_list *l, struct device *d)
{
	ssize_t i = device_list_index(l, d->syspath);
	if (i >= 0) {
		device_free(l->devices[i]);
		l->devices[i] = d;
		return 0;
	}
	int r = device_list_add(l, d);
	if (r == 0)
		qsort(l->devices, l->n_devices, sizeof(*l->devices),
		      device_cmp);
	return r;
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

const char *device_get_prop(const struct device *d, const char *key)
{
	for (size_t i = 0; i < d->n_props; i++)
		if (streq_ptr(d->props[i].key, key))
			return d->props[i].value;
	return NULL;
}

bool device_is_gpu(const struct device *d)
{
	return d->subsystem == DEVICE_PCI && (d->pci_class >> 16) == 0x03;
}

char *device_printable(const char *s)
{
	return text_escape_dup(s ? s : "");
}
