/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: a minimal RFC 6455 WebSocket client connection
 *
 * Just enough WebSocket for LXD's /1.0/events stream over its unix socket
 * (Debian 12's libcurl 7.88 has none). ws_conn_* does the I/O on a
 * connected stream socket: the handshake (websocket-handshake.h; read
 * as it comes, without waiting), then non-blocking reads that answer pings and
 * close frames by themselves and hand out complete data messages decoded
 * by websocket-frame.h.
 */

#include "devpass/util/common.h"
#include "devpass/lxd/websocket-frame.h"

struct ws_conn;

/* Positive return of ws_conn_read(): the server closed the connection. */
#define WS_CLOSED 2
/* Positive return of ws_conn_read(): the handshake completed (101). */
#define WS_OPENED 3

/**
 * ws_conn_start() - start a WebSocket on a connected stream socket,
 * without waiting: sends the upgrade request; the 101 is read by
 * ws_conn_read(), which returns WS_OPENED once it checked out.
 * @fd: the socket, set non-blocking; the connection owns it from now on,
 *      even on failure.
 * Return: 0 or a negative errno (logged; -EAGAIN: the server does not
 * take the request).
 */
int ws_conn_start(struct ws_conn **ret, int fd, const char *host,
		  const char *path);

/**
 * ws_conn_new() - open a WebSocket on a connected stream socket.
 * @ret: the connection.
 * @fd: the socket; the connection owns it from now on, even on failure.
 * @host: Host header value.
 * @path: request target.
 * @timeout_ms: bound on the whole handshake.
 *
 * ws_conn_start(), then waits for the 101 (at most @timeout_ms): for tests
 * and tools; the daemon does not wait (lxd/events.h).
 *
 * Return: 0, -ETIMEDOUT, -EPROTO (refused or bad handshake), -ECONNRESET
 * (closed during the handshake), or another negative errno.
 */
int ws_conn_new(struct ws_conn **ret, int fd, const char *host,
		const char *path, int timeout_ms);
void ws_conn_free(struct ws_conn *c);
DEFINE_FREEP(struct ws_conn, ws_conn_free)

/* The socket, for poll/epoll (readable). */
int ws_conn_get_fd(const struct ws_conn *c);

/**
 * ws_conn_read() - the next data message, reading what the socket has.
 * @c: the connection.
 * @msg: filled on WS_MESSAGE; valid until the next call.
 *
 * Answers pings with pongs and a close frame with a close frame. Call it
 * until it returns 0: bytes already read but not yet decoded are not seen
 * by epoll.
 *
 * Before the handshake completed it reads the 101 only: WS_OPENED when it
 * came and checked out (call again for messages), 0 while more must
 * come, -EPROTO (refused or bad), -ECONNRESET (closed during it).
 *
 * Return: WS_MESSAGE (a text or binary message), 0 (nothing more for now),
 * WS_CLOSED (the server closed, cleanly or not), or a negative errno
 * (-EPROTO, -EMSGSIZE, or an I/O error); after WS_CLOSED or an error the
 * connection is finished.
 */
int ws_conn_read(struct ws_conn *c, struct ws_message *msg);
