/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the cleanup habit
 *
 * Every owned resource lives in a local declared with _cleanup_(x_freep),
 * so that every early return releases it, and is handed over at the end
 * with steal_ptr() / steal_fd():
 *
 *	_cleanup_(device_freep) struct device *d = calloc(1, sizeof(*d));
 *	...
 *	*out = steal_ptr(&d);
 *	return 0;
 *
 * No error path frees by hand. A type that owns something has x_free()
 * and DEFINE_FREEP(struct x, x_free) beside it; the helpers for the
 * libraries' types (udev, json-c, DIR, FILE) are defined here, once.
 */

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* "unused": a local that only hands its value to the cleanup (owned = x,
 * freed at return) is used by it, but clang -Wunused-variable says not. */
#define _cleanup_(f) __attribute__((cleanup(f), unused))

/* Defines NAMEp(T **) that calls NAME(*p) when *p is not NULL. */
#define DEFINE_FREEP(type, name)                                               \
	static inline void name##p(type **p)                                   \
	{                                                                      \
		if (*p)                                                        \
			name(*p);                                              \
	}

/* Returns *pp and clears it: ownership moves to the caller. */
#define steal_ptr(pp)                                                          \
	({                                                                     \
		__typeof__(*(pp)) _tmp = *(pp);                                \
		*(pp) = NULL;                                                  \
		_tmp;                                                          \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Closes *fd when it is open, keeping errno as it was. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

/* Returns *fd and sets it to -1: ownership moves to the caller. */
static inline int steal_fd(int *fd)
{
	int tmp = *fd;
	*fd = -1;
	return tmp;
}

DEFINE_FREEP(DIR, closedir)
DEFINE_FREEP(FILE, fclose)
DEFINE_FREEP(struct udev, udev_unref)
DEFINE_FREEP(struct udev_device, udev_device_unref)
DEFINE_FREEP(struct udev_enumerate, udev_enumerate_unref)
DEFINE_FREEP(struct udev_monitor, udev_monitor_unref)
DEFINE_FREEP(struct json_object, json_object_put)
DEFINE_FREEP(struct json_tokener, json_tokener_free)
