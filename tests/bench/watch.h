/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * When do entries become visible in LXD? A thread listens to LXD's
 * lifecycle events (/1.0/events, the daemon's own events.c) and stamps
 * each instance-updated with the monotonic time it arrived. A waiter,
 * woken by each event, reads the instances (GET) and, once every one
 * holds the wanted number of entries, takes the time of the last event
 * before that read: the moment LXD said it was done, not the moment
 * the waiter got round to looking. Without events it polls every 5 ms.
 */

#include <stdbool.h>
#include <stddef.h>

struct lxd_client;
struct watch;

/* Starts the listener on @socket. Return: 0 or a negative errno. */
int watch_start(struct watch **ret, const char *socket);
void watch_stop(struct watch *w);

/* The number of entries of @instance whose names start with @prefix. */
size_t count_entries(struct lxd_client *c, const char *instance, const char *prefix);

/*
 * watch_wait() - wait until each of @instances holds @want[i] entries
 * named @prefix*.
 * @since: events before this time do not count (the action's start).
 * Return: the time (now_ms_frac() clock, test-util.h) it became visible, or a
 * negative value after @timeout_ms.
 */
double watch_wait(struct watch *w, struct lxd_client *c, const char *const *instances,
		  const size_t *want, size_t n, const char *prefix, double since,
		  int timeout_ms);
