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
