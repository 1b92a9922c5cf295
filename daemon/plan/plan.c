/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/rules/match.h"
#include "devpass/plan/plan.h"
#include "plan-internal.h"

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
static char *waiting_reason(const struct rule *r,
			    const struct instance_set *set)
{
	char *s = strdup("");
	for (char **n = r->instances; s && *n; n++) {
		const struct instance *inst =
			instance_set_find(set, r->project, *n);
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

/* Whether @inst can take @p's device now: it runs, and a PCI device to a
 * VM needs LXD's pci_hotplug. */
static bool takes_now(const struct placement *p, const struct instance *inst,
		      const struct plan_features *f)
{
	return inst->running &&
	       (p->device->subsystem != DEVICE_PCI ||
		inst->type == INSTANCE_CONTAINER || f->pci_hotplug);
}

/* Keeps the first refusal seen; frees the others. */
static void keep_refusal(char **refusal, char *why)
{
	if (!*refusal)
		*refusal = why;
	else
		free(why);
}

/* The running instances: a holder first, else the first that takes the
 * device now. */
static void place_running(struct placement *p, const struct instance_set *set,
			  const struct plan_features *f, char **refusal)
{
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
				keep_refusal(refusal, why);
				continue;
			}
			if (pass == 0 ? holds_any(inst, e)
				      : takes_now(p, inst, f))
				take_target(p, inst, steal_ptr(&e));
		}
	}
}

/*
 * A PCI device no running instance can take now goes to the first instance
 * of its list that exists and could take it: a stopped one gets the entry
 * in its config (it takes the device when it starts); a running VM without
 * pci_hotplug is waited for: the entry is written once it stops.
 */
static int place_at_rest(struct placement *p, const struct instance_set *set,
			 const struct plan_features *f, char **refusal)
{
	for (char **n = p->rule->instances; *n; n++) {
		const struct instance *inst =
			instance_set_find(set, p->rule->project, *n);
		char *why = NULL, *note = NULL;
		if (!inst)
			continue;
		json_object *e = entries_for(p, inst, f, &why);
		if (!e) {
			keep_refusal(refusal, why);
			continue;
		}
		if (inst->running) {
			json_object_put(e);
			if (asprintf(&note,
				     "waits for %s's next start: LXD lacks "
				     "pci_hotplug",
				     inst->name) < 0)
				note = NULL;
			return set_reason(p, PLACEMENT_WAITING, note);
		}
		take_target(p, inst, e);
		if (asprintf(&note,
			     "in %s's config: %s is stopped and takes it "
			     "when it starts",
			     inst->name, inst->name) < 0)
			return -ENOMEM;
		p->reason = note;
		return 0;
	}
	return 1;
}

/* Which instance of the rule's list to use (see plan.h). */
static int place(struct placement *p, const struct instance_set *set,
		 const struct plan_features *f)
{
	_cleanup_(freep) char *refusal = NULL;
	place_running(p, set, f, &refusal);
	if (p->target)
		return 0;
	if (p->device->subsystem == DEVICE_PCI) {
		int r = place_at_rest(p, set, f, &refusal);
		if (r <= 0)
			return r;
	}
	if (refusal)
		return set_reason(p, PLACEMENT_REFUSED, steal_ptr(&refusal));
	char *why = waiting_reason(p->rule, set);
	return set_reason(p, PLACEMENT_WAITING, why);
}

/* Without device_usb_serial a VM's usb entry names only vendor and
 * product: say so when another device has the same ids. */
static int note_usb_twin(struct placement *p, const struct device_list *l,
			 const struct plan_features *f)
{
	const struct device *d = p->device;
	if (p->state != PLACEMENT_ATTACH || d->subsystem != DEVICE_USB ||
	    p->target->type != INSTANCE_VM || f->usb_serial)
		return 0;
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct device *o = l->devices[i];
		char *note = NULL;
		if (o == d || o->subsystem != DEVICE_USB ||
		    o->vendor != d->vendor || o->product != d->product)
			continue;
		if (asprintf(&note,
			     "LXD lacks device_usb_serial: the entry "
			     "takes any %04x:%04x device, and %s is one too",
			     d->vendor, d->product, o->id) < 0)
			return -ENOMEM;
		free(p->reason);
		p->reason = note;
		return 0;
	}
	return 0;
}

int plan_build(const struct ruleset *rs, const struct device_list *devices,
	       const struct instance_set *instances,
	       const struct plan_features *features,
	       const struct pci_host *host, struct plan **out)
{
	_cleanup_(plan_freep) struct plan *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->placements = calloc(devices->n_devices + 1, sizeof(*p->placements));
	if (!p->placements)
		return -ENOMEM;
	for (size_t i = 0; i < devices->n_devices; i++) {
		const struct rule *r = match_ruleset(rs, devices->devices[i]);
		if (!r)
			continue;
		struct placement *pl = &p->placements[p->n_placements++];
		pl->device = devices->devices[i];
		pl->rule = r;
		int err = place(pl, instances, features);
		if (err == 0)
			err = note_usb_twin(pl, devices, features);
		if (err < 0)
			return err;
	}
	int r = plan_iommu(p, devices, host);
	if (r < 0)
		return r;
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
