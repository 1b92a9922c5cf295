/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the inventory: the instances as LXD has them now
 *
 * Before each plan the reconciler reads from LXD every instance of the
 * projects that matter: its type, whether it runs, whether it is
 * privileged, and its devpass-* entries. In a cluster only this member's
 * instances take devices; those on other members are marked with their
 * member (instance.h: @elsewhere) so that a device waiting for one can say
 * where it is.
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

/**
 * inventory_read() - the instances of @projects.
 * @member: this cluster member's name, or NULL when not clustered.
 * @missing: set to the projects LXD does not have (skipped; not logged:
 *           the caller says so when that changes), or NULL.
 * Return: 0; -ENOMEM (logged); another -errno of the LXD client (logged
 * there).
 */
int inventory_read(struct lxd_client *lxd, const char *member,
		   char *const *projects, struct instance_set **out,
		   char ***missing);
