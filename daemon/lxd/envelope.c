/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "devpass/util/json.h"
#include "devpass/util/strv.h"
#include "devpass/lxd/envelope.h"
#include "devpass/util/text.h"

static void error_set(char **error, const char *fmt, ...) _printf_(2, 3);

/* Replaces *@error (if the caller wants it) with a formatted text. */
static void error_set(char **error, const char *fmt, ...)
{
	va_list ap;

	if (!error)
		return;
	free(*error);
	va_start(ap, fmt);
	*error = text_vprintf(fmt, ap);
	va_end(ap);
}

void lxd_response_clear(struct lxd_response *r)
{
	free(r->error);
	free(r->operation);
	free(r->etag);
	json_object_put(r->metadata);
	*r = (struct lxd_response){0};
}

/* Looks up @key: absent or null gives NULL; another type than @type is a
 * protocol error. */
static int field(struct json_object *o, const char *key, enum json_type type,
		 struct json_object **out, char **error)
{
	struct json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, type)) {
		error_set(error, "\"%s\" has type %s, expected %s", key,
			  json_type_to_name(json_object_get_type(v)),
			  json_type_to_name(type));
		return -EPROTO;
	}
	*out = v;
	return 0;
}

static int field_strdup(struct json_object *o, const char *key, char **out,
			char **error)
{
	struct json_object *v;
	int r = field(o, key, json_type_string, &v, error);
	if (r < 0 || !v)
		return r;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

static int field_int(struct json_object *o, const char *key, int *out,
		     char **error)
{
	struct json_object *v;
	int r = field(o, key, json_type_int, &v, error);
	if (r == 0 && v)
		*out = json_object_get_int(v);
	return r;
}

static int envelope_type(struct json_object *root, struct lxd_response *resp)
{
	static const char *const names[] = {
		[LXD_RESPONSE_SYNC] = "sync",
		[LXD_RESPONSE_ASYNC] = "async",
		[LXD_RESPONSE_ERROR] = "error",
	};
	struct json_object *v;
	int r = field(root, "type", json_type_string, &v, &resp->error);
	if (r < 0)
		return r;
	for (size_t i = 0; v && i < ARRAY_SIZE(names); i++)
		if (strcmp(json_object_get_string(v), names[i]) == 0) {
			resp->type = (enum lxd_response_type)i;
			return 0;
		}
	error_set(&resp->error, "envelope has no valid \"type\"");
	return -EPROTO;
}

/* One strict JSON object filling all of @body, its fields into @resp. */
static int envelope_fields(const char *body, size_t len,
			   struct lxd_response *resp)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	struct json_object *md;
	char why[128];
	char **err = &resp->error;
	int r = json_parse_buffer(body, len, &root, why, sizeof(why));

	if (r == -EBADMSG) {
		error_set(err, "answer is not JSON: %s", why);
		return -EPROTO;
	}
	if (r < 0)
		return r;
	if (!json_object_is_type(root, json_type_object)) {
		error_set(err, "answer is not a JSON object");
		return -EPROTO;
	}
	if ((r = envelope_type(root, resp)) < 0 ||
	    (r = field_int(root, "status_code", &resp->status_code, err)) < 0 ||
	    (r = field_int(root, "error_code", &resp->error_code, err)) < 0 ||
	    (r = field_strdup(root, "error", &resp->error, err)) < 0 ||
	    (r = field_strdup(root, "operation", &resp->operation, err)) < 0)
		return r;
	if (json_object_object_get_ex(root, "metadata", &md) && md)
		resp->metadata = json_object_get(md);
	return 0;
}

/* Maps a parsed envelope and its HTTP status to the error contract. An
 * error envelope that carries its own error code (400 and up) is taken at
 * its word under HTTP 200: Incus 6.0.4 answers the /wait of a failed
 * operation so (its status line goes out before the wait ends). */
static int envelope_result(struct lxd_response *resp)
{
	bool http_error = resp->http_status >= 400 ||
			  (resp->type == LXD_RESPONSE_ERROR &&
			   resp->http_status == 200 && resp->error_code >= 400);

	if (http_error != (resp->type == LXD_RESPONSE_ERROR)) {
		error_set(&resp->error, "HTTP status %ld with a %s envelope",
			  resp->http_status,
			  resp->type == LXD_RESPONSE_ERROR ? "error"
							   : "success");
		return -EPROTO;
	}
	if (resp->type == LXD_RESPONSE_ASYNC &&
	    (!resp->operation || !resp->operation[0])) {
		error_set(&resp->error, "async answer without an operation");
		return -EPROTO;
	}
	if (resp->type != LXD_RESPONSE_ERROR)
		return 0;
	int code = resp->error_code ? resp->error_code : (int)resp->http_status;
	if (!resp->error || !resp->error[0])
		error_set(&resp->error, "LXD error %d", code);
	if (code == 412)
		return -ESTALE;
	if (code == 404)
		return -ENXIO;
	return code == 503 || lxd_error_is_transient(resp->error) ? -EAGAIN
								  : -EIO;
}

bool lxd_error_is_transient(const char *error)
{
	static const char *const passing[] = {
		"A matching non-reusable operation has now succeeded",
		"Instance is busy running a",
	};
	for (size_t i = 0; error && i < ARRAY_SIZE(passing); i++)
		if (strstr(error, passing[i]))
			return true;
	return false;
}

int lxd_response_parse(long http_status, const char *etag, const char *body,
		       size_t len, struct lxd_response *resp)
{
	int r;

	lxd_response_clear(resp);
	resp->http_status = http_status;
	if (etag && !(resp->etag = strdup(etag)))
		return -ENOMEM;
	if (len > LXD_MAX_RESPONSE) {
		error_set(&resp->error, "answer larger than %u bytes",
			  LXD_MAX_RESPONSE);
		return -EPROTO;
	}
	if ((r = envelope_fields(body, len, resp)) < 0)
		return r;
	return envelope_result(resp);
}

void lxd_server_free(struct lxd_server *s)
{
	if (!s)
		return;
	strv_free(s->api_extensions);
	free(s->server);
	free(s->server_name);
	free(s->server_version);
	free(s);
}

static int json_to_strv(struct json_object *arr, char ***out, char **error)
{
	size_t n = json_object_array_length(arr);
	/* count, then fill: the list is as long as the server says */
	_cleanup_(strv_freep) char **v = calloc(n + 1, sizeof(char *));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(e, json_type_string)) {
			error_set(error, "list holds a non-string");
			return -EPROTO;
		}
		if (!(v[i] = strdup(json_object_get_string(e))))
			return -ENOMEM;
	}
	*out = steal_ptr(&v);
	return 0;
}

/* environment: who the server is; every field optional. */
static int server_environment(struct json_object *env, struct lxd_server *s,
			      char **error)
{
	struct json_object *clustered = NULL;
	int r;

	if ((r = field_strdup(env, "server", &s->server, error)) < 0 ||
	    (r = field_strdup(env, "server_name", &s->server_name, error)) <
		    0 ||
	    (r = field_strdup(env, "server_version", &s->server_version,
			      error)) < 0 ||
	    (r = field(env, "server_clustered", json_type_boolean, &clustered,
		       error)) < 0)
		return r;
	s->clustered = clustered && json_object_get_boolean(clustered);
	return 0;
}

int lxd_server_parse(struct json_object *md, struct lxd_server **out,
		     char **error)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;
	struct json_object *ext, *env = NULL;
	int r;

	if (!md || !json_object_is_type(md, json_type_object)) {
		error_set(error, "no server object");
		return -EPROTO;
	}
	if ((r = field(md, "api_extensions", json_type_array, &ext, error)) <
		    0 ||
	    (r = field(md, "environment", json_type_object, &env, error)) < 0)
		return r;
	if (!ext) {
		error_set(error, "no api_extensions");
		return -EPROTO;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	if ((r = json_to_strv(ext, &s->api_extensions, error)) < 0 ||
	    (env && (r = server_environment(env, s, error)) < 0))
		return r;
	*out = steal_ptr(&s);
	return 0;
}

bool lxd_server_has_extension(const struct lxd_server *s, const char *name)
{
	for (char **p = s->api_extensions; p && *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

void lxd_instance_list_free(struct lxd_instance_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct lxd_instance *in = &l->items[i];
		free(in->name);
		free(in->status);
		free(in->location);
		json_object_put(in->devices);
	}
	free(l->items);
	free(l);
}

/* LXD reads booleans in config as shared.IsTrue does. */
static bool config_true(struct json_object *config, const char *key)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	struct json_object *v;

	if (!config || !json_object_object_get_ex(config, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (strcasecmp(json_object_get_string(v), yes[i]) == 0)
			return true;
	return false;
}

static int instance_parse(struct json_object *o, struct lxd_instance *in,
			  char **error)
{
	struct json_object *type = NULL, *config = NULL, *devices = NULL;
	int r;

	if (!json_object_is_type(o, json_type_object)) {
		error_set(error, "instance is not an object");
		return -EPROTO;
	}
	if ((r = field_strdup(o, "name", &in->name, error)) < 0 ||
	    (r = field_strdup(o, "status", &in->status, error)) < 0 ||
	    (r = field_strdup(o, "location", &in->location, error)) < 0 ||
	    (r = field(o, "type", json_type_string, &type, error)) < 0 ||
	    (r = field(o, "expanded_config", json_type_object, &config,
		       error)) < 0 ||
	    (r = field(o, "devices", json_type_object, &devices, error)) < 0)
		return r;
	if (!in->name || !in->status) {
		error_set(error, "instance without name or status");
		return -EPROTO;
	}
	in->running = strcmp(in->status, "Running") == 0;
	in->vm = type &&
		 strcmp(json_object_get_string(type), "virtual-machine") == 0;
	in->privileged = config_true(config, "security.privileged");
	in->devices =
		devices ? json_object_get(devices) : json_object_new_object();
	return in->devices ? 0 : -ENOMEM;
}

int lxd_instance_list_parse(struct json_object *md,
			    struct lxd_instance_list **out, char **error)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;

	if (!md || !json_object_is_type(md, json_type_array)) {
		error_set(error, "instance list is not an array");
		return -EPROTO;
	}
	size_t n = json_object_array_length(md);
	if (!(l = calloc(1, sizeof(*l))) ||
	    (n && !(l->items = calloc(n, sizeof(*l->items)))))
		return -ENOMEM;
	for (; l->n < n; l->n++) {
		struct json_object *o = json_object_array_get_idx(md, l->n);
		int r = instance_parse(o, &l->items[l->n], error);
		if (r < 0) {
			l->n++; /* free what the failed entry holds */
			return r;
		}
	}
	*out = steal_ptr(&l);
	return 0;
}

int lxd_instance_parse(struct json_object *md, struct lxd_instance_list **out,
		       char **error)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;

	if (!(l = calloc(1, sizeof(*l))) ||
	    !(l->items = calloc(1, sizeof(*l->items))))
		return -ENOMEM;
	l->n = 1; /* whatever the parse left is freed with the list */
	int r = instance_parse(md, &l->items[0], error);
	if (r < 0)
		return r;
	*out = steal_ptr(&l);
	return 0;
}
