/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the LXD event stream, kept up without blocking
 *
 * Connects to LXD's event stream (lxd/events.h) and keeps it up: the
 * connect, the handshake and the stream itself run on one fd of its own
 * (an epoll set holding the socket and a timerfd) that the daemon's loop
 * watches, so no stage ever waits in the loop.
 *
 * Whatever stage fails (connect refused, handshake refused or not done
 * within STREAM_HANDSHAKE_MS, the stream closed or broken), the next
 * attempt waits a backoff that doubles from STREAM_BACKOFF_MIN_MS to
 * STREAM_BACKOFF_MAX_MS. It starts again from the minimum only after a
 * stream stayed up STREAM_STABLE_MS or delivered an event: a stream that
 * LXD closes right after the 101 is retried once per backoff step, never
 * in a storm. The stream is no condition for reconciling: uevents are
 * handled whether it is up or not (service.c).
 */

#include "devpass/lxd/events.h"

#define STREAM_BACKOFF_MIN_MS 250u
#define STREAM_BACKOFF_MAX_MS 30000u
#define STREAM_HANDSHAKE_MS   5000u
#define STREAM_STABLE_MS      5000u

struct stream;

/**
 * struct stream_ops - what the stream tells its owner.
 * @on_event: an instance event (lxd/events.h).
 * @on_up: the stream is (again) up: events may have been missed before.
 */
struct stream_ops {
	lxd_events_handler_t on_event;
	void (*on_up)(void *userdata);
};

/**
 * stream_new() - a stream on LXD's socket at @socket_path; the first
 * connect is tried now (its failure is only the first backoff step).
 * Return: 0, -ENOMEM or -errno of epoll/timerfd (logged).
 */
int stream_new(const char *socket_path, const struct stream_ops *ops,
	       void *userdata, struct stream **out);
void stream_free(struct stream *s);
DEFINE_FREEP(struct stream, stream_free)

/* The fd to watch for EPOLLIN (level-triggered). */
int stream_get_fd(const struct stream *s);

/* Handles what is ready: the socket, the timer. Never waits. */
void stream_dispatch(struct stream *s);

/* Whether the stream is up (past the 101). */
bool stream_is_up(const struct stream *s);

/* How many connects were tried so far (for tests and the log). */
unsigned stream_attempts(const struct stream *s);
