/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the writer's side of the LXD client (private to daemon/lxd/)
 *
 * The raw request, which can write, and what only the writer (sync.c)
 * needs. Outside daemon/lxd/ only tests include this header (through an
 * include_directories of tests/meson.build): the daemon writes to LXD
 * through lxd_instance_sync_devices() alone.
 */

#include "devpass/lxd/client.h"
#include "devpass/lxd/envelope.h"

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
 * in client.h's DOC (logged there).
 */
int lxd_request(struct lxd_client *c, const char *method, const char *path,
		struct json_object *body, const char *if_match,
		struct lxd_response *resp);

/*
 * Done callback of lxd_request_start(): @r as lxd_request() returns (or
 * -ECANCELED); @resp is filled in either way and cleared after the call
 * (steal what you keep).
 */
typedef void (*lxd_request_done_t)(int r, struct lxd_response *resp,
				   void *userdata);

/**
 * lxd_request_start() - lxd_request(), asynchronously.
 * @extra_ms: added to the client's total timeout (an operation wait).
 * Return: 0 when started (@done will be called once, from
 * lxd_client_dispatch() or lxd_client_free()); a negative errno (logged)
 * when not (@done is not called).
 */
int lxd_request_start(struct lxd_client *c, const char *method,
		      const char *path, struct json_object *body,
		      const char *if_match, long extra_ms,
		      lxd_request_done_t done, void *userdata);

/**
 * lxd_instance_path() - "/1.0/instances/NAME?project=PROJECT", both
 * escaped. Return: 0 or -ENOMEM (logged).
 */
int lxd_instance_path(const char *project, const char *name, char **out);

typedef void (*lxd_client_hook_t)(void *userdata);

/**
 * lxd_client_set_after_read() - for tests: have lxd_instance_sync_devices()
 * on @c call @fn(@userdata) after each GET of the instance and before the
 * write, so a test can change the instance in between and provoke a 412.
 * NULL clears it. A client nobody set it on never calls anything.
 */
void lxd_client_set_after_read(struct lxd_client *c, lxd_client_hook_t fn,
			       void *userdata);

/* Calls the hook of lxd_client_set_after_read(), if any. */
void lxd_client_after_read(struct lxd_client *c);
