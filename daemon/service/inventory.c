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

static int add_project(struct lxd_client *lxd, const char *member,
		       const char *project, struct instance_set *set)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	int r = lxd_instances_list(lxd, project, &l);
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		const struct lxd_instance *li = &l->items[i];
		const struct instance inst = {
			.project = (char *)project, /* copied */
			.name = li->name,
			.type = li->vm ? INSTANCE_VM : INSTANCE_CONTAINER,
			.running = li->running,
			.privileged = li->privileged,
			.entries = own_entries(li->devices),
			.elsewhere = is_local(member, li) ? NULL : li->location,
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

int inventory_read(struct lxd_client *lxd, const char *member,
		   char *const *projects, struct instance_set **out,
		   char ***missing)
{
	_cleanup_(instance_set_freep) struct instance_set *set = NULL;
	_cleanup_(strv_freep) char **lacks = NULL;
	if (instance_set_new(&set) < 0)
		return log_err_errno(-ENOMEM,
				     "out of memory reading the instances");
	STRV_FOREACH(p, projects) {
		int r = add_project(lxd, member, *p, set);
		if (r == -ENXIO && strv_push(&lacks, *p) < 0)
			r = log_err_errno(-ENOMEM, "out of memory reading "
						   "the instances");
		if (r < 0 && r != -ENXIO)
			return r;
	}
	*out = steal_ptr(&set);
	*missing = steal_ptr(&lacks);
	return 0;
}
