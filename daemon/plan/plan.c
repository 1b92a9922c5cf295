/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/rules/match.h"
#include "devpass/plan/plan.h"
#include "devpass/util/text.h"
#include "plan-internal.h"

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

/* Does @inst already hold any entry of @entries? */
static bool holds_any(const struct instance *inst, json_object *entries)
{
	json_object_object_foreach(entries, name, value) {
		(void)value;
		if (inst->entries &&
		    json_object_object_get_ex(inst->entries, name, NULL))
			return true;
	}
	return false;
}

/*
 * The entries @p's device gets on @inst. Return: 0 and *@out (*@why a
 * note or NULL); ENTRIES_E_REFUSED and *@why when @inst cannot take it
 * (a privileged container, a PCI device to a container...); -ENOMEM.
 */
static int entries_for(const struct placement *p, const struct instance *inst,
		       const struct plan_features *f, json_object **out,
		       char **why)
{
	if (inst->type == INSTANCE_CONTAINER && inst->privileged &&
	    !p->rule->allow_privileged) {
		*why = text_printf(
			"%s is a privileged container "
			"(security.privileged=true) and rule %s does not "
			"say AllowPrivileged=yes",
			inst->name, p->rule->name);
		return *why ? ENTRIES_E_REFUSED : -ENOMEM;
	}
	return entries_build(p->rule, p->device, inst->type, f->usb_serial, out,
			     why);
}

/* Sets @p's state and its reason (owned; NULL is -ENOMEM). */
static int set_reason(struct placement *p, enum placement_state state,
		      char *reason)
{
	p->state = state;
	free(p->reason);
	p->reason = reason;
	return reason ? 0 : -ENOMEM;
}

/* @p goes to @inst with @entries and @note (both owned, may be NULL). */
static void take_target(struct placement *p, const struct instance *inst,
			json_object *entries, char *note)
{
	p->state = PLACEMENT_ATTACH;
	p->target = inst;
	p->entries = entries;
	free(p->reason);
	p->reason = note;
}

/* The instance @name of @project if it is on this member: only those take
 * this host's devices (instance.h). */
static const struct instance *find_here(const struct instance_set *set,
					const char *project, const char *name)
{
	const struct instance *inst = instance_set_find(set, project, name);
	return inst && !inst->elsewhere ? inst : NULL;
}

/* What keeps @name from taking a device: "is not running", "does not
 * exist", "is on cluster member m2". */
static char *why_not(const struct instance_set *set, const char *project,
		     const char *name)
{
	const struct instance *inst = instance_set_find(set, project, name);
	if (inst && inst->elsewhere)
		return text_printf("%s is on cluster member %s", name,
				   inst->elsewhere);
	return text_printf("%s %s", name,
			   inst ? "is not running" : "does not exist");
}

/* "kiosk-1 is not running, kiosk-2 does not exist (project default)". */
static char *waiting_reason(const struct rule *r,
			    const struct instance_set *set)
{
	_cleanup_(strv_freep) char **parts = NULL;
	STRV_FOREACH(n, r->instances) {
		_cleanup_(freep) char *part = why_not(set, r->project, *n);
		if (!part || strv_push(&parts, part) < 0)
			return NULL;
	}
	_cleanup_(freep) char *list = strv_join(parts, ", ");
	return list ? text_printf("%s (project %s)", list, r->project) : NULL;
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

/* Why the instances of a rule's list did not take a device: the first
 * refusal seen, and the first wait for the device's nodes. */
struct why_not {
	char *refused;
	char *waiting;
};

static void why_not_clear(struct why_not *w)
{
	free(w->refused);
	free(w->waiting);
}

/* Keeps the first reason of each kind (@r: entries_build()'s); frees the
 * others. */
static void keep_why_not(struct why_not *w, int r, char *why)
{
	char **kept = r == ENTRIES_E_NO_NODES ? &w->waiting : &w->refused;
	if (!*kept)
		*kept = why;
	else
		free(why);
}

/* An instance that can take the device, with what it would get there. */
struct candidate {
	const struct instance *inst;
	json_object *entries;
	char *note;
};

static void candidate_clear(struct candidate *c)
{
	json_object_put(c->entries);
	free(c->note);
	*c = (struct candidate){0};
}

/*
 * Whether @inst can take @p's device: 0 and @c filled (c->inst NULL when
 * it cannot; why kept in *@why_not), or -ENOMEM.
 */
static int consider(const struct placement *p, const struct instance *inst,
		    const struct plan_features *f, struct why_not *why_not,
		    struct candidate *c)
{
	char *why = NULL;
	json_object *e = NULL;
	int r = entries_for(p, inst, f, &e, &why);
	if (r < 0)
		return r;
	if (r == ENTRIES_E_REFUSED || r == ENTRIES_E_NO_NODES) {
		keep_why_not(why_not, r, why);
		return 0;
	}
	*c = (struct candidate){inst, e, why};
	return 0;
}

static void take_candidate(struct placement *p, struct candidate *c)
{
	take_target(p, c->inst, steal_ptr(&c->entries), steal_ptr(&c->note));
	c->inst = NULL;
}

/* The running instances: one that holds the device's entries already,
 * else the first that takes the device now. */
static int place_running(struct placement *p, const struct instance_set *set,
			 const struct plan_features *f, struct why_not *why_not)
{
	_cleanup_(candidate_clear) struct candidate first = {0};
	STRV_FOREACH(n, p->rule->instances) {
		_cleanup_(candidate_clear) struct candidate c = {0};
		const struct instance *inst =
			find_here(set, p->rule->project, *n);
		if (!inst || !inst->running)
			continue;
		int r = consider(p, inst, f, why_not, &c);
		if (r < 0)
			return r;
		if (c.inst && holds_any(inst, c.entries)) {
			take_candidate(p, &c);
			return 0;
		}
		if (c.inst && !first.inst && takes_now(p, inst, f)) {
			first = c;
			c = (struct candidate){0};
		}
	}
	if (first.inst)
		take_candidate(p, &first);
	return 0;
}

/*
 * A PCI device no running instance can take now goes to the first instance
 * of its list that exists and could take it: a stopped one gets the entry
 * in its config (it takes the device when it starts); a running VM without
 * pci_hotplug is waited for: the entry is written once it stops.
 * *@placed stays false when no instance of the list could take it.
 */
static int place_at_rest(struct placement *p, const struct instance_set *set,
			 const struct plan_features *f, struct why_not *why_not,
			 bool *placed)
{
	STRV_FOREACH(n, p->rule->instances) {
		_cleanup_(candidate_clear) struct candidate c = {0};
		const struct instance *inst =
			find_here(set, p->rule->project, *n);
		int r = inst ? consider(p, inst, f, why_not, &c) : 0;
		if (r < 0)
			return r;
		if (!c.inst)
			continue;
		*placed = true;
		if (inst->running)
			return set_reason(
				p, PLACEMENT_WAITING,
				text_printf("waits for %s's next start: LXD "
					    "lacks pci_hotplug",
					    inst->name));
		take_candidate(p, &c);
		return set_reason(
			p, PLACEMENT_ATTACH,
			text_printf("in %s's config: %s is stopped and "
				    "takes it when it starts",
				    inst->name, inst->name));
	}
	return 0;
}

/* Which instance of the rule's list to use (see plan.h). */
static int place(struct placement *p, const struct instance_set *set,
		 const struct plan_features *f)
{
	_cleanup_(why_not_clear) struct why_not why_not = {0};
	bool placed = false;
	int r = place_running(p, set, f, &why_not);
	if (r == 0 && !p->target && p->device->subsystem == DEVICE_PCI)
		r = place_at_rest(p, set, f, &why_not, &placed);
	if (r < 0 || p->target || placed)
		return r;
	if (why_not.refused)
		return set_reason(p, PLACEMENT_REFUSED,
				  steal_ptr(&why_not.refused));
	if (why_not.waiting)
		return set_reason(p, PLACEMENT_WAITING,
				  steal_ptr(&why_not.waiting));
	return set_reason(p, PLACEMENT_WAITING, waiting_reason(p->rule, set));
}

/* Without device_usb_serial a VM's usb entry names only vendor and
 * product: say so when another device has the same ids. */
static const struct device *usb_twin(const struct placement *p,
				     const struct device_list *l,
				     const struct plan_features *f)
{
	const struct device *d = p->device;
	if (p->state != PLACEMENT_ATTACH || d->subsystem != DEVICE_USB ||
	    p->target->type != INSTANCE_VM || f->usb_serial)
		return NULL;
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct device *o = l->devices[i];
		if (o != d && o->subsystem == DEVICE_USB &&
		    o->vendor == d->vendor && o->product == d->product)
			return o;
	}
	return NULL;
}

static int note_usb_twin(struct placement *p, const struct device_list *l,
			 const struct plan_features *f)
{
	const struct device *twin = usb_twin(p, l, f);
	if (!twin)
		return 0;
	return set_reason(
		p, PLACEMENT_ATTACH,
		text_printf("LXD lacks device_usb_serial: the entry takes "
			    "any %04x:%04x device, and %s is one too",
			    p->device->vendor, p->device->product, twin->id));
}

int plan_build(const struct ruleset *rs, const struct device_list *devices,
	       const struct instance_set *instances,
	       const struct plan_features *features,
	       const struct host_guard *host, struct plan **out)
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
