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

/* Adds this member's instances of @l (in @project) to @set. */
static int add_listed(const char *member, const char *project,
		      const struct lxd_instance_list *l,
		      struct instance_set *set)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		const struct lxd_instance *li = &l->items[i];
		if (!is_local(member, li))
			continue;
		const struct instance inst = {
			.project = (char *)project, /* copied */
			.name = li->name,
			.type = li->vm ? INSTANCE_VM : INSTANCE_CONTAINER,
			.running = li->running,
			.privileged = li->privileged,
			.entries = own_entries(li->devices),
		};
		r = inst.entries ? instance_set_add(set, &inst) : -ENOMEM;
	}
	if (r == -ENOMEM)
		return log_err_errno(r,
				     "out of memory reading the instances "
				     "of project %s",
				     project);
	return r;
}

/* One inventory read in flight: the projects are listed one by one. */
struct inventory_read {
	struct lxd_client *lxd;
	char *member;
	char **projects;
	size_t next;
	struct instance_set *set;
	char **missing;
	inventory_done_t done;
	void *userdata;
};

static void read_free(struct inventory_read *x)
{
	if (!x)
		return;
	free(x->member);
	strv_free(x->projects);
	instance_set_free(x->set);
	strv_free(x->missing);
	free(x);
}
DEFINE_FREEP(struct inventory_read, read_free)

static void read_finish(struct inventory_read *ended, int r)
{
	_cleanup_(read_freep) struct inventory_read *x = ended;
	if (r < 0)
		return x->done(r, NULL, NULL, x->userdata);
	x->done(0, steal_ptr(&x->set), steal_ptr(&x->missing), x->userdata);
}

static void on_listed(int r, struct lxd_instance_list *l, void *userdata);

/* Lists the next project, or ends the read when none is left. */
static void read_next(struct inventory_read *x)
{
	const char *project = x->projects[x->next];
	int r = project ? lxd_instances_list_start(x->lxd, project, on_listed,
						   x)
			: 0;
	if (r < 0 || !project)
		read_finish(x, r);
}

static void on_listed(int r, struct lxd_instance_list *listed, void *userdata)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = listed;
	struct inventory_read *x = userdata;
	const char *project = x->projects[x->next++];

	if (r == 0)
		r = add_listed(x->member, project, l, x->set);
	if (r == -ENXIO && strv_push(&x->missing, project) < 0)
		r = log_err_errno(-ENOMEM, "out of memory reading the "
					   "instances");
	if (r < 0 && r != -ENXIO)
		return read_finish(x, r);
	read_next(x);
}

/* Copies @projects; also for none, so that read_next() finds the end. */
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

int inventory_read_start(struct lxd_client *lxd, const char *member,
			 char *const *projects, inventory_done_t done,
			 void *userdata)
{
	_cleanup_(read_freep) struct inventory_read *x = calloc(1, sizeof(*x));
	if (!x || (member && !(x->member = strdup(member))) ||
	    copy_projects(projects, &x->projects) < 0 ||
	    instance_set_new(&x->set) < 0)
		return log_err_errno(-ENOMEM,
				     "out of memory reading the instances");
	x->lxd = lxd;
	x->done = done;
	x->userdata = userdata;
	read_next(steal_ptr(&x));
	return 0;
}
