/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/service/instance-cache.h"
#include "devpass/util/strv.h"

static void cached_clear(struct cached_instance *ci)
{
	free(ci->inst.project);
	free(ci->inst.name);
	free(ci->inst.elsewhere);
	json_object_put(ci->inst.entries);
}

void instance_cache_clear(struct instance_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		cached_clear(&c->v[i]);
	free(c->v);
	strv_free(c->projects);
	strv_free(c->filling);
	*c = (struct instance_cache){.clock = c->clock};
}

void instance_cache_invalidate(struct instance_cache *c)
{
	/* The instances stay until their project's next full read says
	 * whether they still are as they were (their generation with them). */
	strv_free(c->projects);
	c->projects = NULL;
	/* Events of writes before the doubt may be lost with the stream: an
	 * own_writes left waiting would take someone else's change for ours
	 * (seen on Incus, whose first write answered before the stream was
	 * up: a later `config set` was swallowed). */
	for (size_t i = 0; i < c->n; i++) {
		struct cached_instance *ci = &c->v[i];
		ci->own_writes = 0;
		ci->early = 0;
		ci->unpaired = ci->in_flight > 0;
	}
}

bool instance_cache_has_project(const struct instance_cache *c,
				const char *project)
{
	return strv_contains(c->projects, project);
}

/* Removes v[i]; the last takes its place (the order means nothing). */
static void remove_at(struct instance_cache *c, size_t i)
{
	cached_clear(&c->v[i]);
	c->v[i] = c->v[--c->n];
}

static void drop_project(struct instance_cache *c, const char *project)
{
	for (size_t i = c->n; i-- > 0;)
		if (strcmp(c->v[i].inst.project, project) == 0)
			remove_at(c, i);
}

int instance_cache_fill_begin(struct instance_cache *c, const char *project)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].inst.project, project) == 0)
			c->v[i].listed = false;
	int r = strv_contains(c->filling, project)
			? 0
			: strv_push(&c->filling, project);
	if (r == 0 && !instance_cache_has_project(c, project))
		r = strv_push(&c->projects, project);
	return r;
}

/* After a full read of @project: what it did not list is gone, unless an
 * event named it meanwhile (then it is read by name). */
static void drop_unlisted(struct instance_cache *c, const char *project)
{
	for (size_t i = c->n; i-- > 0;)
		if (strcmp(c->v[i].inst.project, project) == 0 &&
		    !c->v[i].listed && !c->v[i].touched)
			remove_at(c, i);
}

/* Takes @s out of @v (a NULL-terminated array). */
static void strv_remove(char **v, const char *s)
{
	for (char **p = v; p && *p; p++)
		if (strcmp(*p, s) == 0) {
			free(*p);
			memmove(p, p + 1,
				(strv_length(p + 1) + 1) * sizeof(*p));
			return;
		}
}

void instance_cache_fill_end(struct instance_cache *c, const char *project,
			     bool ok)
{
	strv_remove(c->filling, project);
	if (ok)
		return drop_unlisted(c, project);
	drop_project(c, project);
	strv_remove(c->projects, project);
}

struct cached_instance *instance_cache_find(const struct instance_cache *c,
					    const char *project,
					    const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].inst.name, name) == 0 &&
		    strcmp(c->v[i].inst.project, project) == 0)
			return &c->v[i];
	return NULL;
}

unsigned instance_cache_gen(const struct instance_cache *c, const char *project,
			    const char *name)
{
	const struct cached_instance *ci =
		instance_cache_find(c, project, name);
	return ci && ci->known ? ci->gen : 0;
}

/* A new slot for @project/@name, known false; NULL on ENOMEM. */
static struct cached_instance *add(struct instance_cache *c,
				   const char *project, const char *name)
{
	struct cached_instance *grown =
		realloc(c->v, (c->n + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	c->v = grown;
	struct cached_instance ci = {
		.inst.project = strdup(project),
		.inst.name = strdup(name),
		.gen = ++c->clock,
	};
	if (!ci.inst.project || !ci.inst.name) {
		cached_clear(&ci);
		return NULL;
	}
	c->v[c->n] = ci;
	return &c->v[c->n++];
}

static struct cached_instance *
find_or_add(struct instance_cache *c, const char *project, const char *name)
{
	struct cached_instance *ci = instance_cache_find(c, project, name);
	return ci ? ci : add(c, project, name);
}

static bool same_state(const struct instance *a, const struct instance *b)
{
	return a->type == b->type && a->running == b->running &&
	       a->privileged == b->privileged &&
	       streq_ptr(a->elsewhere, b->elsewhere) &&
	       json_object_equal(a->entries, b->entries);
}

int instance_cache_put(struct instance_cache *c, const struct instance *inst)
{
	_cleanup_(json_object_putp) json_object *entries = inst->entries;
	_cleanup_(freep) char *elsewhere =
		inst->elsewhere ? strdup(inst->elsewhere) : NULL;
	struct cached_instance *ci = find_or_add(c, inst->project, inst->name);
	if (!ci || (inst->elsewhere && !elsewhere))
		return -ENOMEM;
	if (!ci->known || !same_state(&ci->inst, inst))
		ci->gen = ++c->clock;
	json_object_put(ci->inst.entries);
	ci->inst.entries = steal_ptr(&entries);
	free(ci->inst.elsewhere);
	ci->inst.elsewhere = steal_ptr(&elsewhere);
	ci->inst.type = inst->type;
	ci->inst.running = inst->running;
	ci->inst.privileged = inst->privileged;
	ci->known = true;
	ci->listed = true;
	ci->stale = ci->touched;
	return 0;
}

int instance_cache_read_begin(struct instance_cache *c, const char *project,
			      const char *name)
{
	struct cached_instance *ci = find_or_add(c, project, name);
	if (!ci)
		return -ENOMEM;
	if (ci->reading++ == 0)
		ci->touched = false;
	return 0;
}

int instance_cache_read_end(struct instance_cache *c, const char *project,
			    const char *name, const struct instance *inst,
			    bool found)
{
	_cleanup_(json_object_putp) json_object *entries =
		inst ? inst->entries : NULL;
	struct cached_instance *ci = instance_cache_find(c, project, name);
	if (!ci)
		return 0; /* its project was read in full again meanwhile */
	if (ci->reading > 0)
		ci->reading--;
	if (inst) {
		struct instance copy = *inst;
		copy.entries = steal_ptr(&entries);
		return instance_cache_put(c, &copy);
	}
	if (found || ci->touched)
		ci->stale = true;
	else
		instance_cache_drop(c, project, name);
	return 0;
}

void instance_cache_drop(struct instance_cache *c, const char *project,
			 const char *name)
{
	struct cached_instance *ci = instance_cache_find(c, project, name);
	if (ci)
		remove_at(c, (size_t)(ci - c->v));
}

int instance_cache_mark_stale(struct instance_cache *c, const char *project,
			      const char *name)
{
	struct cached_instance *ci = find_or_add(c, project, name);
	if (!ci)
		return -ENOMEM;
	ci->stale = true;
	return 0;
}

/* Started/stopped: LXD said which; nothing else of it changed. */
static int set_running(struct instance_cache *c, const char *project,
		       const char *name, bool running)
{
	struct cached_instance *ci = instance_cache_find(c, project, name);
	if (!ci || !ci->known)
		return instance_cache_mark_stale(c, project, name);
	ci->inst.running = running;
	ci->gen = ++c->clock;
	return 0;
}

static int rename_to(struct instance_cache *c, const struct lxd_event *ev)
{
	if (!ev->old_name) {
		instance_cache_invalidate(c);
		return INSTANCE_CACHE_E_DOUBT;
	}
	struct cached_instance *ci =
		instance_cache_find(c, ev->project, ev->old_name);
	if (!ci)
		return instance_cache_mark_stale(c, ev->project, ev->instance);
	_cleanup_(freep) char *name = strdup(ev->instance);
	if (!name)
		return -ENOMEM;
	instance_cache_drop(c, ev->project, ev->instance);
	ci = instance_cache_find(c, ev->project, ev->old_name);
	free(ci->inst.name);
	ci->inst.name = steal_ptr(&name);
	ci->gen = ++c->clock;
	return 0;
}

/* instance-updated: ours if one of our writes is due or in flight, else
 * a change. */
static int updated(struct instance_cache *c, const char *project,
		   const char *name)
{
	struct cached_instance *ci = instance_cache_find(c, project, name);
	if (ci && ci->own_writes > 0) {
		ci->own_writes--;
		return 0;
	}
	if (ci && ci->in_flight > 0) {
		ci->early++; /* the write's own, unless it fails */
		return 0;
	}
	int r = instance_cache_mark_stale(c, project, name);
	if (r == 0)
		instance_cache_find(c, project, name)->gen = ++c->clock;
	return r;
}

/* Whether @ev concerns nothing this cache keeps. */
static bool untracked(const struct instance_cache *c,
		      const struct lxd_event *ev, const char *member)
{
	if (!ev->instance || !instance_cache_has_project(c, ev->project))
		return true;
	bool elsewhere = member && ev->location &&
			 strcmp(ev->location, "none") != 0 &&
			 strcmp(ev->location, member) != 0;
	return elsewhere &&
	       !instance_cache_find(c, ev->project, ev->instance) &&
	       !(ev->old_name &&
		 instance_cache_find(c, ev->project, ev->old_name));
}

/* Marks @project/@name read again, touched by an event during its read. */
static int touch(struct instance_cache *c, const char *project,
		 const char *name)
{
	struct cached_instance *ci = find_or_add(c, project, name);
	if (!ci)
		return -ENOMEM;
	ci->touched = true;
	ci->stale = true;
	ci->gen = ++c->clock;
	return 0;
}

static bool being_read(const struct instance_cache *c, const char *project,
		       const char *name)
{
	const struct cached_instance *ci =
		name ? instance_cache_find(c, project, name) : NULL;
	return strv_contains(c->filling, project) || (ci && ci->reading);
}

/* An event on an instance being read: what the read answers may be older,
 * so it is read again (and an instance-updated of our own write is ours). */
static int during_read(struct instance_cache *c, const struct lxd_event *ev)
{
	struct cached_instance *ci =
		instance_cache_find(c, ev->project, ev->instance);
	if (ev->action == LXD_EVENT_UPDATED && ci && ci->own_writes > 0) {
		ci->own_writes--;
		return 0;
	}
	int r = touch(c, ev->project, ev->instance);
	if (r == 0 && ev->action == LXD_EVENT_RENAMED && ev->old_name)
		r = touch(c, ev->project, ev->old_name);
	return r;
}

int instance_cache_event(struct instance_cache *c, const struct lxd_event *ev,
			 const char *member)
{
	if (untracked(c, ev, member))
		return INSTANCE_CACHE_E_UNTRACKED;
	if (being_read(c, ev->project, ev->instance) ||
	    being_read(c, ev->project, ev->old_name))
		return during_read(c, ev);
	switch (ev->action) {
	case LXD_EVENT_STARTED:
	case LXD_EVENT_RESTARTED:
		return set_running(c, ev->project, ev->instance, true);
	case LXD_EVENT_STOPPED:
	case LXD_EVENT_SHUTDOWN:
		return set_running(c, ev->project, ev->instance, false);
	case LXD_EVENT_DELETED:
		instance_cache_drop(c, ev->project, ev->instance);
		return 0;
	case LXD_EVENT_RENAMED:
		return rename_to(c, ev);
	case LXD_EVENT_UPDATED:
		return updated(c, ev->project, ev->instance);
	case LXD_EVENT_CREATED:
	case LXD_EVENT_OTHER:
		break;
	}
	return instance_cache_mark_stale(c, ev->project, ev->instance);
}

void instance_cache_write_begin(struct instance_cache *c, const char *project,
				const char *name)
{
	struct cached_instance *ci = instance_cache_find(c, project, name);
	if (ci)
		ci->in_flight++;
}

void instance_cache_write_end(struct instance_cache *c, const char *project,
			      const char *name, enum instance_write how,
			      json_object *entries)
{
	struct cached_instance *ci = instance_cache_find(c, project, name);
	if (!ci)
		return; /* deleted meanwhile */
	if (ci->in_flight > 0)
		ci->in_flight--;
	if (how == INSTANCE_WRITE_ACCEPTED && ci->early > 0)
		ci->early--;
	else if (how == INSTANCE_WRITE_ACCEPTED &&
		 (ci->unpaired || !instance_cache_has_project(c, project)))
		ci->stale = true; /* its event may never be applied */
	else if (how == INSTANCE_WRITE_ACCEPTED)
		ci->own_writes++;
	if (ci->in_flight == 0)
		ci->unpaired = false;
	/* events taken for writes that wrote nothing were someone else's */
	if (ci->in_flight == 0 && ci->early > 0) {
		ci->early = 0;
		ci->stale = true;
		ci->gen = ++c->clock;
	}
	if (how == INSTANCE_WRITE_UNSURE)
		ci->stale = true;
	if (entries) {
		json_object *copy = json_object_get(entries);
		json_object_put(ci->inst.entries);
		ci->inst.entries = copy;
	}
}

int instance_cache_snapshot(const struct instance_cache *c,
			    char *const *projects, struct instance_set **out)
{
	_cleanup_(instance_set_freep) struct instance_set *set = NULL;
	int r = instance_set_new(&set);
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		const struct cached_instance *ci = &c->v[i];
		if (!ci->known || !strv_contains(projects, ci->inst.project))
			continue;
		struct instance copy = ci->inst;
		copy.gen = ci->gen;
		copy.entries = json_object_get(ci->inst.entries);
		r = instance_set_add(set, &copy);
	}
	if (r < 0)
		return r;
	*out = steal_ptr(&set);
	return 0;
}
