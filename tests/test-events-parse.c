/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LXD event parser, on events captured from LXD 5.0.2
 * (tests/data/lxd-events/) and on hand-made edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/lxd/events.h"
#include "test-util.h"

static char *read_capture(const char *name, size_t *len)
{
	char path[4096];
	const char *src = getenv("DEVPASS_SOURCE_DIR");
	char *buf = malloc(65536);
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/lxd-events/%s",
		 src ? src : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

/* Each capture and what it must yield (NULL instance: LXD_EVENT_IGNORED). */
static const struct capture {
	const char *file;
	enum lxd_event_action action;
	const char *project;
	const char *instance;
	const char *old_name;
} captures[] = {
    {"instance-created.json", LXD_EVENT_CREATED, "default", "c1", NULL},
    {"instance-started.json", LXD_EVENT_STARTED, "default", "c1", NULL},
    {"instance-shutdown.json", LXD_EVENT_SHUTDOWN, "default", "c1", NULL},
    {"instance-shutdown-from-inside.json", LXD_EVENT_SHUTDOWN, "default", "c3",
     NULL},
    {"instance-stopped.json", LXD_EVENT_STOPPED, "default", "c1", NULL},
    {"instance-restarted.json", LXD_EVENT_RESTARTED, "default", "c1", NULL},
    {"instance-updated.json", LXD_EVENT_UPDATED, "default", "c1", NULL},
    {"instance-renamed.json", LXD_EVENT_RENAMED, "default", "c2", "c1"},
    {"instance-deleted.json", LXD_EVENT_DELETED, "default", "c2", NULL},
    {"instance-paused.json", LXD_EVENT_OTHER, "default", "c1", NULL},
    {"instance-resumed.json", LXD_EVENT_OTHER, "default", "c1", NULL},
    {"instance-exec.json", LXD_EVENT_OTHER, "default", "c3", NULL},
    {"instance-created-project.json", LXD_EVENT_CREATED, "p1", "c4", NULL},
    {"instance-started-project.json", LXD_EVENT_STARTED, "p1", "c4", NULL},
    {"instance-shutdown-project.json", LXD_EVENT_SHUTDOWN, "p1", "c4", NULL},
    {"instance-renamed-project.json", LXD_EVENT_RENAMED, "p1", "c5", "c4"},
    {"instance-snapshot-created-project.json", LXD_EVENT_OTHER, "p1", "c5",
     NULL},
    {"instance-snapshot-deleted-project.json", LXD_EVENT_OTHER, "p1", "c5",
     NULL},
    {"instance-created-project-encoded.json", LXD_EVENT_CREATED, "p+x&y", "c6",
     NULL},
    {"instance-stopped-project.json", LXD_EVENT_STOPPED, "p+x&y", "c6", NULL},
    {"instance-deleted-project.json", LXD_EVENT_DELETED, "p+x&y", "c6", NULL},
    {"project-created.json", 0, NULL, NULL, NULL},
    {"project-created-percent.json", 0, NULL, NULL, NULL},
    {"project-deleted.json", 0, NULL, NULL, NULL},
};

static void check_capture(const struct capture *c)
{
	struct lxd_event ev = {0};
	size_t len;
	char *json = read_capture(c->file, &len);
	int r = lxd_event_parse(json, len, &ev);

	print_message("%s\n", c->file);
	if (!c->instance) {
		assert_int_equal(r, LXD_EVENT_IGNORED);
		free(json);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(ev.action, c->action);
	assert_string_equal(ev.project, c->project);
	assert_string_equal(ev.instance, c->instance);
	assert_true(streq_ptr(ev.old_name, c->old_name));
	assert_string_equal(ev.location, "none");
	lxd_event_clear(&ev);
	assert_null(ev.instance);
	free(json);
}

static void captured_lxd_5_0_2_events_parse_as_recorded(void **state)
{
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++)
		check_capture(&captures[i]);
}

/* Parses a NUL-terminated string; returns the code, fills @ev on 0. */
static int parse(const char *json, struct lxd_event *ev)
{
	return lxd_event_parse(json, strlen(json), ev);
}

static void expect_event(const char *json, enum lxd_event_action action,
			 const char *project, const char *instance)
{
	struct lxd_event ev = {0};

	print_message("%s\n", json);
	assert_int_equal(parse(json, &ev), 0);
	assert_int_equal(ev.action, action);
	assert_string_equal(ev.project, project);
	assert_string_equal(ev.instance, instance);
	lxd_event_clear(&ev);
}

static void expect_code(const char *json, int code)
{
	struct lxd_event ev = {0};

	print_message("%s\n", json);
	assert_int_equal(parse(json, &ev), code);
	assert_null(ev.instance);
}

#define LC(meta, rest)                                                         \
	"{\"type\":\"lifecycle\",\"metadata\":{" meta "}" rest "}"

static void instance_and_project_come_url_decoded_from_source_or_fall_back(void **state)
{
	/* URL-decoded name; the query names the project when the top does not.
	 */
	expect_event(LC("\"action\":\"instance-started\","
			"\"source\":\"/1.0/instances/c%2D1\"", ),
		     LXD_EVENT_STARTED, "default", "c-1");
	expect_event(LC("\"action\":\"instance-started\","
			"\"source\":\"/1.0/instances/c1?project=p%2Bx%26y\"", ),
		     LXD_EVENT_STARTED, "p+x&y", "c1");
	expect_event(LC("\"action\":\"instance-started\","
			"\"source\":\"/1.0/instances/c1?a=b&project=a+b&c\"", ),
		     LXD_EVENT_STARTED, "a b", "c1");
	/* The top-level project wins over the query. */
	expect_event(LC("\"action\":\"instance-stopped\","
			"\"source\":\"/1.0/instances/c1?project=q\"",
			",\"project\":\"p\""),
		     LXD_EVENT_STOPPED, "p", "c1");
	/* No source: metadata.name. */
	expect_event(LC("\"action\":\"instance-deleted\",\"name\":\"c9\"",
			",\"project\":\"\""),
		     LXD_EVENT_DELETED, "default", "c9");
	/* A source that is not an instance path falls back as well. */
	expect_event(LC("\"action\":\"instance-updated\",\"name\":\"c9\","
			"\"source\":\"/1.0/operations/x\"", ),
		     LXD_EVENT_UPDATED, "default", "c9");
}

static void rename_carries_the_old_name_when_given_and_valid(void **state)
{
	struct lxd_event ev = {0};

	assert_int_equal(parse(LC("\"action\":\"instance-renamed\","
				  "\"source\":\"/1.0/instances/new\","
				  "\"context\":{\"old_name\":\"old\"}", ),
			       &ev),
			 0);
	assert_int_equal(ev.action, LXD_EVENT_RENAMED);
	assert_string_equal(ev.instance, "new");
	assert_string_equal(ev.old_name, "old");
	assert_null(ev.location);
	lxd_event_clear(&ev);
	/* Without context the event still counts; the old name is unknown. */
	assert_int_equal(parse(LC("\"action\":\"instance-renamed\","
				  "\"source\":\"/1.0/instances/new\","
				  "\"context\":{\"old_name\":5}", ),
			       &ev),
			 0);
	assert_null(ev.old_name);
	lxd_event_clear(&ev);
	expect_code(LC("\"action\":\"instance-renamed\","
		       "\"source\":\"/1.0/instances/new\","
		       "\"context\":{\"old_name\":\"a/b\"}", ),
		    -EBADMSG);
}

static void non_instance_events_are_ignored_not_errors(void **state)
{
	expect_code("{\"type\":\"operation\",\"metadata\":{\"id\":\"x\"}}",
		    LXD_EVENT_IGNORED);
	expect_code("{\"type\":\"logging\",\"metadata\":{}}", LXD_EVENT_IGNORED);
	expect_code(LC("\"action\":\"network-created\","
		       "\"source\":\"/1.0/networks/n\"", ),
		    LXD_EVENT_IGNORED);
	expect_code(LC("\"action\":\"storage-pool-created\","
		       "\"source\":\"/1.0/instances/x\"", ),
		    LXD_EVENT_IGNORED);
}

static void malformed_events_are_ebadmsg(void **state)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "[]",
	    "null",
	    "\"lifecycle\"",
	    "{}",
	    "{\"type\":1}",
	    "{\"type\":\"lifecycle\"}",
	    "{\"type\":\"lifecycle\",\"metadata\":[]}",
	    LC("\"action\":7", ),
	    LC("\"action\":\"instance-started\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "%2F\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "a%00b\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "a%4\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "a%zz\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "a\\u0000b\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "a\\nb\"", ),
	    LC("\"action\":\"instance-started\","
	       "\"source\":\"/1.0/instances/a?project=%\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "a\"",
	       ",\"project\":\"../x\""),
	    LC("\"action\":\"instance-started\",\"name\":\"\"", ),
	    LC("\"action\":\"instance-started\",\"source\":\"/1.0/instances/"
	       "a\"", ) "x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_code(bad[i], -EBADMSG);
	/* Trailing blanks are fine. */
	expect_event(LC("\"action\":\"instance-started\","
			"\"source\":\"/1.0/instances/a\"", ) " \n",
		     LXD_EVENT_STARTED, "default", "a");
}

/* The length is honoured: no reading past it, no NUL needed. */
static void parser_reads_only_the_given_length(void **state)
{
	const char json[] = LC("\"action\":\"instance-started\","
			       "\"source\":\"/1.0/instances/a\"", );
	char *copy = malloc(sizeof(json) - 1);
	struct lxd_event ev = {0};

	memcpy(copy, json, sizeof(json) - 1);
	assert_int_equal(lxd_event_parse(copy, sizeof(json) - 1, &ev), 0);
	assert_string_equal(ev.instance, "a");
	lxd_event_clear(&ev);
	assert_int_equal(lxd_event_parse(copy, sizeof(json) - 2, &ev), -EBADMSG);
	free(copy);
}

static void deep_nesting_is_refused_without_overflow(void **state)
{
	size_t depth = 100000;
	char *json = malloc(2 * depth + 1);

	memset(json, '[', depth);
	memset(json + depth, ']', depth);
	json[2 * depth] = '\0';
	expect_code(json, -EBADMSG);
	free(json);
}

static void action_names_and_unknown_is_other(void **state)
{
	assert_string_equal(lxd_event_action_to_string(LXD_EVENT_SHUTDOWN),
			    "shutdown");
	assert_string_equal(lxd_event_action_to_string(LXD_EVENT_RENAMED),
			    "renamed");
	assert_string_equal(lxd_event_action_to_string(LXD_EVENT_OTHER),
			    "other");
	assert_string_equal(
	    lxd_event_action_to_string((enum lxd_event_action)99), "other");
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(captured_lxd_5_0_2_events_parse_as_recorded),
	    cmocka_unit_test(instance_and_project_come_url_decoded_from_source_or_fall_back),
	    cmocka_unit_test(rename_carries_the_old_name_when_given_and_valid),
	    cmocka_unit_test(non_instance_events_are_ignored_not_errors),
	    cmocka_unit_test(malformed_events_are_ebadmsg),
	    cmocka_unit_test(parser_reads_only_the_given_length),
	    cmocka_unit_test(deep_nesting_is_refused_without_overflow),
	    cmocka_unit_test(action_names_and_unknown_is_other),
	};

	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
