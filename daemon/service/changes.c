/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/service/changes.h"
#include "devpass/util/log.h"

/* Names of @a that @b lacks, or (@or_differs) holds with another value. */
static int names_not_in(json_object *a, json_object *b, bool or_differs,
			char ***out)
{
	json_object_object_foreach(a, name, value) {
		json_object *other = NULL;
		bool there = json_object_object_get_ex(b, name, &other);
		if (there && (!or_differs || json_object_equal(value, other)))
			continue;
		if (strv_push(out, name) < 0)
			return -ENOMEM;
	}
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

/* The names of @entries that are in @names, space-separated; NULL on
 * ENOMEM. */
static char *names_in(json_object *entries, char **names)
{
	_cleanup_(strv_freep) char **v = NULL;
	json_object_object_foreach(entries, name, value) {
		(void)value;
		if (strv_contains(names, name) && strv_push(&v, name) < 0)
			return NULL;
	}
	return strv_join(v, " ");
}

void changes_log_attaches(const struct plan *p, const struct instance *inst,
			  char **added, bool dry_run, long long ms)
{
	for (size_t i = 0; i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		if (pl->target != inst)
			continue;
		_cleanup_(freep) char *names = names_in(pl->entries, added);
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
 * The entries of @removed, from @from on, that @l says stand for @e's
 * device, space-separated, and marked in @done; NULL on ENOMEM.
 */
static char *names_of_device(const struct ledger *l,
			     const struct instance *inst,
			     const struct ledger_entry *e, char **removed,
			     size_t from, bool *done)
{
	_cleanup_(strv_freep) char **names = NULL;
	for (size_t j = from; removed[j]; j++) {
		const struct ledger_entry *o =
			ledger_find(l, inst->project, inst->name, removed[j]);
		if (done[j] || !ledger_same_device(e, o))
			continue;
		if (strv_push(&names, removed[j]) < 0)
			return NULL;
		done[j] = true;
	}
	return strv_join(names, " ");
}

void changes_log_detaches(const struct ledger *l, const struct instance *inst,
			  char **removed, bool dry_run, long long ms)
{
	const char *verb = dry_run ? "would detach" : "detached";
	_cleanup_(freep) bool *done =
		calloc(strv_length(removed) + 1, sizeof(bool));
	for (size_t i = 0; done && removed && removed[i]; i++) {
		const struct ledger_entry *e =
			ledger_find(l, inst->project, inst->name, removed[i]);
		if (done[i])
			continue;
		if (!e) {
			log_notice("%s %s from %s/%s (no device wants it any "
				   "more) in %lld ms",
				   verb, removed[i], inst->project, inst->name,
				   ms);
			continue;
		}
		_cleanup_(freep) char *names =
			names_of_device(l, inst, e, removed, i, done);
		log_notice("%s %s %s from %s/%s: %s in %lld ms", verb, e->rule,
			   e->device, inst->project, inst->name,
			   names ? names : removed[i], ms);
	}
}
