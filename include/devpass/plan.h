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
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "devpass/device.h"
#include "devpass/entries.h"
#include "devpass/rules.h"

/**
 * struct instance - what devpass needs of one LXD instance.
 * @project, @name: identity.
 * @type: container or VM.
 * @running: status is Running.
 * @privileged: security.privileged=true (containers).
 * @entries: its own devices whose names start with "devpass-" (name ->
 *           config), as LXD reported them; owned.
 */
struct instance {
	char *project;
	char *name;
	enum instance_type type;
	bool running;
	bool privileged;
	json_object *entries;
};

struct instance_set {
	struct instance *instances;
	size_t n_instances;
};

void instance_set_free(struct instance_set *s);
DEFINE_FREEP(struct instance_set, instance_set_free)

/* The instance named @name in @project, or NULL. */
struct instance *instance_set_find(const struct instance_set *s,
				   const char *project, const char *name);

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
 * @reason: for WAITING and REFUSED, a sentence; owned.
 */
struct placement {
	const struct device *device;
	const struct rule *rule;
	enum placement_state state;
	const struct instance *target;
	json_object *entries;
	char *reason;
};

struct plan {
	struct placement *placements;
	size_t n_placements;
};

void plan_free(struct plan *p);
DEFINE_FREEP(struct plan, plan_free)

/**
 * plan_build() - decide every device's placement.
 * Return: 0 or -ENOMEM.
 */
int plan_build(const struct ruleset *rs, const struct device_list *devices,
	       const struct instance_set *instances,
	       const struct plan_features *features, struct plan **out);

/**
 * plan_desired_entries() - every entry the plan wants on @inst, merged.
 * Return: a new object (possibly empty), or NULL on ENOMEM.
 */
json_object *plan_desired_entries(const struct plan *p,
				  const struct instance *inst);

const char *placement_state_to_string(enum placement_state s);
