/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the control socket
 *
 * devpassd listens on a unix stream socket (mode 0600, and only peers with
 * uid 0 are answered). A client sends one request line ("status\n") and
 * reads one JSON document until the daemon closes the connection.
 */

#include <json-c/json.h>

#include "devpass/util/common.h"

#define CONTROL_DEFAULT_PATH "/run/devpass/control"

struct control;

/**
 * control_listen() - bind @path (a stale socket there is replaced).
 * Return: 0 or -errno (logged).
 */
int control_listen(const char *path, struct control **out);

/* Closes the socket and removes its path. */
void control_free(struct control *c);
DEFINE_FREEP(struct control, control_free)

int control_get_fd(const struct control *c);

/* Produces the reply to a "status" request; a new reference. */
typedef json_object *(*control_status_fn)(void *userdata);

/**
 * control_dispatch() - accept one pending client and answer it.
 * A client that is not root, or sends nothing within a second, or asks
 * for something unknown gets an error object or nothing.
 * Return: 0, or -errno for a failure of the listening socket itself.
 */
int control_dispatch(struct control *c, control_status_fn status,
		     void *userdata);

/**
 * control_request() - the client side: send @command, parse the reply.
 * Return: 0 and *@reply; -ENOENT/-ECONNREFUSED when no daemon listens,
 * -EACCES when not allowed, -EPROTO for a reply that is not JSON.
 */
int control_request(const char *path, const char *command, json_object **reply);
