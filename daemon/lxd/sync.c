/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"
#include "devpass/lxd/sync.h"
#include "request.h"

/* One sync in flight: what it works on, how far it got, whom it tells. */
struct sync_ctx {
	struct lxd_client *c;
	char *project;
	char *instance;
	const char *prefix; /* ENTRY_PREFIX-like constant of the caller */
	struct json_object *desired; /* a reference of our own */
	bool has_patch_removal;
	char *path; /* "/1.0/instances/NAME?project=P", escaped */
	unsigned attempt;
	struct lxd_sync_stats stats;
	char *lxd_error;
	lxd_sync_done_t done;
	void *userdata;
};

static void sync_ctx_free(struct sync_ctx *x)
{
	if (!x)
		return;
	free(x->project);
	free(x->instance);
	json_object_put(x->desired);
	json_object_put(x->stats.found);
	free(x->path);
	free(x->lxd_error);
	free(x);
}
DEFINE_FREEP(struct sync_ctx, sync_ctx_free)

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

/* Tells the caller and frees @x: every path of a sync ends here. */
static void sync_finish(struct sync_ctx *ended, int r)
{
	_cleanup_(sync_ctx_freep) struct sync_ctx *x = ended;
	x->done(r, &x->stats, r == -EIO ? x->lxd_error : NULL, x->userdata);
}

static void sync_read(struct sync_ctx *x);

/* After the write (and its operation): done, or read again on a 412. */
static void sync_written(struct sync_ctx *x, int r)
{
	if (r == 0)
		x->stats.writes++;
	if (r != -ESTALE)
		return sync_finish(x, r);
	x->stats.retries++;
	if (++x->attempt < LXD_SYNC_MAX_ATTEMPTS)
		return sync_read(x);
	log_err("instance %s changed under every one of %d attempts to write "
		"its devices; giving up",
		x->instance, LXD_SYNC_MAX_ATTEMPTS);
	sync_finish(x, -ESTALE);
}

static void on_waited(int r, const char *lxd_error, void *userdata)
{
	struct sync_ctx *x = userdata;

	if (r == -EIO && lxd_error) {
		free(x->lxd_error);
		x->lxd_error = strdup(lxd_error);
	}
	sync_written(x, r);
}

/* The write's answer; an async one is waited for as an operation. */
static void on_written(int r, struct lxd_response *resp, void *userdata)
{
	struct sync_ctx *x = userdata;

	if (r == -EIO) {
		free(x->lxd_error);
		x->lxd_error = steal_ptr(&resp->error);
	}
	if (r < 0 || resp->type != LXD_RESPONSE_ASYNC)
		return sync_written(x, r);
	r = lxd_operation_wait_start(x->c, resp->operation,
				     LXD_SYNC_OP_TIMEOUT_S, on_waited, x);
	if (r < 0)
		sync_finish(x, r);
}

/* Building a body fails only for want of memory. */
static int sync_oom(const struct sync_ctx *x)
{
	return log_err_errno(-ENOMEM, "instance %s: out of memory",
			     x->instance);
}

/* The write one read calls for (NULL body: nothing differs). */
static int sync_body(struct sync_ctx *x, struct json_object *inst,
		     struct json_object **body, const char **method)
{
	_cleanup_(json_object_putp) struct json_object *changes = NULL;
	_cleanup_(json_object_putp) struct json_object *empty = NULL;
	struct json_object *current = NULL;
	size_t removals;
	int r;

	if (!json_object_object_get_ex(inst, "devices", &current) ||
	    !json_object_is_type(current, json_type_object))
		current = empty = json_object_new_object();
	if (!current || !(changes = json_object_new_object()))
		return sync_oom(x);
	json_object_put(x->stats.found);
	x->stats.found = json_object_get(current);
	r = devices_diff(x, current, changes, &removals, x->has_patch_removal);
	if (r < 0)
		return sync_oom(x);
	if (json_object_object_length(changes) == 0 && !removals)
		return 0;
	bool put = removals > 0 && !x->has_patch_removal;
	r = put ? body_put(x, inst, current, body)
		: body_patch(inst, changes, body);
	if (r < 0)
		return sync_oom(x);
	*method = put ? "PUT" : "PATCH";
	log_debug("LXD %s %s: %d entries to write, %zu to remove", *method,
		  x->path, json_object_object_length(changes), removals);
	return 0;
}

/* The read's answer: compare, then write what differs, if anything. */
static void on_read(int r, struct json_object *inst, const char *etag,
		    void *userdata)
{
	_cleanup_(json_object_putp) struct json_object *body = NULL;
	struct sync_ctx *x = userdata;
	const char *method = NULL;

	if (r < 0)
		return sync_finish(x, r);
	lxd_client_after_read(x->c);
	if ((r = sync_body(x, inst, &body, &method)) < 0 || !body)
		return sync_finish(x, r);
	r = lxd_request_start(x->c, method, x->path, body, etag, 0, on_written,
			      x);
	if (r < 0)
		sync_finish(x, r);
}

/* One read-compare-write round; on_read() goes on from the answer. */
static void sync_read(struct sync_ctx *x)
{
	int r = lxd_instance_get_start(x->c, x->project, x->instance, on_read,
				       x);
	if (r < 0)
		sync_finish(x, r);
}

/* The sync's context, with copies of what it must keep. */
static int sync_new(struct lxd_client *c, const char *project,
		    const char *instance, const char *prefix,
		    struct json_object *desired, struct sync_ctx **out)
{
	_cleanup_(sync_ctx_freep) struct sync_ctx *x = calloc(1, sizeof(*x));
	int r;

	if (!x || !(x->project = strdup(project)) ||
	    !(x->instance = strdup(instance)))
		return log_err_errno(-ENOMEM, "instance %s: out of memory",
				     instance);
	if ((r = desired_check(desired, prefix)) < 0 ||
	    (r = lxd_instance_path(project, instance, &x->path)) < 0)
		return r;
	x->c = c;
	x->prefix = prefix;
	x->desired = json_object_get(desired);
	*out = steal_ptr(&x);
	return 0;
}

int lxd_instance_sync_start(struct lxd_client *c, const char *project,
			    const char *instance, const char *prefix,
			    struct json_object *desired, bool has_patch_removal,
			    lxd_sync_done_t done, void *userdata)
{
	_cleanup_(sync_ctx_freep) struct sync_ctx *x = NULL;
	int r = sync_new(c, project, instance, prefix, desired, &x);

	if (r < 0)
		return r;
	x->has_patch_removal = has_patch_removal;
	x->done = done;
	x->userdata = userdata;
	r = lxd_instance_get_start(c, project, instance, on_read, x);
	if (r == 0)
		x = NULL; /* on_read() owns it now */
	return r;
}

/* What a blocking sync waits for. */
struct sync_waiter {
	bool done;
	int r;
	struct lxd_sync_stats *stats;
	char **lxd_error;
};

static void sync_waited(int r, const struct lxd_sync_stats *stats,
			const char *lxd_error, void *userdata)
{
	struct sync_waiter *w = userdata;

	*w->stats = *stats;
	w->stats->found =
		NULL; /* borrowed for the call: nobody here wants it */
	if (w->lxd_error && lxd_error)
		*w->lxd_error = strdup(lxd_error);
	w->r = r;
	w->done = true;
}

int lxd_instance_sync_devices(struct lxd_client *c, const char *project,
			      const char *instance, const char *prefix,
			      struct json_object *desired,
			      bool has_patch_removal,
			      struct lxd_sync_stats *stats, char **lxd_error)
{
	struct lxd_sync_stats dummy;
	struct sync_waiter w = {.stats = stats ? stats : &dummy,
				.lxd_error = lxd_error};
	int r;

	*w.stats = (struct lxd_sync_stats){0};
	if (lxd_error)
		*lxd_error = NULL;
	r = lxd_instance_sync_start(c, project, instance, prefix, desired,
				    has_patch_removal, sync_waited, &w);
	if (r < 0 || (r = lxd_client_run(c, &w.done)) < 0)
		return r;
	return w.r;
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
