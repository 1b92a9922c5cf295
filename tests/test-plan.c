/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plan: which device goes to which instance, as which entries. */
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
	struct device *devs[6];
	struct ruleset *rs;
	struct instance_set set;
	struct instance insts[4];
	struct plan_features features;
	struct host_guard host;
	struct plan *plan;
};

static struct device *usb_with_node(const char *port, unsigned devnum)
{
	struct device *d = fx_usb(port, 0x046d, 0x082d);
	char node[64];
	snprintf(node, sizeof(node), "/dev/bus/usb/001/%03u", devnum);
	fx_add_node(d, NODE_USB, "usb", node, 189, devnum);
	return d;
}

static void add_instance(struct world *w, const char *name, bool running,
			 enum instance_type type)
{
	w->insts[w->set.n_instances++] = fx_instance(name, running, type);
	w->set.instances = w->insts;
}

static struct rule *rule_to(const char *name, const char *instances)
{
	struct rule *r = fx_rule(name, RULE_SUBSYSTEM_USB);
	strv_free(r->instances);
	r->instances = NULL;
	char copy[128];
	snprintf(copy, sizeof(copy), "%s", instances);
	for (char *save = NULL, *t = strtok_r(copy, " ", &save); t;
	     t = strtok_r(NULL, " ", &save))
		assert_int_equal(strv_push(&r->instances, t), 0);
	return r;
}

static void build(struct world *w, struct rule **rules, size_t n_rules)
{
	w->devices.devices = w->devs;
	w->rs = fx_ruleset(rules, n_rules);
	assert_int_equal(plan_build(w->rs, &w->devices, &w->set, &w->features,
				    &w->host, &w->plan),
			 0);
}

static void world_free(struct world *w)
{
	plan_free(w->plan);
	ruleset_free(w->rs);
	for (size_t i = 0; i < w->devices.n_devices; i++)
		device_free(w->devs[i]);
	host_guard_clear(&w->host);
	for (size_t i = 0; i < w->set.n_instances; i++) {
		free(w->insts[i].project);
		free(w->insts[i].name);
		json_object_put(w->insts[i].entries);
	}
}

static const struct placement *only_placement(const struct world *w)
{
	assert_int_equal(w->plan->n_placements, 1);
	return &w->plan->placements[0];
}

static void goes_to_first_running_instance(void **state)
{
	struct world w = {0};
	w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
	add_instance(&w, "kiosk-1", false, INSTANCE_CONTAINER);
	add_instance(&w, "kiosk-2", true, INSTANCE_CONTAINER);
	struct rule *r = rule_to("50-cam", "kiosk-1 kiosk-2");
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	assert_ptr_equal(p->target, &w.insts[1]);
	assert_true(json_object_object_get_ex(p->entries, "devpass-50-cam-1-2",
					      NULL));
	world_free(&w);
}

static void waits_when_no_instance_runs(void **state)
{
	struct world w = {0};
	w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
	add_instance(&w, "kiosk-1", false, INSTANCE_CONTAINER);
	struct rule *r = rule_to("50-cam", "kiosk-1 missing");
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_WAITING);
	assert_null(p->target);
	assert_string_equal(p->reason, "kiosk-1 is not running, missing does not "
				       "exist (project default)");
	world_free(&w);
}

/* A keyboard's add comes before its nodes' on a real kernel: it waits for
 * them, it is not refused (it was, then attached seconds later). */
static void usb_without_its_nodes_yet_waits_for_them(void **state)
{
	struct world w = {0};
	w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
	add_instance(&w, "kiosk-1", true, INSTANCE_CONTAINER);
	struct rule *r = rule_to("50-kbd", "kiosk-1");
	r->nodes = NODE_INPUT | NODE_HIDRAW;
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_WAITING);
	assert_null(p->target);
	assert_string_equal(p->reason, "USB device 1-2 has no device node "
				       "Nodes= selects yet: waiting for its "
				       "nodes");
	world_free(&w);
}

static void stays_with_running_holder(void **state)
{
	struct world w = {0};
	w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
	add_instance(&w, "first", true, INSTANCE_CONTAINER);
	add_instance(&w, "second", true, INSTANCE_CONTAINER);
	json_object_object_add(w.insts[1].entries, "devpass-50-cam-1-2",
			       json_object_new_object());
	struct rule *r = rule_to("50-cam", "first second");
	build(&w, &r, 1);
	assert_ptr_equal(only_placement(&w)->target, &w.insts[1]);
	world_free(&w);
}

static void privileged_container_needs_allow(void **state)
{
	for (int allow = 0; allow < 2; allow++) {
		struct world w = {0};
		w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
		add_instance(&w, "priv", true, INSTANCE_CONTAINER);
		w.insts[0].privileged = true;
		struct rule *r = rule_to("50-cam", "priv");
		r->allow_privileged = allow;
		build(&w, &r, 1);
		const struct placement *p = only_placement(&w);
		assert_int_equal(p->state,
				 allow ? PLACEMENT_ATTACH : PLACEMENT_REFUSED);
		if (!allow)
			assert_non_null(strstr(p->reason, "AllowPrivileged"));
		world_free(&w);
	}
}

static void pci_non_gpu_to_container_is_refused(void **state)
{
	struct world w = {0};
	w.devs[w.devices.n_devices++] =
		fx_pci("0000:01:00.0", 0x8086, 0x1533, 0x020000);
	add_instance(&w, "c1", true, INSTANCE_CONTAINER);
	struct rule *r = fx_rule("60-nic", RULE_SUBSYSTEM_PCI);
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_REFUSED);
	assert_non_null(p->reason);
	world_free(&w);
}

static void unmatched_device_has_no_placement(void **state)
{
	struct world w = {0};
	w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
	add_instance(&w, "c1", true, INSTANCE_CONTAINER);
	struct rule *r = rule_to("50-other", "c1");
	fx_term(r, MATCH_VENDOR, NULL, "05f3");
	build(&w, &r, 1);
	assert_int_equal(w.plan->n_placements, 0);
	world_free(&w);
}

static void twins_go_by_port_to_two_instances(void **state)
{
	struct world w = {0};
	w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
	w.devs[w.devices.n_devices++] = usb_with_node("1-3", 6);
	add_instance(&w, "c1", true, INSTANCE_CONTAINER);
	add_instance(&w, "c2", true, INSTANCE_CONTAINER);
	struct rule *rules[] = {rule_to("10-left", "c1"),
				rule_to("20-right", "c2")};
	fx_term(rules[0], MATCH_PORT, NULL, "1-2");
	fx_term(rules[1], MATCH_PORT, NULL, "1-3");
	build(&w, rules, 2);
	json_object *c1 = plan_desired_entries(w.plan, &w.insts[0]);
	json_object *c2 = plan_desired_entries(w.plan, &w.insts[1]);
	assert_int_equal(json_object_object_length(c1), 1);
	assert_int_equal(json_object_object_length(c2), 1);
	assert_true(json_object_object_get_ex(c1, "devpass-10-left-1-2", NULL));
	assert_true(json_object_object_get_ex(c2, "devpass-20-right-1-3", NULL));
	json_object_put(c1);
	json_object_put(c2);
	world_free(&w);
}


/*
 * Regression (issue 8): two child nodes of one name made entries_build()
 * fail with -EEXIST, which the plan took for a refusal without a reason
 * and reported as "waiting: c1 is not running" while c1 ran.
 */
static void clashing_node_names_refuse_the_device_and_say_why(void **state)
{
	struct world w = {0};
	struct device *d = usb_with_node("1-2", 5);
	fx_add_node(d, NODE_INPUT, "input", "/dev/input/event5", 13, 69);
	fx_add_node(d, NODE_USBMISC, "usbmisc", "/dev/usb/event5", 180, 5);
	w.devs[w.devices.n_devices++] = d;
	add_instance(&w, "c1", true, INSTANCE_CONTAINER);
	struct rule *r = rule_to("50-cam", "c1");
	r->nodes = NODE_ALL;
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_REFUSED);
	assert_null(p->target);
	assert_non_null(p->reason);
	assert_non_null(strstr(p->reason, "devpass-50-cam-1-2-event5"));
	assert_null(strstr(p->reason, "not running"));
	world_free(&w);
}

/* ---- PCI: where entries may be written, IOMMU groups ---- */

static struct device *pci_in_group(const char *address, uint32_t cls,
				   const char *driver, int group)
{
	struct device *d = fx_pci(address, 0x10de, 0x1eb8, cls);
	if (driver)
		fx_set(&d->driver, driver);
	d->iommu_group = group;
	return d;
}

static struct rule *pci_rule(const char *name, const char *instances,
			     enum iommu_policy policy)
{
	struct rule *r = rule_to(name, instances);
	r->subsystem = RULE_SUBSYSTEM_PCI;
	r->iommu = policy;
	return r;
}

/* A GPU at 01:00.0 on nvidia, in group 7 of a host with an IOMMU. */
static void gpu_world(struct world *w, bool vm_running, bool hotplug)
{
	w->host.iommu = true;
	w->features.pci_hotplug = hotplug;
	w->devs[w->devices.n_devices++] =
		pci_in_group("0000:01:00.0", 0x030000, "nvidia", 7);
	add_instance(w, "gpu-vm", vm_running, INSTANCE_VM);
}

static void pci_hotplugs_into_running_vm_with_pci_hotplug(void **state)
{
	struct world w = {0};
	gpu_world(&w, true, true);
	struct rule *r = pci_rule("60-gpu", "gpu-vm", IOMMU_POLICY_STRICT);
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	assert_null(p->reason);
	json_object *e = NULL;
	assert_true(json_object_object_get_ex(
		p->entries, "devpass-60-gpu-0000_01_00.0", &e));
	assert_string_equal(json_object_get_string(
				    json_object_object_get(e, "type")), "pci");
	world_free(&w);
}

static void pci_waits_for_next_start_of_running_vm_without_hotplug(void **state)
{
	struct world w = {0};
	gpu_world(&w, true, false);
	add_instance(&w, "spare-vm", false, INSTANCE_VM);
	struct rule *r = pci_rule("60-gpu", "gpu-vm spare-vm",
				  IOMMU_POLICY_STRICT);
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_WAITING);
	assert_string_equal(p->reason, "waits for gpu-vm's next start: LXD "
				       "lacks pci_hotplug");
	world_free(&w);
}

static void pci_is_written_to_stopped_vm_config(void **state)
{
	struct world w = {0};
	gpu_world(&w, false, false);
	struct rule *r = pci_rule("60-gpu", "gpu-vm", IOMMU_POLICY_STRICT);
	build(&w, &r, 1);
	const struct placement *p = only_placement(&w);
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	assert_ptr_equal(p->target, &w.insts[0]);
	assert_non_null(strstr(p->reason, "gpu-vm is stopped"));
	world_free(&w);
}

static void running_vm_without_hotplug_keeps_what_it_holds(void **state)
{
	struct world w = {0};
	gpu_world(&w, true, false);
	json_object_object_add(w.insts[0].entries, "devpass-60-gpu-0000_01_00.0",
			       json_object_new_object());
	struct rule *r = pci_rule("60-gpu", "gpu-vm", IOMMU_POLICY_STRICT);
	build(&w, &r, 1);
	assert_int_equal(only_placement(&w)->state, PLACEMENT_ATTACH);
	world_free(&w);
}

static void gpu_goes_to_stopped_container_but_prefers_running(void **state)
{
	for (int second_runs = 0; second_runs < 2; second_runs++) {
		struct world w = {0};
		w.devs[w.devices.n_devices++] =
			pci_in_group("0000:01:00.0", 0x030000, "nvidia", -1);
		add_instance(&w, "ct1", false, INSTANCE_CONTAINER);
		add_instance(&w, "ct2", second_runs, INSTANCE_CONTAINER);
		struct rule *r = pci_rule("60-gpu", "ct1 ct2",
					  IOMMU_POLICY_STRICT);
		build(&w, &r, 1);
		const struct placement *p = only_placement(&w);
		assert_int_equal(p->state, PLACEMENT_ATTACH);
		assert_ptr_equal(p->target, &w.insts[second_runs ? 1 : 0]);
		json_object *e = json_object_object_get(
			p->entries, "devpass-60-gpu-0000_01_00.0");
		assert_string_equal(json_object_get_string(
			json_object_object_get(e, "gputype")), "physical");
		world_free(&w);
	}
}

static void boot_vga_and_busy_storage_stay_unless_named(void **state)
{
	for (int named = 0; named < 2; named++) {
		struct world w = {0};
		gpu_world(&w, true, true);
		w.devs[0]->boot_vga = true;
		w.devs[w.devices.n_devices++] =
			pci_in_group("0000:02:00.0", 0x010802, "nvme", 8);
		assert_int_equal(strv_push(&w.host.busy_storage, "0000:02:00.0"), 0);
		struct rule *r = pci_rule("60-all", "gpu-vm", IOMMU_POLICY_STRICT);
		if (named)
			fx_term(r, MATCH_ADDRESS, NULL, "0000:01:00.0 0000:02:00.0");
		build(&w, &r, 1);
		assert_int_equal(w.plan->n_placements, 2);
		const struct placement *gpu = &w.plan->placements[0];
		const struct placement *nvme = &w.plan->placements[1];
		assert_int_equal(gpu->state, named ? PLACEMENT_ATTACH : PLACEMENT_REFUSED);
		assert_int_equal(nvme->state, named ? PLACEMENT_ATTACH : PLACEMENT_REFUSED);
		if (!named) {
			assert_non_null(strstr(gpu->reason, "boot VGA"));
			assert_non_null(strstr(nvme->reason, "mounted filesystem"));
		}
		world_free(&w);
	}
}

static void whole_group_writes_each_address_once(void **state)
{
	struct world w = {0};
	gpu_world(&w, true, true);
	w.devs[w.devices.n_devices++] =
		pci_in_group("0000:01:00.1", 0x040300, "snd_hda_intel", 7);
	/* 60-gpu takes the GPU whole; 70-audio owns the audio function. */
	struct rule *rules[] = {
		pci_rule("60-gpu", "gpu-vm", IOMMU_POLICY_WHOLE),
		pci_rule("70-audio", "gpu-vm", IOMMU_POLICY_STRICT),
	};
	fx_term(rules[0], MATCH_ADDRESS, NULL, "0000:01:00.0");
	build(&w, rules, 2);
	json_object *want = plan_desired_entries(w.plan, &w.insts[0]);
	assert_int_equal(json_object_object_length(want), 2);
	assert_true(json_object_object_get_ex(want, "devpass-60-gpu-0000_01_00.0", NULL));
	assert_true(json_object_object_get_ex(want, "devpass-60-gpu-0000_01_00.1", NULL));
	json_object_put(want);
	const struct placement *audio = &w.plan->placements[1];
	assert_int_equal(audio->state, PLACEMENT_ATTACH);
	assert_ptr_equal(audio->with, &w.plan->placements[0]);
	world_free(&w);
}

static void whole_group_refused_when_a_function_goes_elsewhere(void **state)
{
	struct world w = {0};
	gpu_world(&w, true, true);
	add_instance(&w, "audio-vm", true, INSTANCE_VM);
	w.devs[w.devices.n_devices++] =
		pci_in_group("0000:01:00.1", 0x040300, "snd_hda_intel", 7);
	struct rule *rules[] = {
		pci_rule("60-gpu", "gpu-vm", IOMMU_POLICY_WHOLE),
		pci_rule("70-audio", "audio-vm", IOMMU_POLICY_WHOLE),
	};
	fx_term(rules[0], MATCH_ADDRESS, NULL, "0000:01:00.0");
	build(&w, rules, 2);
	assert_int_equal(w.plan->placements[0].state, PLACEMENT_REFUSED);
	assert_non_null(strstr(w.plan->placements[0].reason, "rule 70-audio's"));
	/* and the audio function: the GPU, on nvidia, goes nowhere */
	assert_int_equal(w.plan->placements[1].state, PLACEMENT_REFUSED);
	world_free(&w);
}

static void strict_accepts_member_going_to_same_vm(void **state)
{
	struct world w = {0};
	gpu_world(&w, true, true);
	w.devs[w.devices.n_devices++] =
		pci_in_group("0000:01:00.1", 0x040300, "snd_hda_intel", 7);
	struct rule *r = pci_rule("60-gpu", "gpu-vm", IOMMU_POLICY_STRICT);
	build(&w, &r, 1);
	assert_int_equal(w.plan->placements[0].state, PLACEMENT_ATTACH);
	assert_int_equal(w.plan->placements[1].state, PLACEMENT_ATTACH);
	world_free(&w);
}

static void usb_to_vm_without_serial_warns_of_twin(void **state)
{
	for (int serial = 0; serial < 2; serial++) {
		struct world w = {0};
		w.features.usb_serial = serial;
		w.devs[w.devices.n_devices++] = usb_with_node("1-2", 5);
		w.devs[w.devices.n_devices++] = usb_with_node("1-3", 6);
		add_instance(&w, "vm", true, INSTANCE_VM);
		struct rule *r = rule_to("50-cam", "vm");
		fx_term(r, MATCH_PORT, NULL, "1-2");
		build(&w, &r, 1);
		const struct placement *p = only_placement(&w);
		assert_int_equal(p->state, PLACEMENT_ATTACH);
		if (serial)
			assert_null(p->reason);
		else
			assert_string_equal(p->reason,
				"LXD lacks device_usb_serial: the entry takes "
				"any 046d:082d device, and 1-3 is one too");
		world_free(&w);
	}
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(goes_to_first_running_instance),
		cmocka_unit_test(waits_when_no_instance_runs),
		cmocka_unit_test(usb_without_its_nodes_yet_waits_for_them),
		cmocka_unit_test(stays_with_running_holder),
		cmocka_unit_test(privileged_container_needs_allow),
		cmocka_unit_test(pci_non_gpu_to_container_is_refused),
		cmocka_unit_test(unmatched_device_has_no_placement),
		cmocka_unit_test(twins_go_by_port_to_two_instances),
		cmocka_unit_test(clashing_node_names_refuse_the_device_and_say_why),
		cmocka_unit_test(pci_hotplugs_into_running_vm_with_pci_hotplug),
		cmocka_unit_test(pci_waits_for_next_start_of_running_vm_without_hotplug),
		cmocka_unit_test(pci_is_written_to_stopped_vm_config),
		cmocka_unit_test(running_vm_without_hotplug_keeps_what_it_holds),
		cmocka_unit_test(gpu_goes_to_stopped_container_but_prefers_running),
		cmocka_unit_test(boot_vga_and_busy_storage_stay_unless_named),
		cmocka_unit_test(whole_group_writes_each_address_once),
		cmocka_unit_test(whole_group_refused_when_a_function_goes_elsewhere),
		cmocka_unit_test(strict_accepts_member_going_to_same_vm),
		cmocka_unit_test(usb_to_vm_without_serial_warns_of_twin),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
