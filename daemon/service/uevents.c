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

int uevents_drain(struct udev *udev, struct monitor *m, struct device_list **l)
{
	struct monitor_batch b;
	int r = monitor_receive_batch(m, &b);
	if (r == MONITOR_E_LOST)
		return uevents_resync(udev, m, l);
	if (r == MONITOR_E_EMPTY)
		return UEVENTS_E_UNCHANGED;
	if (r < 0)
		return r;
	int ret = UEVENTS_E_UNCHANGED;
	for (size_t i = 0; i < b.n; i++) {
		struct monitor_event *e = &b.v[i];
		r = uevents_apply(*l, e->action, steal_ptr(&e->dev),
				  e->syspath);
		if (r <= 0)
			ret = r; /* changed, or failed to keep a change */
	}
	if (b.coalesced)
		log_debug("%zu of %zu uevents superseded in their batch",
			  b.coalesced, b.read);
	monitor_batch_clear(&b);
	return ret;
}

void uevents_hold(struct monitor *m, struct held *h)
{
	struct monitor_batch b;
	int r = monitor_receive_batch(m, &b);
	if (r == MONITOR_E_LOST) {
		monitor_flush(m);
		held_lose(h);
	}
	if (r != 0)
		return;
	for (size_t i = 0; i < b.n; i++) {
		struct monitor_event *e = &b.v[i];
		held_push(h, e->action, steal_ptr(&e->dev), e->syspath);
	}
	monitor_batch_clear(&b);
}

int uevents_release(struct udev *udev, struct held *h, struct device_list **l)
{
	int ret = UEVENTS_E_UNCHANGED;
	if (h->lost) {
		held_clear(h);
		return uevents_resync(udev, NULL, l);
	}
	for (size_t i = 0; i < h->n; i++) {
		struct held_uevent *u = &h->v[i];
		int r = uevents_apply(*l, u->action, steal_ptr(&u->dev),
				      u->syspath);
		if (r <= 0)
			ret = r; /* changed, or failed to keep a change */
	}
	held_clear(h);
	return ret;
}
