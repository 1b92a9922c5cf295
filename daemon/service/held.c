/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/service/held.h"
#include "devpass/util/log.h"

/* The device a uevent is of: its model's syspath, or a removal's. */
static const char *uevent_key(const struct device *dev, const char *syspath)
{
	return dev ? dev->syspath : syspath;
}

/* The slot of the uevent held for @key, or NULL. Held uevents are few
 * (one per device), so a scan is enough. */
static struct held_uevent *held_find(const struct held *h, const char *key)
{
	for (size_t i = 0; i < h->n; i++)
		if (streq_ptr(uevent_key(h->v[i].dev, h->v[i].syspath), key))
			return &h->v[i];
	return NULL;
}

const struct device *held_latest(const struct held *h,
				 const struct device_list *l,
				 const char *syspath)
{
	const struct held_uevent *u = held_find(h, syspath);
	return u ? u->dev : device_list_find(l, syspath);
}

static struct held_uevent *held_slot(struct held *h, const char *key)
{
	struct held_uevent *u = held_find(h, key);
	if (u) {
		device_free(u->dev);
		free(u->syspath);
		free(u->action);
		return u;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct held_uevent *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		h->v = v;
		h->cap = cap;
	}
	return &h->v[h->n++];
}

int held_push(struct held *h, const char *action, struct device *dev,
	      const char *syspath)
{
	_cleanup_(device_freep) struct device *d = dev;
	_cleanup_(freep) char *path = strdup(syspath);
	_cleanup_(freep) char *act = strdup(action);
	struct held_uevent *u = NULL;

	if (h->lost)
		return 0; /* an enumeration supersedes it */
	if (path && act)
		u = held_slot(h, uevent_key(d, path));
	if (!u) {
		held_lose(h);
		return log_err_errno(-ENOMEM,
				     "out of memory holding a uevent of %s; "
				     "enumerating again after this pass",
				     syspath);
	}
	*u = (struct held_uevent){steal_ptr(&d), steal_ptr(&path),
				  steal_ptr(&act)};
	return 0;
}

void held_lose(struct held *h)
{
	held_clear(h);
	h->lost = true;
}

void held_clear(struct held *h)
{
	for (size_t i = 0; i < h->n; i++) {
		device_free(h->v[i].dev);
		free(h->v[i].syspath);
		free(h->v[i].action);
	}
	free(h->v);
	*h = (struct held){0};
}
