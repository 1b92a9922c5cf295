/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the inventory: the instances as LXD has them now
 *
 * Before each plan the reconciler needs every instance of the projects
 * that matter: its type, whether it runs, whether it is privileged, and
 * its devpass-* entries. They come from the instance cache, which LXD's
 * events keep; the inventory reads from LXD only what the cache cannot
 * vouch for (inventory_read_start()). In a cluster only this member's
 * instances take devices; those on other members that a rule names are
 * kept too, marked with their member (instance.h: @elsewhere), so that a
 * device waiting for one can say where it is. The others' are not kept:
 * their events cost this member nothing.
 */

#include "devpass/lxd/client.h"
#include "devpass/plan/instance.h"
#include "devpass/rules/rule.h"
#include "devpass/service/instance-cache.h"
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
 * struct inventory_stats - requests the inventory made.
 * @lists: full reads of a project (GET /1.0/instances?recursion=1).
 * @reads: reads of one instance by name (GET /1.0/instances/NAME).
 */
struct inventory_stats {
	unsigned long lists;
	unsigned long reads;
};

/**
 * struct inventory - where the inventory reads and what it counts.
 * @lxd: the client.
 * @member: this cluster member's name, or NULL when not clustered
 *          (borrowed: it must outlive the read).
 * @cache: the instances known (instance-cache.h).
 * @stats: added to with every request.
 */
struct inventory {
	struct lxd_client *lxd;
	const char *member;
	struct instance_cache *cache;
	struct inventory_stats *stats;
};

/**
 * inventory_read_start() - the instances of @projects, as a new set for
 * the planner, with as few requests as the cache allows, in the
 * background of the caller's loop (the LXD client's fd):
 * - a project not read in full since the cache's last doubt is listed;
 * - without events (@trusted false: the stream is down, so the cache may
 *   have missed a change), the instances the rules of @rs name and those
 *   the cache shows holding devpass-* entries are read by name: the
 *   instances a plan may write to, however many others there are;
 * - every instance the cache marks stale is read by name.
 * @rs: borrowed until @done is called.
 *
 * This is the reconciler's one seam to what LXD holds.
 *
 * Return: 0 when started (@done is called once, possibly before this
 * returns when there is nothing to read or starting failed), or -ENOMEM
 * (logged; @done is not called).
 */
int inventory_read_start(const struct inventory *inv, const struct ruleset *rs,
			 char *const *projects, bool trusted,
			 inventory_done_t done, void *userdata);

/**
 * inventory_read() - inventory_read_start() waited for, with a cache of
 * its own (commands: `devpass explain`): the instances of @projects,
 * listed in full. *@out and *@missing as inventory_done_t gives them.
 * Return: 0 or a negative errno (logged where it happened).
 */
int inventory_read(struct lxd_client *c, const char *member,
		   const struct ruleset *rs, char *const *projects,
		   struct instance_set **out, char ***missing);
