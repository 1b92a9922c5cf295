/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/model/device-json.h"
#include "devpass/service/outcome.h"

static void outcome_clear(struct outcome *x)
{
	free(x->syspath);
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
		 const char *state, const char *reason)
{
	struct outcome *grown = realloc(o->v, (o->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	o->v = grown;
	struct outcome *x = &o->v[o->n];
	*x = (struct outcome){
		.syspath = strdup(pl->device->syspath),
		.rule = strdup(pl->rule->name),
		.project = strdup(pl->rule->project),
		.instance = pl->target ? strdup(pl->target->name) : NULL,
		.state = state,
		.reason = reason ? strdup(reason) : NULL,
		.entries = pl->entries ? json_object_get(pl->entries) : NULL,
	};
	if (!x->syspath || !x->rule || !x->project ||
	    (pl->target && !x->instance) || (reason && !x->reason)) {
		outcome_clear(x);
		return -ENOMEM;
	}
	o->n++;
	return 0;
}

bool outcomes_all_attached(const struct outcomes *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].state, "attached") != 0 &&
		    strcmp(o->v[i].state, "would-attach") != 0)
			return false;
	return true;
}

static const struct outcome *outcome_of(const struct outcomes *o,
					const struct device *d)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].syspath, d->syspath) == 0)
			return &o->v[i];
	return NULL;
}

static json_object *entry_names(json_object *entries)
{
	json_object *a = json_object_new_array();
	json_object_object_foreach(entries, name, value)
	{
		(void)value;
		json_object_array_add(a, json_object_new_string(name));
	}
	return a;
}

static void add_fields(json_object *j, const char *rule, const char *project,
		       const char *instance, const char *state,
		       const char *reason, json_object *entries)
{
	json_object_object_add(j, "rule", json_string_or_null(rule));
	json_object_object_add(j, "project", json_string_or_null(project));
	json_object_object_add(j, "instance", json_string_or_null(instance));
	json_object_object_add(j, "state", json_object_new_string(state));
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
	const struct outcome *x = outcome_of(o, d);
	json_object *j = device_json_new(d);
	if (!j)
		return NULL;
	if (x)
		add_fields(j, x->rule, x->project, x->instance, x->state,
			   x->reason, x->entries);
	else
		add_fields(j, owner ? owner->name : NULL,
			   owner ? owner->project : NULL, NULL,
			   owner ? "pending" : "unmatched",
			   owner ? pending_why : NULL, NULL);
	return j;
}
