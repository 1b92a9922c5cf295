/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The diff-and-apply loop: read the instances (inventory.c), plan, write
 * each instance whose devpass-* entries differ from the plan's, log what
 * changed (changes.c), keep the outcomes. LXD's refusals are kept by
 * refusal.c, what was attached by ledger.c, what became of each device by
 * outcome.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "devpass/util/json.h"
#include "devpass/service/changes.h"
#include "devpass/service/inventory.h"
#include "devpass/service/ledger.h"
#include "devpass/util/log.h"
#include "devpass/lxd/sync.h"
#include "devpass/rules/match.h"
#include "devpass/service/outcome.h"
#include "devpass/service/reconcile.h"
#include "devpass/service/refusal.h"

/* sync_instance() wrote nothing, and that is no failure: LXD refused the
 * instance's change as a whole, or the instance is gone. */
enum reconcile_outcome {
	RECONCILE_E_UNWRITTEN = 1,
};

struct reconciler {
	struct lxd_client *lxd;
	bool dry_run;
	bool server_known;
	struct plan_features features;
	bool patch_removal;
	char *member; /* this cluster member, or NULL when not clustered */
	char **missing_projects; /* named, but LXD lacks them (said once) */
	unsigned writes;
	char *lxd_error;
	struct ledger ledger;
	struct outcomes outcomes;
};

/* Logs running out of memory while @what; returns -ENOMEM. */
static int oom(const char *what)
{
	return log_err_errno(-ENOMEM, "out of memory %s", what);
}

int reconciler_new(struct lxd_client *lxd, bool dry_run,
		   struct reconciler **out)
{
	struct reconciler *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return oom("setting up the reconciler");
	rc->lxd = lxd;
	rc->dry_run = dry_run;
	*out = rc;
	return 0;
}

void reconciler_free(struct reconciler *rc)
{
	if (!rc)
		return;
	ledger_clear(&rc->ledger);
	outcomes_clear(&rc->outcomes);
	free(rc->member);
	strv_free(rc->missing_projects);
	free(rc->lxd_error);
	free(rc);
}

unsigned reconciler_writes(const struct reconciler *rc)
{
	return rc->writes;
}

/* Keeps "WHAT: strerror(err)" for `devpass status`. */
static void set_lxd_error(struct reconciler *rc, const char *what, int err)
{
	free(rc->lxd_error);
	if (asprintf(&rc->lxd_error, "%s: %s", what, strerror(-err)) < 0)
		rc->lxd_error = NULL;
}

static void clear_lxd_error(struct reconciler *rc)
{
	free(rc->lxd_error);
	rc->lxd_error = NULL;
}

int reconciler_refresh_server(struct reconciler *rc)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;
	int r = lxd_server_get(rc->lxd, &s);
	if (r < 0) {
		set_lxd_error(rc, "cannot reach LXD", r);
		return r;
	}
	_cleanup_(freep) char *member = NULL;
	if (s->clustered && s->server_name &&
	    !(member = strdup(s->server_name)))
		return oom("reading LXD's server");
	rc->features.usb_serial =
		lxd_server_has_extension(s, "device_usb_serial");
	rc->features.pci_hotplug = lxd_server_has_extension(s, "pci_hotplug");
	rc->patch_removal = lxd_server_has_extension(s, "device_patch_removal");
	free(rc->member);
	rc->member = steal_ptr(&member);
	rc->server_known = true;
	log_info("LXD %s at %s: usb serial %s, pci hotplug %s, "
		 "removal by %s",
		 s->server_version ? s->server_version : "(unknown version)",
		 lxd_client_socket_path(rc->lxd),
		 rc->features.usb_serial ? "yes" : "no",
		 rc->features.pci_hotplug ? "yes" : "no",
		 rc->patch_removal ? "PATCH" : "PUT");
	return 0;
}

static int read_instances(struct reconciler *rc, const struct ruleset *rs,
			  struct instance_set **out)
{
	_cleanup_(strv_freep) char **projects = NULL, **missing = NULL;
	int r = inventory_projects(rs, &rc->ledger, &projects);
	if (r == 0)
		r = inventory_read(rc->lxd, rc->member, projects, out,
				   &missing);
	if (r < 0 && r != -ENOMEM)
		set_lxd_error(rc, "cannot list LXD instances", r);
	if (r < 0)
		return r;
	STRV_FOREACH(m, missing)
		if (!strv_contains(rc->missing_projects, *m))
			log_warning("LXD has no project \"%s\" (named by a "
				    "rule)",
				    *m);
	strv_free(rc->missing_projects);
	rc->missing_projects = steal_ptr(&missing);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remembers what @inst holds now, for the detach log lines to come. */
static int ledger_record(struct reconciler *rc, const struct plan *p,
			 const struct instance *inst, char **removed)
{
	ledger_forget(&rc->ledger, inst->project, inst->name, removed);
	for (size_t i = 0; i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		if (pl->target != inst)
			continue;
		json_object_object_foreach(pl->entries, name, value) {
			(void)value;
			if (ledger_add(&rc->ledger, inst->project, inst->name,
				       name, pl->rule->name,
				       pl->device->id) < 0)
				return oom("keeping the ledger");
		}
	}
	return 0;
}

/*
 * Writes @want to @inst. A device whose entry LXD refuses is set aside and
 * the rest written again, so one bad device keeps no other out.
 * Return: 0; RECONCILE_E_UNWRITTEN; -errno (logged).
 */
static int sync_instance(struct reconciler *rc, const struct plan *p,
			 const struct instance *inst, json_object *want,
			 struct refusals *rs)
{
	for (size_t tries = 0; tries <= p->n_placements; tries++) {
		struct lxd_sync_stats stats = {0};
		char *why = NULL;
		int r = lxd_instance_sync_devices(
			rc->lxd, inst->project, inst->name, ENTRY_PREFIX, want,
			rc->patch_removal, &stats, &why);
		rc->writes += stats.writes;
		if (r != -EIO) {
			free(why);
			/* -ENXIO: deleted since the list; its event re-plans */
			return r == -ENXIO ? RECONCILE_E_UNWRITTEN : r;
		}
		r = refusals_take(rs, p, inst, want, why);
		if (r < 0)
			return oom("keeping LXD's refusal");
		if (r == REFUSALS_E_WHOLE)
			return RECONCILE_E_UNWRITTEN;
	}
	return RECONCILE_E_UNWRITTEN;
}

/* Logs what changed on @inst and keeps it in the ledger. */
static int record_changes(struct reconciler *rc, const struct plan *p,
			  const struct instance *inst, json_object *want,
			  long long ms)
{
	_cleanup_(strv_freep) char **added = NULL, **removed = NULL;
	int r = changes_diff(want, inst->entries, &added, &removed);
	if (r < 0)
		return r;
	changes_log_attaches(p, inst, added, rc->dry_run, ms);
	changes_log_detaches(&rc->ledger, inst, removed, rc->dry_run, ms);
	return rc->dry_run ? 0 : ledger_record(rc, p, inst, removed);
}

/* Makes @inst's devpass-* entries what @p wants there. */
static int apply_instance(struct reconciler *rc, const struct plan *p,
			  const struct instance *inst, struct refusals *rs)
{
	_cleanup_(json_object_putp) json_object *want =
		plan_desired_entries(p, inst);
	if (!want)
		return oom("merging the plan's entries");
	if (json_object_equal(want, inst->entries))
		return 0;
	long long t0 = now_ms();
	int r = rc->dry_run ? 0 : sync_instance(rc, p, inst, want, rs);
	if (r < 0)
		return r;
	if (r == RECONCILE_E_UNWRITTEN)
		return 0;
	return record_changes(rc, p, inst, want, now_ms() - t0);
}

/* What became of @pl: the plan's decision, unless LXD refused it. */
static int add_outcome(const struct reconciler *rc, struct outcomes *o,
		       const struct placement *pl, const struct refusals *rs)
{
	const char *refusal = pl->target ? refusals_find(rs, pl) : NULL;
	switch (pl->state) {
	case PLACEMENT_ATTACH:
		if (refusal)
			return outcomes_add(o, pl, OUTCOME_REFUSED, refusal);
		return outcomes_add(o, pl,
				    rc->dry_run ? OUTCOME_WOULD_ATTACH
						: OUTCOME_ATTACHED,
				    pl->reason);
	case PLACEMENT_WAITING:
		return outcomes_add(o, pl, OUTCOME_WAITING, pl->reason);
	case PLACEMENT_REFUSED:
		break;
	}
	return outcomes_add(o, pl, OUTCOME_REFUSED, pl->reason);
}

/* Keeps this pass's outcomes, and logs the devices whose state changed. */
static int record_outcomes(struct reconciler *rc, const struct plan *p,
			   const struct refusals *rs)
{
	struct outcomes now = {0};
	for (size_t i = 0; i < p->n_placements; i++) {
		if (add_outcome(rc, &now, &p->placements[i], rs) < 0) {
			outcomes_clear(&now);
			return oom("recording the outcomes");
		}
	}
	outcomes_log_changes(&rc->outcomes, &now);
	outcomes_clear(&rc->outcomes);
	rc->outcomes = now;
	return 0;
}

static int apply_plan(struct reconciler *rc, const struct plan *p,
		      const struct instance_set *set)
{
	struct refusals rs = {0};
	int r = 0;
	/* An instance on another member is its member's devpassd's to write. */
	for (size_t i = 0; r >= 0 && i < set->n_instances; i++)
		if (!set->instances[i].elsewhere)
			r = apply_instance(rc, p, &set->instances[i], &rs);
	if (r >= 0)
		r = record_outcomes(rc, p, &rs);
	refusals_clear(&rs);
	return r;
}

/* The host's PCI facts, then the plan (both pure of LXD). */
static int plan_now(const struct reconciler *rc, const struct ruleset *rs,
		    const struct device_list *devices,
		    const struct instance_set *set, struct plan **out)
{
	struct host_guard host;
	int r = host_guard_read(devices, NULL, NULL, &host);
	if (r == 0) {
		r = plan_build(rs, devices, set, &rc->features, &host, out);
		host_guard_clear(&host);
	}
	if (r < 0)
		return log_err_errno(r, "cannot build the plan: %s",
				     strerror(-r));
	return 0;
}

int reconcile_run(struct reconciler *rc, const struct ruleset *rs,
		  const struct device_list *devices)
{
	_cleanup_(instance_set_freep) struct instance_set *set = NULL;
	_cleanup_(plan_freep) struct plan *p = NULL;
	int r = rc->server_known ? 0 : reconciler_refresh_server(rc);
	if (r < 0 || (r = read_instances(rc, rs, &set)) < 0 ||
	    (r = plan_now(rc, rs, devices, set, &p)) < 0)
		return r;
	r = apply_plan(rc, p, set);
	if (r < 0 && r != -ENOMEM)
		set_lxd_error(rc, "cannot write to LXD", r);
	else if (r == 0)
		clear_lxd_error(rc);
	return r;
}

bool reconciler_all_attached(const struct reconciler *rc)
{
	return outcomes_all_attached(&rc->outcomes);
}

static json_object *lxd_status(const struct reconciler *rc, const char *error)
{
	json_object *lxd = json_object_new_object();
	json_object_object_add(
		lxd, "socket",
		json_string_or_null(rc ? lxd_client_socket_path(rc->lxd)
				       : NULL));
	json_object_object_add(lxd, "error", json_string_or_null(error));
	json_object_object_add(lxd, "writes",
			       json_object_new_int64(rc ? rc->writes : 0));
	return lxd;
}

json_object *reconciler_status(const struct reconciler *rc,
			       const struct ruleset *rs,
			       const struct device_list *devices)
{
	static const struct outcomes none;
	const struct outcomes *o = rc ? &rc->outcomes : &none;
	const char *error = rc ? rc->lxd_error : "no LXD socket found yet";
	json_object *root = json_object_new_object();
	json_object *devs = json_object_new_array();
	json_object_object_add(root, "lxd", lxd_status(rc, error));
	json_object_object_add(root, "devices", devs);
	json_object_object_add(root, "dry_run",
			       json_object_new_boolean(rc && rc->dry_run));
	for (size_t i = 0; devices && i < devices->n_devices; i++)
		json_object_array_add(
			devs,
			outcome_device_json(
				o, devices->devices[i],
				match_ruleset(rs, devices->devices[i]), error));
	return root;
}
