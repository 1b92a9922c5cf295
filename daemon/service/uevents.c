/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "devpass/model/monitor.h"
#include "devpass/service/uevents.h"
#include "devpass/util/log.h"

int uevents_apply(struct device_list *l, const char *action, struct device *dev,
		  const char *syspath)
{
	_cleanup_(device_freep) struct device *d = dev;
	log_debug("uevent %s %s", action, syspath);
	if (!d)
		return device_list_remove(l, syspath) ? 0 : UEVENTS_E_UNCHANGED;
	if (device_equal(device_list_find(l, d->syspath), d))
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

static const struct device *find_in_list(const void *l, const char *syspath)
{
	return device_list_find(l, syspath);
}

/* Held uevents come first: the list is what they will change. */
struct hold_view {
	const struct held *h;
	const struct device_list *l;
};

static const struct device *find_held(const void *ctx, const char *syspath)
{
	const struct hold_view *v = ctx;
	return held_latest(v->h, v->l, syspath);
}

int uevents_drain(struct udev *udev, struct monitor *m, struct device_list **l)
{
	struct monitor_batch b;
	struct monitor_known known = {.find = find_in_list, .ctx = *l};
	int r = monitor_receive_batch(m, &known, &b);
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
	if (b.coalesced || b.moot)
		log_debug("of %zu uevents, %zu superseded in their batch, %zu "
			  "changes telling nothing new",
			  b.read, b.coalesced, b.moot);
	monitor_batch_clear(&b);
	return ret;
}

void uevents_hold(struct monitor *m, struct held *h,
		  const struct device_list *l)
{
	struct monitor_batch b;
	struct hold_view view = {.h = h, .l = l};
	struct monitor_known known = {.find = find_held, .ctx = &view};
	int r = monitor_receive_batch(m, &known, &b);
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
