/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/lxd/sync.h"
#include "devpass/service/refusal.h"
#include "devpass/util/log.h"

void refusals_clear(struct refusals *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].why);
	free(rs->v);
	*rs = (struct refusals){0};
}

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

const char *refusals_find(const struct refusals *rs, const struct placement *pl)
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
	json_object_object_foreach(pl->entries, name, value) {
		(void)value;
		json_object_object_del(want, name);
	}
}

int refusals_take(struct refusals *rs, const struct plan *p,
		  const struct instance *inst, json_object *want, char *why)
{
	_cleanup_(freep) char *entry =
		why ? lxd_error_device(why, ENTRY_PREFIX) : NULL;
	const struct placement *pl = owner_of(p, inst, entry);
	const char *reason = why ? why : "(no reason given)";
	if (pl)
		log_debug("LXD refused %s %s for %s/%s: %s", pl->rule->name,
			  pl->device->id, inst->project, inst->name, reason);
	else
		log_debug("LXD refused devpass's entries for %s/%s: %s",
			  inst->project, inst->name, reason);
	if (pl)
		drop_entries(want, pl);
	int r = refusals_add(rs, inst, pl, why);
	return r < 0 ? r : pl ? 0 : REFUSALS_E_WHOLE;
}
