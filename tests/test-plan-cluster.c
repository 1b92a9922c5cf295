/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan in a cluster: instances on another member (instance.h:
 * @elsewhere) never take this host's devices, and a device waiting for one
 * names its member. tests/test-cluster.c checks the same on real clusters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/plan/plan.h"
#include "fixture-structs.h"
#include "test-util.h"

struct world {
	struct device_list devices;
	struct device *devs[2];
	struct ruleset *rs;
	struct instance_set *set;
	struct plan_features features;
	struct host_guard host;
	struct plan *plan;
};

static void world_init(struct world *w)
{
	*w = (struct world){0};
	assert_int_equal(instance_set_new(&w->set), 0);
	w->devices.devices = w->devs;
}

static void world_free(struct world *w)
{
	plan_free(w->plan);
	ruleset_free(w->rs);
	for (size_t i = 0; i < w->devices.n_devices; i++)
		device_free(w->devs[i]);
	instance_set_free(w->set);
}

/* Adds @name; on @member unless NULL (this member). */
static void add_instance(struct world *w, const char *name, bool running,
			 enum instance_type type, const char *member)
{
	struct instance i = fx_instance(name, running, type);
	i.elsewhere = (char *)member; /* copied by instance_set_add() */
	assert_int_equal(instance_set_add(w->set, &i), 0);
	free(i.project);
	free(i.name);
}

static void add_camera(struct world *w)
{
	struct device *d = fx_usb("1-2", 0x046d, 0x082d);
	fx_add_node(d, NODE_USB, "usb", "/dev/bus/usb/001/005", 189, 5);
	w->devs[w->devices.n_devices++] = d;
}

static struct rule *rule_to(const char *name, enum rule_subsystem s,
			    const char *const *instances)
{
	struct rule *r = fx_rule(name, s);
	strv_free(r->instances);
	r->instances = NULL;
	for (; *instances; instances++)
		assert_int_equal(strv_push(&r->instances, *instances), 0);
	r->iommu = IOMMU_POLICY_IGNORE;
	return r;
}

static const struct placement *build(struct world *w, struct rule *r)
{
	w->rs = fx_ruleset(&r, 1);
	assert_int_equal(plan_build(w->rs, &w->devices, w->set, &w->features,
				    &w->host, &w->plan),
			 0);
	assert_int_equal(w->plan->n_placements, 1);
	return &w->plan->placements[0];
}

static void fallback_skips_running_instance_on_another_member(void **state)
{
	struct world w;
	world_init(&w);
	add_camera(&w);
	add_instance(&w, "c2", true, INSTANCE_CONTAINER, "member2");
	add_instance(&w, "c1", true, INSTANCE_CONTAINER, NULL);
	const struct placement *p = build(
		&w, rule_to("50-cam", RULE_SUBSYSTEM_USB,
			    (const char *[]){"c2", "c1", NULL}));
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	assert_string_equal(p->target->name, "c1");
	assert_null(p->reason);
	world_free(&w);
}

static void waits_naming_the_member_of_an_instance_elsewhere(void **state)
{
	struct world w;
	world_init(&w);
	add_camera(&w);
	add_instance(&w, "c2", true, INSTANCE_CONTAINER, "member2");
	add_instance(&w, "c1", false, INSTANCE_CONTAINER, NULL);
	const struct placement *p = build(
		&w, rule_to("50-cam", RULE_SUBSYSTEM_USB,
			    (const char *[]){"c2", "c1", "gone", NULL}));
	assert_int_equal(p->state, PLACEMENT_WAITING);
	assert_null(p->target);
	assert_string_equal(p->reason,
			    "c2 is on cluster member member2, c1 is not "
			    "running, gone does not exist (project default)");
	world_free(&w);
}

/* Entries of this device on an instance that moved away do not keep it
 * there (plan.h: a running holder keeps its device, if it is here). */
static void holder_on_another_member_does_not_keep_the_device(void **state)
{
	struct world w;
	world_init(&w);
	add_camera(&w);
	add_instance(&w, "c2", true, INSTANCE_CONTAINER, "member2");
	add_instance(&w, "c1", true, INSTANCE_CONTAINER, NULL);
	json_object_object_add(w.set->instances[0].entries,
			       "devpass-50-cam-1-2", json_object_new_object());
	const struct placement *p = build(
		&w, rule_to("50-cam", RULE_SUBSYSTEM_USB,
			    (const char *[]){"c2", "c1", NULL}));
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	assert_string_equal(p->target->name, "c1");
	world_free(&w);
}

/* A stopped VM elsewhere would take the PCI address of its own host when
 * it starts: the entry is never written to its config. */
static void pci_is_not_written_to_stopped_vm_elsewhere(void **state)
{
	struct world w;
	world_init(&w);
	w.devs[w.devices.n_devices++] =
		fx_pci("0000:01:00.0", 0x10de, 0x1eb8, 0x030000);
	add_instance(&w, "vm2", false, INSTANCE_VM, "member2");
	const struct placement *p =
		build(&w, rule_to("60-gpu", RULE_SUBSYSTEM_PCI,
				  (const char *[]){"vm2", NULL}));
	assert_int_equal(p->state, PLACEMENT_WAITING);
	assert_null(p->target);
	assert_string_equal(p->reason, "vm2 is on cluster member member2 "
				       "(project default)");
	world_free(&w);
}

static void instance_set_copies_the_member(void **state)
{
	struct world w;
	world_init(&w);
	char member[] = "member3";
	add_instance(&w, "c3", true, INSTANCE_CONTAINER, member);
	member[0] = 'X';
	assert_string_equal(w.set->instances[0].elsewhere, "member3");
	world_free(&w);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(fallback_skips_running_instance_on_another_member),
		cmocka_unit_test(waits_naming_the_member_of_an_instance_elsewhere),
		cmocka_unit_test(holder_on_another_member_does_not_keep_the_device),
		cmocka_unit_test(pci_is_not_written_to_stopped_vm_elsewhere),
		cmocka_unit_test(instance_set_copies_the_member),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
