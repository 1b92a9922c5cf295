/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: LXD answers, parsed without any I/O
 *
 * What the client (client.c, the curl transport) does with the bytes of an
 * answer, as pure functions so they can be unit-tested and fuzzed: check
 * the /1.0 reply envelope against its HTTP status and map it to the error
 * contract (lxd_response_parse()), and turn the metadata of GET /1.0 and
 * GET /1.0/instances?recursion=1 into structs (lxd_server_parse(),
 * lxd_instance_list_parse()).
 *
 * Nothing here logs: a malformed answer is reported through an error text
 * (lxd_response.error, or @error below), and the client, which knows the
 * request, logs it once.
 */

#include <stdbool.h>
#include <stddef.h>

#include "devpass/util/common.h"
#include "devpass/util/json.h"

/* Largest response body accepted; larger ones fail with -EPROTO. */
#define LXD_MAX_RESPONSE (16u * 1024u * 1024u)

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
 * lxd_response_parse() - check one answer and fill @resp from it.
 * @http_status: the HTTP status the answer came with.
 * @etag: its ETag header value, or NULL (copied into @resp).
 * @body: the body; need not be NUL-terminated.
 * @len: its length.
 * @resp: cleared first, then filled on success and on failure (clear it
 *        after); @resp->error says what was wrong or what LXD refused.
 *
 * Return: 0 for a sync or async answer; -ESTALE (HTTP 412), -ENXIO (404),
 * -EAGAIN (503, or a passing state: lxd_error_is_transient()), -EIO
 * (another error envelope); -EPROTO when the body is not an LXD
 * envelope (not JSON, not UTF-8, wrong types, truncated, larger than
 * LXD_MAX_RESPONSE, error status with a success envelope or the other way
 * round, async without an operation); -ENOMEM. An error envelope with
 * an error_code of 400 or more under HTTP 200 is that error (Incus 6.0.4's
 * answer to the wait of a failed operation), not -EPROTO.
 */
int lxd_response_parse(long http_status, const char *etag, const char *body,
		       size_t len, struct lxd_response *resp);

/**
 * struct lxd_server - what GET /1.0 tells.
 * @api_extensions: the server's API extensions (decide features on these).
 * @server: environment.server, which server it is: "lxd" or "incus" (both
 *   serve the same /1.0 API), for messages only; NULL when not said.
 * @server_name: environment.server_name (the cluster member name).
 * @server_version: environment.server_version, for messages only.
 * @clustered: environment.server_clustered.
 */
struct lxd_server {
	char **api_extensions;
	char *server;
	char *server_name;
	char *server_version;
	bool clustered;
};

void lxd_server_free(struct lxd_server *s);
DEFINE_FREEP(struct lxd_server, lxd_server_free)

/**
 * lxd_server_parse() - the server of GET /1.0's metadata @md.
 * @error: on -EPROTO, what was wrong (caller frees); may be NULL.
 * Return: 0; -EPROTO if @md is no object, api_extensions is missing or not
 * a list of strings, or a field has the wrong type; -ENOMEM.
 */
int lxd_server_parse(struct json_object *md, struct lxd_server **out,
		     char **error);

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

void lxd_instance_list_free(struct lxd_instance_list *l);
DEFINE_FREEP(struct lxd_instance_list, lxd_instance_list_free)

/**
 * lxd_instance_list_parse() - the instances of GET
 * /1.0/instances?recursion=1's metadata @md.
 * @error: on -EPROTO, what was wrong (caller frees); may be NULL.
 * Return: 0; -EPROTO if @md is no array or an entry is malformed (no
 * object, no name or status, a field of the wrong type); -ENOMEM.
 */
int lxd_instance_list_parse(struct json_object *md,
			    struct lxd_instance_list **out, char **error);

/**
 * lxd_instance_parse() - the instance of GET /1.0/instances/NAME's
 * metadata @md, as a list of one.
 * @error: on -EPROTO, what was wrong (caller frees); may be NULL.
 * Return: 0; -EPROTO as for one entry of lxd_instance_list_parse();
 * -ENOMEM.
 */
int lxd_instance_parse(struct json_object *md, struct lxd_instance_list **out,
		       char **error);

/**
 * lxd_error_is_transient() - whether LXD's error text @error (may be NULL)
 * is one it gives for a passing state rather than a refusal: "A matching
 * non-reusable operation has now succeeded" (an instance operation lock
 * another request held), "Instance is busy running a ... operation".
 * Such an answer is retried with backoff, never taken as a refusal.
 */
bool lxd_error_is_transient(const char *error);
