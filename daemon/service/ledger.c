/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/util/common.h"
#include "devpass/util/strv.h"
#include "devpass/service/ledger.h"

static void entry_clear(struct ledger_entry *e)
{
	free(e->project);
	free(e->instance);
	free(e->entry);
	free(e->rule);
	free(e->device);
}

void ledger_clear(struct ledger *l)
{
	for (size_t i = 0; i < l->n_entries; i++)
		entry_clear(&l->entries[i]);
	free(l->entries);
	*l = (struct ledger){0};
}

bool ledger_entry_is_at(const struct ledger_entry *e, const char *project,
			const char *instance)
{
	return strcmp(e->instance, instance) == 0 &&
	       strcmp(e->project, project) == 0;
}

const struct ledger_entry *ledger_find(const struct ledger *l,
				       const char *project,
				       const char *instance, const char *entry)
{
	for (size_t i = 0; i < l->n_entries; i++)
		if (strcmp(l->entries[i].entry, entry) == 0 &&
		    ledger_entry_is_at(&l->entries[i], project, instance))
			return &l->entries[i];
	return NULL;
}

bool ledger_same_device(const struct ledger_entry *a,
			const struct ledger_entry *b)
{
	return a && b && strcmp(a->rule, b->rule) == 0 &&
	       strcmp(a->device, b->device) == 0;
}

int ledger_add(struct ledger *l, const char *project, const char *instance,
	       const char *entry, const char *rule, const char *device)
{
	if (ledger_find(l, project, instance, entry))
		return 0;
	if (l->n_entries == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct ledger_entry *grown =
			realloc(l->entries, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		l->entries = grown;
		l->cap = cap;
	}
	struct ledger_entry *e = &l->entries[l->n_entries];
	*e = (struct ledger_entry){
		.project = strdup(project),
		.instance = strdup(instance),
		.entry = strdup(entry),
		.rule = strdup(rule),
		.device = strdup(device),
	};
	if (!e->project || !e->instance || !e->entry || !e->rule ||
	    !e->device) {
		entry_clear(e);
		return -ENOMEM;
	}
	l->n_entries++;
	return 0;
}

/* Whether @name is one of @entries: through @set (a json object used as a
 * hash set: LXD may hold 100k entries) when there is one. */
static bool is_one_of(json_object *set, char **entries, const char *name)
{
	if (set)
		return json_object_object_get_ex(set, name, NULL);
	return strv_contains(entries, name);
}

/* @entries as a json object of names; NULL on ENOMEM. */
static json_object *set_of(char **entries)
{
	json_object *set = json_object_new_object();
	STRV_FOREACH(e, entries)
		if (set && json_object_object_add(set, *e, NULL) < 0) {
			json_object_put(set);
			return NULL;
		}
	return set;
}

void ledger_forget(struct ledger *l, const char *project, const char *instance,
		   char **entries)
{
	if (!entries || !*entries)
		return;
	/* Out of memory for the set: the slow way, still right. */
	_cleanup_(json_object_putp) json_object *set = set_of(entries);
	size_t kept = 0;
	for (size_t i = 0; i < l->n_entries; i++) {
		struct ledger_entry *e = &l->entries[i];
		if (ledger_entry_is_at(e, project, instance) &&
		    is_one_of(set, entries, e->entry))
			entry_clear(e);
		else
			l->entries[kept++] = *e;
	}
	l->n_entries = kept;
}
