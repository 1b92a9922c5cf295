/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "device-core.h"

void device_props_free(struct device_prop *props, size_t n)
{
	for (size_t i = 0; props && i < n; i++) {
		free(props[i].key);
		free(props[i].value);
	}
	free(props);
}

void device_node_clear(struct device_node *n)
{
	free(n->subsystem);
	free(n->devnode);
	device_props_free(n->props, n->n_props);
	*n = (struct device_node){0};
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
	for (size_t i = 0; i < d->n_nodes; i++)
		device_node_clear(&d->nodes[i]);
	free(d->nodes);
	device_props_free(d->props, d->n_props);
	free(d);
}

int device_alloc(enum device_subsystem subsystem, struct udev_device *ud,
		 struct device **out)
{
	_cleanup_(device_freep) struct device *d = calloc(1, sizeof(*d));
	const char *sysname = udev_device_get_sysname(ud);

	if (!d)
		return -ENOMEM;
	d->subsystem = subsystem;
	d->iommu_group = -1;
	d->syspath = strdup(udev_device_get_syspath(ud));
	d->id = strdup(sysname ? sysname : "");
	if (!d->syspath || !d->id)
		return -ENOMEM;
	*out = steal_ptr(&d);
	return 0;
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
