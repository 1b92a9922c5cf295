/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: outcomes: what became of each device at the last reconcile
 *
 * For `devpass status` and `devpassd --once`: for every device a rule
 * owns, its rule, its instance, its state ("attached", "would-attach",
 * "waiting", "refused") and why. A device the last reconcile did not see
 * (new since, or LXD was away) shows as "pending" when a rule owns it and
 * "unmatched" when none does.
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "devpass/plan/plan.h"

struct outcome {
	char *syspath;
	char *rule;
	char *project;
	char *instance;
	const char *state;
	char *reason;
	json_object *entries;
};

struct outcomes {
	struct outcome *v;
	size_t n;
};

/* Frees what @o holds (not @o itself) and empties it. */
void outcomes_clear(struct outcomes *o);

/**
 * outcomes_add() - record @pl's @state (a string constant) and @reason
 * (copied; may be NULL). Return: 0 or -ENOMEM.
 */
int outcomes_add(struct outcomes *o, const struct placement *pl,
		 const char *state, const char *reason);

/* Whether every recorded device is attached (or would be, in a dry run). */
bool outcomes_all_attached(const struct outcomes *o);

/**
 * outcome_device_json() - @d as `devpass status` shows it: the device's
 * fields, then rule, project, instance, state, reason and entries.
 * @owner: the rule owning @d now, for a device with no outcome yet.
 * @pending_why: why such a device still waits (LXD's error), or NULL.
 * Return: a new object, or NULL on ENOMEM.
 */
json_object *outcome_device_json(const struct outcomes *o,
				 const struct device *d,
				 const struct rule *owner,
				 const char *pending_why);
