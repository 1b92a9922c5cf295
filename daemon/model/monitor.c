/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libudev.h>
#include <string.h>

#include "devpass/util/log.h"
#include "devpass/model/monitor.h"
#include "devpass/model/node.h"

struct monitor {
	struct udev_monitor *um;
};

void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	udev_monitor_unref(m->um);
	free(m);
}

static int monitor_setup(struct udev_monitor *um)
{
	int r;

	if ((r = udev_monitor_filter_add_match_subsystem_devtype(
		     um, "usb", "usb_device")) < 0 ||
	    (r = udev_monitor_filter_add_match_subsystem_devtype(um, "pci",
								 NULL)) < 0)
		return r;
	/* Child nodes come after their USB device: see device_new_for_child()
	 */
	for (size_t i = 0; node_child_subsystem(i); i++)
		if ((r = udev_monitor_filter_add_match_subsystem_devtype(
			     um, node_child_subsystem(i), NULL)) < 0)
			return r;
	if ((r = udev_monitor_enable_receiving(um)) < 0)
		return r;
	/* libudev makes it non-blocking already; receive relies on it. */
	int fd = udev_monitor_get_fd(um);
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int monitor_new(struct udev *udev, struct monitor **out)
{
	_cleanup_(monitor_freep) struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return log_err_errno(-ENOMEM, "udev monitor: out of memory");
	m->um = udev_monitor_new_from_netlink(udev, "udev");
	if (!m->um)
		return log_err_errno(-errno ?: -ENOMEM,
				     "udev monitor: cannot create: %m");
	int r = monitor_setup(m->um);
	if (r < 0)
		return log_err_errno(r, "udev monitor: cannot listen: %s",
				     strerror(-r));
	*out = steal_ptr(&m);
	return 0;
}

int monitor_get_fd(const struct monitor *m)
{
	return udev_monitor_get_fd(m->um);
}

/* The model of a device that is still there, or MONITOR_E_SKIPPED (the
 * model said why when it could not read it). */
static int monitor_build(struct udev_device *ud, const char *action,
			 struct device **dev)
{
	int r = device_new_from_udev(ud, dev);

	if (r == 0 || r == -ENOMEM)
		return r;
	log_debug("%s: %s event skipped", udev_device_get_syspath(ud), action);
	return MONITOR_E_SKIPPED;
}

/* A child node came or went: report a "change" of its USB device. */
static int monitor_child(struct udev_device *child, const char *act,
			 char **action, struct device **dev, char **syspath)
{
	const char *gone = streq_ptr(act, "remove")
				   ? udev_device_get_devnode(child)
				   : NULL;
	_cleanup_(device_freep) struct device *d = NULL;
	int r = device_new_for_child(child, gone, &d);
	if (r == -ENOMEM)
		return r;
	if (r != 0)
		return MONITOR_E_SKIPPED;
	_cleanup_(freep) char *a = strdup("change"), *s = strdup(d->syspath);
	if (!a || !s)
		return log_err_errno(-ENOMEM, "udev monitor: out of memory");
	*action = steal_ptr(&a);
	*syspath = steal_ptr(&s);
	*dev = steal_ptr(&d);
	return 0;
}

/* A USB device's or PCI function's event, with its model unless it is
 * a "remove". */
static int monitor_device(struct udev_device *ud, char **action,
			  struct device **dev, char **syspath)
{
	const char *act = udev_device_get_action(ud);
	_cleanup_(freep) char *a = strdup(act ? act : "change");
	_cleanup_(freep) char *s = strdup(udev_device_get_syspath(ud));
	_cleanup_(device_freep) struct device *d = NULL;

	if (!a || !s)
		return log_err_errno(-ENOMEM, "udev monitor: out of memory");
	if (!streq_ptr(a, "remove")) {
		int r = monitor_build(ud, a, &d);
		if (r != 0)
			return r;
	}
	*action = steal_ptr(&a);
	*syspath = steal_ptr(&s);
	*dev = steal_ptr(&d);
	return 0;
}

int monitor_receive(struct monitor *m, char **action, struct device **dev,
		    char **syspath)
{
	_cleanup_(udev_device_unrefp) struct udev_device *ud = NULL;

	*action = *syspath = NULL;
	*dev = NULL;
	/* NULL for EAGAIN, and for a message libudev dropped as invalid. */
	ud = udev_monitor_receive_device(m->um);
	if (!ud && errno == ENOMEM)
		return log_err_errno(-ENOMEM, "udev monitor: out of memory");
	if (!ud)
		return MONITOR_E_EMPTY;
	const char *subsystem = udev_device_get_subsystem(ud);
	if (streq_ptr(subsystem, "usb") || streq_ptr(subsystem, "pci"))
		return monitor_device(ud, action, dev, syspath);
	return monitor_child(ud, udev_device_get_action(ud), action, dev,
			     syspath);
}
