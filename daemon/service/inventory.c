/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/plan/entries.h"
#include "devpass/service/inventory.h"
#include "devpass/util/log.h"
#include "devpass/util/json.h"

int inventory_projects(const struct ruleset *rs, const struct ledger *l,
		       char ***out)
{
	_cleanup_(strv_freep) char **v = NULL;
	int r = strv_push(&v, "default");
	for (size_t i = 0; r == 0 && i < rs->n_rules; i++)
		if (!strv_contains(v, rs->rules[i]->project))
			r = strv_push(&v, rs->rules[i]->project);
	for (size_t i = 0; r == 0 && i < l->n_entries; i++)
		if (!strv_contains(v, l->entries[i].project))
			r = strv_push(&v, l->entries[i].project);
	if (r < 0)
		return log_err_errno(r, "out of memory listing the projects");
	*out = steal_ptr(&v);
	return 0;
}

/* The devpass-* entries of an instance's devices map, as a new object;
 * NULL on ENOMEM. */
static json_object *own_entries(json_object *devices)
{
	_cleanup_(json_object_putp) json_object *own = json_object_new_object();
	if (!own || !json_object_is_type(devices, json_type_object))
		return steal_ptr(&own);
	json_object_object_foreach(devices, name, value) {
		if (!entry_is_ours(name))
			continue;
		if (json_add_ref(own, name, value) < 0)
			return NULL;
	}
	return steal_ptr(&own);
}

static bool is_local(const char *member, const struct lxd_instance *li)
{
	return !member || !li->location || strcmp(li->location, member) == 0;
}

/* @li as the planner sees it, into @cache (or out of it, when it is
 * another member's); takes nothing of @li. */
static int cache_put(struct instance_cache *cache, const char *member,
		     const char *project, const struct lxd_instance *li)
{
	if (!is_local(member, li)) {
		instance_cache_drop(cache, project, li->name);
		return 0;
	}
	const struct instance inst = {
		.project = (char *)project, /* copied */
		.name = li->name,
		.type = li->vm ? INSTANCE_VM : INSTANCE_CONTAINER,
		.running = li->running,
		.privileged = li->privileged,
		.entries = own_entries(li->devices),
	};
	return inst.entries ? instance_cache_put(cache, &inst) : -ENOMEM;
}

/* The full read of @project: GET /1.0/instances?recursion=1. */
static int list_project(const struct inventory *inv, const char *project)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	inv->stats->lists++;
	int r = lxd_instances_list(inv->lxd, project, &l);
	if (r == 0)
		r = instance_cache_fill_begin(inv->cache, project);
	for (size_t i = 0; r == 0 && i < l->n; i++)
		r = cache_put(inv->cache, inv->member, project, &l->items[i]);
	if (r < 0)
		instance_cache_invalidate(inv->cache); /* half read */
	return r;
}

/* The read of one instance by name: GET /1.0/instances/NAME. */
static int read_one(const struct inventory *inv, const char *project,
		    const char *name)
{
	_cleanup_(json_object_putp) json_object *md = NULL;
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	_cleanup_(freep) char *etag = NULL, *why = NULL;
	inv->stats->reads++;
	int r = lxd_instance_get(inv->lxd, project, name, &md, &etag);
	if (r == -ENXIO) {
		instance_cache_drop(inv->cache, project, name);
		return 0;
	}
	if (r == 0 && (r = lxd_instance_parse(md, &l, &why)) == -EPROTO)
		log_err("LXD's instance %s/%s is malformed: %s", project, name,
			why ? why : "?");
	return r < 0 ? r
		     : cache_put(inv->cache, inv->member, project,
				 &l->items[0]);
}

/* Without events the cache may be behind: what the plan may write to is
 * read by name: the instances the rules name, and those holding entries. */
static int mark_candidates(const struct inventory *inv,
			   const struct ruleset *rs, char *const *fresh)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < rs->n_rules; i++) {
		const char *project = rs->rules[i]->project;
		if (strv_contains(fresh, project) ||
		    !instance_cache_has_project(inv->cache, project))
			continue;
		STRV_FOREACH(n, rs->rules[i]->instances)
			if (r == 0)
				r = instance_cache_mark_stale(inv->cache,
							      project, *n);
	}
	for (size_t i = 0; r == 0 && i < inv->cache->n; i++) {
		struct cached_instance *ci = &inv->cache->v[i];
		if (ci->known && json_object_object_length(ci->inst.entries) &&
		    !strv_contains(fresh, ci->inst.project))
			ci->stale = true;
	}
	return r;
}

/* Reads every stale instance again (a read may drop one: from the end). */
static int read_stale(const struct inventory *inv)
{
	for (size_t i = inv->cache->n; i-- > 0;) {
		if (i >= inv->cache->n || !inv->cache->v[i].stale)
			continue;
		_cleanup_(freep) char *project =
			strdup(inv->cache->v[i].inst.project);
		_cleanup_(freep) char *name =
			strdup(inv->cache->v[i].inst.name);
		if (!project || !name)
			return -ENOMEM;
		int r = read_one(inv, project, name);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Lists the projects not read in full into @fresh; those LXD lacks go to
 * @lacks. */
static int list_missing(const struct inventory *inv, char *const *projects,
			char ***fresh, char ***lacks)
{
	STRV_FOREACH(p, projects) {
		if (instance_cache_has_project(inv->cache, *p))
			continue;
		int r = list_project(inv, *p);
		if (r == 0)
			r = strv_push(fresh, *p);
		else if (r == -ENXIO)
			r = strv_push(lacks, *p);
		if (r < 0)
			return r;
	}
	return 0;
}

int inventory_refresh(const struct inventory *inv, const struct ruleset *rs,
		      char *const *projects, bool trusted,
		      struct instance_set **out, char ***missing)
{
	_cleanup_(strv_freep) char **lacks = NULL, **fresh = NULL;
	int r = list_missing(inv, projects, &fresh, &lacks);
	if (r == 0 && !trusted)
		r = mark_candidates(inv, rs, fresh);
	if (r == 0)
		r = read_stale(inv);
	if (r == 0)
		r = instance_cache_snapshot(inv->cache, projects, out);
	if (r == -ENOMEM)
		return log_err_errno(r, "out of memory reading the instances");
	if (r < 0)
		return r;
	*missing = steal_ptr(&lacks);
	return 0;
}
