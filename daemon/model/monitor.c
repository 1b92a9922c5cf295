/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libudev.h>
#include <string.h>
#include <sys/socket.h>

#include "devpass/util/log.h"
#include "devpass/model/monitor.h"
#include "devpass/model/node.h"

/* What we ask for: libudev's own figure. The kernel caps SO_RCVBUF at
 * net.core.rmem_max (212992 on stock Debian, some hundred uevents); only
 * CAP_NET_ADMIN (SO_RCVBUFFORCE) goes past it. */
#define MONITOR_RCVBUF (128 * 1024 * 1024)

struct monitor {
	struct udev_monitor *um;
	unsigned long losses;
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
	/* libudev tries SO_RCVBUF, then SO_RCVBUFFORCE; a failure of both
	 * leaves what the kernel gave, which monitor_new() reports. */
	(void)udev_monitor_set_receive_buffer_size(um, MONITOR_RCVBUF);
	/* libudev makes it non-blocking already; receive relies on it. */
	int fd = udev_monitor_get_fd(um);
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

size_t monitor_receive_buffer(const struct monitor *m)
{
	int size = 0;
	socklen_t len = sizeof(size);
	if (getsockopt(udev_monitor_get_fd(m->um), SOL_SOCKET, SO_RCVBUF, &size,
		       &len) < 0)
		return 0;
	/* the kernel doubles what it was asked for (bookkeeping room) */
	return (size_t)size / 2;
}

/* What the buffer came to, and what a small one means. */
static void monitor_say_buffer(const struct monitor *m)
{
	size_t size = monitor_receive_buffer(m);
	if (size >= MONITOR_RCVBUF)
		log_info("udev monitor: receive buffer %zu KiB", size / 1024);
	else
		log_info("udev monitor: receive buffer %zu KiB (net.core."
			 "rmem_max; a burst beyond it is healed by enumerating "
			 "again)",
			 size / 1024);
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
	monitor_say_buffer(m);
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

/* The kernel dropped uevents: said once at warning (a flapping device
 * may overflow the buffer again and again), after that at debug. */
static int monitor_lost(struct monitor *m)
{
	if (m->losses++ == 0)
		log_warning("udev monitor: uevents lost (the receive buffer of "
			    "%zu KiB overflowed); enumerating devices again",
			    monitor_receive_buffer(m) / 1024);
	else
		log_debug("udev monitor: uevents lost again (%lu times)",
			  m->losses);
	return MONITOR_E_LOST;
}

unsigned long monitor_losses(const struct monitor *m)
{
	return m->losses;
}

size_t monitor_flush(struct monitor *m)
{
	char buf[8192];
	size_t n = 0;
	int fd = udev_monitor_get_fd(m->um);
	/* ENOBUFS again means more were dropped: the scan after this covers
	 * them too; any other error (EAGAIN) means the queue is empty. */
	for (ssize_t k; (k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0 ||
			errno == ENOBUFS || errno == EINTR;)
		n += k >= 0;
	return n;
}

/* One pending uevent, or NULL and *@r: MONITOR_E_EMPTY, MONITOR_E_LOST
 * or -ENOMEM (logged). */
static struct udev_device *monitor_read(struct monitor *m, int *r)
{
	/* NULL for EAGAIN, and for a message libudev dropped as invalid. */
	errno = 0;
	struct udev_device *ud = udev_monitor_receive_device(m->um);
	if (ud)
		return ud;
	if (errno == ENOMEM)
		*r = log_err_errno(-ENOMEM, "udev monitor: out of memory");
	else if (errno == ENOBUFS)
		*r = monitor_lost(m);
	else
		*r = MONITOR_E_EMPTY;
	return NULL;
}

static bool is_device_event(struct udev_device *ud)
{
	const char *subsystem = udev_device_get_subsystem(ud);
	return streq_ptr(subsystem, "usb") || streq_ptr(subsystem, "pci");
}

static int monitor_event_of(struct udev_device *ud, char **action,
			    struct device **dev, char **syspath)
{
	if (is_device_event(ud))
		return monitor_device(ud, action, dev, syspath);
	return monitor_child(ud, udev_device_get_action(ud), action, dev,
			     syspath);
}

int monitor_receive(struct monitor *m, char **action, struct device **dev,
		    char **syspath)
{
	int r = 0;
	*action = *syspath = NULL;
	*dev = NULL;
	_cleanup_(udev_device_unrefp) struct udev_device *ud =
		monitor_read(m, &r);
	return ud ? monitor_event_of(ud, action, dev, syspath) : r;
}

void monitor_batch_clear(struct monitor_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].action);
		device_free(b->v[i].dev);
		free(b->v[i].syspath);
	}
	*b = (struct monitor_batch){0};
}

/* Whether a later event of @uds is of the same device itself (not of a
 * child node): then the device's state is that one's, and @i is moot. */
static bool superseded(struct udev_device *const *uds, size_t n, size_t i)
{
	if (!is_device_event(uds[i]))
		return false;
	const char *syspath = udev_device_get_syspath(uds[i]);
	for (size_t j = i + 1; j < n; j++)
		if (is_device_event(uds[j]) &&
		    streq_ptr(udev_device_get_syspath(uds[j]), syspath))
			return true;
	return false;
}

/* Whether @ud is a "change" that tells nothing new of the device the
 * caller holds (no sysfs read needed to know). */
static bool moot(const struct monitor_known *known, struct udev_device *ud)
{
	if (!known || !is_device_event(ud))
		return false;
	const char *syspath = udev_device_get_syspath(ud);
	return device_uevent_is_moot(known->find(known->ctx, syspath), ud);
}

/* Builds the events of @uds that nothing later supersedes, and that say
 * something the caller does not hold, into @b. */
static int monitor_build_batch(struct udev_device *const *uds, size_t n,
			       const struct monitor_known *known,
			       struct monitor_batch *b)
{
	for (size_t i = 0; i < n; i++) {
		if (superseded(uds, n, i)) {
			b->coalesced++;
			continue;
		}
		if (moot(known, uds[i])) {
			b->moot++;
			continue;
		}
		struct monitor_event *e = &b->v[b->n];
		int r = monitor_event_of(uds[i], &e->action, &e->dev,
					 &e->syspath);
		if (r < 0)
			return r;
		if (r == 0)
			b->n++;
	}
	return 0;
}

static void unref_all(struct udev_device **uds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		udev_device_unref(uds[i]);
}

int monitor_receive_batch(struct monitor *m, const struct monitor_known *known,
			  struct monitor_batch *b)
{
	struct udev_device *uds[MONITOR_BATCH_MAX];
	int r = 0;
	*b = (struct monitor_batch){0};
	while (b->read < MONITOR_BATCH_MAX &&
	       (uds[b->read] = monitor_read(m, &r)))
		b->read++;
	if (r == MONITOR_E_EMPTY || r == 0)
		r = b->read ? monitor_build_batch(uds, b->read, known, b)
			    : MONITOR_E_EMPTY;
	unref_all(uds, b->read);
	if (r != 0)
		monitor_batch_clear(b);
	return r;
}
