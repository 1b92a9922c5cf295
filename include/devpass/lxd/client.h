/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: LXD REST client
 *
 * A small client for the LXD (and Incus) /1.0 API over the local unix
 * socket, on libcurl's multi interface and json-c. Every request has a
 * connect timeout and a total timeout, so nothing waits forever on a stuck
 * server.
 *
 * Every request is asynchronous underneath (daemon/lxd/multi.h): the
 * *_start() forms return at once and call their done callback from
 * lxd_client_dispatch() when the answer is in, so the daemon's loop never
 * waits on LXD; it watches lxd_client_get_fd(). The plain forms are the
 * same request followed by lxd_client_run() until it ends, for commands
 * and tests. Do not call a plain form from inside a done callback of a
 * client that other requests are in flight on: it would run their
 * callbacks re-entrantly. Every response body is read into memory (at most
 * LXD_MAX_RESPONSE bytes) and checked against the LXD envelope
 * (envelope.h) before any caller sees it.
 *
 * This header is the read API. Writes go through the sync layer only
 * (sync.h); the raw request it uses is private to daemon/lxd/ (request.h).
 *
 * Errors (negative errno, as in common.h):
 *   -ENOENT        the socket does not exist (LXD not installed or not up);
 *   -ECONNREFUSED  the socket exists but nobody answers on it;
 *   -EACCES        the socket exists but we may not connect to it;
 *   -ETIMEDOUT     no complete answer within the timeout;
 *   -ECONNRESET    the connection broke (LXD restarting);
 *   -ESTALE        HTTP 412: the If-Match ETag no longer matches (re-read
 *                  and retry);
 *   -ENXIO         HTTP 404: no such instance, operation or project;
 *   -EIO           any other refusal by LXD;
 *   -EPROTO        the answer is not an LXD envelope (not JSON, wrong
 *                  types, truncated, too large);
 *   -EAGAIN        a refusal LXD gives for a passing state
 *                  (lxd_error_is_transient()): retry later, with backoff;
 *   -ECANCELED     (done callbacks only) the client was freed first.
 * Each failure is logged once, here: at debug level for LXD's refusals
 * (-ESTALE, -ENXIO, -EIO, -EAGAIN, with LXD's text; what the refused request
 * stood for is the caller's to report) and at err level for the others.
 */

#include <stdbool.h>
#include <stddef.h>

#include "devpass/util/common.h"
#include "devpass/util/json.h"
#include "devpass/lxd/envelope.h"

/* Default timeouts of a request (lxd_operation_wait() adds its own wait). */
#define LXD_CONNECT_TIMEOUT_MS 3000
#define LXD_REQUEST_TIMEOUT_MS 10000

struct lxd_client;

/**
 * lxd_socket_discover() - find the LXD socket.
 * @explicit_path: --socket PATH, or NULL.
 * @out: the path found (caller frees).
 *
 * Order: @explicit_path (taken as is, even if missing, so the user sees
 * the error for the path they gave), $LXD_SOCKET, $LXD_DIR/unix.socket,
 * $INCUS_SOCKET, $INCUS_DIR/unix.socket,
 * /var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket,
 * /var/lib/incus/unix.socket: the first that exists and is a socket. On
 * a machine with both, LXD's is found; --socket or $INCUS_SOCKET (with no
 * $LXD_*) picks Incus.
 *
 * Return: 0, -ENOENT if none is there, -ENOMEM.
 */
int lxd_socket_discover(const char *explicit_path, char **out);

/**
 * lxd_client_new() - a client for the LXD socket at @socket_path.
 * No connection is made yet; the first request connects.
 * Return: 0, -ENOMEM, -EINVAL (path too long for a unix socket); each
 * logged.
 */
int lxd_client_new(const char *socket_path, struct lxd_client **out);
void lxd_client_free(struct lxd_client *c);
DEFINE_FREEP(struct lxd_client, lxd_client_free)

/**
 * lxd_client_set_timeouts() - override the connect and total timeouts of
 * each request, in milliseconds (tests use short ones).
 */
void lxd_client_set_timeouts(struct lxd_client *c, long connect_ms,
			     long total_ms);

const char *lxd_client_socket_path(const struct lxd_client *c);

/**
 * lxd_client_get_fd() - the fd to watch for EPOLLIN (level-triggered):
 * readable whenever a request in flight can make progress.
 */
int lxd_client_get_fd(const struct lxd_client *c);

/**
 * lxd_client_dispatch() - drive the requests in flight as far as they go
 * without waiting; calls the done callback of each that ended (a callback
 * may start new requests).
 */
void lxd_client_dispatch(struct lxd_client *c);

/**
 * lxd_client_run() - dispatch, waiting on the fd, until *@done is true
 * (a done callback sets it). Return: 0 or -errno of poll() (logged).
 */
int lxd_client_run(struct lxd_client *c, const bool *done);

/**
 * lxd_path_escape() - percent-escape @s for use as one URL path component
 * or query value. Return: a new string (caller frees) or NULL on ENOMEM.
 */
char *lxd_path_escape(const char *s);

/**
 * lxd_server_get() - GET /1.0.
 * Return: 0, or an error of the DOC above; -EPROTO as lxd_server_parse().
 */
int lxd_server_get(struct lxd_client *c, struct lxd_server **out);

/*
 * Done callbacks of the asynchronous reads: @r as the plain form returns;
 * what they hand over is the callee's on success (NULL otherwise), except
 * the instance's metadata and ETag, borrowed for the call (take a
 * reference or a copy to keep them).
 */
typedef void (*lxd_server_done_t)(int r, struct lxd_server *s, void *userdata);
typedef void (*lxd_instances_done_t)(int r, struct lxd_instance_list *l,
				     void *userdata);
typedef void (*lxd_instance_done_t)(int r, struct json_object *metadata,
				    const char *etag, void *userdata);
typedef void (*lxd_operation_done_t)(int r, const char *lxd_error,
				     void *userdata);

/**
 * lxd_server_get_start() - lxd_server_get(), asynchronously.
 * Return: 0 when started (@done will be called once), or a negative errno
 * (logged) when it could not start (then @done is not called).
 * The other *_start() functions return the same way.
 */
int lxd_server_get_start(struct lxd_client *c, lxd_server_done_t done,
			 void *userdata);

/**
 * lxd_instances_list() - every instance of @project with its state.
 * Return: 0, an error of the DOC above, -EPROTO for a malformed entry
 * (lxd_instance_list_parse()).
 */
int lxd_instances_list(struct lxd_client *c, const char *project,
		       struct lxd_instance_list **out);
int lxd_instances_list_start(struct lxd_client *c, const char *project,
			     lxd_instances_done_t done, void *userdata);

/**
 * lxd_instance_get() - GET /1.0/instances/NAME?project=PROJECT.
 * @metadata: the instance object (caller puts it).
 * @etag: its ETag, to send back as If-Match (caller frees).
 * Return: 0, -ENXIO if there is no such instance, errors of the DOC above,
 * -EPROTO if the answer lacks an object or an ETag.
 */
int lxd_instance_get(struct lxd_client *c, const char *project,
		     const char *name, struct json_object **metadata,
		     char **etag);
int lxd_instance_get_start(struct lxd_client *c, const char *project,
			   const char *name, lxd_instance_done_t done,
			   void *userdata);

/**
 * lxd_operation_wait() - wait for an async operation to end.
 * @op_path: the "operation" of an async answer ("/1.0/operations/ID").
 * @timeout_s: how long LXD may wait before answering.
 * @lxd_error: on -EIO, LXD's error text of the failed operation (caller
 *             frees); may be NULL.
 * Return: 0 when it succeeded, -EIO when it failed or was cancelled,
 * -EAGAIN when it failed for a passing reason (lxd_error_is_transient()),
 * -ETIMEDOUT when it still runs after @timeout_s, errors of the DOC above.
 */
int lxd_operation_wait(struct lxd_client *c, const char *op_path, int timeout_s,
		       char **lxd_error);
/* The asynchronous form; @lxd_error is set on -EIO and -EAGAIN. */
int lxd_operation_wait_start(struct lxd_client *c, const char *op_path,
			     int timeout_s, lxd_operation_done_t done,
			     void *userdata);
