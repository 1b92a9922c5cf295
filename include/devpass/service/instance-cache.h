/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the instances as devpassd knows them between full reads
 *
 * What the planner needs of each instance (struct instance) is kept here,
 * so that a plug costs requests for the instances it writes to, never a
 * list of every instance on the host or in the cluster. It changes on:
 *
 * - a full read of a project (instance_cache_fill_begin() +
 *   instance_cache_put()): at start, when the event stream (re)connects,
 *   and on doubt (instance_cache_invalidate());
 * - LXD's lifecycle events (instance_cache_event()): started and
 *   restarted set it running, stopped and shutdown set it stopped,
 *   deleted drops it, renamed renames it; created, updated and every
 *   other instance event (paused, resumed, restored...) mark it stale:
 *   it is read again by name before the next plan;
 * - devpassd's own writes (instance_cache_write_begin() / _end()): the
 *   entries written are the entries it has, and the instance-updated
 *   event each accepted write causes is taken for it (not marked stale).
 *
 * Reads are asynchronous, so an event may come while a read is in flight
 * whose answer reflects LXD before the event: such an event is not
 * applied to the instance but marks it stale, and the answer leaves it
 * stale, so it is read again (instance_cache_read_begin(), and the fill
 * of a project while instance_cache_fill_end() has not been called).
 *
 * Each instance carries a generation that changes whenever LXD tells of a
 * change devpassd did not make; the memory of LXD's refusals
 * (refusal.h) holds while it stays the same.
 *
 * Pure: no I/O, no logging; -ENOMEM is returned unlogged.
 */

#include <stdbool.h>
#include <stddef.h>

#include "devpass/lxd/events.h"
#include "devpass/plan/instance.h"

/**
 * struct cached_instance - one instance.
 * @inst: its state; @inst.entries owned (never changed in place: a new
 *        state replaces the object, so a snapshot may keep references).
 * @known: @inst was read from LXD; false while only its name is known
 *         (an instance-created event, a name to look up): not planned.
 * @stale: to be read again by name before the next plan.
 * @gen: changes with every change LXD told of that devpassd did not make.
 * @own_writes: devpassd's accepted writes whose instance-updated event is
 *              due.
 * @in_flight: devpassd's writes sent and not answered yet.
 * @reading: reads of it by name sent and not answered yet.
 * @touched: an event came while it was being read (the answer may be
 *           older than the event): it stays stale.
 * @listed: the full read of its project in flight (or the last one)
 *          listed it.
 * @early: instance-updated events that came while a write was in flight
 *         (the write's, if it is accepted).
 * @unpaired: a write was in flight when the cache was doubted (the event
 *             stream came up, or went down): its event may have been lost
 *             with the stream, so its answer is not paired with one; the
 *             instance is read again instead. So is a write that ends while
 *             its project waits for its full read: no event is applied
 *             then, its own would never be.
 */
struct cached_instance {
	struct instance inst;
	bool known;
	bool stale;
	unsigned gen;
	unsigned own_writes;
	unsigned in_flight;
	unsigned early;
	unsigned reading;
	bool touched;
	bool listed;
	bool unpaired;
};

/**
 * struct instance_cache - the instances of the projects read in full.
 * @v, @n: the instances, in no particular order.
 * @projects: the projects read in full since the last doubt.
 * @filling: those of them whose full read is in flight.
 * @clock: the last generation given out.
 */
struct instance_cache {
	struct cached_instance *v;
	size_t n;
	char **projects;
	char **filling;
	unsigned clock;
};

/* Frees what @c holds (not @c itself) and empties it. */
void instance_cache_clear(struct instance_cache *c);

/**
 * instance_cache_invalidate() - doubt: every project is read in full
 * again before the next plan; until then no event is applied. An instance
 * the next read finds as it was (type, running, privileged, entries) keeps
 * its generation (so a reconnect alone does not make LXD's remembered
 * refusals be tried again); one it does not list is forgotten.
 */
void instance_cache_invalidate(struct instance_cache *c);

/* Whether @project was read in full since the last doubt. */
bool instance_cache_has_project(const struct instance_cache *c,
				const char *project);

/**
 * instance_cache_fill_begin() - a full read of @project starts; it counts
 * as read; instance_cache_put() then puts what the read found, and
 * instance_cache_fill_end() forgets the instances it did not.
 * Return: 0 or -ENOMEM.
 */
int instance_cache_fill_begin(struct instance_cache *c, const char *project);

/**
 * instance_cache_fill_end() - the full read of @project ended: @ok, or
 * failed (then the project is read in full again next time).
 */
void instance_cache_fill_end(struct instance_cache *c, const char *project,
			     bool ok);

/**
 * instance_cache_read_begin() - a read of @project/@name by name goes out
 * (the instance is added by name if it is not cached).
 * Return: 0 or -ENOMEM.
 */
int instance_cache_read_begin(struct instance_cache *c, const char *project,
			      const char *name);

/**
 * instance_cache_read_end() - that read ended: with @inst (put as by
 * instance_cache_put(), entries taken over), or NULL with @found false
 * (no such instance here: dropped), or NULL with @found true (the read
 * failed: it stays stale). An instance an event touched meanwhile stays
 * stale whatever the answer.
 * Return: 0 or -ENOMEM.
 */
int instance_cache_read_end(struct instance_cache *c, const char *project,
			    const char *name, const struct instance *inst,
			    bool found);

/**
 * instance_cache_put() - @inst as LXD has it now (known, and not stale
 * unless an event touched it during its read). Its
 * generation changes if it was not known or its type, running, privileged
 * or entries differ. @inst's project and name are copied; its entries (a
 * reference) are taken over whatever the outcome.
 * Return: 0 or -ENOMEM.
 */
int instance_cache_put(struct instance_cache *c, const struct instance *inst);

/* Forgets @project/@name (deleted, moved to another member, not found). */
void instance_cache_drop(struct instance_cache *c, const char *project,
			 const char *name);

/**
 * instance_cache_mark_stale() - read @project/@name again before the next
 * plan; an instance not cached is added by name only (known false).
 * Return: 0 or -ENOMEM.
 */
int instance_cache_mark_stale(struct instance_cache *c, const char *project,
			      const char *name);

/**
 * enum instance_cache_outcome - what instance_cache_event() found besides
 * an event it took (0).
 * @INSTANCE_CACHE_E_UNTRACKED: the event's project is not read in full,
 *     or the instance is on another cluster member: nothing to keep.
 * @INSTANCE_CACHE_E_DOUBT: the event cannot be applied (a rename without
 *     the old name): the cache was invalidated.
 */
enum instance_cache_outcome {
	INSTANCE_CACHE_E_UNTRACKED = 1,
	INSTANCE_CACHE_E_DOUBT,
};

/**
 * instance_cache_event() - apply one lifecycle event (see the DOC).
 * @member: this cluster member, or NULL when not clustered; an event whose
 *          location is another member touches only an instance cached.
 * Return: 0, an enum instance_cache_outcome, or -ENOMEM.
 */
int instance_cache_event(struct instance_cache *c, const struct lxd_event *ev,
			 const char *member);

/**
 * instance_cache_write_begin() - a write to @project/@name is about to go
 * out: an instance-updated event of it that comes before
 * instance_cache_write_end() is taken for this write.
 */
void instance_cache_write_begin(struct instance_cache *c, const char *project,
				const char *name);

/**
 * enum instance_write - how a write of instance_cache_write_begin() ended.
 * @INSTANCE_WRITE_ACCEPTED: LXD took it; its instance-updated event is due.
 * @INSTANCE_WRITE_NONE: nothing was written (LXD refused it, or had the
 *     entries already); no event is due.
 * @INSTANCE_WRITE_UNSURE: it failed on the way (timeout, broken
 *     connection, kept changing): the instance is read again.
 */
enum instance_write {
	INSTANCE_WRITE_ACCEPTED,
	INSTANCE_WRITE_NONE,
	INSTANCE_WRITE_UNSURE,
};

/**
 * instance_cache_write_end() - the write ended as @how; @entries
 * (borrowed), when not NULL, are the entries the instance has now.
 */
void instance_cache_write_end(struct instance_cache *c, const char *project,
			      const char *name, enum instance_write how,
			      json_object *entries);

/* The instance @project/@name, or NULL. */
struct cached_instance *instance_cache_find(const struct instance_cache *c,
					    const char *project,
					    const char *name);

/* The generation of @project/@name, 0 if it is not known. */
unsigned instance_cache_gen(const struct instance_cache *c, const char *project,
			    const char *name);

/**
 * instance_cache_snapshot() - the known instances of @projects as a new
 * set for the planner (names copied, entries referenced), which later
 * changes to the cache leave alone.
 * Return: 0 or -ENOMEM.
 */
int instance_cache_snapshot(const struct instance_cache *c,
			    char *const *projects, struct instance_set **out);
