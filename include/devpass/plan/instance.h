/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: instances, as the plan sees them
 *
 * What the plan needs of each LXD instance the rules may name, as the
 * reconciler last read it from LXD; tests build them by hand.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "devpass/util/common.h"

enum instance_type {
	INSTANCE_CONTAINER,
	INSTANCE_VM,
};

/**
 * struct instance - what devpass needs of one LXD instance.
 * @project, @name: identity.
 * @type: container or VM.
 * @running: status is Running.
 * @privileged: security.privileged=true (containers).
 * @entries: its own devices whose names start with "devpass-" (name ->
 *           config), as LXD reported them; owned.
 * @elsewhere: in a cluster, the member it is on when that is not this
 *           devpassd's member, else NULL (here, or not clustered); owned.
 *           Such an instance is never a target: the devices of this host
 *           go only to instances on this host, and its devpass-* entries
 *           belong to the devpassd of its own member. It is kept so that
 *           a device waiting for it can say where it is.
 * @gen: devpassd's instance cache's generation of it when the set was taken
 *       (it changes with every change devpassd did not make); 0 where no
 *       cache is kept. What LXD refused is remembered against it.
 */
struct instance {
	char *project;
	char *name;
	enum instance_type type;
	bool running;
	bool privileged;
	json_object *entries;
	char *elsewhere;
	unsigned gen;
};

struct instance_set {
	struct instance *instances;
	size_t n_instances;
};

/**
 * instance_set_new() - an empty set.
 * Return: 0 or -ENOMEM (not logged).
 */
int instance_set_new(struct instance_set **out);

void instance_set_free(struct instance_set *s);
DEFINE_FREEP(struct instance_set, instance_set_free)

/**
 * instance_set_add() - append a copy of @inst's @project, @name and
 * @elsewhere; the set takes over @inst's @entries (a reference) whatever
 * the outcome.
 * Return: 0 or -ENOMEM (not logged).
 */
int instance_set_add(struct instance_set *s, const struct instance *inst);

/* The instance named @name in @project, or NULL. */
struct instance *instance_set_find(const struct instance_set *s,
				   const char *project, const char *name);
