/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"
#include "devpass/lxd/sync.h"
#include "request.h"

/* One sync: what it works on and where it reports. */
struct sync_ctx {
	struct lxd_client *c;
	const char *instance;
	const char *prefix;
	struct json_object *desired;
	bool has_patch_removal;
	char *path; /* "/1.0/instances/NAME?project=P", escaped */
	struct lxd_sync_stats *stats;
	char **lxd_error;
};

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* LXD takes device options as strings only ("major": 1 is a 400). */
static int entry_check(const char *name, struct json_object *entry)
{
	if (!json_object_is_type(entry, json_type_object))
		return log_err_errno(-EINVAL,
				     "device entry %s is not an object", name);
	json_object_object_foreach(entry, key, val) {
		if (!json_object_is_type(val, json_type_string))
			return log_err_errno(-EINVAL,
					     "device entry %s: option %s is "
					     "not a string",
					     name, key);
	}
	return 0;
}

static int desired_check(struct json_object *desired, const char *prefix)
{
	if (!prefix[0] || !json_object_is_type(desired, json_type_object))
		return log_err_errno(-EINVAL, "bad device sync request");
	json_object_object_foreach(desired, name, entry) {
		if (!has_prefix(name, prefix))
			return log_err_errno(-EINVAL,
					     "device entry %s lacks the %s "
					     "prefix; not ours to write",
					     name, prefix);
		int r = entry_check(name, entry);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The prefixed entries that differ from @desired go into @changes;
 * entries to remove are counted, and added as null when @with_nulls. */
static int devices_diff(const struct sync_ctx *x, struct json_object *current,
			struct json_object *changes, size_t *removals,
			bool with_nulls)
{
	struct json_object *cur;
	int r;

	*removals = 0;
	json_object_object_foreach(x->desired, name, entry) {
		if (json_object_object_get_ex(current, name, &cur) &&
		    json_object_equal(cur, entry))
			continue;
		if ((r = json_add_ref(changes, name, entry)) < 0)
			return r;
	}
	json_object_object_foreach(current, key, val) {
		(void)val;
		if (!has_prefix(key, x->prefix) ||
		    json_object_object_get_ex(x->desired, key, NULL))
			continue;
		(*removals)++;
		if (with_nulls && json_add(changes, key, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* LXD 5.0.2's and Incus 6.0.4's PATCH (and PUT) set the description to ""
 * unless the body has one (PATCH merges config, devices and profiles, not
 * the description), and their ETag does not cover it, so the description
 * read with the ETag goes along unchanged. One that someone else writes
 * between that read and this write is reverted: the read is the request
 * right before the write, to keep that window short (test-daemon's
 * description_kept_but_one_written_inside_our_window). */
static int body_patch(struct json_object *inst, struct json_object *changes,
		      struct json_object **out)
{
	_cleanup_(json_object_putp) struct json_object *body =
		json_object_new_object();
	struct json_object *desc;

	if (!body || json_add_ref(body, "devices", changes) < 0)
		return -ENOMEM;
	if (json_object_object_get_ex(inst, "description", &desc) &&
	    json_add_ref(body, "description", desc) < 0)
		return -ENOMEM;
	*out = steal_ptr(&body);
	return 0;
}

/* The instance as read, with its prefixed entries replaced by @desired:
 * the writable fields of 5.0.2's InstancePut, nothing else changed. */
static int body_put(const struct sync_ctx *x, struct json_object *inst,
		    struct json_object *current, struct json_object **out)
{
	static const char *const keep[] = {"architecture", "config",
					   "ephemeral",	   "profiles",
					   "stateful",	   "description"};
	_cleanup_(json_object_putp) struct json_object *body =
		json_object_new_object();
	struct json_object *devices = json_object_new_object(), *v;

	if (!body || !devices || json_add(body, "devices", devices) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (json_object_object_get_ex(inst, keep[i], &v) &&
		    json_add_ref(body, keep[i], v) < 0)
			return -ENOMEM;
	json_object_object_foreach(current, key, val) {
		if (!has_prefix(key, x->prefix) &&
		    json_add_ref(devices, key, val) < 0)
			return -ENOMEM;
	}
	json_object_object_foreach(x->desired, name, entry) {
		if (json_add_ref(devices, name, entry) < 0)
			return -ENOMEM;
	}
	*out = steal_ptr(&body);
	return 0;
}

/* Sends the write; waits for it when LXD runs it as an operation. */
static int sync_write(const struct sync_ctx *x, const char *method,
		      struct json_object *body, const char *etag)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	char **err = x->lxd_error;
	int r = lxd_request(x->c, method, x->path, body, etag, &resp);

	if (r == -EIO && err) {
		free(*err);
		*err = steal_ptr(&resp.error);
	}
	if (r == 0 && resp.type == LXD_RESPONSE_ASYNC)
		r = lxd_operation_wait(x->c, resp.operation,
				       LXD_SYNC_OP_TIMEOUT_S, err);
	if (r == 0)
		x->stats->writes++;
	return r;
}

/* Building a body fails only for want of memory. */
static int sync_oom(const struct sync_ctx *x)
{
	return log_err_errno(-ENOMEM, "instance %s: out of memory",
			     x->instance);
}

/* One read-compare-write round; -ESTALE when the instance changed. */
static int sync_once(const struct sync_ctx *x, const char *project)
{
	_cleanup_(json_object_putp) struct json_object *inst = NULL;
	_cleanup_(json_object_putp) struct json_object *changes = NULL;
	_cleanup_(json_object_putp) struct json_object *body = NULL;
	_cleanup_(json_object_putp) struct json_object *empty = NULL;
	_cleanup_(freep) char *etag = NULL;
	struct json_object *current = NULL;
	size_t removals;
	int r;

	if ((r = lxd_instance_get(x->c, project, x->instance, &inst, &etag)) <
	    0)
		return r;
	lxd_client_after_read(x->c);
	if (!json_object_object_get_ex(inst, "devices", &current) ||
	    !json_object_is_type(current, json_type_object))
		current = empty = json_object_new_object();
	if (!current || !(changes = json_object_new_object()))
		return sync_oom(x);
	r = devices_diff(x, current, changes, &removals, x->has_patch_removal);
	if (r < 0)
		return sync_oom(x);
	if (json_object_object_length(changes) == 0 && !removals)
		return 0;
	bool put = removals > 0 && !x->has_patch_removal;
	r = put ? body_put(x, inst, current, &body)
		: body_patch(inst, changes, &body);
	if (r < 0)
		return sync_oom(x);
	log_debug("LXD %s %s: %d entries to write, %zu to remove",
		  put ? "PUT" : "PATCH", x->path,
		  json_object_object_length(changes), removals);
	return sync_write(x, put ? "PUT" : "PATCH", body, etag);
}

int lxd_instance_sync_devices(struct lxd_client *c, const char *project,
			      const char *instance, const char *prefix,
			      struct json_object *desired,
			      bool has_patch_removal,
			      struct lxd_sync_stats *stats, char **lxd_error)
{
	_cleanup_(freep) char *path = NULL;
	struct lxd_sync_stats dummy;
	struct sync_ctx x = {
		.c = c,
		.instance = instance,
		.prefix = prefix,
		.desired = desired,
		.has_patch_removal = has_patch_removal,
		.stats = stats ? stats : &dummy,
		.lxd_error = lxd_error,
	};
	int r;

	*x.stats = (struct lxd_sync_stats){0};
	if (lxd_error)
		*lxd_error = NULL;
	if ((r = desired_check(desired, prefix)) < 0 ||
	    (r = lxd_instance_path(project, instance, &path)) < 0)
		return r;
	x.path = path;
	for (unsigned i = 0; i < LXD_SYNC_MAX_ATTEMPTS; i++) {
		r = sync_once(&x, project);
		if (r != -ESTALE)
			return r;
		x.stats->retries++;
	}
	return log_err_errno(-ESTALE,
			     "instance %s changed under every one of %d "
			     "attempts to write its devices; giving up",
			     instance, LXD_SYNC_MAX_ATTEMPTS);
}

char *lxd_error_device(const char *lxd_error, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (const char *q = lxd_error ? strchr(lxd_error, '"') : NULL; q;
	     q = strchr(q + 1, '"')) {
		const char *s = q + 1;
		size_t n = 0;
		while (text_is_device_name_char(s[n]))
			n++;
		if (s[n] == '"' && n >= plen && strncmp(s, prefix, plen) == 0)
			return strndup(s, n);
	}
	return NULL;
}
