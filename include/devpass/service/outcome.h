/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: outcomes: what became of each device at the last reconcile
 *
 * For `devpass status` and `devpassd --once`: for every device a rule
 * owns, its rule, its instance, its state (attached, would-attach,
 * waiting, refused) and why. A device the last reconcile did not see
 * (new since, or LXD was away) shows as pending when a rule owns it and
 * unmatched when none does.
 *
 * The reconciler keeps the outcomes of the pass before and logs a
 * device's state when it changes (outcomes_log_changes()), so a device
 * that waits or is refused is said once, not on every pass.
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "devpass/plan/plan.h"

/*
 * The states of `devpass status`; outcome_state_to_string() gives the
 * strings of its JSON ("attached", "would-attach", ...), which scripts read.
 */
enum outcome_state {
	OUTCOME_ATTACHED,
	OUTCOME_WOULD_ATTACH, /* a dry run's attached */
	OUTCOME_WAITING,
	OUTCOME_REFUSED,
	OUTCOME_PENDING,   /* a rule owns it; no reconcile has seen it yet */
	OUTCOME_UNMATCHED, /* no rule owns it */
};

const char *outcome_state_to_string(enum outcome_state s);

struct outcome {
	char *syspath;
	char *device; /* its id: port path or PCI address */
	char *rule;
	char *project;
	char *instance;
	enum outcome_state state;
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
 * outcomes_add() - record @pl's @state and @reason (copied; may be NULL).
 * Return: 0 or -ENOMEM (not logged).
 */
int outcomes_add(struct outcomes *o, const struct placement *pl,
		 enum outcome_state state, const char *reason);

/* Whether every recorded device is attached (or would be, in a dry run). */
bool outcomes_all_attached(const struct outcomes *o);

/**
 * outcomes_log_changes() - one line for each device of @now that waits or
 * is refused and did not, or not for that reason or on that instance, in
 * @before. Attaches are logged where they are written (reconcile.c).
 */
void outcomes_log_changes(const struct outcomes *before,
			  const struct outcomes *now);

/**
 * outcome_log_once() - why `devpassd --once` exits with @code (enum
 * service_exit), from @status (reconciler_status()): a line for each
 * device a rule owns that no pass has decided yet (LXD was not reached),
 * then one line naming every device not attached with its state, the
 * reasons of the waiting and refused ones being logged as they happened.
 */
void outcome_log_once(json_object *status, int code);

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
