/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LXD's refusals: a device's refusal is remembered across passes while the
 * device, its rule, its entries and the instance stay the same; a refusal
 * of an instance's whole change (maybe transient) never is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/service/refusal.h"
#include "fixture-structs.h"
#include "test-util.h"

struct world {
	struct device *gpu;
	struct rule *gpu_rule, *other_rule;
	struct instance c1;
	struct placement pl;
	struct plan p;
	struct refusal_memory m;
};

static json_object *gpu_entries(const char *pci)
{
	json_object *e = json_object_new_object(), *dev = json_object_new_object();
	json_object_object_add(dev, "type", json_object_new_string("gpu"));
	json_object_object_add(dev, "pci", json_object_new_string(pci));
	json_object_object_add(e, "devpass-20-gpu-0000_0b_00.0", dev);
	return e;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	w->gpu = fx_pci("0000:0b:00.0", 0x10de, 0x1b80, 0x030000);
	w->gpu_rule = fx_rule("20-gpu", RULE_SUBSYSTEM_PCI);
	w->other_rule = fx_rule("30-gpu", RULE_SUBSYSTEM_PCI);
	w->c1 = fx_instance("c1", true, INSTANCE_CONTAINER);
	w->pl = (struct placement){.device = w->gpu, .rule = w->gpu_rule,
				   .state = PLACEMENT_ATTACH, .target = &w->c1,
				   .entries = gpu_entries("0000:0b:00.0")};
	w->p = (struct plan){.placements = &w->pl, .n_placements = 1};
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	refusal_memory_clear(&w->m);
	json_object_put(w->pl.entries);
	free(w->c1.project);
	free(w->c1.name);
	json_object_put(w->c1.entries);
	device_free(w->gpu);
	rule_free(w->gpu_rule);
	rule_free(w->other_rule);
	free(w);
	return 0;
}

static unsigned gen_7(const struct instance *inst, void *userdata)
{
	(void)inst;
	(void)userdata;
	return 7;
}

/* One pass in which LXD refuses the GPU's entry (naming it, as 5.0.2 does),
 * kept in the memory at generation 7. */
static void refused_pass(struct world *w)
{
	struct refusals rs = {0};
	json_object *want = json_object_get(w->pl.entries);
	json_object *copy = NULL;
	json_object_deep_copy(want, &copy, NULL);
	json_object_put(want);
	char *why = strdup("Failed to start device "
			   "\"devpass-20-gpu-0000_0b_00.0\": Invalid PCI address");
	assert_int_equal(refusals_take(&rs, &w->p, &w->c1, copy, why), 0);
	assert_int_equal(json_object_object_length(copy), 0);
	assert_int_equal(refusal_memory_keep(&w->m, &rs, gen_7, NULL), 0);
	json_object_put(copy);
	refusals_clear(&rs);
}

/* The next pass: how many devices the memory sets aside at @gen. */
static int recall(struct world *w, unsigned gen, const char **why)
{
	struct refusals rs = {0};
	json_object *want = NULL;
	json_object_deep_copy(w->pl.entries, &want, NULL);
	int n = refusal_memory_recall(&w->m, &w->p, &w->c1, gen, want, &rs);
	if (n > 0) {
		assert_int_equal(json_object_object_length(want), 0);
		*why = refusals_find(&rs, &w->pl);
		assert_non_null(*why);
		assert_non_null(strstr(*why, "Invalid PCI address"));
	}
	json_object_put(want);
	refusals_clear(&rs);
	return n;
}

static void device_refusal_stands_while_nothing_changes(void **state)
{
	struct world *w = *state;
	const char *why = NULL;
	refused_pass(w);
	assert_true(refusal_memory_has(&w->m, "default", "c1"));
	assert_int_equal(recall(w, 7, &why), 1);
}

static void instance_change_lets_it_be_tried_again(void **state)
{
	struct world *w = *state;
	const char *why = NULL;
	refused_pass(w);
	assert_int_equal(recall(w, 8, &why), 0);
}

static void other_entries_or_rule_let_it_be_tried_again(void **state)
{
	struct world *w = *state;
	const char *why = NULL;
	refused_pass(w);
	json_object_put(w->pl.entries);
	w->pl.entries = gpu_entries("0000:0c:00.0");
	assert_int_equal(recall(w, 7, &why), 0);
	json_object_put(w->pl.entries);
	w->pl.entries = gpu_entries("0000:0b:00.0");
	w->pl.rule = w->other_rule;
	assert_int_equal(recall(w, 7, &why), 0);
}

static void device_gone_for_a_pass_is_forgotten(void **state)
{
	struct world *w = *state;
	struct refusals none = {0};
	const char *why = NULL;
	refused_pass(w);
	assert_int_equal(refusal_memory_keep(&w->m, &none, gen_7, NULL), 0);
	assert_false(refusal_memory_has(&w->m, "default", "c1"));
	assert_int_equal(recall(w, 7, &why), 0);
}

static void whole_change_refusal_is_never_remembered(void **state)
{
	struct world *w = *state;
	struct refusals rs = {0};
	json_object *want = NULL;
	json_object_deep_copy(w->pl.entries, &want, NULL);
	char *why = strdup("Instance is busy running a \"start\" operation");
	assert_int_equal(refusals_take(&rs, &w->p, &w->c1, want, why),
			 REFUSALS_E_WHOLE);
	assert_int_equal(refusal_memory_keep(&w->m, &rs, gen_7, NULL), 0);
	assert_false(refusal_memory_has(&w->m, "default", "c1"));
	json_object_put(want);
	refusals_clear(&rs);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
		T(device_refusal_stands_while_nothing_changes),
		T(instance_change_lets_it_be_tried_again),
		T(other_entries_or_rule_let_it_be_tried_again),
		T(device_gone_for_a_pass_is_forgotten),
		T(whole_change_refusal_is_never_remembered),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
