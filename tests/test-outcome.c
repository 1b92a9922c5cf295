/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Outcomes: the states of `devpass status`, and a device's state logged
 * once when it changes, not on every reconcile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/service/outcome.h"
#include "devpass/util/log.h"
#include "fixture-structs.h"
#include "test-util.h"

struct world {
	struct device *cam, *gpu;
	struct rule *cam_rule, *gpu_rule;
	struct instance c1;
	struct outcomes last;
};

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	w->cam = fx_usb("1-7", 0x046d, 0x0843);
	w->gpu = fx_pci("0000:0b:00.0", 0x10de, 0x1b80, 0x030000);
	w->cam_rule = fx_rule("10-cam", RULE_SUBSYSTEM_USB);
	w->gpu_rule = fx_rule("20-gpu", RULE_SUBSYSTEM_PCI);
	w->c1 = (struct instance){.project = "default", .name = "c1"};
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	outcomes_clear(&w->last);
	device_free(w->cam);
	device_free(w->gpu);
	rule_free(w->cam_rule);
	rule_free(w->gpu_rule);
	free(w);
	return 0;
}

/*
 * One reconcile's outcomes (the camera waits for @cam_why, the GPU is
 * @gpu_state on c1 for @gpu_why), logged against the pass before as the
 * reconciler does. Return: the lines it logged containing @needle.
 */
static unsigned pass(struct world *w, const char *cam_why,
		     enum outcome_state gpu_state, const char *gpu_why,
		     const char *needle)
{
	struct placement cam = {.device = w->cam, .rule = w->cam_rule,
				.state = PLACEMENT_WAITING};
	struct placement gpu = {.device = w->gpu, .rule = w->gpu_rule,
				.state = PLACEMENT_ATTACH, .target = &w->c1};
	struct outcomes now = {0};
	assert_int_equal(outcomes_add(&now, &cam, OUTCOME_WAITING, cam_why), 0);
	assert_int_equal(outcomes_add(&now, &gpu, gpu_state, gpu_why), 0);

	FILE *log = tmpfile();
	int saved = dup(STDERR_FILENO);
	assert_non_null(log);
	fflush(stderr);
	dup2(fileno(log), STDERR_FILENO);
	outcomes_log_changes(&w->last, &now);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	char line[512];
	unsigned n = 0;
	rewind(log);
	while (fgets(line, sizeof(line), log))
		n += strstr(line, needle) != NULL;
	fclose(log);
	outcomes_clear(&w->last);
	w->last = now;
	return n;
}

static void waiting_and_refused_are_logged_once_across_reconciles(void **state)
{
	struct world *w = *state;
	const char *stopped = "c3 is not running (project default)";
	const char *lxd = "Failed to add device: no such GPU";

	assert_int_equal(pass(w, stopped, OUTCOME_REFUSED, lxd,
			      "10-cam 1-7: waiting: c3 is not running"), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pass(w, stopped, OUTCOME_REFUSED, lxd, " "), 0);
	/* the GPU's line names its instance */
	pass(w, stopped, OUTCOME_ATTACHED, NULL, " ");
	assert_int_equal(pass(w, stopped, OUTCOME_REFUSED, lxd,
			      "20-gpu 0000:0b:00.0 for default/c1: refused: "
			      "Failed to add device"), 1);
	/* another reason is another state */
	assert_int_equal(pass(w, "c3 does not exist (project default)",
			      OUTCOME_REFUSED, lxd, "10-cam 1-7: waiting"), 1);
}

static void attached_is_left_to_the_attach_line(void **state)
{
	struct world *w = *state;
	assert_int_equal(pass(w, "x", OUTCOME_ATTACHED, NULL, "20-gpu"), 0);
	assert_int_equal(pass(w, "x", OUTCOME_WOULD_ATTACH, NULL, "20-gpu"), 0);
}

static void status_strings_stay_what_scripts_read(void **state)
{
	(void)state;
	assert_string_equal(outcome_state_to_string(OUTCOME_ATTACHED), "attached");
	assert_string_equal(outcome_state_to_string(OUTCOME_WOULD_ATTACH),
			    "would-attach");
	assert_string_equal(outcome_state_to_string(OUTCOME_WAITING), "waiting");
	assert_string_equal(outcome_state_to_string(OUTCOME_REFUSED), "refused");
	assert_string_equal(outcome_state_to_string(OUTCOME_PENDING), "pending");
	assert_string_equal(outcome_state_to_string(OUTCOME_UNMATCHED),
			    "unmatched");
}

static const char *json_state(json_object *j)
{
	return json_object_get_string(json_object_object_get(j, "state"));
}

static void status_json_says_pending_unmatched_and_recorded(void **state)
{
	struct world *w = *state;
	struct outcomes none = {0};
	json_object *j = outcome_device_json(&none, w->cam, w->cam_rule, "LXD away");
	assert_string_equal(json_state(j), "pending");
	json_object_put(j);
	j = outcome_device_json(&none, w->cam, NULL, NULL);
	assert_string_equal(json_state(j), "unmatched");
	json_object_put(j);
	pass(w, "c3 is not running", OUTCOME_REFUSED, "no", " ");
	j = outcome_device_json(&w->last, w->gpu, NULL, NULL);
	assert_string_equal(json_state(j), "refused");
	assert_string_equal(json_object_get_string(json_object_object_get(j, "instance")),
			    "c1");
	json_object_put(j);
	assert_false(outcomes_all_attached(&w->last));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, world_setup, world_teardown)

int main(void)
{
	log_set_max_level(LOG_INFO);
	struct CMUnitTest tests[] = {
		T(waiting_and_refused_are_logged_once_across_reconciles),
		T(attached_is_left_to_the_attach_line),
		T(status_strings_stay_what_scripts_read),
		T(status_json_says_pending_unmatched_and_recorded),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests_name("outcome", tests, NULL, NULL);
}
