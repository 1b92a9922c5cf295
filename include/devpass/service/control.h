/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the control socket
 *
 * devpassd listens on a unix stream socket (mode 0600, and only peers with
 * uid 0 are answered). A client sends one request line ("status\n") and
 * reads one JSON document until the daemon closes the connection.
 *
 * Served without blocking, each client a step at a time as its socket is
 * ready: one that sends nothing, or reads its reply slowly, delays no
 * other. Each is bounded: a request line of 63 bytes within 1 s, then 10 s
 * to take the reply; 64 at once, and one more evicts the oldest that is
 * still silent.
 */

#include <json-c/json.h>

#include "devpass/util/common.h"

#define CONTROL_DEFAULT_PATH "/run/devpass/control"

struct control;

/**
 * control_listen() - bind @path. A socket nobody answers on (left by a
 * devpassd that died) is replaced; anything else at @path is left alone.
 * Return: 0; -EEXIST when @path exists and is not a socket; -EADDRINUSE
 * when a daemon answers there; other -errno. Logged.
 */
int control_listen(const char *path, struct control **out);

/* Closes the socket and its clients; removes its path if it is still the
 * socket bound there. */
void control_free(struct control *c);
DEFINE_FREEP(struct control, control_free)

/* The fd the loop polls for EPOLLIN (an epoll of the listening socket,
 * the clients and their deadlines); call control_dispatch() then. */
int control_get_fd(const struct control *c);

/* How many clients are being served. */
size_t control_clients(const struct control *c);

/* Produces the reply to a "status" request; a new reference. */
typedef json_object *(*control_status_fn)(void *userdata);

/**
 * control_dispatch() - serve what is ready: accept clients (16 at most
 * per call), read requests, answer, write replies, drop clients past
 * their deadline. Never blocks. A client that is not root, or asks for
 * something unknown, gets an error object; one that sends nothing within a
 * second, or a line too long, is closed.
 * Return: 0, or -errno for a failure of the poll itself.
 */
int control_dispatch(struct control *c, control_status_fn status,
		     void *userdata);

/**
 * control_request() - the client side: send @command, parse the reply.
 * Return: 0 and *@reply; -ENOENT/-ECONNREFUSED when no daemon listens,
 * -EACCES when not allowed, -EPROTO for a reply that is not JSON.
 */
int control_request(const char *path, const char *command, json_object **reply);
