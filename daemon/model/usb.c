/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libudev.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "device-core.h"
#include "devpass/model/node.h"
#include "devpass/util/log.h"
#include "udev-read.h"
#include "usb.h"

/*
 * Everything here comes from udev and sysfs attributes: the kernel has
 * parsed the descriptors already (bDeviceClass, each interface's
 * bInterfaceClass), so devpass does not use libusb, which would read them
 * again and open device nodes to do it.
 */

/* The kind of a child node's subsystem; 0 for none (nor the usb one). */
static unsigned usb_child_kind(const char *subsystem)
{
	unsigned kind = node_kind_from_string(subsystem);
	return kind == NODE_USB || kind == NODE_ALL ? 0 : kind;
}

/* Whether @ud has a character device node udev knows. */
static bool usb_has_node(struct udev_device *ud)
{
	return udev_device_get_devnode(ud) && udev_device_get_subsystem(ud) &&
	       major(udev_device_get_devnum(ud)) != 0;
}

/* Appends the node of @ud (which usb_has_node()) as @kind. */
static int usb_add_node(struct device *d, struct udev_device *ud, unsigned kind)
{
	dev_t devnum = udev_device_get_devnum(ud);
	_cleanup_(device_node_clear) struct device_node n = {
		.kind = kind,
		.subsystem = strdup(udev_device_get_subsystem(ud)),
		.devnode = strdup(udev_device_get_devnode(ud)),
		.major = major(devnum),
		.minor = minor(devnum),
	};
	if (!n.subsystem || !n.devnode)
		return -ENOMEM;
	int r = udev_read_props(ud, &n.props, &n.n_props);
	if (r < 0)
		return r;
	struct device_node *grown =
		realloc(d->nodes, (d->n_nodes + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	d->nodes = grown;
	d->nodes[d->n_nodes++] = n;
	n = (struct device_node){0};
	return 0;
}

static int usb_add_interface_class(struct device *d, struct udev_device *ud)
{
	unsigned long cls;

	if (udev_read_uint(ud, "bInterfaceClass", 16, 0xff, &cls) < 0) {
		log_debug("%s: no readable bInterfaceClass, ignored",
			  udev_device_get_syspath(ud));
		return 0;
	}
	uint8_t *grown =
		realloc(d->interface_classes, d->n_interface_classes + 1);
	if (!grown)
		return -ENOMEM;
	d->interface_classes = grown;
	d->interface_classes[d->n_interface_classes++] = (uint8_t)cls;
	return 0;
}

/* Whether @child belongs to @d itself, not to a device behind a hub @d is. */
static bool usb_owns(const struct device *d, struct udev_device *child)
{
	struct udev_device *owner =
		udev_device_get_parent_with_subsystem_devtype(child, "usb",
							      "usb_device");
	return owner && streq_ptr(udev_device_get_syspath(owner), d->syspath);
}

/* Adds what the descendant at @syspath tells about @d, if it is @d's. */
static int usb_add_child(struct device *d, struct udev *udev,
			 const char *syspath)
{
	_cleanup_(udev_device_unrefp) struct udev_device *child =
		udev_device_new_from_syspath(udev, syspath);

	if (!child || !usb_owns(d, child))
		return 0; /* unplugged meanwhile, or behind a hub @d is */
	if (streq_ptr(udev_device_get_devtype(child), "usb_interface"))
		return usb_add_interface_class(d, child);
	unsigned kind = usb_child_kind(udev_device_get_subsystem(child));
	if (kind && usb_has_node(child))
		return usb_add_node(d, child, kind);
	return 0;
}

/* Interface classes and child nodes, from the device's descendants. */
static int usb_read_children(struct device *d, struct udev_device *ud)
{
	struct udev *udev = udev_device_get_udev(ud);
	_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *e =
		udev_enumerate_new(udev);
	struct udev_list_entry *entry;

	if (!e || udev_enumerate_add_match_parent(e, ud) < 0)
		return -ENOMEM;
	int r = udev_enumerate_scan_devices(e);
	if (r < 0)
		return r;
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e)) {
		const char *syspath = udev_list_entry_get_name(entry);
		if (!streq_ptr(syspath, d->syspath) &&
		    (r = usb_add_child(d, udev, syspath)) < 0)
			return r;
	}
	return 0;
}

/* busnum/devnum sysattrs are decimal ("1"); the properties are "001". */
static unsigned usb_read_num(struct udev_device *ud, const char *attr,
			     const char *prop)
{
	const char *v = udev_device_get_property_value(ud, prop);
	unsigned long n;

	if (udev_read_uint(ud, attr, 10, 0xffff, &n) == 0 ||
	    (v && udev_read_parse_uint(v, 10, 0xffff, &n) == 0))
		return (unsigned)n;
	return 0;
}

static int usb_read_ids(struct device *d, struct udev_device *ud)
{
	unsigned long vendor, product, cls = 0;

	if (udev_read_uint(ud, "idVendor", 16, 0xffff, &vendor) < 0 ||
	    udev_read_uint(ud, "idProduct", 16, 0xffff, &product) < 0) {
		log_warning("%s: no valid idVendor/idProduct, ignoring device",
			    d->syspath);
		return -EINVAL;
	}
	/* A missing class is read as 00, "defined by the interfaces". */
	(void)udev_read_uint(ud, "bDeviceClass", 16, 0xff, &cls);
	d->vendor = (uint16_t)vendor;
	d->product = (uint16_t)product;
	d->usb_class = (uint8_t)cls;
	d->busnum = usb_read_num(ud, "busnum", "BUSNUM");
	d->devnum = usb_read_num(ud, "devnum", "DEVNUM");
	return 0;
}

static int usb_read_strings(struct device *d, struct udev_device *ud)
{
	const char *driver = udev_device_get_driver(ud);
	int r;

	if ((r = udev_read_string(ud, "serial", &d->serial)) < 0 ||
	    (r = udev_read_string(ud, "manufacturer", &d->manufacturer)) < 0 ||
	    (r = udev_read_string(ud, "product", &d->name)) < 0)
		return r;
	if (driver && !(d->driver = strdup(driver)))
		return -ENOMEM;
	return 0;
}

/* The /dev/bus/usb node; a device whose node udev does not know has none. */
static int usb_add_own_node(struct device *d, struct udev_device *ud)
{
	if (!usb_has_node(ud)) {
		log_debug("%s: no /dev/bus/usb node", d->syspath);
		return 0;
	}
	return usb_add_node(d, ud, NODE_USB);
}

static bool usb_is_handled(struct udev_device *ud)
{
	const char *sysname = udev_device_get_sysname(ud);

	/* Root hubs are the host controller's, not something to pass on. */
	return streq_ptr(udev_device_get_devtype(ud), "usb_device") &&
	       sysname && strncmp(sysname, "usb", 3) != 0;
}

int usb_device_new(struct udev_device *ud, struct device **out)
{
	_cleanup_(device_freep) struct device *d = NULL;
	int r;

	if (!usb_is_handled(ud))
		return DEVICE_E_NOT_HANDLED;
	if ((r = device_alloc(DEVICE_USB, ud, &d)) < 0)
		return log_err_errno(r, "%s: out of memory",
				     udev_device_get_syspath(ud));
	if ((r = usb_read_ids(d, ud)) < 0)
		return r;
	if ((r = usb_read_strings(d, ud)) < 0 ||
	    (r = udev_read_props(ud, &d->props, &d->n_props)) < 0 ||
	    (r = usb_add_own_node(d, ud)) < 0 ||
	    (r = usb_read_children(d, ud)) < 0)
		return log_err_errno(r, "%s: %s", d->syspath, strerror(-r));
	*out = steal_ptr(&d);
	return 0;
}

/* Removes the node @devnode from @d's list (a child on its way out), every
 * copy of it: udev may list two devices with one node name. */
static void usb_drop_node(struct device *d, const char *devnode)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->n_nodes; i++) {
		if (streq_ptr(d->nodes[i].devnode, devnode))
			device_node_clear(&d->nodes[i]);
		else
			d->nodes[kept++] = d->nodes[i];
	}
	d->n_nodes = kept;
}

int usb_device_new_for_child(struct udev_device *child,
			     const char *gone_devnode, struct device **out)
{
	_cleanup_(device_freep) struct device *d = NULL;

	if (!usb_child_kind(udev_device_get_subsystem(child)))
		return DEVICE_E_NOT_HANDLED;
	/* Owned by @child: the parent lives as long as the child does. */
	struct udev_device *parent =
		udev_device_get_parent_with_subsystem_devtype(child, "usb",
							      "usb_device");
	if (!parent)
		return DEVICE_E_NOT_HANDLED;
	int r = usb_device_new(parent, &d);
	if (r != 0)
		return r;
	if (gone_devnode)
		usb_drop_node(d, gone_devnode);
	*out = steal_ptr(&d);
	return 0;
}
