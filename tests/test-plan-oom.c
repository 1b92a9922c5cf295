/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan under allocation failure: every allocation plan_build() makes
 * fails in turn, and each run must either return -ENOMEM or the very plan
 * of a run with memory enough. Before issue 8, a failed allocation in
 * entries_build() made a device "waiting: c1 is not running".
 *
 * malloc, calloc and realloc are replaced for this program (glibc lets a
 * program do so; its own functions, strdup and vasprintf among them, then
 * call the replacement). Sanitizers replace them too, so there the test
 * skips (exit 77).
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

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif

static long countdown = -1; /* allocations left before one fails; -1: none */
static bool failed;

#ifndef SANITIZED
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static bool fail_now(void)
{
	if (countdown < 0)
		return false;
	if (countdown-- > 0)
		return false;
	failed = true;
	countdown = -1;
	return true;
}

void *malloc(size_t n)
{
	return fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __libc_realloc(p, n);
}
#endif

struct world {
	struct device_list devices;
	struct device *devs[6];
	struct ruleset *rs;
	struct instance_set set;
	struct instance insts[3];
	struct plan_features features;
	struct host_guard host;
};

static void add_instance(struct world *w, const char *name, bool running,
			 enum instance_type type)
{
	w->insts[w->set.n_instances++] = fx_instance(name, running, type);
	w->set.instances = w->insts;
}

static struct rule *rule_to(const char *name, enum rule_subsystem s,
			    const char *instance, const char *port)
{
	struct rule *r = fx_rule(name, s);
	strv_free(r->instances);
	r->instances = NULL;
	assert_int_equal(strv_push(&r->instances, instance), 0);
	if (port)
		fx_term(r, s == RULE_SUBSYSTEM_USB ? MATCH_PORT : MATCH_ADDRESS,
			NULL, port);
	return r;
}

/* A camera to a running container, one whose two nodes clash, one that
 * waits for a stopped container, a GPU and its audio whole to a stopped
 * VM, a USB device to a VM. */
static void world_build(struct world *w)
{
	struct device *cam = fx_usb("1-2", 0x046d, 0x082d);
	fx_add_node(cam, NODE_USB, "usb", "/dev/bus/usb/001/005", 189, 4);
	struct device *clash = fx_usb("1-3", 0x046d, 0x082d);
	fx_add_node(clash, NODE_INPUT, "input", "/dev/input/event5", 13, 69);
	fx_add_node(clash, NODE_USBMISC, "usbmisc", "/dev/usb/event5", 180, 5);
	struct device *late = fx_usb("1-4", 0x046d, 0x082d);
	fx_add_node(late, NODE_USB, "usb", "/dev/bus/usb/001/007", 189, 6);
	struct device *gpu = fx_pci("0000:01:00.0", 0x10de, 0x1eb8, 0x030000);
	struct device *audio = fx_pci("0000:01:00.1", 0x10de, 0x10f7, 0x040300);
	gpu->iommu_group = audio->iommu_group = 7;
	fx_set(&audio->driver, "snd_hda_intel");
	struct device *key = fx_usb("1-5", 0x0627, 0x0001);
	struct device *devs[] = {cam, clash, late, gpu, audio, key};
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		w->devs[w->devices.n_devices++] = devs[i];
	w->devices.devices = w->devs;
	add_instance(w, "c1", true, INSTANCE_CONTAINER);
	add_instance(w, "c2", false, INSTANCE_CONTAINER);
	add_instance(w, "vm", false, INSTANCE_VM);
	w->host.iommu = true;
	struct rule *rules[] = {
		rule_to("10-cam", RULE_SUBSYSTEM_USB, "c1", "1-2"),
		rule_to("20-clash", RULE_SUBSYSTEM_USB, "c1", "1-3"),
		rule_to("30-late", RULE_SUBSYSTEM_USB, "c2", "1-4"),
		rule_to("40-gpu", RULE_SUBSYSTEM_PCI, "vm", "0000:01:00.0"),
		rule_to("50-key", RULE_SUBSYSTEM_USB, "vm", "1-5"),
	};
	rules[1]->nodes = NODE_ALL;
	rules[3]->iommu = IOMMU_POLICY_WHOLE;
	w->rs = fx_ruleset(rules, ARRAY_SIZE(rules));
}

static void world_free(struct world *w)
{
	ruleset_free(w->rs);
	for (size_t i = 0; i < w->devices.n_devices; i++)
		device_free(w->devs[i]);
	for (size_t i = 0; i < w->set.n_instances; i++) {
		free(w->insts[i].project);
		free(w->insts[i].name);
		json_object_put(w->insts[i].entries);
	}
}

static void assert_same_plan(const struct plan *a, const struct plan *b)
{
	assert_int_equal(a->n_placements, b->n_placements);
	for (size_t i = 0; i < a->n_placements; i++) {
		const struct placement *x = &a->placements[i], *y = &b->placements[i];
		assert_ptr_equal(x->device, y->device);
		assert_int_equal(x->state, y->state);
		assert_ptr_equal(x->target, y->target);
		assert_true(streq_ptr(x->reason, y->reason));
		assert_true(json_object_equal(x->entries, y->entries));
	}
}

static void every_failed_allocation_is_enomem_never_another_plan(void **state)
{
	struct world w = {0};
	struct plan *want = NULL;
	world_build(&w);
	assert_int_equal(plan_build(w.rs, &w.devices, &w.set, &w.features,
				    &w.host, &want),
			 0);
	assert_int_equal(want->placements[1].state, PLACEMENT_REFUSED);
	long k = 0;
	for (;; k++) {
		struct plan *got = NULL;
		failed = false;
		countdown = k;
		int r = plan_build(w.rs, &w.devices, &w.set, &w.features,
				   &w.host, &got);
		countdown = -1;
		if (!failed) {
			assert_int_equal(r, 0);
			assert_same_plan(want, got);
			plan_free(got);
			break;
		}
		if (r == 0) {
			/* a failure the plan may survive must not change it */
			assert_same_plan(want, got);
			plan_free(got);
			continue;
		}
		assert_int_equal(r, -ENOMEM);
		assert_null(got);
	}
	print_message("%ld allocations, each failed once\n", k);
	assert_true(k > 10);
	plan_free(want);
	world_free(&w);
}

int main(void)
{
#ifdef SANITIZED
	return 77; /* meson's "skipped" */
#endif
	struct CMUnitTest tests[] = {
		cmocka_unit_test(every_failed_allocation_is_enomem_never_another_plan),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests_name("plan-oom", tests, NULL, NULL);
}
