/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/util/common.h"
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

static bool is_at(const struct ledger_entry *e, const char *project,
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
		    is_at(&l->entries[i], project, instance))
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
	struct ledger_entry *grown =
		realloc(l->entries, (l->n_entries + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	l->entries = grown;
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

void ledger_forget(struct ledger *l, const char *project, const char *instance,
		   char **entries)
{
	size_t kept = 0;
	for (size_t i = 0; i < l->n_entries; i++) {
		struct ledger_entry *e = &l->entries[i];
		if (is_at(e, project, instance) &&
		    strv_contains(entries, e->entry))
			entry_clear(e);
		else
			l->entries[kept++] = *e;
	}
	l->n_entries = kept;
}
