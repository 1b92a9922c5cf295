/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/plan/entries.h"
#include "devpass/service/inventory.h"
#include "devpass/util/log.h"
#include "devpass/util/json.h"

/* Adds @project to @b unless @seen (a json object of names) has it. */
static int add_project_once(struct strv_builder *b, json_object *seen,
			    const char *project)
{
	if (json_object_object_get_ex(seen, project, NULL))
		return 0;
	if (json_object_object_add(seen, project, NULL) < 0)
		return -ENOMEM;
	return strv_builder_add(b, project);
}

/* Rules come from outside (thousands of files): a set, not a scan of the
 * list, says which projects are already in. */
int inventory_projects(const struct ruleset *rs, const struct ledger *l,
		       char ***out)
{
	_cleanup_(strv_builder_clear) struct strv_builder v = {0};
	_cleanup_(json_object_putp) json_object *seen =
		json_object_new_object();
	int r = seen ? add_project_once(&v, seen, "default") : -ENOMEM;
	for (size_t i = 0; r == 0 && i < rs->n_rules; i++)
		r = add_project_once(&v, seen, rs->rules[i]->project);
	for (size_t i = 0; r == 0 && i < l->n_entries; i++)
		r = add_project_once(&v, seen, l->entries[i].project);
	if (r < 0)
		return log_err_errno(r, "out of memory listing the projects");
	*out = strv_builder_steal(&v);
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

/* @li as the planner sees it (entries taken from its devices; on another
 * member, marked with it), into @inst; its strings are borrowed. NULL
 * entries on ENOMEM. */
static struct instance as_instance(const char *member, const char *project,
				   const struct lxd_instance *li)
{
	return (struct instance){
		.project = (char *)project, /* copied by the cache */
		.name = li->name,
		.type = li->vm ? INSTANCE_VM : INSTANCE_CONTAINER,
		.running = li->running,
		.privileged = li->privileged,
		.entries = own_entries(li->devices),
		.elsewhere = is_local(member, li) ? NULL : li->location,
	};
}

/* Whether a rule of @rs names @project/@name. */
static bool named(const struct ruleset *rs, const char *project,
		  const char *name)
{
	for (size_t i = 0; rs && i < rs->n_rules; i++)
		if (strcmp(rs->rules[i]->project, project) == 0 &&
		    strv_contains(rs->rules[i]->instances, name))
			return true;
	return false;
}

/* Puts this member's instances of @l (in @project) into the cache, and
 * those on other members that a rule names (a device waiting for one
 * says where it is); the rest of the other members' are not kept, so
 * that their events cost this member nothing. */
static int put_listed(const struct inventory *inv, const struct ruleset *rs,
		      const char *project, const struct lxd_instance_list *l)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		const struct lxd_instance *li = &l->items[i];
		if (!is_local(inv->member, li) && !named(rs, project, li->name))
			continue;
		const struct instance inst =
			as_instance(inv->member, project, li);
		r = inst.entries ? instance_cache_put(inv->cache, &inst)
				 : -ENOMEM;
	}
	return r;
}

/* A name to read, kept by value: the cache may move its slots. */
struct name_ref {
	char *project;
	char *name;
};

/* One inventory read in flight: the projects not read in full are listed
 * one by one, then the stale instances read by name one by one. */
struct inventory_read {
	struct inventory inv;
	char **projects;
	size_t next;
	char **fresh; /* listed by this read */
	char **missing;
	struct name_ref *names;
	size_t n_names, next_name;
	const struct ruleset *rs;
	bool trusted;
	inventory_done_t done;
	void *userdata;
};

static void read_free(struct inventory_read *x)
{
	if (!x)
		return;
	strv_free(x->projects);
	strv_free(x->fresh);
	strv_free(x->missing);
	for (size_t i = 0; i < x->n_names; i++) {
		free(x->names[i].project);
		free(x->names[i].name);
	}
	free(x->names);
	free(x);
}
DEFINE_FREEP(struct inventory_read, read_free)

static void read_finish(struct inventory_read *ended, int r)
{
	_cleanup_(read_freep) struct inventory_read *x = ended;
	struct instance_set *set = NULL;
	if (r == 0)
		r = instance_cache_snapshot(x->inv.cache, x->projects, &set);
	if (r == -ENOMEM)
		log_err("out of memory reading the instances");
	if (r < 0)
		return x->done(r, NULL, NULL, x->userdata);
	x->done(0, set, steal_ptr(&x->missing), x->userdata);
}

static void on_listed(int r, struct lxd_instance_list *l, void *userdata);
static void read_names(struct inventory_read *x);

/* The next project the cache lacks, or NULL. */
static const char *next_unread(struct inventory_read *x)
{
	for (; x->projects[x->next]; x->next++)
		if (!instance_cache_has_project(x->inv.cache,
						x->projects[x->next]))
			return x->projects[x->next];
	return NULL;
}

/* Lists the next project the cache lacks; then the reads by name. */
static void list_next(struct inventory_read *x)
{
	const char *project = next_unread(x);
	if (!project)
		return read_names(x);
	int r = instance_cache_fill_begin(x->inv.cache, project);
	if (r == 0) {
		x->inv.stats->lists++;
		r = lxd_instances_list_start(x->inv.lxd, project, on_listed, x);
	}
	if (r < 0) {
		instance_cache_fill_end(x->inv.cache, project, false);
		read_finish(x, r);
	}
}

static void on_listed(int r, struct lxd_instance_list *listed, void *userdata)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = listed;
	struct inventory_read *x = userdata;
	const char *project = x->projects[x->next++];

	if (r == 0)
		r = put_listed(&x->inv, x->rs, project, l);
	instance_cache_fill_end(x->inv.cache, project, r == 0);
	if (r == 0)
		r = strv_push(&x->fresh, project);
	else if (r == -ENXIO)
		r = strv_push(&x->missing, project);
	if (r < 0)
		return read_finish(x, r);
	list_next(x);
}

/* Without events the cache may be behind: what the plan may write to is
 * read by name: the instances the rules name, and those holding entries
 * (not in a project this read listed: that is fresh). */
static int mark_candidates(const struct inventory_read *x,
			   const struct ruleset *rs)
{
	struct instance_cache *cache = x->inv.cache;
	int r = 0;
	for (size_t i = 0; r == 0 && i < rs->n_rules; i++) {
		const char *project = rs->rules[i]->project;
		if (strv_contains(x->fresh, project) ||
		    !instance_cache_has_project(cache, project))
			continue;
		STRV_FOREACH(n, rs->rules[i]->instances)
			if (r == 0)
				r = instance_cache_mark_stale(cache, project,
							      *n);
	}
	for (size_t i = 0; r == 0 && i < cache->n; i++) {
		struct cached_instance *ci = &cache->v[i];
		if (ci->known && json_object_object_length(ci->inst.entries) &&
		    !strv_contains(x->fresh, ci->inst.project))
			ci->stale = true;
	}
	return r;
}

/* The stale instances of the projects wanted, by value. */
static int collect_stale(struct inventory_read *x)
{
	const struct instance_cache *cache = x->inv.cache;
	if (cache->n && !(x->names = calloc(cache->n, sizeof(*x->names))))
		return -ENOMEM;
	for (size_t i = 0; i < cache->n; i++) {
		const struct cached_instance *ci = &cache->v[i];
		if (!ci->stale || !strv_contains(x->projects, ci->inst.project))
			continue;
		struct name_ref *n = &x->names[x->n_names++];
		n->project = strdup(ci->inst.project);
		n->name = strdup(ci->inst.name);
		if (!n->project || !n->name)
			return -ENOMEM;
	}
	return 0;
}

static void on_read(int r, struct json_object *md, const char *etag,
		    void *userdata);

/* Reads the next stale instance by name, or ends the read. */
static void read_next_name(struct inventory_read *x)
{
	if (x->next_name == x->n_names)
		return read_finish(x, 0);
	const struct name_ref *n = &x->names[x->next_name];
	int r = instance_cache_read_begin(x->inv.cache, n->project, n->name);
	if (r == 0) {
		x->inv.stats->reads++;
		r = lxd_instance_get_start(x->inv.lxd, n->project, n->name,
					   on_read, x);
	}
	if (r < 0) {
		instance_cache_read_end(x->inv.cache, n->project, n->name, NULL,
					true);
		read_finish(x, r);
	}
}

/* Puts the instance read into the cache (or out of it: gone). */
static int take_read(const struct inventory_read *x, const struct name_ref *n,
		     struct json_object *md)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	_cleanup_(freep) char *why = NULL;
	int r = lxd_instance_parse(md, &l, &why);
	if (r == -EPROTO)
		log_err("LXD's instance %s/%s is malformed: %s", n->project,
			n->name, why ? why : "?");
	if (r < 0) {
		instance_cache_read_end(x->inv.cache, n->project, n->name, NULL,
					true);
		return r;
	}
	const struct instance inst =
		as_instance(x->inv.member, n->project, &l->items[0]);
	if (!inst.entries) {
		instance_cache_read_end(x->inv.cache, n->project, n->name, NULL,
					true);
		return -ENOMEM;
	}
	return instance_cache_read_end(x->inv.cache, n->project, n->name, &inst,
				       true);
}

static void on_read(int r, struct json_object *md, const char *etag,
		    void *userdata)
{
	struct inventory_read *x = userdata;
	const struct name_ref *n = &x->names[x->next_name++];
	(void)etag;

	if (r == 0)
		r = take_read(x, n, md);
	else if (r == -ENXIO)
		r = instance_cache_read_end(x->inv.cache, n->project, n->name,
					    NULL, false);
	else
		instance_cache_read_end(x->inv.cache, n->project, n->name, NULL,
					true);
	if (r < 0)
		return read_finish(x, r);
	read_next_name(x);
}

static void read_names(struct inventory_read *x)
{
	int r = x->trusted ? 0 : mark_candidates(x, x->rs);
	if (r == 0)
		r = collect_stale(x);
	if (r < 0)
		return read_finish(x, r);
	read_next_name(x);
}

/* Copies @projects; also for none, so that list_next() finds the end. */
static int copy_projects(char *const *projects, char ***out)
{
	_cleanup_(strv_freep) char **v = calloc(1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	STRV_FOREACH(p, projects)
		if (strv_push(&v, *p) < 0)
			return -ENOMEM;
	*out = steal_ptr(&v);
	return 0;
}

int inventory_read_start(const struct inventory *inv, const struct ruleset *rs,
			 char *const *projects, bool trusted,
			 inventory_done_t done, void *userdata)
{
	_cleanup_(read_freep) struct inventory_read *x = calloc(1, sizeof(*x));
	if (!x || copy_projects(projects, &x->projects) < 0)
		return log_err_errno(-ENOMEM,
				     "out of memory reading the instances");
	x->inv = *inv;
	x->rs = rs;
	x->trusted = trusted;
	x->done = done;
	x->userdata = userdata;
	list_next(steal_ptr(&x));
	return 0;
}

/* What a blocking inventory_read() waits for. */
struct inventory_waiter {
	bool done;
	int r;
	struct instance_set *set;
	char **missing;
};

static void inventory_waited(int r, struct instance_set *set, char **missing,
			     void *userdata)
{
	struct inventory_waiter *w = userdata;
	*w = (struct inventory_waiter){true, r, set, missing};
}

int inventory_read(struct lxd_client *c, const char *member,
		   const struct ruleset *rs, char *const *projects,
		   struct instance_set **out, char ***missing)
{
	struct instance_cache cache = {0};
	struct inventory_stats stats = {0};
	const struct inventory inv = {c, member, &cache, &stats};
	struct inventory_waiter w = {0};
	int r = inventory_read_start(&inv, rs, projects, true, inventory_waited,
				     &w);
	if (r == 0)
		r = lxd_client_run(c, &w.done);
	instance_cache_clear(&cache);
	if (r == 0 && (r = w.r) == 0) {
		*out = steal_ptr(&w.set);
		*missing = steal_ptr(&w.missing);
	}
	instance_set_free(w.set);
	strv_free(w.missing);
	return r;
}
