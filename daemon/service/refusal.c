/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/util/json.h"

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

static void remembered_clear(struct remembered_refusal *r)
{
	free(r->project);
	free(r->instance);
	free(r->rule);
	free(r->device);
	json_object_put(r->entries);
	free(r->why);
}

void refusal_memory_clear(struct refusal_memory *m)
{
	for (size_t i = 0; i < m->n; i++)
		remembered_clear(&m->v[i]);
	free(m->v);
	*m = (struct refusal_memory){0};
}

bool refusal_memory_has(const struct refusal_memory *m, const char *project,
			const char *instance)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].instance, instance) == 0 &&
		    strcmp(m->v[i].project, project) == 0)
			return true;
	return false;
}

/* Whether @r still stands for @pl on @inst at generation @gen. */
static bool stands(const struct remembered_refusal *r,
		   const struct placement *pl, const struct instance *inst,
		   unsigned gen)
{
	return pl->target == inst && pl->state == PLACEMENT_ATTACH &&
	       r->gen == gen && strcmp(r->instance, inst->name) == 0 &&
	       strcmp(r->project, inst->project) == 0 &&
	       strcmp(r->rule, pl->rule->name) == 0 &&
	       strcmp(r->device, pl->device->id) == 0 &&
	       json_object_equal(r->entries, pl->entries);
}

static const struct remembered_refusal *recalled(const struct refusal_memory *m,
						 const struct placement *pl,
						 const struct instance *inst,
						 unsigned gen)
{
	for (size_t i = 0; i < m->n; i++)
		if (stands(&m->v[i], pl, inst, gen))
			return &m->v[i];
	return NULL;
}

int refusal_memory_recall(const struct refusal_memory *m, const struct plan *p,
			  const struct instance *inst, unsigned gen,
			  json_object *want, struct refusals *rs)
{
	int n = 0;
	for (size_t i = 0; i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		const struct remembered_refusal *r = recalled(m, pl, inst, gen);
		if (!r)
			continue;
		char *why = r->why ? strdup(r->why) : NULL;
		if ((r->why && !why) || refusals_add(rs, inst, pl, why) < 0)
			return -ENOMEM;
		drop_entries(want, pl);
		n++;
	}
	return n;
}

static int remember(struct remembered_refusal *out, const struct refusal *f,
		    unsigned gen)
{
	*out = (struct remembered_refusal){
		.project = strdup(f->inst->project),
		.instance = strdup(f->inst->name),
		.rule = strdup(f->pl->rule->name),
		.device = strdup(f->pl->device->id),
		.entries = json_object_get(f->pl->entries),
		.gen = gen,
		.why = f->why ? strdup(f->why) : NULL,
	};
	if (!out->project || !out->instance || !out->rule || !out->device ||
	    (f->why && !out->why)) {
		remembered_clear(out);
		return -ENOMEM;
	}
	return 0;
}

int refusal_memory_keep(struct refusal_memory *m, const struct refusals *rs,
			unsigned (*gen_of)(const struct instance *inst,
					   void *userdata),
			void *userdata)
{
	struct refusal_memory now = {0};
	if (rs->n && !(now.v = calloc(rs->n, sizeof(*now.v))))
		return -ENOMEM;
	for (size_t i = 0; i < rs->n; i++) {
		const struct refusal *f = &rs->v[i];
		if (!f->pl)
			continue; /* a whole change: maybe transient */
		if (remember(&now.v[now.n], f, gen_of(f->inst, userdata)) < 0) {
			refusal_memory_clear(&now);
			return -ENOMEM;
		}
		now.n++;
	}
	refusal_memory_clear(m);
	*m = now;
	return 0;
}
