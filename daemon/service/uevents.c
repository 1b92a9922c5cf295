/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "devpass/model/monitor.h"
#include "devpass/service/uevents.h"
#include "devpass/util/log.h"

static const struct device *find_syspath(const struct device_list *l,
					 const char *syspath)
{
	for (size_t i = 0; i < l->n_devices; i++)
		if (streq_ptr(l->devices[i]->syspath, syspath))
			return l->devices[i];
	return NULL;
}

int uevents_apply(struct device_list *l, const char *action, struct device *dev,
		  const char *syspath)
{
	_cleanup_(device_freep) struct device *d = dev;
	log_debug("uevent %s %s", action, syspath);
	if (!d)
		return device_list_remove(l, syspath) ? 0 : UEVENTS_E_UNCHANGED;
	if (device_equal(find_syspath(l, d->syspath), d))
		return UEVENTS_E_UNCHANGED;
	int r = device_list_put(l, d); /* logs its failure */
	if (r < 0)
		return r;
	d = NULL;
	return 0;
}

int uevents_resync(struct udev *udev, struct monitor *m, struct device_list **l)
{
	size_t dropped = m ? monitor_flush(m) : 0;
	_cleanup_(device_list_freep) struct device_list *now = NULL;
	int r = device_enumerate(udev, &now);
	if (r < 0)
		return r;
	log_info("enumerated again: %zu devices present (%zu queued uevents "
		 "dropped)",
		 now->n_devices, dropped);
	device_list_free(*l);
	*l = steal_ptr(&now);
	return 0;
}

/* One uevent from @m into *@l: 0 (changed), UEVENTS_E_UNCHANGED, a
 * MONITOR_E_EMPTY (as -1: nothing left) or -ENOMEM. */
static int drain_one(struct udev *udev, struct monitor *m,
		     struct device_list **l)
{
	_cleanup_(freep) char *action = NULL, *syspath = NULL;
	struct device *dev = NULL;
	int r = monitor_receive(m, &action, &dev, &syspath);
	switch (r) {
	case 0:
		return uevents_apply(*l, action, dev, syspath);
	case MONITOR_E_LOST:
		return uevents_resync(udev, m, l);
	case MONITOR_E_SKIPPED:
		return UEVENTS_E_UNCHANGED;
	case MONITOR_E_EMPTY:
		return -EAGAIN;
	}
	return r;
}

int uevents_drain(struct udev *udev, struct monitor *m, struct device_list **l)
{
	int ret = UEVENTS_E_UNCHANGED;
	for (unsigned i = 0; i < UEVENTS_PER_ROUND; i++) {
		int r = drain_one(udev, m, l);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		if (r == 0)
			ret = 0;
	}
	return ret;
}
