/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the plan: which device goes where, as which entries
 *
 * A pure function of the devices, the rules, the instances (as LXD last
 * reported them) and the server's features. It decides, for every device
 * a rule owns, its target instance and the LXD entries it wants there, or
 * why it waits or is refused. Nothing here talks to LXD; the reconciler
 * applies a plan.
 *
 * Target choice: the first instance of Instance= that exists and runs.
 * A device already held by a running instance of its list stays there
 * (devices are not yanked from a running instance when an earlier one
 * starts). If none runs, the device waits.
 *
 * In a cluster an instance on another member (instance.h: @elsewhere) is
 * never a target, running or not: this host's devices exist only here.
 * Instance= skips it for the next of the list; a device that has no other
 * is WAITING, and its reason names the member ("c2 is on cluster member
 * m2"): waiting, not refused, because the rule is not wrong, the instance
 * is elsewhere for now, and it takes the device once it is moved here.
 *
 * PCI devices differ in one way: their entries may be written while an
 * instance is stopped (they apply when it starts; LXD cannot hot-add a
 * pci entry to a VM without the pci_hotplug extension). So a PCI device
 * that no running instance of its list can take now (a running container
 * always can; a running VM only with pci_hotplug) goes to the first
 * instance of the list that exists: a stopped one gets the entry in its
 * config (state ATTACH, @reason says it is stopped); a running VM without
 * pci_hotplug makes it WAITING ("waits for NAME's next start: LXD lacks
 * pci_hotplug") until it stops, when the entry is written. USB devices are
 * written to running instances only.
 *
 * PCI to a VM then passes the IOMMU checks (host_guard.h):
 * - every policy: a device the host needs is REFUSED unless its rule
 *   names its address; strict and whole refuse on a host without IOMMU
 *   and a device in no group.
 * - IommuGroup=whole: the placement carries one pci entry per endpoint
 *   (non-bridge) function of the group, named for its own rule and each
 *   function's address. Another function's own placement (a rule owns it
 *   too) must go to the same VM; it then carries no entries of its own
 *   (@with points to the carrier), so no address is written twice. The
 *   carrier is the group's first function in device order whose rule says
 *   whole. A function that goes elsewhere, waits or is refused, or that
 *   the host needs, refuses the whole group.
 * - IommuGroup=strict: REFUSED while another function of the group is
 *   bound to a host driver (not vfio-pci or pci-stub, not a bridge) and
 *   does not go to the same VM. Re-evaluated every plan, so a bind of that
 *   function to vfio-pci lets the device go.
 * - ignore: no group checks.
 *
 * A USB device to a VM on a server without device_usb_serial is ATTACH
 * with a @reason when another device has its vendor and product ids: the
 * entry would catch that one too.
 *
 * The plan is pure: it logs nothing. Every reason is in its placement;
 * the service logs a device's state when it changes. The only failure is
 * -ENOMEM, returned for the caller to log.
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "devpass/model/device.h"
#include "devpass/plan/entries.h"
#include "devpass/plan/instance.h"
#include "devpass/plan/host_guard.h"
#include "devpass/rules/rule.h"

/**
 * struct plan_features - what the LXD server supports (api_extensions).
 */
struct plan_features {
	bool usb_serial;  /* device_usb_serial */
	bool pci_hotplug; /* pci_hotplug */
};

enum placement_state {
	PLACEMENT_ATTACH,  /* wanted on @target; the reconciler confirms */
	PLACEMENT_WAITING, /* no instance of its list runs */
	PLACEMENT_REFUSED, /* cannot go where its rule says; @reason why */
};

/**
 * struct placement - the decision for one device a rule owns.
 * @device, @rule: borrowed from the inputs of plan_build().
 * @target: the instance it goes to (borrowed), NULL unless ATTACH.
 * @entries: name -> LXD device config for @target; owned.
 * @reason: for WAITING and REFUSED, a sentence; for ATTACH, a note or
 *          NULL (stopped target, IOMMU group carrier, USB twin, a node
 *          left out); owned.
 * @with: ATTACH as part of that placement's IOMMU group (IommuGroup=whole):
 *        @entries is empty, the carrier's hold this device's.
 */
struct placement {
	const struct device *device;
	const struct rule *rule;
	enum placement_state state;
	const struct instance *target;
	json_object *entries;
	char *reason;
	const struct placement *with;
};

struct plan {
	struct placement *placements;
	size_t n_placements;
};

void plan_free(struct plan *p);
DEFINE_FREEP(struct plan, plan_free)

/**
 * plan_build() - decide every device's placement.
 * @host: IOMMU and host facts for PCI to VMs; NULL is a host without IOMMU.
 * Return: 0 or -ENOMEM (not logged).
 */
int plan_build(const struct ruleset *rs, const struct device_list *devices,
	       const struct instance_set *instances,
	       const struct plan_features *features,
	       const struct host_guard *host, struct plan **out);

/**
 * plan_desired_entries() - every entry the plan wants on @inst, merged.
 * Return: a new object (possibly empty), or NULL on ENOMEM.
 */
json_object *plan_desired_entries(const struct plan *p,
				  const struct instance *inst);
