/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the reconciler
 *
 * The one place that changes LXD. A pass (reconcile_start()) reads the
 * instances of every project the rules name, builds the plan, and makes each
 * instance's devpass-* entries equal to what the plan wants there: one write
 * per instance that differs, none for the others. Whatever triggered it (a
 * uevent, an LXD event, a reload, a reconnect) heals the same way.
 *
 * A pass never blocks: every LXD request runs on the client's fd
 * (lxd/client.h), the daemon's loop dispatches it, and the pass's end
 * comes to a callback. One pass at a time; the instances' writes within
 * it run side by side, at most one per instance, so whatever changes
 * meanwhile goes into the next pass's write.
 *
 * It keeps the outcome for `devpass status`, and a ledger of what it
 * attached, so a detach can be logged with its rule and device even after
 * the device is gone.
 */

#include <json-c/json.h>
#include <stdbool.h>

#include "devpass/model/device.h"
#include "devpass/lxd/client.h"
#include "devpass/lxd/events.h"
#include "devpass/plan/plan.h"
#include "devpass/rules/rule.h"

struct reconciler;

/**
 * reconciler_new() - a reconciler writing through @lxd (borrowed).
 * @dry_run: log the writes it would make and make none.
 * Return: 0 or -ENOMEM (logged).
 */
int reconciler_new(struct lxd_client *lxd, bool dry_run,
		   struct reconciler **out);
void reconciler_free(struct reconciler *rc);
DEFINE_FREEP(struct reconciler, reconciler_free)

/**
 * reconciler_forget_server() - have the next pass read GET /1.0 again (the
 * features the plan depends on and, in a cluster, this member's name):
 * after a reconnect LXD may be another version.
 */
void reconciler_forget_server(struct reconciler *rc);

/**
 * reconciler_events_up() - the event stream is @up (connected: everything
 * is read in full once, for events may have been missed before) or down
 * (the instances a plan may write to are read by name on every pass,
 * inventory.h, until it is up again). Call it before a pass starts.
 */
void reconciler_events_up(struct reconciler *rc, bool up);

/**
 * reconciler_lxd_event() - keep what LXD's lifecycle event @ev tells of an
 * instance (instance-cache.h), at once, also while a pass is in flight;
 * the caller marks the state dirty.
 */
void reconciler_lxd_event(struct reconciler *rc, const struct lxd_event *ev);

/**
 * reconciler_rules_changed() - the rules were reloaded: LXD's remembered
 * refusals (refusal.h) are forgotten, every device is tried again, and
 * the instances are listed again (the cache keeps other cluster members'
 * instances only where a rule names them).
 */
void reconciler_rules_changed(struct reconciler *rc);

/* Called once when a pass ends, with what reconcile_run() would return. */
typedef void (*reconcile_done_t)(int r, void *userdata);

/**
 * reconcile_start() - start a pass converging LXD on what the rules want
 * for @devices. @rs and @devices are borrowed until @done is called: the
 * caller must not change or free them meanwhile (reconciler_busy()).
 * Return: 0 when started (@done is called once, from the LXD client's
 * dispatch or already before this returns); -EBUSY while a pass is in
 * flight; another negative errno (logged) when it could not start (@done
 * is not called).
 */
int reconcile_start(struct reconciler *rc, const struct ruleset *rs,
		    const struct device_list *devices, reconcile_done_t done,
		    void *userdata);

/* Whether a pass is in flight (false for a NULL @rc). */
bool reconciler_busy(const struct reconciler *rc);

/**
 * reconcile_run() - one pass, waited for (`devpassd --once`).
 * Return: 0 when every instance was read and written as needed;
 * a negative errno when LXD could not be reached, a write failed or
 * memory ran out (logged where it happened; the caller retries with
 * backoff; -EAGAIN: LXD refused for a passing reason). Devices whose
 * instance LXD refused keep that refusal as their
 * state and do not make this fail. A device's state is logged when it
 * changes (outcome.h), not on every pass.
 */
int reconcile_run(struct reconciler *rc, const struct ruleset *rs,
		  const struct device_list *devices);

/* Number of LXD writes made so far (for tests and the benchmark). */
unsigned reconciler_writes(const struct reconciler *rc);

/**
 * reconciler_all_attached() - after reconcile_run(), whether every device a
 * rule owns is attached (what `devpassd --once` exits on).
 */
bool reconciler_all_attached(const struct reconciler *rc);

/**
 * reconciler_status() - the last outcome: {"lxd": {...}, "devices":
 * [{device..., rule, project, instance, state, reason, entries}]}, "lxd"
 * holding the socket, the last error, and counters: writes, instance_lists
 * (full reads of a project), instance_reads (reads of one instance by
 * name), and whether the event stream keeps the cache ("events"); with
 * state one of "attached", "waiting", "refused", "would-attach" (dry run),
 * "pending" (a rule owns it, LXD has not been reached since it appeared)
 * and "unmatched" (enum outcome_state). @rc may be NULL while LXD has not
 * been found:
 * every device is then pending or unmatched. A new reference.
 */
json_object *reconciler_status(const struct reconciler *rc,
			       const struct ruleset *rs,
			       const struct device_list *devices);
