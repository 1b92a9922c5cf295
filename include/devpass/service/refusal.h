/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: LXD's refusals in one reconcile
 *
 * When LXD refuses an instance's write, its error names the entry it
 * refused when it can: that device is set aside and the rest written
 * again, so one bad device keeps no other out. When it names no entry of
 * ours, the instance's whole change is refused. The refusals become the
 * devices' outcomes (their state and reason) at the end of the pass.
 *
 * A device's refusal is remembered across passes (struct refusal_memory):
 * while the same device is placed by the same rule on the same instance
 * with the same entries, and the instance has not changed since (its
 * generation in the instance cache, instance-cache.h), LXD would refuse
 * it again, so it is not sent again. A refusal of an instance's whole
 * change names no device and may be transient (LXD busy, an operation
 * clash): it is never remembered, and is tried again on the next pass.
 */

#include <json-c/json.h>

#include "devpass/plan/plan.h"

/**
 * struct refusal - one refusal: of one device's entries (@pl set), or of
 * @inst's whole change (@pl NULL). @why: LXD's reason (owned), or NULL.
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

/**
 * enum refusals_outcome - what refusals_take() found besides a device to
 * set aside (0).
 * @REFUSALS_E_WHOLE: LXD named no entry of ours: @inst's change is refused
 *                    as a whole; write nothing more to it this pass.
 */
enum refusals_outcome {
	REFUSALS_E_WHOLE = 1,
};

/* Frees what @rs holds (not @rs itself) and empties it. */
void refusals_clear(struct refusals *rs);

/**
 * refusals_take() - keep LXD's refusal @why (taken over; may be NULL) of
 * the write of @want to @inst. The placement whose entry LXD named loses
 * its entries from @want. Each refusal is logged at debug level only: the
 * device's outcome says it once (outcome.h).
 * Return: 0 (a device was set aside: write @want again), REFUSALS_E_WHOLE,
 * or -ENOMEM (not logged).
 */
int refusals_take(struct refusals *rs, const struct plan *p,
		  const struct instance *inst, json_object *want, char *why);

/* Why LXD refused @pl's entries in this pass, or NULL. */
const char *refusals_find(const struct refusals *rs,
			  const struct placement *pl);

/**
 * struct remembered_refusal - one device's refusal kept across passes.
 * @project, @instance, @rule, @device: what was refused where (owned).
 * @entries: the entries LXD refused (a reference).
 * @gen: the instance's generation when LXD refused them.
 * @why: LXD's reason (owned), or NULL.
 */
struct remembered_refusal {
	char *project;
	char *instance;
	char *rule;
	char *device;
	json_object *entries;
	unsigned gen;
	char *why;
};

struct refusal_memory {
	struct remembered_refusal *v;
	size_t n;
};

/* Frees what @m holds (not @m itself) and empties it: everything is
 * tried again (the rules changed). */
void refusal_memory_clear(struct refusal_memory *m);

/**
 * refusal_memory_recall() - before writing @want to @inst (of generation
 * @gen), set aside every device of @p on @inst whose refusal @m holds and
 * still stands: its entries leave @want, and its refusal goes into @rs,
 * as if LXD had just said it again.
 * Return: the number of devices set aside, or -ENOMEM (not logged).
 */
int refusal_memory_recall(const struct refusal_memory *m, const struct plan *p,
			  const struct instance *inst, unsigned gen,
			  json_object *want, struct refusals *rs);

/* Whether @m holds anything for @project/@instance (cheap: no lookup of
 * the generation is needed otherwise). */
bool refusal_memory_has(const struct refusal_memory *m, const char *project,
			const char *instance);

/**
 * refusal_memory_keep() - after a pass, @m becomes the device refusals of
 * @rs, each with the generation @gen_of gives its instance: what is no
 * longer placed, or was not refused again, is forgotten.
 * Return: 0 or -ENOMEM (not logged; @m is then left as it was).
 */
int refusal_memory_keep(struct refusal_memory *m, const struct refusals *rs,
			unsigned (*gen_of)(const struct instance *inst,
					   void *userdata),
			void *userdata);
