/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The event listener against a real private LXD (tests/lxd-harness.h,
 * with its "busybox" image): drive a container with `lxc` and check that
 * each action arrives as the right event, within a timeout.
 *
 * Each test works on instances of its own (fresh names per test): the
 * ones that need an existing container get it from the with_instance
 * fixture, and every test's leftovers are deleted after it, so any test
 * runs alone or in any order (DEVPASS_TEST_ORDER, test-util.h). The one
 * that shuts LXD down is a group of its own, run after all the others.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "devpass/lxd/events.h"
#include "devpass/util/log.h"
#include "lxd-harness.h"
#include "test-util.h"

#define EVENT_TIMEOUT_MS 20000
#define MAX_SEEN	 64

static struct lxd_events *events;
static struct lxd_event seen[MAX_SEEN];
static size_t n_seen;
static char name[32], renamed[32];

static void on_event(const struct lxd_event *ev, void *userdata)
{
	struct lxd_event *copy = &seen[n_seen];

	if (n_seen == MAX_SEEN)
		fail_msg("more than %d unclaimed events", MAX_SEEN);
	*copy = (struct lxd_event){
	    .action = ev->action,
	    .project = strdup(ev->project),
	    .instance = strdup(ev->instance),
	    .old_name = ev->old_name ? strdup(ev->old_name) : NULL,
	};
	n_seen++;
}

static void forget_seen(void)
{
	for (size_t i = 0; i < n_seen; i++)
		lxd_event_clear(&seen[i]);
	n_seen = 0;
}

static void lxc(const char *fmt, ...) _printf_(1, 2);
static void lxc(const char *fmt, ...)
{
	char args[512], cmd[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "timeout 60 lxc %s >/dev/null 2>&1", args);
	print_message("lxc %s\n", args);
	if (system(cmd) != 0)
		fail_msg("failed: lxc %s", args);
}

/* Index of the first seen event for @instance in @project, or -1. */
static ssize_t find_seen(const char *project, const char *instance,
			 enum lxd_event_action action)
{
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i].action == action &&
		    strcmp(seen[i].instance, instance) == 0 &&
		    strcmp(seen[i].project, project) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * Waits for @action on @instance; fails after EVENT_TIMEOUT_MS or if the
 * stream ends. Returns the event (valid until forget_seen()).
 */
static const struct lxd_event *wait_event(const char *project,
					  const char *instance,
					  enum lxd_event_action action)
{
	int64_t deadline = now_ms() + EVENT_TIMEOUT_MS;
	ssize_t i;

	while ((i = find_seen(project, instance, action)) < 0) {
		struct pollfd pfd = {.fd = lxd_events_get_fd(events),
				     .events = POLLIN};
		int64_t left = deadline - now_ms();
		if (left <= 0)
			fail_msg("no %s event for %s/%s",
				 lxd_event_action_to_string(action), project,
				 instance);
		if (poll(&pfd, 1, (int)left) > 0)
			assert_int_equal(
			    lxd_events_dispatch(events, on_event, NULL), 0);
	}
	return &seen[i];
}

static struct lxd_harness lxd;

static int setup(void **state)
{
	char conf[sizeof(lxd.dir) + 8];

	if (getenv("DEVPASS_DEBUG"))
		log_set_max_level(LOG_DEBUG);
	if (lxd_harness_start(&lxd, NULL) < 0)
		return -1;
	/* `lxc` and `lxd shutdown` below talk to the private LXD. */
	snprintf(conf, sizeof(conf), "%s/client", lxd.dir);
	setenv("LXD_DIR", lxd.dir, 1);
	setenv("LXD_CONF", conf, 1);
	return lxd_events_connect(&events, lxd.socket) == 0 ? 0 : -1;
}

/* Per test: names nobody used before, and no events of earlier tests. */
static int fresh_names(void **state)
{
	static unsigned n;

	n++;
	snprintf(name, sizeof(name), "evt-%d-%u", (int)getpid(), n);
	snprintf(renamed, sizeof(renamed), "evt-%d-%u-b", (int)getpid(), n);
	forget_seen();
	return 0;
}

/* Per test: a stopped container @name of its own. */
static int with_instance(void **state)
{
	fresh_names(state);
	lxc("init busybox %s", name);
	wait_event("default", name, LXD_EVENT_CREATED);
	forget_seen();
	return 0;
}

/* Deletes @instance if the test left it, and waits until LXD said so, so
 * no event of it reaches the next test. */
static void delete_leftover(const char *instance)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "timeout 60 lxc delete --force %s >/dev/null 2>&1", instance);
	if (system(cmd) == 0)
		wait_event("default", instance, LXD_EVENT_DELETED);
}

static int delete_leftovers(void **state)
{
	delete_leftover(name);
	delete_leftover(renamed);
	forget_seen();
	return 0;
}

/* The second group, the test that shuts LXD down: it needs the first's. */
static int lxd_still_up(void **state)
{
	return events && lxd.running ? 0 : -1;
}

static int teardown(void **state)
{
	forget_seen();
	lxd_events_free(events);
	lxd_harness_stop(&lxd);
	return 0;
}

static void create_start_stop_arrive_as_their_events(void **state)
{
	lxc("init busybox %s", name);
	wait_event("default", name, LXD_EVENT_CREATED);
	lxc("start %s", name);
	wait_event("default", name, LXD_EVENT_STARTED);
	/* A clean stop is "shutdown" on 5.0.2, a forced one "stopped". */
	lxc("stop %s", name);
	wait_event("default", name, LXD_EVENT_SHUTDOWN);
	lxc("start %s", name);
	wait_event("default", name, LXD_EVENT_STARTED);
	lxc("stop --force %s", name);
	wait_event("default", name, LXD_EVENT_STOPPED);
	forget_seen();
}

/* A forced restart sends "restarted" and nothing else. */
static void forced_restart_sends_only_restarted(void **state)
{
	lxc("start %s", name);
	wait_event("default", name, LXD_EVENT_STARTED);
	forget_seen();
	lxc("restart --force %s", name);
	wait_event("default", name, LXD_EVENT_RESTARTED);
	lxc("config set %s user.devpass-test=1", name);
	wait_event("default", name, LXD_EVENT_UPDATED);
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i].action != LXD_EVENT_RESTARTED &&
		    seen[i].action != LXD_EVENT_UPDATED)
			fail_msg("unexpected %s around the restart",
				 lxd_event_action_to_string(seen[i].action));
	lxc("stop --force %s", name);
	wait_event("default", name, LXD_EVENT_STOPPED);
	forget_seen();
}

static void rename_arrives_with_both_names_delete_with_the_new(void **state)
{
	lxc("rename %s %s", name, renamed);
	const struct lxd_event *ev =
	    wait_event("default", renamed, LXD_EVENT_RENAMED);
	assert_non_null(ev->old_name);
	assert_string_equal(ev->old_name, name);
	lxc("delete %s", renamed);
	wait_event("default", renamed, LXD_EVENT_DELETED);
	forget_seen();
}

/* Events from another project arrive, named by that project. */
static void events_of_another_project_name_it(void **state)
{
	const char *project = "devpass-evt";

	lxc("project create %s -c features.images=false "
	    "-c features.profiles=false",
	    project);
	lxc("init busybox %s --project %s", name, project);
	wait_event(project, name, LXD_EVENT_CREATED);
	lxc("delete %s --project %s", name, project);
	wait_event(project, name, LXD_EVENT_DELETED);
	lxc("project delete %s", project);
	forget_seen();
}

/*
 * LXD pings every 10 s and drops a client that has not answered for 30 s:
 * after 40 s the stream must still deliver.
 */
static void stream_survives_lxd_keepalive_past_40s(void **state)
{
	int64_t until = now_ms() + 40000;

	while (now_ms() < until) {
		struct pollfd pfd = {.fd = lxd_events_get_fd(events),
				     .events = POLLIN};
		if (poll(&pfd, 1, 1000) > 0)
			assert_int_equal(
			    lxd_events_dispatch(events, on_event, NULL), 0);
	}
	lxc("init busybox %s", name);
	wait_event("default", name, LXD_EVENT_CREATED);
	lxc("delete %s", name);
	wait_event("default", name, LXD_EVENT_DELETED);
	forget_seen();
}

/* When LXD goes away, dispatch says so (the daemon then reconnects). */
static void stream_ends_when_lxd_shuts_down(void **state)
{
	int64_t deadline = now_ms() + EVENT_TIMEOUT_MS;
	int r = 0;

	assert_int_equal(system("timeout 60 lxd shutdown --timeout 30"), 0);
	while (r == 0) {
		struct pollfd pfd = {.fd = lxd_events_get_fd(events),
				     .events = POLLIN};
		if (now_ms() > deadline)
			fail_msg("the stream did not end after lxd shutdown");
		if (poll(&pfd, 1, 1000) > 0)
			r = lxd_events_dispatch(events, on_event, NULL);
	}
	assert_true(r == LXD_EVENTS_CLOSED || r < 0);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(create_start_stop_arrive_as_their_events,
					    fresh_names, delete_leftovers),
	    cmocka_unit_test_setup_teardown(forced_restart_sends_only_restarted,
					    with_instance, delete_leftovers),
	    cmocka_unit_test_setup_teardown(
		rename_arrives_with_both_names_delete_with_the_new,
		with_instance, delete_leftovers),
	    cmocka_unit_test_setup_teardown(events_of_another_project_name_it,
					    fresh_names, delete_leftovers),
	    cmocka_unit_test_setup_teardown(stream_survives_lxd_keepalive_past_40s,
					    fresh_names, delete_leftovers),
	};
	/* After all the others, in whatever order they ran: it shuts LXD
	 * down (no teardown can reach LXD after it). */
	const struct CMUnitTest last[] = {
	    cmocka_unit_test_setup(stream_ends_when_lxd_shuts_down, fresh_names),
	};
	int failed;

	if (TEST_ORDER(tests) < 0)
		return 1;
	failed = cmocka_run_group_tests_name("LXD up", tests, setup, NULL);
	return failed + cmocka_run_group_tests_name("LXD shut down", last,
						    lxd_still_up, teardown);
}
