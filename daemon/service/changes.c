/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/plan/entries.h"
#include "devpass/service/changes.h"
#include "devpass/util/log.h"

/* A detach line names at most this many entries no device stands for. */
#define CHANGES_NAMES_SHOWN 8

/* Names of @a that @b lacks, or (@or_differs) holds with another value;
 * only devpass's own names of @a. */
static int names_not_in(json_object *a, json_object *b, bool or_differs,
			char ***out)
{
	_cleanup_(strv_builder_clear) struct strv_builder v = {0};
	json_object_object_foreach(a, name, value) {
		json_object *other = NULL;
		bool there = json_object_object_get_ex(b, name, &other);
		if (!entry_is_ours(name) ||
		    (there && (!or_differs || json_object_equal(value, other))))
			continue;
		if (strv_builder_add(&v, name) < 0)
			return -ENOMEM;
	}
	*out = strv_builder_steal(&v);
	return 0;
}

int changes_diff(json_object *want, json_object *have, char ***added,
		 char ***removed)
{
	if (names_not_in(want, have, true, added) < 0 ||
	    names_not_in(have, want, false, removed) < 0)
		return log_err_errno(-ENOMEM,
				     "out of memory logging the changes");
	return 0;
}

/* @names as a set (a json object, name -> null); NULL on ENOMEM. */
static json_object *name_set(char **names)
{
	_cleanup_(json_object_putp) json_object *set = json_object_new_object();
	STRV_FOREACH(n, names)
		if (!set || json_object_object_add(set, *n, NULL) < 0)
			return NULL;
	return steal_ptr(&set);
}

/* The names of @entries that are in @set, space-separated; NULL on
 * ENOMEM. */
static char *names_in(json_object *entries, json_object *set)
{
	_cleanup_(strv_builder_clear) struct strv_builder v = {0};
	json_object_object_foreach(entries, name, value) {
		(void)value;
		if (json_object_object_get_ex(set, name, NULL) &&
		    strv_builder_add(&v, name) < 0)
			return NULL;
	}
	return strv_join(v.v, " ");
}

void changes_log_attaches(const struct plan *p, const struct instance *inst,
			  char **added, bool dry_run, long long ms)
{
	if (!added || !*added)
		return;
	_cleanup_(json_object_putp) json_object *set = name_set(added);
	for (size_t i = 0; set && i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		if (pl->target != inst)
			continue;
		_cleanup_(freep) char *names = names_in(pl->entries, set);
		if (!names || !*names)
			continue;
		log_notice("%s %s %s (%04x:%04x) to %s/%s as %s in %lld ms%s%s",
			   dry_run ? "would attach" : "attached",
			   pl->rule->name, pl->device->id, pl->device->vendor,
			   pl->device->product, inst->project, inst->name,
			   names, ms, pl->reason ? "; " : "",
			   pl->reason ? pl->reason : "");
	}
}

/*
 * The entries of @e's device on its instance, from ledger entry @from on,
 * that are in @gone, space-separated, and marked in @done; NULL on ENOMEM.
 */
static char *names_of_device(const struct ledger *l, size_t from,
			     json_object *gone, bool *done)
{
	const struct ledger_entry *e = &l->entries[from];
	_cleanup_(strv_builder_clear) struct strv_builder names = {0};
	for (size_t j = from; j < l->n_entries; j++) {
		const struct ledger_entry *o = &l->entries[j];
		if (done[j] ||
		    !ledger_entry_is_at(o, e->project, e->instance) ||
		    !ledger_same_device(e, o) ||
		    !json_object_object_get_ex(gone, o->entry, NULL))
			continue;
		if (strv_builder_add(&names, o->entry) < 0)
			return NULL;
		done[j] = true;
	}
	return strv_join(names.v, " ");
}

/* One line per device the ledger knows entries of @gone for. */
static void log_known(const struct ledger *l, const struct instance *inst,
		      json_object *gone, const char *verb, long long ms)
{
	_cleanup_(freep) bool *done = calloc(l->n_entries + 1, sizeof(bool));
	for (size_t i = 0; done && i < l->n_entries; i++) {
		const struct ledger_entry *e = &l->entries[i];
		if (done[i] ||
		    !ledger_entry_is_at(e, inst->project, inst->name) ||
		    !json_object_object_get_ex(gone, e->entry, NULL))
			continue;
		_cleanup_(freep) char *names =
			names_of_device(l, i, gone, done);
		log_notice("%s %s %s from %s/%s: %s in %lld ms", verb, e->rule,
			   e->device, inst->project, inst->name,
			   names ? names : e->entry, ms);
	}
}

/* The entry names the ledger holds for @inst, as a set; NULL on ENOMEM. */
static json_object *known_set(const struct ledger *l,
			      const struct instance *inst)
{
	_cleanup_(json_object_putp) json_object *set = json_object_new_object();
	for (size_t i = 0; set && i < l->n_entries; i++)
		if (ledger_entry_is_at(&l->entries[i], inst->project,
				       inst->name) &&
		    json_object_object_add(set, l->entries[i].entry, NULL) < 0)
			return NULL;
	return steal_ptr(&set);
}

/*
 * One line for all of @removed that no ledger entry stands for (left by a
 * run before a restart, or by someone else), naming the first few: 100k
 * of them are one line, not 100k.
 */
static void log_unknown(const struct ledger *l, const struct instance *inst,
			char **removed, const char *verb, long long ms)
{
	_cleanup_(json_object_putp) json_object *known = known_set(l, inst);
	_cleanup_(strv_builder_clear) struct strv_builder shown = {0};
	size_t n = 0;
	STRV_FOREACH(name, removed) {
		if (!known || json_object_object_get_ex(known, *name, NULL))
			continue;
		if (n++ < CHANGES_NAMES_SHOWN &&
		    strv_builder_add(&shown, *name) < 0)
			return;
	}
	_cleanup_(freep) char *names = strv_join(shown.v, " ");
	if (n == 0 || !names)
		return;
	if (n <= CHANGES_NAMES_SHOWN)
		log_notice("%s %s from %s/%s (no device wants %s any more) in "
			   "%lld ms",
			   verb, names, inst->project, inst->name,
			   n == 1 ? "it" : "them", ms);
	else
		log_notice("%s %zu entries from %s/%s (no device wants them "
			   "any more: %s and %zu more) in %lld ms",
			   verb, n, inst->project, inst->name, names,
			   n - CHANGES_NAMES_SHOWN, ms);
}

void changes_log_detaches(const struct ledger *l, const struct instance *inst,
			  char **removed, bool dry_run, long long ms)
{
	const char *verb = dry_run ? "would detach" : "detached";
	if (!removed || !*removed)
		return;
	_cleanup_(json_object_putp) json_object *gone = name_set(removed);
	if (gone)
		log_known(l, inst, gone, verb, ms);
	log_unknown(l, inst, removed, verb, ms);
}
