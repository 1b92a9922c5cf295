/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: LXD lifecycle events
 *
 * Listens on LXD's /1.0/events?type=lifecycle&all-projects=true WebSocket
 * and turns each instance lifecycle event into a struct lxd_event for the
 * daemon, which only marks the instance dirty (the reconciler does the
 * rest, so a lost event or a reconnect heals by reconciling again).
 *
 * What LXD 5.0.2 sends (checked here): `lxc start` -> instance-started;
 * `lxc stop` -> instance-shutdown; `lxc stop --force` -> instance-stopped;
 * a shutdown from inside -> instance-shutdown (no requestor); `lxc restart`
 * and `lxc restart --force` -> instance-restarted only; `lxc delete -f` of
 * a running one -> instance-stopped then instance-deleted; `lxc config
 * set/device add` -> instance-updated; rename -> instance-renamed with the
 * new name in metadata.source and the old in metadata.context.old_name.
 * The instance is named by metadata.source, "/1.0/instances/NAME" plus
 * "?project=P" (URL-encoded) outside the default project; the top-level
 * "project" field holds the project name plainly. Pause/resume, exec and
 * snapshot events are instance events too (LXD_EVENT_OTHER here).
 * LXD pings every 10 s and drops a client that does not pong.
 */

#include <stddef.h>

#include "devpass/util/common.h"

enum lxd_event_action {
	LXD_EVENT_OTHER = 0, /* an instance event not listed below */
	LXD_EVENT_CREATED,
	LXD_EVENT_STARTED,
	LXD_EVENT_STOPPED,
	LXD_EVENT_SHUTDOWN,
	LXD_EVENT_RESTARTED,
	LXD_EVENT_DELETED,
	LXD_EVENT_RENAMED,
	LXD_EVENT_UPDATED,
};

/**
 * struct lxd_event - one instance lifecycle event.
 * @action: what happened.
 * @project: the project ("default" when LXD names none).
 * @instance: the instance (for LXD_EVENT_RENAMED its new name).
 * @old_name: for LXD_EVENT_RENAMED the old name if LXD sent it, else NULL.
 * @location: the cluster member ("none" on a standalone server), or NULL.
 */
struct lxd_event {
	enum lxd_event_action action;
	char *project;
	char *instance;
	char *old_name;
	char *location;
};

/* Frees the strings of @ev (not @ev itself) and zeroes it. */
void lxd_event_clear(struct lxd_event *ev);

/* "created", "started", ... "other". */
const char *lxd_event_action_to_string(enum lxd_event_action action);

/* Positive return of lxd_event_parse(): valid, but not an instance event. */
#define LXD_EVENT_IGNORED 1

/**
 * lxd_event_parse() - parse one event message.
 * @json: the message text (need not be NUL-terminated).
 * @len: its length.
 * @ret: filled on 0; free with lxd_event_clear().
 *
 * The instance comes from metadata.source ("/1.0/instances/NAME[/...]
 * [?project=P]", URL-decoded), else from metadata.name.
 *
 * Return: 0; LXD_EVENT_IGNORED for a well-formed event that is not an
 * instance lifecycle event (operations, projects, logging...); -EBADMSG
 * for garbage (logged at debug); -ENOMEM.
 */
int lxd_event_parse(const char *json, size_t len, struct lxd_event *ret);

struct lxd_events;

/* The request target lxd_events_connect() uses. */
#define LXD_EVENTS_PATH "/1.0/events?type=lifecycle&all-projects=true"

/**
 * lxd_events_connect() - open the event stream.
 * @ret: the listener.
 * @socket_path: LXD's unix socket.
 *
 * Blocks for the handshake, at most about 5 s; the socket is non-blocking
 * afterwards.
 *
 * Return: 0 or a negative errno (-ENOENT, -ECONNREFUSED: LXD is not
 * there; -ETIMEDOUT; -EPROTO: it did not speak WebSocket).
 */
int lxd_events_connect(struct lxd_events **ret, const char *socket_path);

/**
 * lxd_events_start() - open the event stream without waiting: connects
 * and sends the upgrade request; lxd_events_dispatch() reads the 101 and
 * returns LXD_EVENTS_OPENED when it came. Bounding the handshake in time
 * is the caller's (a timer of its loop).
 * Return: 0 or a negative errno (-ENOENT, -ECONNREFUSED, -EAGAIN: LXD is
 * not there or not accepting; logged).
 */
int lxd_events_start(struct lxd_events **ret, const char *socket_path);
void lxd_events_free(struct lxd_events *ev);
DEFINE_FREEP(struct lxd_events, lxd_events_free)

/* The fd to watch for EPOLLIN. */
int lxd_events_get_fd(const struct lxd_events *ev);

typedef void (*lxd_events_handler_t)(const struct lxd_event *event,
				     void *userdata);

/* Positive returns of lxd_events_dispatch(): LXD closed the stream; the
 * handshake of lxd_events_start() completed (call again for events). */
#define LXD_EVENTS_CLOSED 1
#define LXD_EVENTS_OPENED 2

/**
 * lxd_events_dispatch() - handle everything that has arrived.
 * @ev: the listener.
 * @handler: called once per instance event, in order.
 * @userdata: passed to @handler.
 *
 * Reads until the socket has nothing more, so a level- or edge-triggered
 * epoll is fine. Unparseable messages are logged at debug and skipped.
 *
 * Return: 0 (wait for the fd again); LXD_EVENTS_OPENED (once, after
 * lxd_events_start()); LXD_EVENTS_CLOSED (LXD went away or
 * closed the stream: free @ev, reconnect with backoff and reconcile
 * everything, since events may have been missed); or a negative errno
 * (the stream is broken: the same as LXD_EVENTS_CLOSED for the caller).
 */
int lxd_events_dispatch(struct lxd_events *ev, lxd_events_handler_t handler,
			void *userdata);
