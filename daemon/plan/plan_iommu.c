/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IOMMU pass of the plan (plan.h says what it decides). Runs after
 * every placement has its target, because IommuGroup=strict accepts a
 * member bound to a host driver when that member goes to the same VM, and
 * IommuGroup=whole must know where the group's other functions go.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/util/text.h"
#include "plan-internal.h"

/*
 * What a check did besides failing: 0, the placement passed (or is none of
 * the check's business); PLAN_IOMMU_E_REFUSED, the check refused it.
 */
enum plan_iommu_outcome {
	PLAN_IOMMU_E_REFUSED = 1,
};

static const char *name_of(const struct device *d)
{
	return d->name ? d->name : "no name";
}

static bool to_vm(const struct placement *pl)
{
	return pl->state == PLACEMENT_ATTACH &&
	       pl->device->subsystem == DEVICE_PCI &&
	       pl->target->type == INSTANCE_VM && !pl->with;
}

static struct placement *placement_of(struct plan *p, const struct device *d)
{
	for (size_t i = 0; i < p->n_placements; i++)
		if (p->placements[i].device == d)
			return &p->placements[i];
	return NULL;
}

/* A pattern without glob characters names one address exactly. */
static bool pattern_is(const char *pattern, const char *address)
{
	return !strpbrk(pattern, "*?[\\") && strcasecmp(pattern, address) == 0;
}

/* Whether @r has a plain Address= value equal to @address: a rule naming
 * a device the host needs passes it anyway. */
static bool rule_names_address(const struct rule *r, const char *address)
{
	for (size_t i = 0; r && i < r->n_terms; i++) {
		const struct match_term *t = &r->terms[i];
		if (t->key != MATCH_ADDRESS || t->negate)
			continue;
		for (char **p = t->patterns; p && *p; p++)
			if (pattern_is(*p, address))
				return true;
	}
	return false;
}

static bool same_group(const struct device *a, const struct device *b)
{
	return a != b && b->subsystem == DEVICE_PCI && a->iommu_group >= 0 &&
	       a->iommu_group == b->iommu_group;
}

/* Sets @pl REFUSED with a reason. Return: PLAN_IOMMU_E_REFUSED, -ENOMEM. */
_printf_(2, 3) static int refuse(struct placement *pl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = text_vprintf(fmt, ap);
	va_end(ap);
	json_object_put(pl->entries);
	pl->entries = NULL;
	pl->target = NULL;
	pl->state = PLACEMENT_REFUSED;
	free(pl->reason);
	pl->reason = why;
	return why ? PLAN_IOMMU_E_REFUSED : -ENOMEM;
}

/* What keeps @pl's own device from any VM, whatever its group says. */
static int check_host(struct placement *pl, const struct host_guard *h)
{
	const struct device *d = pl->device;
	const char *need = host_guard_needs(h, d);
	if (need && !rule_names_address(pl->rule, d->id))
		return refuse(pl,
			      "%s stays with the host: %s; a rule naming "
			      "Address=%s passes it anyway",
			      d->id, need, d->id);
	if (pl->rule->iommu == IOMMU_POLICY_IGNORE)
		return 0;
	if (!h || !h->iommu)
		return refuse(pl, "%s cannot go to VM %s: %s", d->id,
			      pl->target->name, host_guard_no_iommu_advice);
	if (d->iommu_group < 0)
		return refuse(pl,
			      "%s is in no IOMMU group, so it cannot go to "
			      "a VM (IommuGroup=ignore skips this check)",
			      d->id);
	return 0;
}

/* Refuses @pl when member @m keeps its group from going whole to its VM.
 * Return: 0, PLAN_IOMMU_E_REFUSED or -ENOMEM. */
static int whole_blocker(struct plan *p, struct placement *pl,
			 const struct device *m, const struct host_guard *h)
{
	struct placement *pm = placement_of(p, m);
	const char *need = host_guard_needs(h, m);
	if (need && !rule_names_address(pl->rule, m->id) &&
	    !(pm && rule_names_address(pm->rule, m->id)))
		return refuse(pl,
			      "IOMMU group %d goes whole, but the host needs "
			      "%s (%s): %s; a rule naming Address=%s passes "
			      "it anyway",
			      m->iommu_group, m->id, name_of(m), need, m->id);
	if (!pm || (pm->state == PLACEMENT_ATTACH && pm->target == pl->target))
		return 0;
	return refuse(pl,
		      "IOMMU group %d goes whole to %s, but its %s (%s) is "
		      "rule %s's and %s",
		      m->iommu_group, pl->target->name, m->id, name_of(m),
		      pm->rule->name,
		      pm->state == PLACEMENT_ATTACH ? "goes to another instance"
		      : pm->state == PLACEMENT_WAITING ? "waits"
						       : "is refused");
}

/* @pm goes along with @carrier: its entries are the carrier's. */
static int cover(struct placement *pm, const struct placement *carrier)
{
	char *why = NULL;
	json_object_put(pm->entries);
	pm->entries = json_object_new_object();
	pm->with = carrier;
	if (asprintf(&why, "goes with %s's IOMMU group %d (rule %s)",
		     carrier->device->id, carrier->device->iommu_group,
		     carrier->rule->name) < 0)
		why = NULL;
	free(pm->reason);
	pm->reason = why;
	return why && pm->entries ? 0 : -ENOMEM;
}

/* Adds a pci entry for member @m to @pl, and covers @m's own placement. */
static int take_member(struct plan *p, struct placement *pl,
		       const struct device *m)
{
	_cleanup_(json_object_putp) json_object *map = NULL;
	int r = entries_build(pl->rule, m, INSTANCE_VM, false, &map, NULL);
	if (r < 0)
		return r;
	if (r == ENTRIES_E_REFUSED) /* never: a VM takes any PCI function */
		return -EINVAL;
	json_object_object_foreach(map, name, value) {
		if (json_add_ref(pl->entries, name, value) < 0)
			return -ENOMEM;
	}
	struct placement *pm = placement_of(p, m);
	return pm && pm != pl ? cover(pm, pl) : 0;
}

/* IommuGroup=whole: every endpoint of the group to @pl's VM, or none. */
static int take_group(struct plan *p, struct placement *pl,
		      const struct device_list *devs,
		      const struct host_guard *h)
{
	for (size_t i = 0; i < devs->n_devices; i++) {
		const struct device *m = devs->devices[i];
		if (!same_group(pl->device, m) || host_guard_is_bridge(m))
			continue;
		int r = whole_blocker(p, pl, m, h);
		if (r != 0)
			return r;
	}
	for (size_t i = 0; i < devs->n_devices; i++) {
		const struct device *m = devs->devices[i];
		if (!same_group(pl->device, m) || host_guard_is_bridge(m))
			continue;
		int r = take_member(p, pl, m);
		if (r < 0)
			return r;
	}
	return 0;
}

/* IommuGroup=strict: refuses @pl when a member blocks.
 * Return: 0, PLAN_IOMMU_E_REFUSED or -ENOMEM. */
static int check_strict(struct plan *p, struct placement *pl,
			const struct device_list *devs)
{
	for (size_t i = 0; i < devs->n_devices; i++) {
		const struct device *m = devs->devices[i];
		if (!same_group(pl->device, m) || !host_guard_member_blocks(m))
			continue;
		const struct placement *pm = placement_of(p, m);
		if (pm && pm->state == PLACEMENT_ATTACH &&
		    pm->target == pl->target)
			continue;
		return refuse(pl,
			      "IOMMU group %d is not viable for a VM: %s (%s) "
			      "is bound to %s; IommuGroup=whole passes it "
			      "along, or bind it to vfio-pci",
			      m->iommu_group, m->id, name_of(m), m->driver);
	}
	return 0;
}

typedef int check_fn(struct plan *p, struct placement *pl,
		     const struct device_list *devs,
		     const struct host_guard *h);

static int host_check(struct plan *p, struct placement *pl,
		      const struct device_list *devs,
		      const struct host_guard *h)
{
	(void)p, (void)devs;
	return check_host(pl, h);
}

static int whole_check(struct plan *p, struct placement *pl,
		       const struct device_list *devs,
		       const struct host_guard *h)
{
	if (pl->rule->iommu != IOMMU_POLICY_WHOLE)
		return 0;
	return take_group(p, pl, devs, h);
}

static int strict_check(struct plan *p, struct placement *pl,
			const struct device_list *devs,
			const struct host_guard *h)
{
	(void)h;
	if (pl->rule->iommu != IOMMU_POLICY_STRICT)
		return 0;
	return check_strict(p, pl, devs);
}

/* Runs @check on every placement of a PCI device to a VM; *@changed when
 * one was refused. */
static int each_to_vm(struct plan *p, const struct device_list *devs,
		      const struct host_guard *h, check_fn *check,
		      bool *changed)
{
	for (size_t i = 0; i < p->n_placements; i++) {
		struct placement *pl = &p->placements[i];
		if (!to_vm(pl))
			continue;
		int r = check(p, pl, devs, h);
		if (r < 0)
			return r;
		*changed |= r == PLAN_IOMMU_E_REFUSED;
	}
	return 0;
}

int plan_iommu(struct plan *p, const struct device_list *devices,
	       const struct host_guard *host)
{
	bool changed = false;
	int r = each_to_vm(p, devices, host, host_check, &changed);
	if (r == 0)
		r = each_to_vm(p, devices, host, whole_check, &changed);
	/* A refusal may take away the member another placement counted on. */
	for (size_t round = 0; r == 0 && round <= p->n_placements; round++) {
		changed = false;
		r = each_to_vm(p, devices, host, strict_check, &changed);
		if (!changed)
			break;
	}
	return r;
}
