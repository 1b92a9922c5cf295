/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IOMMU groups built in umockdev testbeds, read the way the daemon reads
 * them (udev enumeration, /sys/kernel/iommu_groups), and planned for a
 * running VM on a server with pci_hotplug: which group a VM may take.
 */
#include <libudev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/cli/commands.h"
#include "devpass/model/pci-acs.h"
#include "devpass/plan/plan.h"
#include "fixture-structs.h"
#include "testbed.h"
#include "test-util.h"

#define GPU "0000:01:00.0"
#define AUDIO "0000:01:00.1"
#define BRIDGE "0000:00:01.0"

struct fixture {
	UMockdevTestbed *tb;
	struct udev *udev;
	struct device_list *devices;
	struct ruleset *rs;
	struct instance_set set;
	struct instance vm;
	struct host_guard host;
	struct plan *plan;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->tb = testbed_new();
	f->udev = udev_new();
	f->vm = (struct instance){.project = "default", .name = "gpu-vm",
				  .type = INSTANCE_VM, .running = true,
				  .entries = json_object_new_object()};
	f->set = (struct instance_set){.instances = &f->vm, .n_instances = 1};
	*state = f;
	return 0;
}

static void replan_free(struct fixture *f)
{
	plan_free(f->plan);
	device_list_free(f->devices);
	host_guard_clear(&f->host);
	f->plan = NULL;
	f->devices = NULL;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	replan_free(f);
	ruleset_free(f->rs);
	json_object_put(f->vm.entries);
	udev_unref(f->udev);
	g_object_unref(f->tb);
	free(f);
	return 0;
}

/* The rule: the GPU to gpu-vm with @policy, by its address (or by its
 * class when @by_class: a rule that does not name the address). */
static void rule_by(struct fixture *f, enum iommu_policy policy, bool by_class)
{
	struct rule *r = fx_rule("60-gpu", RULE_SUBSYSTEM_PCI);
	strv_free(r->instances);
	r->instances = NULL;
	assert_int_equal(strv_push(&r->instances, "gpu-vm"), 0);
	if (by_class)
		fx_term(r, MATCH_CLASS, NULL, "0300");
	else
		fx_term(r, MATCH_ADDRESS, NULL, GPU);
	r->iommu = policy;
	f->rs = fx_ruleset(&r, 1);
}

static void rule(struct fixture *f, enum iommu_policy policy)
{
	rule_by(f, policy, false);
}

/* Reads the testbed as the daemon does and plans; the GPU's placement. */
static const struct placement *replan(struct fixture *f)
{
	const struct plan_features features = {.pci_hotplug = true};
	replan_free(f);
	assert_int_equal(device_enumerate(f->udev, &f->devices), 0);
	assert_int_equal(host_guard_read(f->devices, NULL, "/nonexistent",
				       &f->host), 0);
	assert_int_equal(plan_build(f->rs, f->devices, &f->set, &features,
				    &f->host, &f->plan), 0);
	for (size_t i = 0; i < f->plan->n_placements; i++)
		if (strcmp(f->plan->placements[i].device->id, GPU) == 0)
			return &f->plan->placements[i];
	return NULL;
}

static size_t entries_on_vm(struct fixture *f)
{
	json_object *want = plan_desired_entries(f->plan, &f->vm);
	size_t n = (size_t)json_object_object_length(want);
	json_object_put(want);
	return n;
}

static char *add(struct fixture *f, const char *address, uint32_t cls,
		 const char *driver, int group)
{
	return testbed_add_pci_device(f->tb, address, 0x10de,
				      cls == 0x040300 ? 0x10f0 : 0x1eb8, cls,
				      driver, group);
}

static void gpu_alone_in_its_group_is_viable(void **state)
{
	struct fixture *f = *state;
	g_free(add(f, GPU, 0x030000, "nvidia", 1));
	rule(f, IOMMU_POLICY_STRICT);
	const struct placement *p = replan(f);
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	assert_int_equal(entries_on_vm(f), 1);
}

static void strict_refuses_gpu_whose_audio_stays_on_snd_hda_intel(void **state)
{
	struct fixture *f = *state;
	g_free(add(f, GPU, 0x030000, "nvidia", 1));
	g_free(add(f, AUDIO, 0x040300, "snd_hda_intel", 1));
	rule(f, IOMMU_POLICY_STRICT);
	const struct placement *p = replan(f);
	assert_int_equal(p->state, PLACEMENT_REFUSED);
	assert_non_null(strstr(p->reason, "IOMMU group 1 is not viable"));
	assert_non_null(strstr(p->reason, AUDIO));
	assert_non_null(strstr(p->reason, "bound to snd_hda_intel"));
	assert_int_equal(entries_on_vm(f), 0);
}

static void whole_attaches_gpu_and_audio_and_detaches_them_together(void **state)
{
	struct fixture *f = *state;
	char *gpu = add(f, GPU, 0x030000, "nvidia", 1);
	g_free(add(f, AUDIO, 0x040300, "snd_hda_intel", 1));
	rule(f, IOMMU_POLICY_WHOLE);
	const struct placement *p = replan(f);
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	assert_true(json_object_object_get_ex(p->entries,
					      "devpass-60-gpu-0000_01_00.0",
					      NULL));
	assert_true(json_object_object_get_ex(p->entries,
					      "devpass-60-gpu-0000_01_00.1",
					      NULL));
	assert_int_equal(entries_on_vm(f), 2);

	umockdev_testbed_remove_device(f->tb, gpu);
	g_free(gpu);
	assert_null(replan(f));
	assert_int_equal(entries_on_vm(f), 0);
}

static void group_with_a_bridge_is_viable(void **state)
{
	struct fixture *f = *state;
	char *bridge = add(f, BRIDGE, 0x060400, "pcieport", 2);
	const struct testbed_pci gpu = {
		.address = GPU, .parent = bridge, .vendor = 0x10de,
		.device = 0x1eb8, .cls = 0x030000, .driver = "nvidia",
		.iommu_group = 2,
	};
	g_free(testbed_add_pci(f->tb, &gpu));
	g_free(bridge);
	rule(f, IOMMU_POLICY_WHOLE);
	const struct placement *p = replan(f);
	assert_int_equal(p->state, PLACEMENT_ATTACH);
	/* the bridge stays with the host: no entry for it */
	assert_int_equal(entries_on_vm(f), 1);
}

static void member_bound_to_vfio_later_lets_the_gpu_go(void **state)
{
	struct fixture *f = *state;
	g_free(add(f, GPU, 0x030000, "nvidia", 1));
	char *audio = add(f, AUDIO, 0x040300, "snd_hda_intel", 1);
	rule(f, IOMMU_POLICY_STRICT);
	assert_int_equal(replan(f)->state, PLACEMENT_REFUSED);
	testbed_pci_bind(f->tb, audio, "vfio-pci");
	assert_int_equal(replan(f)->state, PLACEMENT_ATTACH);
	testbed_pci_bind(f->tb, audio, NULL);
	assert_int_equal(replan(f)->state, PLACEMENT_ATTACH);
	g_free(audio);
}

static void no_iommu_is_refused_with_the_reason(void **state)
{
	struct fixture *f = *state;
	g_free(add(f, GPU, 0x030000, "nvidia", -1));
	rule(f, IOMMU_POLICY_STRICT);
	const struct placement *p = replan(f);
	assert_false(f->host.iommu);
	assert_int_equal(p->state, PLACEMENT_REFUSED);
	assert_non_null(strstr(p->reason, "the host has no IOMMU"));
	assert_non_null(strstr(p->reason, "intel_iommu=on"));
}

static void boot_vga_stays_with_the_host(void **state)
{
	struct fixture *f = *state;
	const struct testbed_pci gpu = {
		.address = GPU, .vendor = 0x10de, .device = 0x1eb8,
		.cls = 0x030000, .driver = "nvidia", .iommu_group = 1,
		.boot_vga = true,
	};
	g_free(testbed_add_pci(f->tb, &gpu));
	rule_by(f, IOMMU_POLICY_IGNORE, true);
	const struct placement *p = replan(f);
	assert_int_equal(p->state, PLACEMENT_REFUSED);
	assert_non_null(strstr(p->reason, "boot VGA"));
	/* a rule that names its address passes it */
	ruleset_free(f->rs);
	rule(f, IOMMU_POLICY_IGNORE);
	assert_int_equal(replan(f)->state, PLACEMENT_ATTACH);
}

/* A PCIe bridge's config space: an Express capability, then ACS at 0x100
 * with @ctrl enabled. */
static void bridge_config(uint8_t cfg[4096], uint16_t ctrl)
{
	memset(cfg, 0, 4096);
	cfg[0x00] = 0x86, cfg[0x01] = 0x80;    /* vendor 8086 */
	cfg[0x06] = 0x10;                      /* status: capability list */
	cfg[0x0e] = 0x01;                      /* header type: bridge */
	cfg[0x34] = 0x40;                      /* first capability */
	cfg[0x40] = 0x10, cfg[0x42] = 0x42;    /* PCI Express, root port */
	cfg[0x100] = 0x0d, cfg[0x102] = 0x01;  /* ACS, version 1, last */
	cfg[0x106] = (uint8_t)ctrl, cfg[0x107] = (uint8_t)(ctrl >> 8);
}

/* Runs cmd_iommu() with stdout in a string (caller frees). */
static char *iommu_output(bool json)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	fflush(stdout);
	dup2(fileno(tmp), STDOUT_FILENO);
	struct cli_options o = {.json = json};
	assert_int_equal(cmd_iommu(&o), EXIT_OK);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	long n = ftell(tmp);
	char *out = calloc(1, (size_t)n + 1);
	rewind(tmp);
	assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return out;
}

static void acs_and_groups_as_devpass_iommu_shows_them(void **state)
{
	struct fixture *f = *state;
	uint8_t cfg[4096];
	bridge_config(cfg, 0x001d);
	const struct testbed_pci bridge = {
		.address = BRIDGE, .vendor = 0x8086, .device = 0x1901,
		.cls = 0x060400, .driver = "pcieport", .iommu_group = 1,
		.config = cfg, .config_len = sizeof(cfg),
	};
	char *b = testbed_add_pci(f->tb, &bridge);
	const struct testbed_pci gpu = {
		.address = GPU, .parent = b, .vendor = 0x10de, .device = 0x1eb8,
		.cls = 0x030000, .driver = "nvidia", .iommu_group = 1,
	};
	struct testbed_pci snd = gpu;
	snd.address = AUDIO, snd.device = 0x10f0, snd.cls = 0x040300;
	snd.driver = "snd_hda_intel";
	g_free(testbed_add_pci(f->tb, &gpu));
	g_free(testbed_add_pci(f->tb, &snd));
	g_free(b);

	uint16_t ctrl = 0;
	assert_int_equal(pci_acs_read(BRIDGE, &ctrl), 0);
	assert_int_equal(ctrl, 0x001d);
	assert_int_equal(pci_acs_read(GPU, &ctrl), -EACCES); /* no config */

	char *out = iommu_output(false);
	print_message("%s", out);
	assert_non_null(strstr(out, "IOMMU group 1: not viable for one function alone"));
	assert_non_null(strstr(out, "snd_hda_intel"));
	assert_non_null(strstr(out, "it is a PCI bridge"));
	assert_non_null(strstr(out, "ACS of upstream bridge " BRIDGE ": on (SV RR CR UF)"));
	free(out);
	out = iommu_output(true);
	json_object *j = json_tokener_parse(out);
	json_object *g = json_object_array_get_idx(json_object_object_get(j, "groups"), 0);
	assert_false(json_object_get_boolean(json_object_object_get(g, "viable")));
	assert_int_equal(json_object_array_length(json_object_object_get(g, "devices")), 3);
	json_object_put(j);
	free(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
		T(gpu_alone_in_its_group_is_viable),
		T(strict_refuses_gpu_whose_audio_stays_on_snd_hda_intel),
		T(whole_attaches_gpu_and_audio_and_detaches_them_together),
		T(group_with_a_bridge_is_viable),
		T(member_bound_to_vfio_later_lets_the_gpu_go),
		T(no_iommu_is_refused_with_the_reason),
		T(boot_vga_stays_with_the_host),
		T(acs_and_groups_as_devpass_iommu_shows_them),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
