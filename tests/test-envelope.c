/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LXD answer parser without a socket (envelope.h): real replies of LXD
 * 5.0.2 (tests/fuzz/corpus/envelope/, "STATUS ETAG" then the body), then
 * malformed envelopes, wrong types, truncated, huge and non-UTF-8 bodies.
 */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/lxd/envelope.h"
#include "test-util.h"

/* One captured reply: its status, ETag (NULL for "-") and body. */
struct capture {
	long status;
	char etag[128];
	char *body;
	size_t len;
};

static void capture_read(const char *name, struct capture *c)
{
	char path[4096], head[160];
	const char *src = getenv("DEVPASS_SOURCE_DIR");
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/envelope/%s",
		 src ? src : ".", name);
	if (!(f = fopen(path, "rb")))
		fail_msg("cannot open %s", path);
	assert_non_null(fgets(head, sizeof(head), f));
	assert_int_equal(sscanf(head, "%ld %127s", &c->status, c->etag), 2);
	if (strcmp(c->etag, "-") == 0)
		c->etag[0] = '\0';
	c->body = malloc(65536);
	assert_non_null(c->body);
	c->len = fread(c->body, 1, 65536, f);
	fclose(f);
}

/* Parses capture @name into @resp; returns lxd_response_parse()'s result. */
static int parse_capture(const char *name, struct lxd_response *resp)
{
	struct capture c;
	int r;

	capture_read(name, &c);
	r = lxd_response_parse(c.status, c.etag[0] ? c.etag : NULL, c.body,
			       c.len, resp);
	free(c.body);
	return r;
}

static int parse_text(long status, const char *body, struct lxd_response *r)
{
	return lxd_response_parse(status, NULL, body, strlen(body), r);
}

static void captured_server_reply_gives_5_0_2_and_its_extensions(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;

	assert_int_equal(parse_capture("server", &resp), 0);
	assert_int_equal(resp.type, LXD_RESPONSE_SYNC);
	assert_int_equal(resp.status_code, 200);
	assert_non_null(resp.etag);
	assert_int_equal(lxd_server_parse(resp.metadata, &s, NULL), 0);
	assert_string_equal(s->server, "lxd");
	assert_string_equal(s->server_version, "5.0.2");
	assert_non_null(s->server_name);
	assert_false(s->clustered);
	assert_true(lxd_server_has_extension(s, "instances"));
	/* 5.0.2 predates it: removals go through PUT (sync.h). */
	assert_false(lxd_server_has_extension(s, "device_patch_removal"));
}

/* GET /1.0 of Incus 6.0.4 (bookworm-backports), captured from a private
 * one (its certificate and pid blanked): the same API, its own identity
 * and extensions. */
static void captured_incus_reply_says_incus_and_its_extensions(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;

	assert_int_equal(parse_capture("server-incus", &resp), 0);
	assert_int_equal(lxd_server_parse(resp.metadata, &s, NULL), 0);
	assert_string_equal(s->server, "incus");
	assert_string_equal(s->server_version, "6.0.4");
	assert_false(s->clustered);
	/* USB to VMs by serial, but neither PCI hotplug nor PATCH removal */
	assert_true(lxd_server_has_extension(s, "device_usb_serial"));
	assert_false(lxd_server_has_extension(s, "pci_hotplug"));
	assert_false(lxd_server_has_extension(s, "device_patch_removal"));
}

static void captured_instance_list_gives_each_field(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;

	assert_int_equal(parse_capture("instances", &resp), 0);
	assert_int_equal(lxd_instance_list_parse(resp.metadata, &l, NULL), 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->items[0].name, "c1");
	assert_string_equal(l->items[0].status, "Running");
	assert_true(l->items[0].running);
	assert_false(l->items[0].vm);
	assert_false(l->items[0].privileged);
	assert_string_equal(l->items[0].location, "none");
	assert_true(json_object_is_type(l->items[0].devices, json_type_object));
}

static void captured_empty_list_is_no_instances(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;

	assert_int_equal(parse_capture("project-missing", &resp), 0);
	assert_int_equal(lxd_instance_list_parse(resp.metadata, &l, NULL), 0);
	assert_int_equal(l->n, 0);
}

static void captured_instance_keeps_its_quoted_etag(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	assert_int_equal(parse_capture("instance", &resp), 0);
	assert_non_null(resp.etag);
	assert_int_equal(resp.etag[0], '"');
	assert_true(json_object_is_type(resp.metadata, json_type_object));
}

/* The real refusals map to the error contract, LXD's text kept. */
static void captured_refusals_map_to_the_error_contract(void **state)
{
	static const struct {
		const char *name;
		int r;
		const char *error;
	} cases[] = {
		{"instance-missing", -ENXIO, "Instance not found"},
		{"not-found-path", -ENXIO, NULL},
		{"precondition-failed", -ESTALE, "ETag doesn't match"},
		{"patch-bad", -EIO,
		 "Device validation failed for \"devpass-x\""},
		{"stop-running", -EIO, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
		print_message("%s\n", cases[i].name);
		assert_int_equal(parse_capture(cases[i].name, &resp),
				 cases[i].r);
		assert_int_equal(resp.type, LXD_RESPONSE_ERROR);
		assert_non_null(resp.error);
		if (cases[i].error)
			assert_non_null(strstr(resp.error, cases[i].error));
	}
}

static void captured_async_reply_names_its_operation(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	assert_int_equal(parse_capture("put-async", &resp), 0);
	assert_int_equal(resp.type, LXD_RESPONSE_ASYNC);
	assert_int_equal(resp.status_code, 100);
	assert_non_null(resp.operation);
	assert_memory_equal(resp.operation, "/1.0/operations/", 16);
	assert_int_equal(parse_capture("operation-wait", &resp), 0);
	assert_true(json_object_is_type(resp.metadata, json_type_object));
}

/* Not an envelope: each is -EPROTO with a reason. */
static void malformed_envelopes_are_eproto_with_a_reason(void **state)
{
	static const struct {
		long status;
		const char *body;
	} cases[] = {
		{200, "[]"},
		{200, "\"sync\""},
		{200, "{}"},
		{200, "{\"type\":\"synchronous\"}"},
		{200, "{\"type\":null}"},
		{200, "{\"type\":\"async\",\"status_code\":100}"},
		{202, "{\"type\":\"async\",\"operation\":\"\"}"},
		{200, "{\"type\":\"error\",\"error\":\"x\"}"},
		{404, "{\"type\":\"sync\",\"metadata\":{}}"},
		{500,
		 "{\"type\":\"async\",\"operation\":\"/1.0/operations/x\"}"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
		print_message("%s\n", cases[i].body);
		assert_int_equal(
			parse_text(cases[i].status, cases[i].body, &resp),
			-EPROTO);
		assert_non_null(resp.error);
	}
}

static void wrongly_typed_envelope_fields_are_eproto(void **state)
{
	static const char *const cases[] = {
		"{\"type\":1}",
		"{\"type\":\"sync\",\"status_code\":\"200\"}",
		"{\"type\":\"sync\",\"status_code\":200.5}",
		"{\"type\":\"sync\",\"error_code\":[]}",
		"{\"type\":\"sync\",\"error\":{}}",
		"{\"type\":\"async\",\"operation\":7}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
		print_message("%s\n", cases[i]);
		assert_int_equal(parse_text(200, cases[i], &resp), -EPROTO);
		assert_non_null(strstr(resp.error, "has type"));
	}
}

static void truncated_reply_at_any_cut_is_not_json(void **state)
{
	struct capture c;

	capture_read("instances", &c);
	for (size_t cut = 0; cut < c.len - 2; cut += 97) {
		_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
		assert_int_equal(
			lxd_response_parse(c.status, NULL, c.body, cut, &resp),
			-EPROTO);
		assert_non_null(strstr(resp.error, "not JSON"));
	}
	free(c.body);
}

static void trailing_value_or_nul_is_not_json(void **state)
{
	static const char twice[] = "{\"type\":\"sync\"}{\"type\":\"sync\"}";
	static const char nul[] = "{\"type\":\"sync\"}\0 ";
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	assert_int_equal(parse_text(200, twice, &resp), -EPROTO);
	assert_int_equal(
		lxd_response_parse(200, NULL, nul, sizeof(nul) - 1, &resp),
		-EPROTO);
	assert_int_equal(parse_text(200, "{\"type\":\"sync\"} \r\n", &resp), 0);
}

static void body_over_the_cap_is_refused(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	size_t len = LXD_MAX_RESPONSE + 1;
	char *big = malloc(len);

	assert_non_null(big);
	memset(big, ' ', len);
	memcpy(big, "{\"type\":\"sync\"}", 15);
	assert_int_equal(lxd_response_parse(200, NULL, big, len, &resp),
			 -EPROTO);
	assert_non_null(strstr(resp.error, "larger than"));
	/* Just under the cap, the same bytes are fine. */
	assert_int_equal(lxd_response_parse(200, NULL, big, len - 1, &resp), 0);
	free(big);
}

static void deep_nesting_is_refused(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	size_t depth = 100000, n = 0;
	char *deep = malloc(2 * depth + 64);

	assert_non_null(deep);
	n += (size_t)sprintf(deep, "{\"type\":\"sync\",\"metadata\":");
	memset(deep + n, '[', depth);
	memset(deep + n + depth, ']', depth);
	n += 2 * depth;
	deep[n++] = '}';
	assert_int_equal(lxd_response_parse(200, NULL, deep, n, &resp),
			 -EPROTO);
	free(deep);
}

static void non_utf8_body_is_refused(void **state)
{
	static const char *const cases[] = {
		"{\"type\":\"sync\",\"error\":\"\xff\"}",
		"{\"type\":\"sync\",\"metadata\":{\"n\xc3\":1}}",
		/* json-c's own check takes these three: */
		"{\"type\":\"error\",\"error\":\"\xed\xa0\x80\"}",
		"{\"type\":\"error\",\"error\":\"\xc0\xaf\"}",
		"{\"type\":\"error\",\"error\":\"\xf4\x90\x80\x80\"}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
		assert_int_equal(
			parse_text(i >= 2 ? 500 : 200, cases[i], &resp),
			-EPROTO);
	}
}

static void error_without_text_gets_one(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	assert_int_equal(parse_text(412, "{\"type\":\"error\"}", &resp),
			 -ESTALE);
	assert_string_equal(resp.error, "LXD error 412");
	/* error_code wins over the HTTP status. */
	assert_int_equal(parse_text(500,
				    "{\"type\":\"error\",\"error_code\":404}",
				    &resp),
			 -ENXIO);
}

/* LXD's operation lock answers a write racing another update of the
 * instance with a 500 that is no refusal: -EAGAIN, to retry with backoff. */
static void transient_errors_are_eagain_not_refusals(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	assert_int_equal(
		parse_text(500,
			   "{\"type\":\"error\",\"error_code\":500,\"error\":"
			   "\"A matching non-reusable operation has now "
			   "succeeded\"}",
			   &resp),
		-EAGAIN);
	assert_int_equal(parse_text(503, "{\"type\":\"error\"}", &resp),
			 -EAGAIN);
	assert_int_equal(parse_text(500,
				    "{\"type\":\"error\",\"error\":"
				    "\"Failed to add device\"}",
				    &resp),
			 -EIO);
	assert_true(lxd_error_is_transient(
		"Failed updating instance: Instance is busy running a \"start\" "
		"operation"));
	assert_false(lxd_error_is_transient(NULL));
	assert_false(lxd_error_is_transient("Device validation failed"));
}

static struct json_object *json(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

static void wrongly_typed_server_fields_are_refused(void **state)
{
	static const char *const cases[] = {
		"[]",
		"{}",
		"{\"api_extensions\":{}}",
		"{\"api_extensions\":[\"a\",1]}",
		"{\"api_extensions\":[],\"environment\":[]}",
		"{\"api_extensions\":[],\"environment\":{\"server_name\":1}}",
		("{\"api_extensions\":[],"
		 "\"environment\":{\"server_clustered\":\"true\"}}"),
	};
	struct lxd_server *s = NULL;

	assert_int_equal(lxd_server_parse(NULL, &s, NULL), -EPROTO);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(json_object_putp) struct json_object *md =
			json(cases[i]);
		_cleanup_(freep) char *why = NULL;
		print_message("%s\n", cases[i]);
		assert_int_equal(lxd_server_parse(md, &s, &why), -EPROTO);
		assert_non_null(why);
		assert_null(s);
	}
}

static void minimal_server_reply_parses_absent_fields_as_null(void **state)
{
	_cleanup_(json_object_putp) struct json_object *md =
		json("{\"api_extensions\":[\"device_patch_removal\"],"
		     "\"environment\":{\"server_clustered\":true}}");
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;

	assert_int_equal(lxd_server_parse(md, &s, NULL), 0);
	assert_true(s->clustered);
	assert_null(s->server_name);
	assert_true(lxd_server_has_extension(s, "device_patch_removal"));
}

static void wrongly_typed_instance_fields_are_refused(void **state)
{
	static const char *const cases[] = {
		"{}",
		"[1]",
		"[{\"status\":\"Running\"}]",
		"[{\"name\":\"c1\"}]",
		"[{\"name\":\"c1\",\"status\":\"Running\",\"devices\":[]}]",
		"[{\"name\":\"c1\",\"status\":\"Running\",\"type\":1}]",
		"[{\"name\":\"c1\",\"status\":\"Running\"},{\"name\":2}]",
		("[{\"name\":\"c1\",\"status\":\"Running\","
		 "\"expanded_config\":\"x\"}]"),
	};
	struct lxd_instance_list *l = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(json_object_putp) struct json_object *md =
			json(cases[i]);
		_cleanup_(freep) char *why = NULL;
		print_message("%s\n", cases[i]);
		assert_int_equal(lxd_instance_list_parse(md, &l, &why),
				 -EPROTO);
		assert_non_null(why);
		assert_null(l);
	}
}

static void instance_list_reads_vm_and_privileged_location_may_be_absent(void **state)
{
	_cleanup_(json_object_putp) struct json_object *md =
		json("[{\"name\":\"v1\",\"status\":\"Stopped\","
		     "\"type\":\"virtual-machine\","
		     "\"expanded_config\":{\"security.privileged\":\"YES\"}}]");
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;

	assert_int_equal(lxd_instance_list_parse(md, &l, NULL), 0);
	assert_int_equal(l->n, 1);
	assert_true(l->items[0].vm);
	assert_false(l->items[0].running);
	assert_true(l->items[0].privileged);
	assert_null(l->items[0].location);
	assert_int_equal(json_object_object_length(l->items[0].devices), 0);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(captured_server_reply_gives_5_0_2_and_its_extensions),
		cmocka_unit_test(captured_incus_reply_says_incus_and_its_extensions),
		cmocka_unit_test(captured_instance_list_gives_each_field),
		cmocka_unit_test(captured_empty_list_is_no_instances),
		cmocka_unit_test(captured_instance_keeps_its_quoted_etag),
		cmocka_unit_test(captured_refusals_map_to_the_error_contract),
		cmocka_unit_test(captured_async_reply_names_its_operation),
		cmocka_unit_test(malformed_envelopes_are_eproto_with_a_reason),
		cmocka_unit_test(wrongly_typed_envelope_fields_are_eproto),
		cmocka_unit_test(truncated_reply_at_any_cut_is_not_json),
		cmocka_unit_test(trailing_value_or_nul_is_not_json),
		cmocka_unit_test(body_over_the_cap_is_refused),
		cmocka_unit_test(deep_nesting_is_refused),
		cmocka_unit_test(non_utf8_body_is_refused),
		cmocka_unit_test(error_without_text_gets_one),
		cmocka_unit_test(transient_errors_are_eagain_not_refusals),
		cmocka_unit_test(wrongly_typed_server_fields_are_refused),
		cmocka_unit_test(minimal_server_reply_parses_absent_fields_as_null),
		cmocka_unit_test(wrongly_typed_instance_fields_are_refused),
		cmocka_unit_test(instance_list_reads_vm_and_privileged_location_may_be_absent),
	};

	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
