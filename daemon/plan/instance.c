/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/plan/instance.h"

int instance_set_new(struct instance_set **out)
{
	struct instance_set *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}

static void instance_clear(struct instance *i)
{
	free(i->project);
	free(i->name);
	free(i->elsewhere);
	json_object_put(i->entries);
}

void instance_set_free(struct instance_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_instances; i++)
		instance_clear(&s->instances[i]);
	free(s->instances);
	free(s);
}

/* Whether @copy has its own copies of @inst's strings. */
static bool copy_strings(struct instance *copy, const struct instance *inst)
{
	copy->project = strdup(inst->project);
	copy->name = strdup(inst->name);
	copy->elsewhere = inst->elsewhere ? strdup(inst->elsewhere) : NULL;
	return copy->project && copy->name &&
	       (copy->elsewhere || !inst->elsewhere);
}

int instance_set_add(struct instance_set *s, const struct instance *inst)
{
	struct instance copy = *inst;
	struct instance *grown =
		copy_strings(&copy, inst)
			? realloc(s->instances,
				  (s->n_instances + 1) * sizeof(*grown))
			: NULL;
	if (!grown) {
		instance_clear(&copy);
		return -ENOMEM;
	}
	s->instances = grown;
	s->instances[s->n_instances++] = copy;
	return 0;
}

struct instance *instance_set_find(const struct instance_set *s,
				   const char *project, const char *name)
{
	for (size_t i = 0; s && i < s->n_instances; i++)
		if (strcmp(s->instances[i].name, name) == 0 &&
		    strcmp(s->instances[i].project, project) == 0)
			return &s->instances[i];
	return NULL;
}
