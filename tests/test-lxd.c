/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration: the LXD client and the device-entry sync against a real,
 * private LXD (Debian 12's 5.0.2 here), with busybox containers c1 and c2.
 * One LXD for the whole program. A test that changes an instance, a
 * profile or the client puts it back in its teardown, which runs also
 * when the test fails, so the order does not matter (DEVPASS_TEST_ORDER,
 * test-util.h). The one test that stops LXD is a group of its own, run
 * after all the others.
 */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/lxd/client.h"
#include "devpass/lxd/sync.h"
#include "request.h" /* daemon/lxd/: the raw lxd_request() */
#include "lxd-harness.h"
#include "test-util.h"

static struct lxd_harness lxd;
static struct lxd_client *client;
static bool has_patch_removal;

static int group_setup(void **state)
{
	static const char *const containers[] = {"c1", "c2", "c3", NULL};
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;

	if (lxd_harness_start(&lxd, containers) < 0)
		return -1;
	if (lxd_client_new(lxd.socket, &client) < 0 ||
	    lxd_server_get(client, &s) < 0)
		return -1;
	has_patch_removal = lxd_server_has_extension(s, "device_patch_removal");
	return 0;
}

/* The second group, the test that stops LXD: it needs the first's. */
static int lxd_still_up(void **state)
{
	return client && lxd.running ? 0 : -1;
}

static int group_teardown(void **state)
{
	lxd_client_free(client);
	lxd_harness_stop(&lxd);
	return 0;
}

static struct json_object *json(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

/* The instance as LXD has it now. */
static struct json_object *instance(const char *name)
{
	struct json_object *md = NULL;
	_cleanup_(freep) char *etag = NULL;
	assert_int_equal(lxd_instance_get(client, "default", name, &md, &etag),
			 0);
	return md;
}

/* The instance's own devices minus devpass's, as a JSON string. */
static char *foreign_devices(struct json_object *inst)
{
	struct json_object *devs, *keep = json_object_new_object();
	assert_true(json_object_object_get_ex(inst, "devices", &devs));
	json_object_object_foreach(devs, k, v)
	{
		if (strncmp(k, "devpass-", 8) != 0)
			json_object_object_add(keep, k, json_object_get(v));
	}
	char *s = strdup(json_object_to_json_string(keep));
	json_object_put(keep);
	return s;
}

/* What devpass must never change, each as LXD serialises it. */
struct untouchable {
	char *field[4]; /* description, config, profiles, foreign devices */
};

static void untouchable_clear(struct untouchable *u)
{
	for (size_t i = 0; i < ARRAY_SIZE(u->field); i++)
		free(u->field[i]);
}

static void untouchable_get(const char *name, struct untouchable *u)
{
	static const char *const keys[] = {"description", "config", "profiles"};
	_cleanup_(json_object_putp) struct json_object *inst = instance(name);
	struct json_object *v;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		assert_true(json_object_object_get_ex(inst, keys[i], &v));
		u->field[i] = strdup(json_object_to_json_string(v));
	}
	u->field[3] = foreign_devices(inst);
}

static void assert_untouched(const char *name, const struct untouchable *before)
{
	_cleanup_(untouchable_clear) struct untouchable now = {0};

	untouchable_get(name, &now);
	for (size_t i = 0; i < ARRAY_SIZE(now.field); i++)
		assert_string_equal(before->field[i], now.field[i]);
}

static bool has_device(const char *name, const char *dev)
{
	_cleanup_(json_object_putp) struct json_object *inst = instance(name);
	struct json_object *devs;
	return json_object_object_get_ex(inst, "devices", &devs) &&
	       json_object_object_get_ex(devs, dev, NULL);
}

static void request_ok(const char *method, const char *path, const char *body)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(json_object_putp) struct json_object *b =
	    body ? json(body) : NULL;
	assert_int_equal(lxd_request(client, method, path, b, NULL, &resp), 0);
	if (resp.type == LXD_RESPONSE_ASYNC)
		assert_int_equal(
		    lxd_operation_wait(client, resp.operation, 30, NULL), 0);
}

/* The instance's fields that a PUT writes, as a PUT body. */
static struct json_object *put_body(const char *name)
{
	static const char *const keys[] = {"architecture", "config", "devices",
					   "ephemeral",    "profiles", "stateful",
					   "description"};
	_cleanup_(json_object_putp) struct json_object *inst = instance(name);
	struct json_object *body = json_object_new_object(), *v;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_object_object_get_ex(inst, keys[i], &v))
			json_object_object_add(body, keys[i],
					       json_object_get(v));
	return body;
}

/* An instance as it was before a test, for its teardown to put back. */
struct saved_instance {
	char path[64];
	struct json_object *put;
};

static int save_instance(void **state, const char *name)
{
	struct saved_instance *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	snprintf(s->path, sizeof(s->path), "/1.0/instances/%s", name);
	s->put = put_body(name);
	*state = s;
	return 0;
}

static int save_c1(void **state)
{
	return save_instance(state, "c1");
}

static int save_c2(void **state)
{
	return save_instance(state, "c2");
}

static int save_c3(void **state)
{
	return save_instance(state, "c3");
}

/* A PUT of the saved fields, only when they changed: the restore. */
static int restore_instance(void **state)
{
	struct saved_instance *s = *state;
	const char *name = strrchr(s->path, '/') + 1;
	_cleanup_(json_object_putp) struct json_object *now = put_body(name);
	const char *was = json_object_to_json_string(s->put);

	if (strcmp(json_object_to_json_string(now), was) != 0)
		request_ok("PUT", s->path, was);
	json_object_put(s->put);
	free(s);
	return 0;
}

static int sync_dev(const char *name, const char *desired, bool patch_removal,
		    struct lxd_sync_stats *st)
{
	_cleanup_(json_object_putp) struct json_object *d = json(desired);
	_cleanup_(freep) char *err = NULL;
	int r = lxd_instance_sync_devices(client, "default", name, "devpass-",
					  d, patch_removal, st, &err);
	if (r < 0)
		print_message("sync %s: %s (%s)\n", name, strerror(-r),
			      err ? err : "");
	return r;
}

/* `lxc exec NAME -- ls -l PATH`: its exit status and output. */
static int ls_in(const char *name, const char *path, char **out)
{
	const char *argv[] = {"lxc", "exec", name, "--",
			      "ls",  "-l",   path, NULL};
	return lxd_harness_run(&lxd, out, argv);
}

static void server_info_reads_and_5_0_2_lacks_what_design_md_says(void **state)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;

	assert_int_equal(lxd_server_get(client, &s), 0);
	assert_true(strv_length(s->api_extensions) > 100);
	assert_true(lxd_server_has_extension(s, "instances"));
	assert_true(lxd_server_has_extension(s, "etag"));
	assert_false(lxd_server_has_extension(s, "no_such_extension"));
	assert_non_null(s->server_name);
	assert_false(s->clustered);
	print_message("LXD %s, %zu extensions\n", s->server_version,
		      strv_length(s->api_extensions));
	/* What DESIGN.md says of 5.0.2, checked where it is 5.0.2. */
	if (s->server_version && strcmp(s->server_version, "5.0.2") == 0) {
		assert_false(lxd_server_has_extension(s, "device_usb_serial"));
		assert_false(lxd_server_has_extension(s, "pci_hotplug"));
		assert_false(
		    lxd_server_has_extension(s, "device_patch_removal"));
	}
}

static const struct lxd_instance *find(const struct lxd_instance_list *l,
				       const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].name, name) == 0)
			return &l->items[i];
	return NULL;
}

static void instances_list_shows_running_and_stopped(void **state)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	const char *const init[] = {"lxc", "init", "busybox", "stopped1", NULL};

	assert_int_equal(lxd_harness_run(&lxd, NULL, init), 0);
	assert_int_equal(lxd_instances_list(client, "default", &l), 0);
	assert_int_equal(l->n, 4);
	const struct lxd_instance *c1 = find(l, "c1"),
				  *st = find(l, "stopped1");
	assert_non_null(c1);
	assert_non_null(st);
	assert_true(c1->running);
	assert_string_equal(c1->status, "Running");
	assert_false(c1->vm);
	assert_false(c1->privileged);
	assert_string_equal(c1->location, "none");
	assert_true(json_object_is_type(c1->devices, json_type_object));
	assert_false(st->running);
	assert_string_equal(st->status, "Stopped");
}

static int delete_stopped1(void **state)
{
	const char *const del[] = {"lxc", "delete", "--force", "stopped1",
				   NULL};

	lxd_harness_run(&lxd, NULL, del); /* fails when it was never made */
	return 0;
}

static void unknown_project_lists_nothing(void **state)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	/* Observed on 5.0.2: no 404, an empty list. */
	assert_int_equal(lxd_instances_list(client, "no-such-project", &l), 0);
	assert_int_equal(l->n, 0);
}

static void missing_instance_is_enxio(void **state)
{
	struct json_object *md = NULL;
	char *etag = NULL;
	assert_int_equal(
	    lxd_instance_get(client, "default", "nope", &md, &etag), -ENXIO);
	assert_int_equal(sync_dev("nope", "{}", false, NULL), -ENXIO);
}

#define NULLDEV(path)                                                          \
	"{\"type\":\"unix-char\",\"source\":\"/dev/null\",\"path\":\"" path    \
	"\",\"major\":\"1\",\"minor\":\"3\"}"

static void sync_adds_changes_and_removes_entries_and_nodes(void **state)
{
	struct lxd_sync_stats st;
	_cleanup_(freep) char *out = NULL, *out2 = NULL;

	assert_int_equal(
	    sync_dev("c1", "{\"devpass-t\":" NULLDEV("/dev/devpass-test") "}",
		     false, &st),
	    0);
	assert_int_equal(st.writes, 1);
	assert_int_equal(ls_in("c1", "/dev/devpass-test", &out), 0);
	assert_non_null(strstr(out, "1,   3"));
	assert_int_equal(out[0], 'c');

	/* The same again writes nothing. */
	assert_int_equal(
	    sync_dev("c1", "{\"devpass-t\":" NULLDEV("/dev/devpass-test") "}",
		     false, &st),
	    0);
	assert_int_equal(st.writes, 0);

	/* A changed entry is replaced whole, by PATCH. */
	assert_int_equal(
	    sync_dev("c1", "{\"devpass-t\":" NULLDEV("/dev/devpass-moved") "}",
		     false, &st),
	    0);
	assert_int_equal(st.writes, 1);
	assert_int_equal(ls_in("c1", "/dev/devpass-moved", &out2), 0);
	assert_int_not_equal(ls_in("c1", "/dev/devpass-test", NULL), 0);

	/* Removal goes through PUT on 5.0.2, and the node goes away. */
	assert_int_equal(sync_dev("c1", "{}", has_patch_removal, &st), 0);
	assert_int_equal(st.writes, 1);
	assert_false(has_device("c1", "devpass-t"));
	assert_int_not_equal(ls_in("c1", "/dev/devpass-moved", NULL), 0);
	assert_int_equal(sync_dev("c1", "{}", has_patch_removal, &st), 0);
	assert_int_equal(st.writes, 0);
}

/* Description, config, profiles and foreign devices survive a sync. */
static void sync_changes_nothing_else(void **state)
{
	_cleanup_(untouchable_clear) struct untouchable before = {0};
	struct lxd_sync_stats st;

	request_ok("POST", "/1.0/profiles",
		   "{\"name\":\"extra\",\"config\":{\"user.p\":\"1\"}}");
	request_ok("PATCH", "/1.0/instances/c2",
		   "{\"description\":\"kiosk \\\"2\\\"\","
		   "\"config\":{\"user.foo\":\"bar baz\"},"
		   "\"profiles\":[\"default\",\"extra\"],"
		   "\"devices\":{\"mine\":{\"type\":\"unix-char\","
		   "\"source\":\"/dev/zero\",\"path\":\"/dev/mine\"}}}");
	untouchable_get("c2", &before);
	assert_non_null(strstr(before.field[0], "kiosk"));
	assert_non_null(strstr(before.field[1], "user.foo"));
	assert_non_null(strstr(before.field[2], "extra"));
	assert_non_null(strstr(before.field[3], "\"mine\""));

	assert_int_equal(
	    sync_dev("c2",
		     "{\"devpass-a\":" NULLDEV(
			 "/dev/dp-a") ","
				      "\"devpass-b\":" NULLDEV("/dev/dp-b") "}",
		     false, &st),
	    0);
	assert_int_equal(st.writes, 1);
	assert_untouched("c2", &before);

	/* Remove one (a PUT of the whole instance on 5.0.2), then both. */
	assert_int_equal(sync_dev("c2",
				  "{\"devpass-b\":" NULLDEV("/dev/dp-b") "}",
				  false, &st),
			 0);
	assert_int_equal(st.writes, 1);
	assert_true(has_device("c2", "devpass-b"));
	assert_false(has_device("c2", "devpass-a"));
	assert_untouched("c2", &before);
	assert_int_equal(sync_dev("c2", "{}", false, &st), 0);
	assert_untouched("c2", &before);
	assert_true(has_device("c2", "mine"));
}

/* c2 as it was, and no profile "extra". */
static int restore_c2_drop_extra(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	restore_instance(state);
	lxd_request(client, "DELETE", "/1.0/profiles/extra", NULL, NULL,
		    &resp); /* -ENXIO when it was never made */
	return 0;
}

static int hook_calls;

/* Another client changes the instance between our GET and our write. */
static void concurrent_change(void *userdata)
{
	const char *key = userdata;
	_cleanup_(freep) char *body = NULL;

	if (hook_calls++ > 0)
		return;
	assert_true(asprintf(&body, "{\"config\":{\"%s\":\"x\"}}", key) > 0);
	request_ok("PATCH", "/1.0/instances/c3", body);
}

static bool has_config(const char *name, const char *key)
{
	_cleanup_(json_object_putp) struct json_object *inst = instance(name);
	struct json_object *config;
	return json_object_object_get_ex(inst, "config", &config) &&
	       json_object_object_get_ex(config, key, NULL);
}

static void sync_retries_on_412_and_keeps_the_other_writers_change(void **state)
{
	struct lxd_sync_stats st;

	hook_calls = 0;
	lxd_client_set_after_read(client, concurrent_change, "user.bar");
	int r = sync_dev("c3", "{\"devpass-r\":" NULLDEV("/dev/dp-r") "}",
			 false, &st);
	lxd_client_set_after_read(client, NULL, NULL);
	assert_int_equal(r, 0);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.writes, 1);
	assert_true(has_config("c3", "user.bar"));
	assert_true(has_device("c3", "devpass-r"));

	/* The PUT path must not undo the other writer's change either. */
	hook_calls = 0;
	lxd_client_set_after_read(client, concurrent_change, "user.baz");
	r = sync_dev("c3", "{}", false, &st);
	lxd_client_set_after_read(client, NULL, NULL);
	assert_int_equal(r, 0);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.writes, 1);
	assert_true(has_config("c3", "user.bar"));
	assert_true(has_config("c3", "user.baz"));
	assert_false(has_device("c3", "devpass-r"));
}

/* No hook left behind, and c3 as it was. */
static int unhook_restore_c3(void **state)
{
	lxd_client_set_after_read(client, NULL, NULL);
	return restore_instance(state);
}

static void sync_reports_lxds_refusal_naming_the_entry(void **state)
{
	_cleanup_(json_object_putp) struct json_object *d =
	    json("{\"devpass-bad\":{\"type\":\"unix-char\",\"source\":"
		 "\"/etc/passwd\",\"path\":\"/dev/bad\"}}");
	_cleanup_(freep) char *err = NULL, *dev = NULL;
	_cleanup_(untouchable_clear) struct untouchable before = {0};

	untouchable_get("c1", &before);

	/* PATCH path: a sync refusal. */
	assert_int_equal(lxd_instance_sync_devices(client, "default", "c1",
						   "devpass-", d, false, NULL,
						   &err),
			 -EIO);
	assert_non_null(err);
	print_message("LXD says: %s\n", err);
	assert_non_null(strstr(err, "/dev"));
	dev = lxd_error_device(err, "devpass-");
	assert_string_equal(dev, "devpass-bad");
	assert_false(has_device("c1", "devpass-bad"));

	/* PUT path (a removal too): the operation fails, same report. */
	free(steal_ptr(&err));
	free(steal_ptr(&dev));
	assert_int_equal(sync_dev("c1",
				  "{\"devpass-ok\":" NULLDEV("/dev/dp-ok") "}",
				  false, NULL),
			 0);
	assert_int_equal(lxd_instance_sync_devices(client, "default", "c1",
						   "devpass-", d, false, NULL,
						   &err),
			 -EIO);
	assert_non_null(err);
	dev = lxd_error_device(err, "devpass-");
	assert_string_equal(dev, "devpass-bad");
	assert_true(has_device("c1", "devpass-ok"));
	assert_int_equal(sync_dev("c1", "{}", false, NULL), 0);
	assert_untouched("c1", &before);
}

static void sync_refuses_foreign_names_and_bad_entries(void **state)
{
	assert_int_equal(
	    sync_dev("c1", "{\"mine\":" NULLDEV("/dev/x") "}", false, NULL),
	    -EINVAL);
	assert_int_equal(sync_dev("c1",
				  "{\"devpass-n\":{\"type\":\"unix-char\","
				  "\"major\":1}}",
				  false, NULL),
			 -EINVAL);
}

/* 5.0.2 has no device_patch_removal: "name": null in a PATCH is refused,
 * which is why the flag must come from api_extensions. */
static void patch_removal_needs_the_extension(void **state)
{
	if (has_patch_removal)
		skip();
	assert_int_equal(sync_dev("c1",
				  "{\"devpass-p\":" NULLDEV("/dev/dp-p") "}",
				  false, NULL),
			 0);
	assert_int_equal(sync_dev("c1", "{}", true, NULL), -EIO);
	assert_true(has_device("c1", "devpass-p"));
	assert_int_equal(sync_dev("c1", "{}", false, NULL), 0);
	assert_false(has_device("c1", "devpass-p"));
}

/* LXD goes away; requests fail at once with a clear error. It stops the
 * LXD of the whole program: main() runs it in a group of its own, last. */
static void requests_fail_fast_once_lxd_is_gone(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	lxd_harness_stop(&lxd);
	int64_t t0 = now_ms();
	int r = lxd_request(client, "GET", "/1.0", NULL, NULL, &resp);
	int64_t t1 = now_ms();
	assert_true(r == -ENOENT || r == -ECONNREFUSED);
	assert_true(t1 - t0 < 5000);
	assert_int_equal(sync_dev("c1", "{}", false, NULL), r);
}

#define T(fn, setup, teardown) \
	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(server_info_reads_and_5_0_2_lacks_what_design_md_says),
	    cmocka_unit_test_teardown(instances_list_shows_running_and_stopped,
				      delete_stopped1),
	    cmocka_unit_test(unknown_project_lists_nothing),
	    cmocka_unit_test(missing_instance_is_enxio),
	    T(sync_adds_changes_and_removes_entries_and_nodes, save_c1,
	      restore_instance),
	    T(sync_changes_nothing_else, save_c2, restore_c2_drop_extra),
	    T(sync_retries_on_412_and_keeps_the_other_writers_change, save_c3,
	      unhook_restore_c3),
	    T(sync_reports_lxds_refusal_naming_the_entry, save_c1,
	      restore_instance),
	    T(sync_refuses_foreign_names_and_bad_entries, save_c1,
	      restore_instance),
	    T(patch_removal_needs_the_extension, save_c1, restore_instance),
	};
	/* After all the others, in whatever order they ran. */
	const struct CMUnitTest last[] = {
	    cmocka_unit_test(requests_fail_fast_once_lxd_is_gone),
	};
	int failed;

	if (TEST_ORDER(tests) < 0)
		return 1;
	failed = cmocka_run_group_tests_name("LXD up", tests, group_setup,
					     NULL);
	return failed + cmocka_run_group_tests_name("LXD gone", last,
						    lxd_still_up,
						    group_teardown);
}
