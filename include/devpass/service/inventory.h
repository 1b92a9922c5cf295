/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the inventory: the instances as LXD has them now
 *
 * Before each plan the reconciler reads from LXD every instance of the
 * projects that matter: its type, whether it runs, whether it is
 * privileged, and its devpass-* entries. In a cluster only this member's
 * instances count.
 */

#include "devpass/lxd/client.h"
#include "devpass/plan/instance.h"
#include "devpass/rules/rule.h"
#include "devpass/service/ledger.h"

/**
 * inventory_projects() - the projects to read: "default" (where stale
 * entries of removed rules most likely are), those the rules name and
 * those the ledger holds entries in, each once.
 * Return: 0 or -ENOMEM (logged).
 */
int inventory_projects(const struct ruleset *rs, const struct ledger *l,
		       char ***out);

/*
 * Done callback of inventory_read_start(): on 0, @set (the instances) and
 * @missing (the projects LXD does not have, skipped; not logged: the
 * caller says so when that changes; may be NULL) are the callee's; on a
 * negative errno (-ENOMEM logged here, others by the LXD client) both are
 * NULL.
 */
typedef void (*inventory_done_t)(int r, struct instance_set *set,
				 char **missing, void *userdata);

/**
 * inventory_read_start() - read the instances of @projects, in the
 * background of the caller's loop (the LXD client's fd).
 * @member: this cluster member's name, or NULL when not clustered.
 *
 * This is the reconciler's one seam to what LXD holds: how the instances
 * are known (listed now, or kept from events) is this module's business.
 *
 * Return: 0 when started (@done is called once, possibly before this
 * returns when there is nothing to read or starting failed), or -ENOMEM
 * (logged; @done is not called).
 */
int inventory_read_start(struct lxd_client *lxd, const char *member,
			 char *const *projects, inventory_done_t done,
			 void *userdata);
