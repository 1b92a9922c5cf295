/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "devpass/util/json.h"
#include "devpass/service/ledger.h"
#include "devpass/util/log.h"
#include "devpass/lxd/sync.h"
#include "devpass/rules/match.h"
#include "devpass/service/outcome.h"
#include "devpass/service/reconcile.h"

struct reconciler {
	struct lxd_client *lxd;
	bool dry_run;
	bool server_known;
	struct plan_features features;
	bool patch_removal;
	char *member; /* this cluster member, or NULL when not clustered */
	unsigned writes;
	char *lxd_error;
	struct ledger ledger;
	struct outcomes outcomes;
};

int reconciler_new(struct lxd_client *lxd, bool dry_run,
		   struct reconciler **out)
{
	struct reconciler *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
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

int reconciler_refresh_server(struct reconciler *rc)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;
	int r = lxd_server_get(rc->lxd, &s);
	if (r < 0) {
		set_lxd_error(rc, "cannot reach LXD", r);
		return r;
	}
	rc->features.usb_serial =
		lxd_server_has_extension(s, "device_usb_serial");
	rc->features.pci_hotplug = lxd_server_has_extension(s, "pci_hotplug");
	rc->patch_removal = lxd_server_has_extension(s, "device_patch_removal");
	free(rc->member);
	rc->member =
		s->clustered && s->server_name ? strdup(s->server_name) : NULL;
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

/* The devpass-* entries of an instance's devices map, as a new object. */
static json_object *own_entries(json_object *devices)
{
	json_object *own = json_object_new_object();
	if (!own || !json_object_is_type(devices, json_type_object))
		return own;
	json_object_object_foreach(devices, name,
				   value) if (entry_is_ours(name))
		json_object_object_add(own, name, json_object_get(value));
	return own;
}

static bool is_local(const struct reconciler *rc, const struct lxd_instance *li)
{
	return !rc->member || !li->location ||
	       strcmp(li->location, rc->member) == 0;
}

static int add_instances(struct reconciler *rc, const char *project,
			 struct instance_set *set)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	int r = lxd_instances_list(rc->lxd, project, &l);
	if (r < 0)
		return r;
	struct instance *grown = realloc(
		set->instances, (set->n_instances + l->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	set->instances = grown;
	for (size_t i = 0; i < l->n; i++) {
		const struct lxd_instance *li = &l->items[i];
		if (!is_local(rc, li))
			continue;
		struct instance *inst = &set->instances[set->n_instances];
		*inst = (struct instance){
			.project = strdup(project),
			.name = strdup(li->name),
			.type = li->vm ? INSTANCE_VM : INSTANCE_CONTAINER,
			.running = li->running,
			.privileged = li->privileged,
			.entries = own_entries(li->devices),
		};
		set->n_instances++;
		if (!inst->project || !inst->name || !inst->entries)
			return -ENOMEM;
	}
	return 0;
}

static bool seen_project(char **projects, const char *p)
{
	for (char **q = projects; q && *q; q++)
		if (strcmp(*q, p) == 0)
			return true;
	return false;
}

/* Projects to read: those the rules name, those we hold entries in, and
 * "default" (where stale entries of removed rules most likely are). */
static int projects_of(const struct reconciler *rc, const struct ruleset *rs,
		       char ***out)
{
	_cleanup_(strv_freep) char **v = NULL;
	int r = strv_push(&v, "default");
	for (size_t i = 0; r == 0 && i < rs->n_rules; i++)
		if (!seen_project(v, rs->rules[i]->project))
			r = strv_push(&v, rs->rules[i]->project);
	for (size_t i = 0; r == 0 && i < rc->ledger.n_entries; i++)
		if (!seen_project(v, rc->ledger.entries[i].project))
			r = strv_push(&v, rc->ledger.entries[i].project);
	if (r < 0)
		return r;
	*out = steal_ptr(&v);
	return 0;
}

static int read_instances(struct reconciler *rc, const struct ruleset *rs,
			  struct instance_set **out)
{
	_cleanup_(strv_freep) char **projects = NULL;
	_cleanup_(instance_set_freep) struct instance_set *set =
		calloc(1, sizeof(*set));
	if (!set || projects_of(rc, rs, &projects) < 0)
		return -ENOMEM;
	for (char **p = projects; *p; p++) {
		int r = add_instances(rc, *p, set);
		if (r == -ENXIO) {
			log_warning(
				"LXD has no project \"%s\" (named by a rule)",
				*p);
			continue;
		}
		if (r < 0) {
			set_lxd_error(rc, "cannot list LXD instances", r);
			return r;
		}
	}
	*out = steal_ptr(&set);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Names of @a that @b lacks or holds with another value. */
static int names_differing(json_object *a, json_object *b, char ***out)
{
	json_object_object_foreach(a, name, value)
	{
		json_object *other = NULL;
		if (json_object_object_get_ex(b, name, &other) &&
		    json_object_equal(value, other))
			continue;
		if (strv_push(out, name) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The entries of @p's that are in @names, space-separated. */
static char *names_in(json_object *entries, char **names)
{
	char *s = strdup("");
	json_object_object_foreach(entries, name, value)
	{
		(void)value;
		char *grown = NULL;
		if (!s || !strv_contains(names, name))
			continue;
		if (asprintf(&grown, "%s%s%s", s, *s ? " " : "", name) < 0)
			grown = NULL;
		free(s);
		s = grown;
	}
	return s;
}

static void log_attaches(const struct reconciler *rc, const struct plan *p,
			 const struct instance *inst, char **added,
			 long long ms)
{
	for (size_t i = 0; i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		if (pl->target != inst)
			continue;
		_cleanup_(freep) char *names = names_in(pl->entries, added);
		if (!names || !*names)
			continue;
		log_notice("%s %s %s (%04x:%04x) to %s/%s as %s in %lld ms%s%s",
			   rc->dry_run ? "would attach" : "attached",
			   pl->rule->name, pl->device->id, pl->device->vendor,
			   pl->device->product, inst->project, inst->name,
			   names, ms, pl->reason ? "; " : "",
			   pl->reason ? pl->reason : "");
	}
}

/* One line per device: its removed entries are grouped by the ledger. */
static void log_detaches(const struct reconciler *rc,
			 const struct instance *inst, char **removed,
			 long long ms)
{
	const char *verb = rc->dry_run ? "would detach" : "detached";
	size_t n = strv_length(removed);
	_cleanup_(freep) bool *done = calloc(n + 1, sizeof(bool));
	for (size_t i = 0; done && i < n; i++) {
		const struct ledger_entry *e = ledger_find(
			&rc->ledger, inst->project, inst->name, removed[i]);
		if (done[i])
			continue;
		if (!e) {
			log_notice("%s %s from %s/%s (no device wants it any "
				   "more) in %lld ms",
				   verb, removed[i], inst->project, inst->name,
				   ms);
			continue;
		}
		_cleanup_(freep) char *names = strdup(removed[i]);
		for (size_t j = i + 1; names && j < n; j++) {
			if (done[j] ||
			    !ledger_same_device(
				    e, ledger_find(&rc->ledger, inst->project,
						   inst->name, removed[j])))
				continue;
			char *grown = NULL;
			if (asprintf(&grown, "%s %s", names, removed[j]) < 0)
				grown = NULL;
			free(names);
			names = grown;
			done[j] = true;
		}
		log_notice("%s %s %s from %s/%s: %s in %lld ms", verb, e->rule,
			   e->device, inst->project, inst->name,
			   names ? names : removed[i], ms);
	}
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
		json_object_object_foreach(pl->entries, name, value)
		{
			(void)value;
			if (ledger_add(&rc->ledger, inst->project, inst->name,
				       name, pl->rule->name,
				       pl->device->id) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/*
 * LXD's refusals in one reconcile: of one device's entries (@pl set), or,
 * when LXD named no entry of ours, of the instance's whole change.
 */
struct refusal {
	const struct instance *inst;
	const struct placement *pl;
	char *why;
};

struct refusals {
	struct refusal *v;
	size_t n;
};

static int refusals_add(struct refusals *rs, const struct instance *inst,
			const struct placement *pl, char *why)
{
	struct refusal *grown = realloc(rs->v, (rs->n + 1) * sizeof(*grown));
	if (!grown) {
		free(why);
		return -ENOMEM;
	}
	rs->v = grown;
	rs->v[rs->n++] = (struct refusal){inst, pl, why};
	return 0;
}

static void refusals_clear(struct refusals *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].why);
	free(rs->v);
}

static const char *refusal_for(const struct refusals *rs,
			       const struct placement *pl)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].pl == pl ||
		    (!rs->v[i].pl && rs->v[i].inst == pl->target))
			return rs->v[i].why ? rs->v[i].why
					    : "LXD refused the entries";
	return NULL;
}

/* The placement on @inst whose entries hold @entry, or NULL. */
static const struct placement *
owner_of(const struct plan *p, const struct instance *inst, const char *entry)
{
	for (size_t i = 0; entry && i < p->n_placements; i++)
		if (p->placements[i].target == inst &&
		    json_object_object_get_ex(p->placements[i].entries, entry,
					      NULL))
			return &p->placements[i];
	return NULL;
}

static void drop_entries(json_object *want, const struct placement *pl)
{
	json_object_object_foreach(pl->entries, name, value)
	{
		(void)value;
		json_object_object_del(want, name);
	}
}

/* Keeps LXD's refusal; sets the device aside when LXD named its entry. */
static int refused(struct reconciler *rc, const struct plan *p,
		   const struct instance *inst, json_object *want, char *why,
		   struct refusals *rs)
{
	_cleanup_(freep) char *entry =
		why ? lxd_error_device(why, ENTRY_PREFIX) : NULL;
	const struct placement *pl = owner_of(p, inst, entry);
	if (pl)
		log_warning("LXD refused %s %s for %s/%s: %s", pl->rule->name,
			    pl->device->id, inst->project, inst->name,
			    why ? why : "(no reason given)");
	else
		log_warning("LXD refused devpass's entries for %s/%s: %s",
			    inst->project, inst->name,
			    why ? why : "(no reason given)");
	if (pl)
		drop_entries(want, pl);
	int r = refusals_add(rs, inst, pl, why);
	return r < 0 ? r : pl ? 0 : 1;
}

/*
 * Writes @want to @inst. A device whose entry LXD refuses is set aside and
 * the rest written again, so one bad device keeps no other out.
 * Return: 0; 1 when LXD refused the instance's change as a whole; -errno.
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
			return r == -ENXIO ? 1 : r;
		}
		r = refused(rc, p, inst, want, why, rs);
		if (r != 0)
			return r;
	}
	return 1;
}

/* Logs what changed on @inst and keeps it in the ledger. */
static int record_changes(struct reconciler *rc, const struct plan *p,
			  const struct instance *inst, json_object *want,
			  long long ms)
{
	_cleanup_(strv_freep) char **added = NULL, **removed = NULL;
	if (names_differing(want, inst->entries, &added) < 0)
		return -ENOMEM;
	json_object_object_foreach(inst->entries, name, value)
	{
		(void)value;
		if (!json_object_object_get_ex(want, name, NULL) &&
		    strv_push(&removed, name) < 0)
			return -ENOMEM;
	}
	log_attaches(rc, p, inst, added, ms);
	log_detaches(rc, inst, removed, ms);
	return rc->dry_run ? 0 : ledger_record(rc, p, inst, removed);
}

/* Makes @inst's devpass-* entries what @p wants there. */
static int apply_instance(struct reconciler *rc, const struct plan *p,
			  const struct instance *inst, struct refusals *rs)
{
	_cleanup_(json_object_putp) json_object *want =
		plan_desired_entries(p, inst);
	if (!want)
		return -ENOMEM;
	if (json_object_equal(want, inst->entries))
		return 0;
	long long t0 = now_ms();
	int r = rc->dry_run ? 0 : sync_instance(rc, p, inst, want, rs);
	if (r != 0)
		return r < 0 ? r : 0;
	return record_changes(rc, p, inst, want, now_ms() - t0);
}

/* What became of @pl: the plan's decision, unless LXD refused it. */
static int record_outcome(struct reconciler *rc, const struct placement *pl,
			  const char *refusal)
{
	const char *attached = rc->dry_run ? "would-attach" : "attached";
	switch (pl->state) {
	case PLACEMENT_ATTACH:
		return outcomes_add(&rc->outcomes, pl,
				    refusal ? "refused" : attached,
				    refusal ? refusal : pl->reason);
	case PLACEMENT_WAITING:
		return outcomes_add(&rc->outcomes, pl, "waiting", pl->reason);
	case PLACEMENT_REFUSED:
		break;
	}
	return outcomes_add(&rc->outcomes, pl, "refused", pl->reason);
}

static int record_outcomes(struct reconciler *rc, const struct plan *p,
			   const struct refusals *rs)
{
	outcomes_clear(&rc->outcomes);
	for (size_t i = 0; i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		int r = record_outcome(rc, pl,
				       pl->target ? refusal_for(rs, pl) : NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_plan(struct reconciler *rc, const struct plan *p,
		      const struct instance_set *set)
{
	struct refusals rs = {0};
	int r = 0;
	for (size_t i = 0; r >= 0 && i < set->n_instances; i++)
		r = apply_instance(rc, p, &set->instances[i], &rs);
	if (r >= 0)
		r = record_outcomes(rc, p, &rs);
	refusals_clear(&rs);
	return r;
}

int reconcile_run(struct reconciler *rc, const struct ruleset *rs,
		  const struct device_list *devices)
{
	int r = rc->server_known ? 0 : reconciler_refresh_server(rc);
	_cleanup_(instance_set_freep) struct instance_set *set = NULL;
	_cleanup_(plan_freep) struct plan *p = NULL;
	if (r < 0 || (r = read_instances(rc, rs, &set)) < 0)
		return r;
	struct pci_host host;
	r = pci_host_read(devices, NULL, NULL, &host);
	if (r < 0)
		return r;
	r = plan_build(rs, devices, set, &rc->features, &host, &p);
	pci_host_clear(&host);
	if (r < 0)
		return r;
	r = apply_plan(rc, p, set);
	if (r < 0 && r != -ENOMEM)
		set_lxd_error(rc, "cannot write to LXD", r);
	else if (r == 0) {
		free(rc->lxd_error);
		rc->lxd_error = NULL;
	}
	return r;
}

bool reconciler_all_attached(const struct reconciler *rc)
{
	return outcomes_all_attached(&rc->outcomes);
}

json_object *reconciler_status(const struct reconciler *rc,
			       const struct ruleset *rs,
			       const struct device_list *devices)
{
	static const struct outcomes none;
	const struct outcomes *o = rc ? &rc->outcomes : &none;
	const char *error = rc ? rc->lxd_error : "no LXD socket found yet";
	json_object *root = json_object_new_object();
	json_object *lxd = json_object_new_object();
	json_object *devs = json_object_new_array();
	json_object_object_add(root, "lxd", lxd);
	json_object_object_add(root, "devices", devs);
	json_object_object_add(
		lxd, "socket",
		json_string_or_null(rc ? lxd_client_socket_path(rc->lxd) : NULL));
	json_object_object_add(lxd, "error", json_string_or_null(error));
	json_object_object_add(lxd, "writes",
			       json_object_new_int64(rc ? rc->writes : 0));
	json_object_object_add(root, "dry_run",
			       json_object_new_boolean(rc && rc->dry_run));
	for (size_t i = 0; devices && i < devices->n_devices; i++)
		json_object_array_add(
			devs, outcome_device_json(
				      o, devices->devices[i],
				      match_ruleset(rs, devices->devices[i]),
				      error));
	return root;
}
