/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"
#include "devpass/model/device-json.h"
#include "devpass/service/outcome.h"

const char *outcome_state_to_string(enum outcome_state s)
{
	switch (s) {
	case OUTCOME_ATTACHED:
		return "attached";
	case OUTCOME_WOULD_ATTACH:
		return "would-attach";
	case OUTCOME_WAITING:
		return "waiting";
	case OUTCOME_REFUSED:
		return "refused";
	case OUTCOME_PENDING:
		return "pending";
	case OUTCOME_UNMATCHED:
		return "unmatched";
	}
	return "unknown";
}

static void outcome_clear(struct outcome *x)
{
	free(x->syspath);
	free(x->device);
	free(x->rule);
	free(x->project);
	free(x->instance);
	free(x->reason);
	json_object_put(x->entries);
}

void outcomes_clear(struct outcomes *o)
{
	for (size_t i = 0; i < o->n; i++)
		outcome_clear(&o->v[i]);
	free(o->v);
	*o = (struct outcomes){0};
}

int outcomes_add(struct outcomes *o, const struct placement *pl,
		 enum outcome_state state, const char *reason)
{
	struct outcome *grown = realloc(o->v, (o->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	o->v = grown;
	struct outcome *x = &o->v[o->n];
	*x = (struct outcome){
		.syspath = strdup(pl->device->syspath),
		.device = strdup(pl->device->id),
		.rule = strdup(pl->rule->name),
		.project = strdup(pl->rule->project),
		.instance = pl->target ? strdup(pl->target->name) : NULL,
		.state = state,
		.reason = reason ? strdup(reason) : NULL,
		.entries = pl->entries ? json_object_get(pl->entries) : NULL,
	};
	if (!x->syspath || !x->device || !x->rule || !x->project ||
	    (pl->target && !x->instance) || (reason && !x->reason)) {
		outcome_clear(x);
		return -ENOMEM;
	}
	o->n++;
	return 0;
}

static bool is_attached(enum outcome_state s)
{
	return s == OUTCOME_ATTACHED || s == OUTCOME_WOULD_ATTACH;
}

bool outcomes_all_attached(const struct outcomes *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (!is_attached(o->v[i].state))
			return false;
	return true;
}

static const struct outcome *outcome_by_syspath(const struct outcomes *o,
						const char *syspath)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].syspath, syspath) == 0)
			return &o->v[i];
	return NULL;
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a && b && a->state == b->state && streq_ptr(a->rule, b->rule) &&
	       streq_ptr(a->instance, b->instance) &&
	       streq_ptr(a->reason, b->reason);
}

/* "10-cam 1-7: waiting: c3 is not running (project default)". */
static void log_outcome(const struct outcome *x)
{
	log_msg(x->state == OUTCOME_REFUSED ? LOG_WARNING : LOG_NOTICE,
		"%s %s%s%s%s%s: %s: %s", x->rule, x->device,
		x->instance ? " for " : "", x->instance ? x->project : "",
		x->instance ? "/" : "", x->instance ? x->instance : "",
		outcome_state_to_string(x->state),
		x->reason ? x->reason : "(no reason known)");
}

void outcomes_log_changes(const struct outcomes *before,
			  const struct outcomes *now)
{
	for (size_t i = 0; i < now->n; i++) {
		const struct outcome *x = &now->v[i];
		if (!is_attached(x->state) &&
		    !same(x, outcome_by_syspath(before, x->syspath)))
			log_outcome(x);
	}
}

static json_object *entry_names(json_object *entries)
{
	json_object *a = json_object_new_array();
	json_object_object_foreach(entries, name, value) {
		(void)value;
		json_object_array_add(a, json_object_new_string(name));
	}
	return a;
}

static void add_fields(json_object *j, const char *rule, const char *project,
		       const char *instance, enum outcome_state state,
		       const char *reason, json_object *entries)
{
	json_object_object_add(j, "rule", json_string_or_null(rule));
	json_object_object_add(j, "project", json_string_or_null(project));
	json_object_object_add(j, "instance", json_string_or_null(instance));
	json_object_object_add(
		j, "state",
		json_object_new_string(outcome_state_to_string(state)));
	json_object_object_add(j, "reason", json_string_or_null(reason));
	json_object_object_add(j, "entries",
			       entries ? entry_names(entries)
				       : json_object_new_array());
}

json_object *outcome_device_json(const struct outcomes *o,
				 const struct device *d,
				 const struct rule *owner,
				 const char *pending_why)
{
	const struct outcome *x = outcome_by_syspath(o, d->syspath);
	json_object *j = device_json_new(d);
	if (!j)
		return NULL;
	if (x)
		add_fields(j, x->rule, x->project, x->instance, x->state,
			   x->reason, x->entries);
	else
		add_fields(j, owner ? owner->name : NULL,
			   owner ? owner->project : NULL, NULL,
			   owner ? OUTCOME_PENDING : OUTCOME_UNMATCHED,
			   owner ? pending_why : NULL, NULL);
	return j;
}

static const char *field(json_object *o, const char *key)
{
	return json_object_get_string(json_object_object_get(o, key));
}

/* Whether a device of `devpass status` is wanted somewhere and is not
 * there. */
static bool not_attached(const char *state)
{
	return state && strcmp(state, "attached") != 0 &&
	       strcmp(state, "would-attach") != 0 &&
	       strcmp(state, "unmatched") != 0;
}

/* "1-3 (waiting), 0000:00:05.0 (refused)"; logs each pending device.
 * Return: the list (NULL on ENOMEM), *@n the devices in it. */
static char *not_attached_list(json_object *devices, size_t *n)
{
	_cleanup_(strv_freep) char **parts = NULL;
	*n = 0;
	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		json_object *d = json_object_array_get_idx(devices, i);
		const char *state = field(d, "state");
		if (!not_attached(state))
			continue;
		if (strcmp(state, "pending") == 0)
			log_notice("%s %s: not attached: %s", field(d, "rule"),
				   field(d, "id"),
				   field(d, "reason") ?: "LXD was not reached");
		_cleanup_(freep) char *part =
			text_printf("%s (%s)", field(d, "id"), state);
		if (!part || strv_push(&parts, part) < 0)
			return NULL;
		(*n)++;
	}
	return strv_join(parts, ", ");
}

void outcome_log_once(json_object *status, int code)
{
	size_t n;
	_cleanup_(freep) char *list = not_attached_list(
		json_object_object_get(status, "devices"), &n);
	const char *lxd = field(json_object_object_get(status, "lxd"), "error");
	if (code == 0)
		log_info("--once: exit 0: every device a rule owns is "
			 "attached");
	else if (code == 1)
		log_notice("--once: exit 1: %zu device%s not attached: %s", n,
			   n == 1 ? "" : "s", list ? list : "?");
	else
		log_err("--once: exit %d: %s; %zu device%s a rule owns not "
			"attached%s%s",
			code, lxd ? lxd : "it failed (above)", n,
			n == 1 ? "" : "s", n ? ": " : "",
			n && list ? list : "");
}
