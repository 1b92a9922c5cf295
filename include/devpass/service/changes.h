/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: what one instance's write changed, as log lines
 *
 * Every attach and detach logs one line with the rule, the device, the
 * instance, the entry names and how long the write took (DESIGN.md). A
 * detach comes after the device is gone: the ledger says which rule and
 * device its entries stood for.
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "devpass/plan/plan.h"
#include "devpass/service/ledger.h"

/**
 * changes_diff() - the entry names of @want that @have lacks or holds
 * otherwise (*@added), and those of @have that @want lacks (*@removed).
 * Return: 0 or -ENOMEM (logged).
 */
int changes_diff(json_object *want, json_object *have, char ***added,
		 char ***removed);

/* One line per device of @p on @inst with entries in @added. */
void changes_log_attaches(const struct plan *p, const struct instance *inst,
			  char **added, bool dry_run, long long ms);

/* One line per device whose entries are in @removed, grouped by @l. */
void changes_log_detaches(const struct ledger *l, const struct instance *inst,
			  char **removed, bool dry_run, long long ms);
