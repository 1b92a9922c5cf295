/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a write changed, as log lines: only devpass's own entries, only
 * what the write's own read found, and one line for any number of entries
 * no device stands for (issue 9: 100k "detached" lines; 200k entries
 * pushed one by one blocked the loop 8.8 s). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/service/changes.h"
#include "devpass/service/ledger.h"
#include "devpass/util/log.h"
#include "test-util.h"

static const struct instance c1 = {.project = "default", .name = "c1"};

/* The lines changes_log_detaches() logs, into a tmpfile; their count. */
static size_t detach_lines(const struct ledger *l, char **removed, char *first,
			   size_t size)
{
	FILE *log = tmpfile();
	int saved = dup(STDERR_FILENO);
	char line[4096];
	size_t n = 0;

	assert_non_null(log);
	fflush(stderr);
	dup2(fileno(log), STDERR_FILENO);
	changes_log_detaches(l, &c1, removed, false, 3);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(log);
	first[0] = '\0';
	while (fgets(line, sizeof(line), log))
		if (n++ == 0)
			snprintf(first, size, "%s", line);
	fclose(log);
	return n;
}

/* @n entries named @prefix0, @prefix1, ... */
static json_object *entries(size_t n, const char *prefix)
{
	json_object *o = json_object_new_object();
	char name[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%zu", prefix, i);
		json_object_object_add(o, name, json_object_new_object());
	}
	return o;
}

static void diff_reports_only_devpass_entries(void **state)
{
	_cleanup_(json_object_putp) json_object *want = entries(1, "devpass-a");
	_cleanup_(json_object_putp) json_object *had = entries(3, "eth");
	_cleanup_(strv_freep) char **added = NULL, **removed = NULL;

	json_object_object_add(had, "devpass-old", json_object_new_object());
	assert_int_equal(changes_diff(want, had, &added, &removed), 0);
	assert_int_equal(strv_length(added), 1);
	assert_string_equal(added[0], "devpass-a0");
	assert_int_equal(strv_length(removed), 1);
	assert_string_equal(removed[0], "devpass-old");
}

/* The write found nothing of what the list held: nothing is "detached". */
static void nothing_found_nothing_logged(void **state)
{
	_cleanup_(json_object_putp) json_object *want =
		json_object_new_object();
	_cleanup_(json_object_putp) json_object *found =
		json_object_new_object();
	_cleanup_(strv_freep) char **added = NULL, **removed = NULL;
	struct ledger l = {0};
	char first[512];

	assert_int_equal(changes_diff(want, found, &added, &removed), 0);
	assert_int_equal(detach_lines(&l, removed, first, sizeof(first)), 0);
}

static void hundred_thousand_unknown_entries_are_one_line(void **state)
{
	_cleanup_(json_object_putp) json_object *want =
		json_object_new_object();
	_cleanup_(json_object_putp) json_object *had =
		entries(100000, "devpass-foreign-");
	_cleanup_(strv_freep) char **added = NULL, **removed = NULL;
	struct ledger l = {0};
	char first[4096];

	assert_int_equal(ledger_add(&l, "default", "c1", "devpass-cam-1-1",
				    "cam", "1-1"),
			 0);
	json_object_object_add(had, "devpass-cam-1-1",
			       json_object_new_object());
	long long t0 = now_ms();
	assert_int_equal(changes_diff(want, had, &added, &removed), 0);
	assert_int_equal(strv_length(removed), 100001);
	/* one line for the known device, one for all the rest */
	assert_int_equal(detach_lines(&l, removed, first, sizeof(first)), 2);
	ledger_forget(&l, "default", "c1", removed);
	assert_int_equal(l.n_entries, 0);
	printf("# 100001 removed entries diffed, logged and forgotten in "
	       "%lld ms\n",
	       now_ms() - t0);
	assert_non_null(strstr(first, "detached cam 1-1 from default/c1"));
	ledger_clear(&l);
}

static void few_unknown_entries_are_named(void **state)
{
	char *removed[] = {"devpass-x", "devpass-y", NULL};
	struct ledger l = {0};
	char first[512];

	assert_int_equal(detach_lines(&l, removed, first, sizeof(first)), 1);
	assert_non_null(strstr(first, "detached devpass-x devpass-y from "
				      "default/c1 (no device wants them"));
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(diff_reports_only_devpass_entries),
		cmocka_unit_test(nothing_found_nothing_logged),
		cmocka_unit_test(hundred_thousand_unknown_entries_are_one_line),
		cmocka_unit_test(few_unknown_entries_are_named),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
