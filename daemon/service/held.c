/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/service/held.h"
#include "devpass/util/log.h"

int held_push(struct held *h, struct device *dev, const char *syspath)
{
	_cleanup_(freep) char *path = strdup(syspath);

	if (path && h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct held_uevent *v = realloc(h->v, cap * sizeof(*v));
		if (v) {
			h->v = v;
			h->cap = cap;
		}
	}
	if (!path || h->n == h->cap) {
		device_free(dev);
		return log_err_errno(-ENOMEM,
				     "out of memory holding a uevent of %s",
				     syspath);
	}
	h->v[h->n++] = (struct held_uevent){dev, steal_ptr(&path)};
	return 0;
}

size_t held_apply(struct held *h, struct device_list *devices)
{
	size_t n = h->n;

	for (size_t i = 0; i < h->n; i++) {
		struct held_uevent *u = &h->v[i];
		if (!u->dev)
			device_list_remove(devices, u->syspath);
		else if (device_list_put(devices, u->dev) < 0)
			device_free(u->dev);
		u->dev = NULL;
	}
	held_clear(h);
	return n;
}

void held_clear(struct held *h)
{
	for (size_t i = 0; i < h->n; i++) {
		device_free(h->v[i].dev);
		free(h->v[i].syspath);
	}
	free(h->v);
	*h = (struct held){0};
}
