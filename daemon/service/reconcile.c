/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The diff-and-apply loop: bring the instances up to date (inventory.c,
 * from the instance cache that LXD's events keep, instance-cache.c), plan,
 * write each instance whose devpass-* entries differ from the plan's, log
 * what changed (changes.c), keep the outcomes. LXD's refusals are kept by
 * refusal.c (in one pass, and remembered across passes), what was attached
 * by ledger.c, what became of each device by outcome.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "devpass/util/json.h"
#include "devpass/service/changes.h"
#include "devpass/service/decide.h"
#include "devpass/service/instance-cache.h"
#include "devpass/service/inventory.h"
#include "devpass/service/ledger.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"
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
	char *server; /* "lxd 5.0.2", "incus 6.0.4": who answers, for status */
	char **missing_projects; /* named, but LXD lacks them (said once) */
	unsigned writes;
	char *lxd_error;
	struct ledger ledger;
	struct outcomes outcomes;
	struct pass *pass; /* the pass in flight, or NULL */
	struct instance_cache cache;
	struct inventory_stats reads;
	bool events_up; /* the event stream keeps the cache */
	struct refusal_memory refused;
};

/*
 * One reconcile pass in flight: it reads the instances, plans, and writes
 * each instance that differs; the instances' writes run side by side, at
 * most one per instance. The rules and devices it planned with must stay
 * as they are until it ends (reconciler_busy()).
 */
struct pass {
	struct reconciler *rc;
	const struct ruleset *rs;
	const struct device_list *devices;
	struct instance_set *set;
	struct plan *p;
	struct refusals refusals;
	size_t pending; /* instance writes in flight */
	bool started;	/* every write is started: the last to end ends it */
	int result;
	reconcile_done_t done;
	void *userdata;
};

/* One instance's write within a pass. */
struct job {
	struct pass *pass;
	const struct instance *inst;
	json_object *want;
	size_t tries;
	long long t0;
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
	/* a pass in flight ends when the client is freed (-ECANCELED) */
	outcomes_clear(&rc->outcomes);
	instance_cache_clear(&rc->cache);
	refusal_memory_clear(&rc->refused);
	free(rc->member);
	free(rc->server);
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

/* "lxd 5.0.2", "incus 6.0.4": environment.server and server_version, as
 * far as the server says them (LXD before 4.x said no "server"). */
static char *server_identity(const struct lxd_server *s)
{
	return text_printf("%s %s", s->server ? s->server : "lxd",
			   s->server_version ? s->server_version
					     : "(unknown version)");
}

void reconciler_forget_server(struct reconciler *rc)
{
	rc->server_known = false;
}

void reconciler_events_up(struct reconciler *rc, bool up)
{
	if (up)
		instance_cache_invalidate(&rc->cache); /* events were missed */
	rc->events_up = up;
}

void reconciler_lxd_event(struct reconciler *rc, const struct lxd_event *ev)
{
	int r = instance_cache_event(&rc->cache, ev, rc->member);
	if (r == -ENOMEM) {
		log_err("out of memory keeping LXD's event for %s/%s: reading "
			"every instance again",
			ev->project, ev->instance ? ev->instance : "?");
		instance_cache_invalidate(&rc->cache);
	} else if (r == INSTANCE_CACHE_E_DOUBT) {
		log_info(
			"LXD renamed %s/%s without its old name: reading every "
			"instance again",
			ev->project, ev->instance);
	}
}

void reconciler_rules_changed(struct reconciler *rc)
{
	refusal_memory_clear(&rc->refused);
	/* the cache keeps other members' instances only where a rule names
	 * them: new rules may name others */
	instance_cache_invalidate(&rc->cache);
}

/* Takes the features the plan needs and this member's name from @s. */
static int take_server(struct reconciler *rc, const struct lxd_server *s)
{
	_cleanup_(freep) char *member = NULL;
	_cleanup_(freep) char *server = server_identity(s);
	if (!server || (s->clustered && s->server_name &&
			!(member = strdup(s->server_name))))
		return oom("reading LXD's server");
	decide_features(s, &rc->features);
	rc->patch_removal = lxd_server_has_extension(s, "device_patch_removal");
	free(rc->member);
	rc->member = steal_ptr(&member);
	if (!rc->server || strcmp(rc->server, server) != 0)
		log_info("%s at %s: usb serial %s, pci hotplug %s, "
			 "removal by %s",
			 server, lxd_client_socket_path(rc->lxd),
			 rc->features.usb_serial ? "yes" : "no",
			 rc->features.pci_hotplug ? "yes" : "no",
			 rc->patch_removal ? "PATCH" : "PUT");
	free(rc->server);
	rc->server = steal_ptr(&server);
	rc->server_known = true;
	return 0;
}

/* Says once which projects the rules name but LXD lacks. */
static void note_missing(struct reconciler *rc, char **missing)
{
	STRV_FOREACH(m, missing)
		if (!strv_contains(rc->missing_projects, *m))
			log_warning("LXD has no project \"%s\" (named by a "
				    "rule)",
				    *m);
	strv_free(rc->missing_projects);
	rc->missing_projects = missing;
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

/* Logs what changed on @inst, from @had to @want, and keeps it in the
 * ledger. */
static int record_changes(struct reconciler *rc, const struct plan *p,
			  const struct instance *inst, json_object *want,
			  json_object *had, long long ms)
{
	_cleanup_(strv_freep) char **added = NULL, **removed = NULL;
	int r = changes_diff(want, had, &added, &removed);
	if (r < 0)
		return r;
	changes_log_attaches(p, inst, added, rc->dry_run, ms);
	changes_log_detaches(&rc->ledger, inst, removed, rc->dry_run, ms);
	return rc->dry_run ? 0 : ledger_record(rc, p, inst, removed);
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

static void pass_free(struct pass *x)
{
	if (!x)
		return;
	instance_set_free(x->set);
	plan_free(x->p);
	refusals_clear(&x->refusals);
	free(x);
}
DEFINE_FREEP(struct pass, pass_free)

/* The generation the pass planned with, not the cache's now: a change
 * that came during the pass must not be taken as seen by LXD's refusal
 * (it was absorbed, and the refusal never tried again). */
static unsigned gen_of(const struct instance *inst, void *userdata)
{
	(void)userdata;
	return inst->gen;
}

/* The pass's end: outcomes, the error for `devpass status`, the caller. */
static void pass_end(struct pass *ended)
{
	_cleanup_(pass_freep) struct pass *x = ended;
	struct reconciler *rc = x->rc;
	int r = x->result;

	if (r >= 0 && x->p &&
	    refusal_memory_keep(&rc->refused, &x->refusals, gen_of, rc) < 0)
		r = oom("remembering LXD's refusals");
	if (r >= 0 && x->p)
		r = record_outcomes(rc, x->p, &x->refusals);
	if (r < 0 && r != -ENOMEM && r != -ECANCELED && x->p)
		set_lxd_error(rc, "cannot write to LXD", r);
	else if (r == 0)
		clear_lxd_error(rc);
	rc->pass = NULL;
	x->done(r, x->userdata);
}

/* Keeps the first failure; an unwritten instance is none. */
static void pass_fail(struct pass *x, int r)
{
	if (r < 0 && x->result == 0)
		x->result = r;
}

static void job_end(struct job *j, int r)
{
	struct pass *x = j->pass;

	pass_fail(x, r);
	json_object_put(j->want);
	free(j);
	if (--x->pending == 0 && x->started)
		pass_end(x);
}

static void on_synced(int r, const struct lxd_sync_stats *stats,
		      const char *why, void *userdata);

/* What the write found on @inst, for what really changed: the instance
 * may have changed since it was read (or its cached entries were not
 * what the write's own read found). */
static json_object *found_or(const struct lxd_sync_stats *stats,
			     const struct instance *inst)
{
	return stats->found ? stats->found : inst->entries;
}

/* Tells the cache how the job's write ended: what the instance holds now
 * when it is sure, to be read again when not. */
static void tell_cache(struct reconciler *rc, const struct job *j, int r,
		       const struct lxd_sync_stats *stats)
{
	const char *project = j->inst->project, *name = j->inst->name;
	/* refused (-EIO), or refused for a passing reason (-EAGAIN): LXD
	 * wrote nothing */
	bool none = r == 0 || r == -EIO || r == -EAGAIN;
	enum instance_write how = stats->writes ? INSTANCE_WRITE_ACCEPTED
				  : none	? INSTANCE_WRITE_NONE
						: INSTANCE_WRITE_UNSURE;
	instance_cache_write_end(&rc->cache, project, name, how,
				 r == 0 ? j->want : NULL);
	if (r == -ENXIO)
		instance_cache_drop(&rc->cache, project, name);
	else if (stats->retries) /* it changed under us: read it again */
		instance_cache_mark_stale(&rc->cache, project, name);
}

/* Writes the job's @want; on_synced() goes on from the answer. */
static void job_sync(struct job *j)
{
	struct reconciler *rc = j->pass->rc;
	instance_cache_write_begin(&rc->cache, j->inst->project, j->inst->name);
	int r = lxd_instance_sync_start(rc->lxd, j->inst->project,
					j->inst->name, ENTRY_PREFIX, j->want,
					rc->patch_removal, on_synced, j);
	if (r < 0) {
		instance_cache_write_end(&rc->cache, j->inst->project,
					 j->inst->name, INSTANCE_WRITE_NONE,
					 NULL);
		job_end(j, r);
	}
}

/*
 * A device whose entry LXD refuses is set aside and the rest written
 * again, so one bad device keeps no other out; an instance gone since the
 * list (-ENXIO) is re-planned by its event.
 */
static void on_synced(int r, const struct lxd_sync_stats *stats,
		      const char *why, void *userdata)
{
	struct job *j = userdata;
	struct pass *x = j->pass;

	x->rc->writes += stats->writes;
	tell_cache(x->rc, j, r, stats);
	if (r == -ENXIO)
		return job_end(j, 0);
	if (r == 0)
		return job_end(j, record_changes(x->rc, x->p, j->inst, j->want,
						 found_or(stats, j->inst),
						 now_ms() - j->t0));
	if (r != -EIO)
		return job_end(j, r);
	char *mine = why ? strdup(why) : NULL;
	r = why && !mine
		    ? -ENOMEM
		    : refusals_take(&x->refusals, x->p, j->inst, j->want, mine);
	if (r < 0)
		return job_end(j, oom("keeping LXD's refusal"));
	if (r == REFUSALS_E_WHOLE || ++j->tries > x->p->n_placements)
		return job_end(j, 0);
	job_sync(j);
}

/* Starts making @inst's devpass-* entries what the plan wants there. */
static int apply_instance(struct pass *x, const struct instance *inst)
{
	_cleanup_(json_object_putp) json_object *want =
		plan_desired_entries(x->p, inst);
	if (!want)
		return oom("merging the plan's entries");
	struct reconciler *rc = x->rc;
	if (refusal_memory_has(&rc->refused, inst->project, inst->name) &&
	    refusal_memory_recall(&rc->refused, x->p, inst, inst->gen, want,
				  &x->refusals) < 0)
		return oom("recalling LXD's refusals");
	if (json_object_equal(want, inst->entries))
		return 0;
	if (x->rc->dry_run)
		return record_changes(x->rc, x->p, inst, want, inst->entries,
				      0);
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return oom("starting a write");
	*j = (struct job){.pass = x,
			  .inst = inst,
			  .want = steal_ptr(&want),
			  .t0 = now_ms()};
	x->pending++;
	job_sync(j);
	return 0;
}

static void apply_plan(struct pass *x)
{
	x->pending++; /* holds the pass open while the writes start */
	/* An instance on another member is its member's devpassd's to write. */
	for (size_t i = 0; x->result >= 0 && i < x->set->n_instances; i++)
		if (!x->set->instances[i].elsewhere)
			pass_fail(x, apply_instance(x, &x->set->instances[i]));
	x->started = true;
	if (--x->pending == 0)
		pass_end(x);
}

static void on_instances(int r, struct instance_set *set, char **missing,
			 void *userdata)
{
	struct pass *x = userdata;

	if (r < 0 && r != -ENOMEM && r != -ECANCELED)
		set_lxd_error(x->rc, "cannot list LXD instances", r);
	if (r < 0) {
		x->result = r;
		return pass_end(x);
	}
	x->set = set;
	note_missing(x->rc, missing);
	x->result =
		decide_plan(x->rs, x->devices, x->set, &x->rc->features, &x->p);
	if (x->result < 0)
		return pass_end(x);
	apply_plan(x);
}

static void read_instances(struct pass *x)
{
	_cleanup_(strv_freep) char **projects = NULL;
	struct reconciler *rc = x->rc;
	int r = inventory_projects(x->rs, &rc->ledger, &projects);

	const struct inventory inv = {
		.lxd = rc->lxd,
		.member = rc->member,
		.cache = &rc->cache,
		.stats = &rc->reads,
	};
	if (r == 0)
		r = inventory_read_start(&inv, x->rs, projects, rc->events_up,
					 on_instances, x);
	if (r < 0) {
		x->result = r;
		pass_end(x);
	}
}

static void on_server(int r, struct lxd_server *server, void *userdata)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = server;
	struct pass *x = userdata;

	if (r < 0 && r != -ECANCELED)
		set_lxd_error(x->rc, "cannot reach LXD", r);
	if (r == 0)
		r = take_server(x->rc, s);
	if (r < 0) {
		x->result = r;
		return pass_end(x);
	}
	read_instances(x);
}

int reconcile_start(struct reconciler *rc, const struct ruleset *rs,
		    const struct device_list *devices, reconcile_done_t done,
		    void *userdata)
{
	if (rc->pass)
		return -EBUSY;
	struct pass *x = calloc(1, sizeof(*x));
	if (!x)
		return oom("starting a reconcile");
	*x = (struct pass){.rc = rc,
			   .rs = rs,
			   .devices = devices,
			   .done = done,
			   .userdata = userdata};
	rc->pass = x;
	if (rc->server_known) {
		read_instances(x);
		return 0;
	}
	int r = lxd_server_get_start(rc->lxd, on_server, x);
	if (r < 0) {
		rc->pass = NULL;
		free(x);
	}
	return r;
}

bool reconciler_busy(const struct reconciler *rc)
{
	return rc && rc->pass;
}

/* What a blocking reconcile waits for. */
struct run_waiter {
	bool done;
	int r;
};

static void run_done(int r, void *userdata)
{
	struct run_waiter *w = userdata;
	w->r = r;
	w->done = true;
}

int reconcile_run(struct reconciler *rc, const struct ruleset *rs,
		  const struct device_list *devices)
{
	struct run_waiter w = {0};
	int r = reconcile_start(rc, rs, devices, run_done, &w);

	if (r < 0 || (r = lxd_client_run(rc->lxd, &w.done)) < 0)
		return r;
	return w.r;
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
	json_object_object_add(lxd, "server",
			       json_string_or_null(rc ? rc->server : NULL));
	json_object_object_add(lxd, "error", json_string_or_null(error));
	json_object_object_add(lxd, "writes",
			       json_object_new_int64(rc ? rc->writes : 0));
	json_object_object_add(
		lxd, "instance_lists",
		json_object_new_int64(rc ? (int64_t)rc->reads.lists : 0));
	json_object_object_add(
		lxd, "instance_reads",
		json_object_new_int64(rc ? (int64_t)rc->reads.reads : 0));
	json_object_object_add(lxd, "events",
			       json_object_new_boolean(rc && rc->events_up));
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
