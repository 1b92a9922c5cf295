/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit: the LXD client's handling of what a server may send.
 *
 * The server here is a fake: a thread answering on a unix socket with
 * canned bytes. It exists ONLY to send what a real LXD never would
 * (non-JSON, truncated, oversized and wrongly typed envelopes, silence),
 * which a real LXD cannot be made to produce. Everything about how LXD
 * really behaves is tested against a real LXD in test-lxd.c.
 */
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>

#include "devpass/lxd/client.h"
#include "devpass/lxd/sync.h"
#include "request.h" /* daemon/lxd/: the raw lxd_request() */
#include "test-util.h"

static struct {
	char dir[64];
	char path[96];
	int fd;
	pthread_t thread;
	pthread_mutex_t lock;
	char *answer; /* raw HTTP bytes to send */
	size_t answer_len;
	size_t pad;  /* bytes of ' ' to send after the answer */
	bool silent; /* answer nothing, wait for the client to go */
} fake = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

static struct lxd_client *client;

/* Reads the request head; the fake never needs the body (GETs only). */
static void read_request(int fd)
{
	char buf[4096];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return;
	}
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void answer(int fd)
{
	static char spaces[65536];
	char drain[256];

	pthread_mutex_lock(&fake.lock);
	read_request(fd);
	if (fake.silent) {
		while (read(fd, drain, sizeof(drain)) > 0)
			;
	} else {
		send_all(fd, fake.answer, fake.answer_len);
		memset(spaces, ' ', sizeof(spaces));
		for (size_t left = fake.pad; left > 0;) {
			size_t n =
			    left < sizeof(spaces) ? left : sizeof(spaces);
			if (send(fd, spaces, n, MSG_NOSIGNAL) <= 0)
				break;
			left -= n;
		}
	}
	pthread_mutex_unlock(&fake.lock);
}

static void *serve(void *arg)
{
	for (;;) {
		int fd = accept(fake.fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		answer(fd);
		close(fd);
	}
}

/* The next answer: HTTP @status with @body, Content-Length as given
 * (-1: the true length). */
static void set_answer_len(int status, const char *body, long content_length,
			   size_t pad)
{
	pthread_mutex_lock(&fake.lock);
	free(fake.answer);
	size_t len = strlen(body);
	int n = asprintf(
	    &fake.answer,
	    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Etag: \"e1\"\r\nContent-Length: %ld\r\n"
	    "Connection: close\r\n\r\n%s",
	    status, content_length < 0 ? (long)(len + pad) : content_length,
	    body);
	assert_true(n > 0);
	fake.answer_len = (size_t)n;
	fake.pad = pad;
	fake.silent = false;
	pthread_mutex_unlock(&fake.lock);
}

static void set_answer(int status, const char *body)
{
	set_answer_len(status, body, -1, 0);
}

/* The next answer: @head (status line and headers, without Content-Length
 * and the blank line) and @len bytes of @body, which may hold NULs. */
static void set_raw(const char *head, const char *body, size_t len)
{
	char *a = NULL;
	int n = asprintf(&a, "%s\r\nContent-Length: %zu\r\n\r\n", head, len);

	assert_true(n > 0);
	assert_non_null(a = realloc(a, (size_t)n + len));
	memcpy(a + n, body, len);
	pthread_mutex_lock(&fake.lock);
	free(fake.answer);
	fake.answer = a;
	fake.answer_len = (size_t)n + len;
	fake.pad = 0;
	fake.silent = false;
	pthread_mutex_unlock(&fake.lock);
}

static int group_setup(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(fake.dir, sizeof(fake.dir), "/tmp/devpass-fake.XXXXXX");
	if (!mkdtemp(fake.dir))
		return -1;
	snprintf(fake.path, sizeof(fake.path), "%s/unix.socket", fake.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fake.path);
	fake.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fake.fd < 0 ||
	    bind(fake.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fake.fd, 8) < 0 ||
	    pthread_create(&fake.thread, NULL, serve, NULL) != 0)
		return -1;
	if (lxd_client_new(fake.path, &client) < 0)
		return -1;
	lxd_client_set_timeouts(client, 1000, 2000);
	return 0;
}

static int group_teardown(void **state)
{
	lxd_client_free(client);
	shutdown(fake.fd, SHUT_RDWR);
	pthread_join(fake.thread, NULL);
	close(fake.fd);
	unlink(fake.path);
	rmdir(fake.dir);
	free(fake.answer);
	return 0;
}

/* What a test may change and its teardown puts back, pass or fail: the
 * fake's silence, the client's timeouts, $LXD_SOCKET and $LXD_DIR. */
static struct {
	char *lxd_socket;
	char *lxd_dir;
} saved_env;

static char *getenv_dup(const char *name)
{
	const char *v = getenv(name);
	return v ? strdup(v) : NULL;
}

static void setenv_or_unset(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

static void set_silent(bool silent)
{
	pthread_mutex_lock(&fake.lock);
	fake.silent = silent;
	pthread_mutex_unlock(&fake.lock);
}

static int fixture_setup(void **state)
{
	saved_env.lxd_socket = getenv_dup("LXD_SOCKET");
	saved_env.lxd_dir = getenv_dup("LXD_DIR");
	set_silent(false);
	lxd_client_set_timeouts(client, 1000, 2000);
	return 0;
}

static int fixture_teardown(void **state)
{
	setenv_or_unset("LXD_SOCKET", saved_env.lxd_socket);
	setenv_or_unset("LXD_DIR", saved_env.lxd_dir);
	free(steal_ptr(&saved_env.lxd_socket));
	free(steal_ptr(&saved_env.lxd_dir));
	set_silent(false);
	lxd_client_set_timeouts(client, 1000, 2000);
	return 0;
}

/* GET /1.0 against the current answer: its result, error text kept. */
static int get(struct lxd_response *resp)
{
	int r = lxd_request(client, "GET", "/1.0", NULL, NULL, resp);
	if (r < 0)
		print_message("  -> %s: %s\n", strerror(-r),
			      resp->error ? resp->error : "(no text)");
	return r;
}

static void expect(int status, const char *body, int err, const char *text)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	set_answer(status, body);
	assert_int_equal(get(&resp), err);
	if (text) {
		assert_non_null(resp.error);
		assert_non_null(strstr(resp.error, text));
	}
}

static void sync_answer_gives_status_type_etag_metadata(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	set_answer(
	    200, "{\"type\":\"sync\",\"status_code\":200,\"error_code\":0,"
		 "\"error\":\"\",\"operation\":\"\",\"metadata\":{\"a\":1}}\n");
	assert_int_equal(get(&resp), 0);
	assert_int_equal(resp.http_status, 200);
	assert_int_equal(resp.type, LXD_RESPONSE_SYNC);
	assert_string_equal(resp.etag, "\"e1\"");
	assert_true(json_object_is_type(resp.metadata, json_type_object));
}

static void error_answers_map_to_errno(void **state)
{
	expect(412,
	       "{\"type\":\"error\",\"error_code\":412,\"error\":\"ETag\"}",
	       -ESTALE, "ETag");
	expect(404,
	       "{\"type\":\"error\",\"error_code\":404,\"error\":\"gone\"}",
	       -ENXIO, "gone");
	expect(500,
	       "{\"type\":\"error\",\"error_code\":500,\"error\":\"Invalid "
	       "devices\"}",
	       -EIO, "Invalid devices");
	/* No text from LXD: we still say something. */
	expect(400, "{\"type\":\"error\",\"error_code\":400}", -EIO, "400");
}

static void non_json_body_is_eproto_with_a_reason(void **state)
{
	expect(200, "hello", -EPROTO, "not JSON");
	expect(200, "", -EPROTO, "empty");
	expect(200, "{\"type\":\"sync\",\"metadata\":{", -EPROTO, "truncated");
	expect(200, "{\"type\":\"sync\"} trailing", -EPROTO, "not JSON");
	expect(200, "{\"type\":\"sync\",\"error\":\"\xff\xfe\"}", -EPROTO,
	       "not JSON");
	expect(200, "<html>502 Bad Gateway</html>", -EPROTO, NULL);
}

static void nul_byte_in_body_is_eproto(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	static const char body[] = "{\"type\":\"sync\"}\0garbage";

	set_raw("HTTP/1.1 200 OK\r\nConnection: close", body, sizeof(body) - 1);
	assert_int_equal(get(&resp), -EPROTO);
	static const char in_string[] = "{\"type\":\"sy\0nc\"}";
	set_raw("HTTP/1.1 200 OK\r\nConnection: close", in_string,
		sizeof(in_string) - 1);
	assert_int_equal(get(&resp), -EPROTO);
}

static void wrongly_typed_envelope_fields_are_eproto(void **state)
{
	expect(200, "[1,2]", -EPROTO, "not a JSON object");
	expect(200, "\"sync\"", -EPROTO, "not a JSON object");
	expect(200, "{}", -EPROTO, "type");
	expect(200, "{\"type\":5}", -EPROTO, "type");
	expect(200, "{\"type\":\"bogus\"}", -EPROTO, "type");
	expect(200, "{\"type\":\"sync\",\"error_code\":\"x\"}", -EPROTO,
	       "error_code");
	expect(200, "{\"type\":\"sync\",\"status_code\":1.5}", -EPROTO,
	       "status_code");
	expect(200, "{\"type\":\"sync\",\"error\":[]}", -EPROTO, "error");
	expect(202, "{\"type\":\"async\",\"operation\":7}", -EPROTO,
	       "operation");
	expect(202, "{\"type\":\"async\"}", -EPROTO, "without an operation");
	/* The envelope and the HTTP status disagree. */
	expect(500, "{\"type\":\"sync\"}", -EPROTO, "HTTP status 500");
	expect(200, "{\"type\":\"error\",\"error\":\"x\"}", -EPROTO,
	       "HTTP status 200");
}

static void deeply_nested_body_is_refused(void **state)
{
	_cleanup_(freep) char *body = malloc(200002);
	memset(body, '[', 100000);
	memset(body + 100000, ']', 100000);
	body[200000] = '\0';
	expect(200, body, -EPROTO, "not JSON");
}

static void body_short_of_its_length_is_eproto(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	/* Promises 1000 bytes, sends 15, closes. */
	set_answer_len(200, "{\"type\":\"sync\"", 1000, 0);
	assert_int_equal(get(&resp), -EPROTO);
	assert_non_null(resp.error);
}

static void body_over_the_cap_is_refused_just_under_is_read(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	/* Valid JSON if it were read whole, but over the cap. */
	set_answer_len(200, "{\"type\":\"sync\"}", -1, LXD_MAX_RESPONSE + 1);
	assert_int_equal(get(&resp), -EPROTO);
	assert_non_null(strstr(resp.error, "larger than"));
	/* Just under the cap is fine. */
	lxd_client_set_timeouts(client, 1000, 20000);
	set_answer_len(200, "{\"type\":\"sync\"}", -1, LXD_MAX_RESPONSE - 100);
	assert_int_equal(get(&resp), 0);
	lxd_client_set_timeouts(client, 1000, 2000);
}

static void silent_server_times_out(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	set_silent(true);
	lxd_client_set_timeouts(client, 300, 500);
	int64_t t0 = now_ms();
	assert_int_equal(get(&resp), -ETIMEDOUT);
	int64_t t1 = now_ms();
	lxd_client_set_timeouts(client, 1000, 2000);
	assert_true(t1 - t0 < 3000);
}

struct done_note {
	int calls;
	int r;
};

static void note_done(int r, struct lxd_response *resp, void *userdata)
{
	struct done_note *n = userdata;
	n->calls++;
	n->r = r;
}

/* A request in flight costs the caller nothing until its answer: start
 * returns at once, the answer (here the timeout of a silent server) comes
 * through the client's fd and lxd_client_dispatch(). */
static void a_started_request_returns_at_once_and_ends_through_dispatch(
	void **state)
{
	struct done_note n = {0};

	set_silent(true);
	lxd_client_set_timeouts(client, 300, 500);
	int64_t t0 = now_ms();
	assert_int_equal(lxd_request_start(client, "GET", "/1.0", NULL, NULL, 0,
					   note_done, &n),
			 0);
	assert_true(now_ms() - t0 < 100);
	assert_int_equal(n.calls, 0);
	struct pollfd pfd = {.fd = lxd_client_get_fd(client), .events = POLLIN};
	while (n.calls == 0 && now_ms() - t0 < 3000)
		if (poll(&pfd, 1, 100) > 0)
			lxd_client_dispatch(client);
	assert_int_equal(n.calls, 1);
	assert_int_equal(n.r, -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 400);
}

/* Freeing a client ends what is in flight: each caller hears -ECANCELED
 * once, so nothing waits for an answer that cannot come. */
static void freeing_the_client_cancels_requests_in_flight(void **state)
{
	struct done_note n = {0};
	struct lxd_client *c = NULL;

	set_silent(true);
	assert_int_equal(lxd_client_new(fake.path, &c), 0);
	assert_int_equal(lxd_request_start(c, "GET", "/1.0", NULL, NULL, 0,
					   note_done, &n),
			 0);
	lxd_client_dispatch(c);
	lxd_client_free(c);
	assert_int_equal(n.calls, 1);
	assert_int_equal(n.r, -ECANCELED);
}

static void malformed_server_info_is_eproto(void **state)
{
	static const char *const bodies[] = {
	    "{\"type\":\"sync\"}",
	    "{\"type\":\"sync\",\"metadata\":[]}",
	    "{\"type\":\"sync\",\"metadata\":{}}",
	    "{\"type\":\"sync\",\"metadata\":{\"api_extensions\":[1]}}",
	    "{\"type\":\"sync\",\"metadata\":{\"api_extensions\":\"x\"}}",
	    "{\"type\":\"sync\",\"metadata\":{\"api_extensions\":[],"
	    "\"environment\":{\"server_clustered\":\"yes\"}}}",
	    "{\"type\":\"sync\",\"metadata\":{\"api_extensions\":[],"
	    "\"environment\":[]}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;
		set_answer(200, bodies[i]);
		assert_int_equal(lxd_server_get(client, &s), -EPROTO);
		assert_null(s);
	}
}

static void server_info_gives_extensions_name_clustering(void **state)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;

	set_answer(200, "{\"type\":\"sync\",\"metadata\":{\"api_extensions\":"
			"[\"a\",\"device_usb_serial\"],\"environment\":{"
			"\"server_name\":\"m1\",\"server_clustered\":true}}}");
	assert_int_equal(lxd_server_get(client, &s), 0);
	assert_true(lxd_server_has_extension(s, "device_usb_serial"));
	assert_false(lxd_server_has_extension(s, "device_usb"));
	assert_string_equal(s->server_name, "m1");
	assert_true(s->clustered);
}

static void malformed_instance_list_is_eproto(void **state)
{
	static const char *const bodies[] = {
	    "{\"type\":\"sync\",\"metadata\":{}}",
	    "{\"type\":\"sync\",\"metadata\":[1]}",
	    "{\"type\":\"sync\",\"metadata\":[{\"status\":\"Running\"}]}",
	    "{\"type\":\"sync\",\"metadata\":[{\"name\":\"a\","
	    "\"status\":\"Running\"},{\"name\":7,\"status\":\"x\"}]}",
	    "{\"type\":\"sync\",\"metadata\":[{\"name\":\"a\","
	    "\"status\":\"Running\",\"devices\":[]}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l =
		    NULL;
		set_answer(200, bodies[i]);
		assert_int_equal(lxd_instances_list(client, "default", &l),
				 -EPROTO);
	}
}

/* Privileged comes from the expanded config: a profile can set it. */
static void instances_privileged_from_profile(void **state)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;

	set_answer(200, "{\"type\":\"sync\",\"metadata\":[{\"name\":\"vm1\","
			"\"status\":\"Stopped\",\"type\":\"virtual-machine\","
			"\"config\":{},\"expanded_config\":{"
			"\"security.privileged\":\"TRUE\"}}]}");
	assert_int_equal(lxd_instances_list(client, "p 1", &l), 0);
	assert_int_equal(l->n, 1);
	assert_true(l->items[0].vm);
	assert_false(l->items[0].running);
	assert_true(l->items[0].privileged);
	assert_int_equal(json_object_object_length(l->items[0].devices), 0);
}

static void instance_get_needs_etag(void **state)
{
	static const char body[] = "{\"type\":\"sync\",\"metadata\":{}}";
	struct json_object *md = NULL;
	char *etag = NULL;

	set_raw("HTTP/1.1 200 OK\r\nConnection: close", body, sizeof(body) - 1);
	assert_int_equal(lxd_instance_get(client, "default", "c1", &md, &etag),
			 -EPROTO);
	assert_null(md);
	assert_null(etag);
}

static void operation_wait_maps_status_to_result_and_refuses_bad_paths(void **state)
{
	_cleanup_(freep) char *err = NULL;

	set_answer(200,
		   "{\"type\":\"sync\",\"metadata\":{\"status_code\":200}}");
	assert_int_equal(
	    lxd_operation_wait(client, "/1.0/operations/x", 1, &err), 0);
	set_answer(200, "{\"type\":\"sync\",\"metadata\":{\"status_code\":400,"
			"\"err\":\"no room\"}}");
	assert_int_equal(
	    lxd_operation_wait(client, "/1.0/operations/x", 1, &err), -EIO);
	assert_string_equal(err, "no room");
	/* Incus 6.0.4: the failure as an error envelope under HTTP 200 (as
	 * captured from a refused PUT's operation). */
	free(steal_ptr(&err));
	set_answer(200, "{\"type\":\"error\",\"status\":\"\",\"status_code\":0,"
			"\"operation\":\"\",\"error_code\":500,\"error\":"
			"\"Invalid devices: no room\",\"metadata\":null}");
	assert_int_equal(
	    lxd_operation_wait(client, "/1.0/operations/x", 1, &err), -EIO);
	assert_string_equal(err, "Invalid devices: no room");
	set_answer(200,
		   "{\"type\":\"sync\",\"metadata\":{\"status_code\":103}}");
	assert_int_equal(
	    lxd_operation_wait(client, "/1.0/operations/x", 1, NULL),
	    -ETIMEDOUT);
	set_answer(200,
		   "{\"type\":\"sync\",\"metadata\":{\"status_code\":\"x\"}}");
	assert_int_equal(
	    lxd_operation_wait(client, "/1.0/operations/x", 1, NULL), -EPROTO);
	/* An operation path that is not one is never requested. */
	assert_int_equal(
	    lxd_operation_wait(client, "/1.0/instances/c1", 1, NULL), -EPROTO);
	assert_int_equal(
	    lxd_operation_wait(client, "/1.0/operations/x\r\nX: y", 1, NULL),
	    -EPROTO);
}

static void header_injection_refused(void **state)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};

	assert_int_equal(lxd_request(client, "GET", "/1.0 HTTP/1.1\r\nX: y",
				     NULL, NULL, &resp),
			 -EINVAL);
	assert_int_equal(
	    lxd_request(client, "PATCH", "/1.0", NULL, "\"e\"\r\nX: y", &resp),
	    -EINVAL);
}

static void socket_missing_or_dead(void **state)
{
	_cleanup_(lxd_client_freep) struct lxd_client *c = NULL;
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	char dead[96];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	assert_int_equal(lxd_client_new("/nonexistent/unix.socket", &c), 0);
	assert_int_equal(lxd_request(c, "GET", "/1.0", NULL, NULL, &resp),
			 -ENOENT);
	lxd_client_free(steal_ptr(&c));

	/* A socket file nobody listens on: what a crashed LXD leaves. */
	snprintf(dead, sizeof(dead), "%s/dead.socket", fake.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", dead);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(lxd_client_new(dead, &c), 0);
	assert_int_equal(lxd_request(c, "GET", "/1.0", NULL, NULL, &resp),
			 -ECONNREFUSED);
	unlink(dead);

	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	struct lxd_client *none = NULL;
	assert_int_equal(lxd_client_new(longpath, &none), -EINVAL);
}

static void socket_from_argument_then_lxd_socket_then_lxd_dir(void **state)
{
	_cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL;

	/* An explicit path is taken as given, existing or not. */
	assert_int_equal(lxd_socket_discover("/x/y.socket", &a), 0);
	assert_string_equal(a, "/x/y.socket");

	setenv("LXD_SOCKET", fake.path, 1);
	setenv("LXD_DIR", "/nonexistent", 1);
	assert_int_equal(lxd_socket_discover(NULL, &b), 0);
	assert_string_equal(b, fake.path);

	/* $LXD_SOCKET not a socket: $LXD_DIR/unix.socket is next. */
	setenv("LXD_SOCKET", fake.dir, 1);
	setenv("LXD_DIR", fake.dir, 1);
	assert_int_equal(lxd_socket_discover(NULL, &c), 0);
	assert_string_equal(c, fake.path);
	unsetenv("LXD_SOCKET");
	unsetenv("LXD_DIR");
}

/* Incus's own variables, when LXD's find nothing; --socket still wins. */
static void socket_from_incus_socket_then_incus_dir(void **state)
{
	_cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	unsetenv("LXD_SOCKET");
	unsetenv("LXD_DIR");
	setenv("INCUS_SOCKET", fake.path, 1);
	assert_int_equal(lxd_socket_discover(NULL, &a), 0);
	assert_string_equal(a, fake.path);

	setenv("INCUS_SOCKET", fake.dir, 1); /* not a socket */
	setenv("INCUS_DIR", fake.dir, 1);
	assert_int_equal(lxd_socket_discover(NULL, &b), 0);
	assert_string_equal(b, fake.path);

	setenv("LXD_SOCKET", "/nonexistent.socket", 1);
	assert_int_equal(lxd_socket_discover("/x/y.socket", &c), 0);
	assert_string_equal(c, "/x/y.socket");
	assert_int_equal(lxd_socket_discover(NULL, &d), 0);
	assert_string_equal(d, fake.path);
	unsetenv("LXD_SOCKET");
	unsetenv("INCUS_SOCKET");
	unsetenv("INCUS_DIR");
}

static void path_escape_percent_encodes_reserved_bytes(void **state)
{
	_cleanup_(freep) char *a = lxd_path_escape("c1");
	_cleanup_(freep) char *b = lxd_path_escape("a b/c?d&e=f%");
	_cleanup_(freep) char *c = lxd_path_escape("");

	assert_string_equal(a, "c1");
	assert_string_equal(b, "a%20b%2Fc%3Fd%26e%3Df%25");
	assert_string_equal(c, "");
}

static void lxd_error_device_finds_only_a_quoted_devpass_name(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"Invalid devices: Device validation failed for "
	     "\"devpass-web-1-1.2\": Invalid value for device option "
	     "\"source\": Path needs to be in /dev",
	     "devpass-web-1-1.2"},
	    {"Failed to start device \"mine\": then \"devpass-x\"",
	     "devpass-x"},
	    {"Failed to start device \"mine\"", NULL},
	    {"no quotes at all", NULL},
	    {"\"devpass-unterminated", NULL},
	    {"\"devpass-a b\"", NULL},
	    {"", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(freep) char *got =
		    lxd_error_device(cases[i].text, "devpass-");
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
	}
	assert_null(lxd_error_device(NULL, "devpass-"));
}

/* Bad input to the sync is refused before anything is sent. */
static void sync_refuses_bad_desired_entries_before_sending(void **state)
{
	static const char *const bad[] = {
	    "[]",
	    "{\"mine\":{\"type\":\"unix-char\"}}",
	    "{\"devpass-a\":\"unix-char\"}",
	    "{\"devpass-a\":{\"major\":1}}",
	    "{\"devpass-a\":{\"x\":null}}",
	};
	set_silent(true); /* a request would time out, not fail fast */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_(json_object_putp) struct json_object *d =
		    json_tokener_parse(bad[i]);
		assert_int_equal(lxd_instance_sync_devices(client, "default",
							   "c1", "devpass-", d,
							   false, NULL, NULL),
				 -EINVAL);
	}
	_cleanup_(json_object_putp) struct json_object *empty =
	    json_object_new_object();
	assert_int_equal(lxd_instance_sync_devices(client, "default", "c1", "",
						   empty, false, NULL, NULL),
			 -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
	    T(sync_answer_gives_status_type_etag_metadata),
	    T(error_answers_map_to_errno),
	    T(non_json_body_is_eproto_with_a_reason),
	    T(nul_byte_in_body_is_eproto),
	    T(wrongly_typed_envelope_fields_are_eproto),
	    T(deeply_nested_body_is_refused),
	    T(body_short_of_its_length_is_eproto),
	    T(body_over_the_cap_is_refused_just_under_is_read),
	    T(silent_server_times_out),
	    T(a_started_request_returns_at_once_and_ends_through_dispatch),
	    T(freeing_the_client_cancels_requests_in_flight),
	    T(malformed_server_info_is_eproto),
	    T(server_info_gives_extensions_name_clustering),
	    T(malformed_instance_list_is_eproto),
	    T(instances_privileged_from_profile),
	    T(instance_get_needs_etag),
	    T(operation_wait_maps_status_to_result_and_refuses_bad_paths),
	    T(header_injection_refused),
	    T(socket_missing_or_dead),
	    T(socket_from_argument_then_lxd_socket_then_lxd_dir),
	    T(socket_from_incus_socket_then_incus_dir),
	    T(path_escape_percent_encodes_reserved_bytes),
	    T(lxd_error_device_finds_only_a_quoted_devpass_name),
	    T(sync_refuses_bad_desired_entries_before_sending),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
