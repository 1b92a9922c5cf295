/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "devpass/lxd/events.h"
#include "devpass/util/json.h"
#include "devpass/util/log.h"
#include "devpass/lxd/websocket.h"

#define LXD_EVENTS_HANDSHAKE_TIMEOUT_MS 5000
#define INSTANCES_PREFIX		"/1.0/instances/"

static const char *const action_names[] = {
	[LXD_EVENT_OTHER] = "other",	   [LXD_EVENT_CREATED] = "created",
	[LXD_EVENT_STARTED] = "started",   [LXD_EVENT_STOPPED] = "stopped",
	[LXD_EVENT_SHUTDOWN] = "shutdown", [LXD_EVENT_RESTARTED] = "restarted",
	[LXD_EVENT_DELETED] = "deleted",   [LXD_EVENT_RENAMED] = "renamed",
	[LXD_EVENT_UPDATED] = "updated",
};

const char *lxd_event_action_to_string(enum lxd_event_action action)
{
	if ((size_t)action >= ARRAY_SIZE(action_names))
		return "other";
	return action_names[action];
}

/* "instance-started" -> LXD_EVENT_STARTED; other instance-* -> OTHER. */
static enum lxd_event_action action_from_string(const char *s)
{
	const char *verb = s + strlen("instance-");

	for (size_t i = 1; i < ARRAY_SIZE(action_names); i++)
		if (strcmp(verb, action_names[i]) == 0)
			return (enum lxd_event_action)i;
	return LXD_EVENT_OTHER;
}

void lxd_event_clear(struct lxd_event *ev)
{
	free(ev->project);
	free(ev->instance);
	free(ev->old_name);
	free(ev->location);
	*ev = (struct lxd_event){0};
}

/* A string member of @obj, or NULL if missing, not a string or with NULs. */
static const char *json_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Instance and project names never hold '/' or control characters; one
 * that does is not a name (and must not reach a URL path later).
 */
static bool name_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * Percent-decodes @len bytes of @s; in a query '+' is a space (Go's
 * url.QueryEscape). Returns -EBADMSG for a bad escape or an invalid name.
 */
static int url_decode_name(const char *s, size_t len, bool query, char **ret)
{
	_cleanup_(freep) char *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3)
				return -EBADMSG;
			int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EBADMSG;
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[n++] = query && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[n] = '\0';
	/* A decoded NUL ends the string early: strlen() tells. */
	if (strlen(out) != n || !name_valid(out))
		return -EBADMSG;
	*ret = steal_ptr(&out);
	return 0;
}

/* "project=P" among the '&'-separated pairs of @query, decoded, or NULL. */
static int query_project(const char *query, char **ret)
{
	for (const char *p = query; *p;) {
		size_t n = strcspn(p, "&");
		if (n > 8 && strncmp(p, "project=", 8) == 0)
			return url_decode_name(p + 8, n - 8, true, ret);
		p += n + (p[n] == '&');
	}
	return 0;
}

/*
 * "/1.0/instances/NAME[/snapshots/S][?project=P]": the instance, and the
 * project if the query names one. LXD_EVENT_IGNORED if not an instance path.
 */
static int source_parse(const char *source, char **instance, char **project)
{
	size_t plen = strlen(INSTANCES_PREFIX);

	if (strncmp(source, INSTANCES_PREFIX, plen) != 0)
		return LXD_EVENT_IGNORED;
	const char *name = source + plen;
	size_t n = strcspn(name, "/?");
	int r = url_decode_name(name, n, false, instance);
	if (r < 0)
		return r;
	const char *query = strchr(name + n, '?');
	return query ? query_project(query + 1, project) : 0;
}

static int strdup_to(char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* Instance and project: source first, metadata.name as a fallback. */
static int event_names(struct json_object *root, struct json_object *meta,
		       struct lxd_event *ev)
{
	_cleanup_(freep) char *query_proj = NULL;
	const char *source = json_str(meta, "source");
	const char *project = json_str(root, "project");
	int r = 0;

	if (source)
		r = source_parse(source, &ev->instance, &query_proj);
	if (r < 0)
		return r;
	if (!ev->instance) {
		const char *name = json_str(meta, "name");
		if (!name || !name_valid(name))
			return -EBADMSG;
		r = strdup_to(&ev->instance, name);
		if (r < 0)
			return r;
	}
	if (project && *project) {
		if (!name_valid(project))
			return -EBADMSG;
		return strdup_to(&ev->project, project);
	}
	if (query_proj) {
		ev->project = steal_ptr(&query_proj);
		return 0;
	}
	return strdup_to(&ev->project, "default");
}

static int event_extras(struct json_object *root, struct json_object *meta,
			struct lxd_event *ev)
{
	const char *location = json_str(root, "location");
	int r;

	if (location) {
		r = strdup_to(&ev->location, location);
		if (r < 0)
			return r;
	}
	if (ev->action != LXD_EVENT_RENAMED)
		return 0;
	struct json_object *context = NULL;
	json_object_object_get_ex(meta, "context", &context);
	const char *old = json_str(context, "old_name");
	if (!old)
		return 0;
	if (!name_valid(old))
		return -EBADMSG;
	return strdup_to(&ev->old_name, old);
}

/* Parses exactly @len bytes as one JSON object (trailing blanks allowed). */
static int json_parse_object(const char *json, size_t len,
			     struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *obj = NULL;
	char why[128];

	int r = json_parse_buffer(json, len, &obj, why, sizeof(why));
	if (r < 0)
		return r;
	if (!json_object_is_type(obj, json_type_object))
		return -EBADMSG;
	*ret = steal_ptr(&obj);
	return 0;
}

/* The lifecycle event's metadata and action, or LXD_EVENT_IGNORED. */
static int event_classify(struct json_object *root, struct json_object **meta,
			  const char **action)
{
	const char *type = json_str(root, "type");

	if (!type)
		return -EBADMSG;
	if (strcmp(type, "lifecycle") != 0)
		return LXD_EVENT_IGNORED;
	if (!json_object_object_get_ex(root, "metadata", meta) ||
	    !json_object_is_type(*meta, json_type_object))
		return -EBADMSG;
	*action = json_str(*meta, "action");
	if (!*action)
		return -EBADMSG;
	/* Only instances matter; snapshots, exec, pause... come as OTHER. */
	if (strncmp(*action, "instance-", strlen("instance-")) != 0)
		return LXD_EVENT_IGNORED;
	return 0;
}

int lxd_event_parse(const char *json, size_t len, struct lxd_event *ret)
{
	_cleanup_(json_object_putp) struct json_object *root = NULL;
	_cleanup_(lxd_event_clear) struct lxd_event ev = {0};
	struct json_object *meta = NULL;
	const char *action = NULL;
	int r;

	r = json_parse_object(json, len, &root);
	if (r == 0)
		r = event_classify(root, &meta, &action);
	if (r == 0) {
		ev.action = action_from_string(action);
		r = event_names(root, meta, &ev);
	}
	if (r == 0)
		r = event_extras(root, meta, &ev);
	if (r == -EBADMSG)
		log_debug("lxd events: skipping a malformed event (%zu bytes)",
			  len);
	else if (r == -ENOMEM)
		log_err("lxd events: out of memory parsing an event");
	if (r != 0)
		return r;
	*ret = ev;
	ev = (struct lxd_event){0};
	return 0;
}

struct lxd_events {
	struct ws_conn *ws;
};

void lxd_events_free(struct lxd_events *ev)
{
	if (!ev)
		return;
	ws_conn_free(ev->ws);
	free(ev);
}

int lxd_events_get_fd(const struct lxd_events *ev)
{
	return ws_conn_get_fd(ev->ws);
}

static int unix_connect(const char *path, int flags)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_(closep) int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_err_errno(-ENAMETOOLONG,
				     "LXD socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return log_err_errno(-errno, "socket: %m");
	/* Expected while LXD restarts: the caller retries with backoff. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		log_warning("cannot connect to LXD at %s: %s", path,
			    strerror(-r));
		return r;
	}
	return steal_fd(&fd);
}

int lxd_events_connect(struct lxd_events **ret, const char *socket_path)
{
	_cleanup_(lxd_events_freep) struct lxd_events *ev = NULL;
	int fd, r;

	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return log_err_errno(-ENOMEM, "lxd events: out of memory");
	fd = unix_connect(socket_path, 0);
	if (fd < 0)
		return fd;
	/* ws_conn_new() owns fd from here, even when it fails. */
	r = ws_conn_new(&ev->ws, fd, "lxd", LXD_EVENTS_PATH,
			LXD_EVENTS_HANDSHAKE_TIMEOUT_MS);
	if (r < 0)
		return r;
	log_debug("listening to LXD events on %s", socket_path);
	*ret = steal_ptr(&ev);
	return 0;
}

int lxd_events_start(struct lxd_events **ret, const char *socket_path)
{
	_cleanup_(lxd_events_freep) struct lxd_events *ev = NULL;
	int fd, r;

	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return log_err_errno(-ENOMEM, "lxd events: out of memory");
	/* A unix socket connects at once or not at all (EAGAIN: backlog). */
	fd = unix_connect(socket_path, SOCK_NONBLOCK);
	if (fd < 0)
		return fd;
	r = ws_conn_start(&ev->ws, fd, "lxd", LXD_EVENTS_PATH);
	if (r < 0)
		return r;
	*ret = steal_ptr(&ev);
	return 0;
}

static int dispatch_message(const struct ws_message *msg,
			    lxd_events_handler_t handler, void *userdata)
{
	_cleanup_(lxd_event_clear) struct lxd_event event = {0};
	int r;

	if (msg->opcode != WS_OP_TEXT) {
		log_debug("lxd events: skipping a binary message");
		return 0;
	}
	r = lxd_event_parse((const char *)msg->data, msg->len, &event);
	if (r == -ENOMEM)
		return r;
	if (r != 0)
		return 0;
	log_debug("lxd event: %s %s/%s",
		  lxd_event_action_to_string(event.action), event.project,
		  event.instance);
	handler(&event, userdata);
	return 0;
}

int lxd_events_dispatch(struct lxd_events *ev, lxd_events_handler_t handler,
			void *userdata)
{
	for (;;) {
		struct ws_message msg;
		int r = ws_conn_read(ev->ws, &msg);
		if (r == 0)
			return 0;
		if (r == WS_OPENED)
			return LXD_EVENTS_OPENED;
		if (r == WS_CLOSED) {
			log_info("LXD closed the event stream");
			return LXD_EVENTS_CLOSED;
		}
		if (r < 0)
			return r;
		r = dispatch_message(&msg, handler, userdata);
		if (r < 0)
			return r;
	}
}
