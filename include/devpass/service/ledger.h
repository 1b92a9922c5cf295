/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the ledger: what devpass attached, entry by entry
 *
 * A detach comes after the device is gone, and its model with it. The
 * ledger remembers, for each LXD entry devpass wrote, the rule and device
 * it stands for, so that the detach is logged by name. It lives in memory:
 * after a restart, stale entries are logged by their entry names alone.
 */

#include <stdbool.h>
#include <stddef.h>

/**
 * struct ledger_entry - one entry devpass wrote.
 * @project, @instance: where.
 * @entry: the LXD device name.
 * @rule, @device: the rule and the device id (port path, PCI address).
 */
struct ledger_entry {
	char *project;
	char *instance;
	char *entry;
	char *rule;
	char *device;
};

struct ledger {
	struct ledger_entry *entries;
	size_t n_entries;
	size_t cap; /* room in @entries */
};

/* Frees what @l holds (not @l itself) and empties it. */
void ledger_clear(struct ledger *l);

/* The record of @entry on @project/@instance, or NULL. */
const struct ledger_entry *ledger_find(const struct ledger *l,
				       const char *project,
				       const char *instance, const char *entry);

/* Whether @e is on @project/@instance. */
bool ledger_entry_is_at(const struct ledger_entry *e, const char *project,
			const char *instance);

/* Whether @a and @b stand for the same device under the same rule. */
bool ledger_same_device(const struct ledger_entry *a,
			const struct ledger_entry *b);

/**
 * ledger_add() - remember @entry (no-op when it is already known).
 * Return: 0 or -ENOMEM.
 */
int ledger_add(struct ledger *l, const char *project, const char *instance,
	       const char *entry, const char *rule, const char *device);

/* Forgets the @entries (NULL-terminated) of @project/@instance. */
void ledger_forget(struct ledger *l, const char *project, const char *instance,
		   char **entries);
