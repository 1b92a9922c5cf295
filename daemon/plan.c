/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "devpass/json.h"
#include "devpass/match.h"
#include "devpass/plan.h"


void instance_set_free(struct instance_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_instances; i++) {
		free(s->instances[i].project);
		free(s->instances[i].name);
		json_object_put(s->instances[i].entries);
	}
	free(s->instances);
	free(s);
}

struct instance *instance_set_find(const struct instance_set *s,
				   const char *project, const char *name)
{
	for (size_t i = 0; s && i < s->n_instances; i++)
		if (strcmp(s->instances[i].name, name) == 0 &&
		    strcmp(s->instances[i].project, project) == 0)
			return &s->instances[i];
	return NULL;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_placements; i++) {
		json_object_put(p->placements[i].entries);
		free(p->placements[i].reason);
	}
	free(p->placements);
	free(p);
}

const char *placement_state_to_string(enum placement_state s)
{
	switch (s) {
	case PLACEMENT_ATTACH:
		return "attach";
	case PLACEMENT_WAITING:
		return "waiting";
	case PLACEMENT_REFUSED:
		return "refused";
	}
	return "?";
}

/* Does @inst already hold any entry of @entries? */
static bool holds_any(const struct instance *inst, json_object *entries)
{
	json_object_object_foreach(entries, name, value)
	{
		(void)value;
		if (inst->entries &&
		    json_object_object_get_ex(inst->entries, name, NULL))
			return true;
	}
	return false;
}

/*
 * The entries @d would get on @inst, or NULL with *why set when @inst
 * cannot take it (privileged container, a PCI device to a container...).
 */
static json_object *entries_for(const struct placement *p,
				const struct instance *inst,
				const struct plan_features *f, char **why)
{
	json_object *map = NULL;
	if (inst->type == INSTANCE_CONTAINER && inst->privileged &&
	    !p->rule->allow_privileged) {
		if (asprintf(why,
			     "%s is a privileged container "
			     "(security.privileged=true) and rule %s does not "
			     "say AllowPrivileged=yes",
			     inst->name, p->rule->name) < 0)
			*why = NULL;
		return NULL;
	}
	if (entries_build(p->rule, p->device, inst->type, f->usb_serial, &map,
			  why) != 0)
		return NULL;
	return map;
}

static int set_reason(struct placement *p, enum placement_state state,
		      char *reason)
{
	p->state = state;
	free(p->reason);
	p->reason = reason;
	return reason ? 0 : -ENOMEM;
}

static void take_target(struct placement *p, const struct instance *inst,
			json_object *entries)
{
	p->state = PLACEMENT_ATTACH;
	p->target = inst;
	p->entries = entries;
	free(p->reason);
	p->reason = NULL;
}

/* "kiosk-1 is stopped, kiosk-2 does not exist (project default)". */
static char *waiting_reason(const struct rule *r, const struct instance_set *set)
{
	char *s = strdup("");
	for (char **n = r->instances; s && *n; n++) {
		const struct instance *inst = instance_set_find(set, r->project, *n);
		char *grown = NULL;
		if (asprintf(&grown, "%s%s%s %s", s, *s ? ", " : "", *n,
			     inst ? "is not running" : "does not exist") < 0)
			grown = NULL;
		free(s);
		s = grown;
	}
	char *why = NULL;
	if (s && asprintf(&why, "%s (project %s)", s, r->project) < 0)
		why = NULL;
	free(s);
	return why;
}

/* Which instance of the rule's list to use: a holder first, else the first
 * running one that can take the device. */
static int place(struct placement *p, const struct instance_set *set,
		 const struct plan_features *f)
{
	char *refusal = NULL;
	for (int pass = 0; pass < 2 && !p->target; pass++) {
		for (char **n = p->rule->instances; *n && !p->target; n++) {
			const struct instance *inst =
				instance_set_find(set, p->rule->project, *n);
			if (!inst || !inst->running)
				continue;
			char *why = NULL;
			_cleanup_(json_object_putp) json_object *e =
				entries_for(p, inst, f, &why);
			if (!e) {
				if (!refusal)
					refusal = why;
				else
					free(why);
				continue;
			}
			if (pass == 1 || holds_any(inst, e))
				take_target(p, inst, steal_ptr(&e));
		}
	}
	if (p->target) {
		free(refusal);
		return 0;
	}
	if (refusal)
		return set_reason(p, PLACEMENT_REFUSED, refusal);
	char *why = waiting_reason(p->rule, set);
	return set_reason(p, PLACEMENT_WAITING, why);
}

int plan_build(const struct ruleset *rs, const struct device_list *devices,
	       const struct instance_set *instances,
	       const struct plan_features *features, struct plan **out)
{
	_cleanup_(plan_freep) struct plan *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->placements = calloc(devices->n_devices + 1, sizeof(*p->placements));
	if (!p->placements)
		return -ENOMEM;
	for (size_t i = 0; i < devices->n_devices; i++) {
		const struct rule *r = ruleset_match(rs, devices->devices[i]);
		if (!r)
			continue;
		struct placement *pl = &p->placements[p->n_placements++];
		pl->device = devices->devices[i];
		pl->rule = r;
		int err = place(pl, instances, features);
		if (err < 0)
			return err;
	}
	*out = steal_ptr(&p);
	return 0;
}

json_object *plan_desired_entries(const struct plan *p,
				  const struct instance *inst)
{
	json_object *all = json_object_new_object();
	for (size_t i = 0; all && i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		if (pl->target != inst)
			continue;
		json_object_object_foreach(pl->entries, name, value)
			json_object_object_add(all, name,
					       json_object_get(value));
	}
	return all;
}
