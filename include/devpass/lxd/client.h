/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: LXD REST client
 *
 * A small client for the LXD (and Incus) /1.0 API over the local unix
 * socket, on one reused libcurl easy handle and json-c. Every request has a
 * connect timeout and a total timeout, so nothing waits forever on a stuck
 * server. Every response body is read into memory (at most
 * LXD_MAX_RESPONSE bytes) and checked against the LXD envelope before any
 * caller sees it.
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
 *   -EIO           any other refusal by LXD; its error text is kept in
 *                  struct lxd_response.error for the caller to show;
 *   -EPROTO        the answer is not an LXD envelope (not JSON, wrong
 *                  types, truncated, too large); lxd_response.error says
 *                  what was wrong.
 * Each failure is logged once, at debug level for the expected ones
 * (-ESTALE, -ENXIO) and at err level for the others.
 */

#include <stdbool.h>
#include <stddef.h>

#include "devpass/util/common.h"
#include "devpass/util/json.h"

/* Largest response body accepted; larger ones fail with -EPROTO. */
#define LXD_MAX_RESPONSE (16u * 1024u * 1024u)

/* Default timeouts of a request (lxd_operation_wait() adds its own wait). */
#define LXD_CONNECT_TIMEOUT_MS 3000
#define LXD_REQUEST_TIMEOUT_MS 10000

struct lxd_client;

enum lxd_response_type {
	LXD_RESPONSE_SYNC,
	LXD_RESPONSE_ASYNC,
	LXD_RESPONSE_ERROR,
};

/**
 * struct lxd_response - one parsed answer of LXD.
 * @http_status: the HTTP status (200, 202, 404, 412, ...), 0 if none came.
 * @type: the envelope's "type".
 * @status_code: the envelope's "status_code" (200 sync, 100 async, 0 error).
 * @error_code: the envelope's "error_code" (the HTTP status on errors).
 * @error: LXD's error text, or what was wrong with the answer; NULL if none.
 * @operation: for async answers the operation path ("/1.0/operations/ID").
 * @etag: the ETag header as sent by LXD (with its quotes), or NULL.
 * @metadata: the envelope's "metadata" (owned reference), or NULL.
 *
 * Initialise with {0}; release with lxd_response_clear().
 */
struct lxd_response {
	long http_status;
	enum lxd_response_type type;
	int status_code;
	int error_code;
	char *error;
	char *operation;
	char *etag;
	struct json_object *metadata;
};

/**
 * lxd_response_clear() - free what @r holds and zero it (it can be reused).
 */
void lxd_response_clear(struct lxd_response *r);

/**
 * lxd_socket_discover() - find the LXD socket.
 * @explicit_path: --socket PATH, or NULL.
 * @out: the path found (caller frees).
 *
 * Order: @explicit_path (taken as is, even if missing, so the user sees
 * the error for the path they gave), $LXD_SOCKET, $LXD_DIR/unix.socket,
 * /var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket,
 * /var/lib/incus/unix.socket: the first that exists and is a socket.
 *
 * Return: 0, -ENOENT if none is there, -ENOMEM.
 */
int lxd_socket_discover(const char *explicit_path, char **out);

/**
 * lxd_client_new() - a client for the LXD socket at @socket_path.
 * No connection is made yet; the first request connects.
 * Return: 0, -ENOMEM, -EINVAL (path too long for a unix socket).
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
 * lxd_request() - one request to LXD.
 * @c: the client.
 * @method: "GET", "PATCH", "PUT", "POST", "DELETE".
 * @path: the URL path with its query ("/1.0/instances/c1?project=p"); the
 *        caller escapes its components (lxd_path_escape()).
 * @body: the JSON body or NULL.
 * @if_match: the ETag to send as If-Match, or NULL.
 * @resp: initialised ({0}) or from an earlier request: it is cleared
 *        first, then filled in on success and on failure (clear it after).
 *
 * Return: 0 for a sync or async answer, or a negative errno as described
 * in the DOC above.
 */
int lxd_request(struct lxd_client *c, const char *method, const char *path,
		struct json_object *body, const char *if_match,
		struct lxd_response *resp);

/**
 * lxd_path_escape() - percent-escape @s for use as one URL path component
 * or query value. Return: a new string (caller frees) or NULL on ENOMEM.
 */
char *lxd_path_escape(const char *s);

/**
 * struct lxd_server - what GET /1.0 tells.
 * @api_extensions: the server's API extensions (decide features on these).
 * @server_name: environment.server_name (the cluster member name).
 * @server_version: environment.server_version, for messages only.
 * @clustered: environment.server_clustered.
 */
struct lxd_server {
	char **api_extensions;
	char *server_name;
	char *server_version;
	bool clustered;
};

/**
 * lxd_server_get() - GET /1.0.
 * Return: 0, or an error of lxd_request(); -EPROTO if api_extensions is
 * not a list of strings.
 */
int lxd_server_get(struct lxd_client *c, struct lxd_server **out);
void lxd_server_free(struct lxd_server *s);
DEFINE_FREEP(struct lxd_server, lxd_server_free)

/**
 * lxd_server_has_extension() - whether the server lists API extension @name.
 */
bool lxd_server_has_extension(const struct lxd_server *s, const char *name);

/**
 * struct lxd_instance - one instance of GET /1.0/instances?recursion=1.
 * @name: instance name.
 * @status: "Running", "Stopped", "Frozen", ...
 * @running: @status is "Running".
 * @vm: type is "virtual-machine" (else a container).
 * @location: cluster member ("none" when not clustered).
 * @privileged: security.privileged is true in the expanded config (so a
 *              profile can make it so).
 * @devices: the instance's own "devices" map (a reference; not the
 *           expanded one, which holds profile devices devpass never owns).
 */
struct lxd_instance {
	char *name;
	char *status;
	bool running;
	bool vm;
	char *location;
	bool privileged;
	struct json_object *devices;
};

struct lxd_instance_list {
	struct lxd_instance *items;
	size_t n;
};

/**
 * lxd_instances_list() - every instance of @project with its state.
 * Return: 0, an error of lxd_request(), -EPROTO for a malformed entry.
 */
int lxd_instances_list(struct lxd_client *c, const char *project,
		       struct lxd_instance_list **out);
void lxd_instance_list_free(struct lxd_instance_list *l);
DEFINE_FREEP(struct lxd_instance_list, lxd_instance_list_free)

/**
 * lxd_instance_get() - GET /1.0/instances/NAME?project=PROJECT.
 * @metadata: the instance object (caller puts it).
 * @etag: its ETag, to send back as If-Match (caller frees).
 * Return: 0, -ENXIO if there is no such instance, errors of lxd_request(),
 * -EPROTO if the answer lacks an object or an ETag.
 */
int lxd_instance_get(struct lxd_client *c, const char *project,
		     const char *name, struct json_object **metadata,
		     char **etag);

/**
 * lxd_operation_wait() - wait for an async operation to end.
 * @op_path: the "operation" of an async answer ("/1.0/operations/ID").
 * @timeout_s: how long LXD may wait before answering.
 * @lxd_error: on -EIO, LXD's error text of the failed operation (caller
 *             frees); may be NULL.
 * Return: 0 when it succeeded, -EIO when it failed or was cancelled,
 * -ETIMEDOUT when it still runs after @timeout_s, errors of lxd_request().
 */
int lxd_operation_wait(struct lxd_client *c, const char *op_path, int timeout_s,
		       char **lxd_error);
