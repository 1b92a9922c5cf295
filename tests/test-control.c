/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control socket, real unix sockets, served by a thread that runs
 * control_dispatch() as devpassd's loop does: idle, silent and slow
 * clients delay no other, each is bounded in time, and --control never
 * removes what is not a stale socket (issue 9: 8 idle clients made status
 * take 8 s, 40 made it fail; a regular file at the path was deleted).
 */
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
#include <unistd.h>

#include <cmocka.h>

#include "devpass/service/control.h"
#include "test-util.h"

struct server {
	struct control *c;
	pthread_t thread;
	volatile bool stop;
	size_t reply_size; /* bytes of padding in the next status reply */
	char dir[64];
	char path[96];
};

static json_object *status(void *userdata)
{
	struct server *s = userdata;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	if (s->reply_size) {
		char *pad = malloc(s->reply_size + 1);
		memset(pad, 'x', s->reply_size);
		pad[s->reply_size] = '\0';
		json_object_object_add(o, "pad", json_object_new_string(pad));
		free(pad);
		s->reply_size = 0; /* the slow client's alone */
	}
	return o;
}

/* devpassd's loop, reduced to the control socket. */
static void *serve(void *userdata)
{
	struct server *s = userdata;
	while (!s->stop) {
		struct pollfd p = {.fd = control_get_fd(s->c),
				   .events = POLLIN};
		if (poll(&p, 1, 20) > 0)
			assert_int_equal(control_dispatch(s->c, status, s), 0);
	}
	return NULL;
}

/* What a test leaves in /tmp, removed even when it is killed. */
static void remove_dir(void *data)
{
	struct server *s = data;
	unlink(s->path);
	rmdir(s->path); /* a_directory_is_left_alone() made one */
	rmdir(s->dir);
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	snprintf(s->dir, sizeof(s->dir), "/tmp/devpass-control-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/control", s->dir);
	assert_int_equal(at_exit_or_kill(remove_dir, s), 0);
	*state = s;
	return 0;
}

static void start(struct server *s)
{
	assert_int_equal(control_listen(s->path, &s->c), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static int teardown(void **state)
{
	struct server *s = *state;
	if (s->c) {
		s->stop = true;
		pthread_join(s->thread, NULL);
		control_free(s->c);
	}
	remove_dir(s);
	at_exit_or_kill_cancel(remove_dir, s);
	free(s);
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One `status` through control_request(): how long it took. */
static long long timed_status(const struct server *s)
{
	json_object *reply = NULL;
	long long t0 = now_ms();
	assert_int_equal(control_request(s->path, "status", &reply), 0);
	long long ms = now_ms() - t0;
	assert_non_null(reply);
	json_object_put(reply);
	return ms;
}

/*
 * 100 ms is the target. Margin for a loaded machine: the best of five
 * must be within it, each within 1 s (served inline, the idle clients
 * cost 1 s each: 40 s).
 */
static void assert_status_fast(const struct server *s, const char *while_)
{
	long long best = -1, worst = 0;
	for (int i = 0; i < 5; i++) {
		long long ms = timed_status(s);
		best = best < 0 || ms < best ? ms : best;
		worst = ms > worst ? ms : worst;
	}
	printf("# status %s: best %lld ms, worst %lld ms of 5\n", while_, best,
	       worst);
	assert_true(best < 100);
	assert_true(worst < 1000);
}

static void forty_idle_clients_do_not_delay_status(void **state)
{
	struct server *s = *state;
	int idle[40];
	start(s);
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++)
		idle[i] = connect_to(s->path);
	sleep_ms(50); /* let the loop accept them */
	assert_status_fast(s, "with 40 idle clients");
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++)
		close(idle[i]);
}

/* More idle clients than slots: the oldest silent ones make room. */
static void a_hundred_idle_clients_do_not_keep_status_out(void **state)
{
	struct server *s = *state;
	int idle[100];
	start(s);
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++) {
		idle[i] = connect_to(s->path);
		if (i % 32 == 31)
			sleep_ms(20); /* within the listen backlog */
	}
	sleep_ms(50);
	assert_status_fast(s, "with 100 idle clients");
	assert_true(control_clients(s->c) <= 64);
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++)
		close(idle[i]);
}

/* Asks for a 4 MB reply and reads none of it. */
static void a_client_that_does_not_read_delays_no_other(void **state)
{
	struct server *s = *state;
	s->reply_size = 4 << 20;
	start(s);
	int slow = connect_to(s->path);
	assert_int_equal(write(slow, "status\n", 7), 7);
	sleep_ms(50);
	assert_status_fast(s, "while a client reads nothing of 4 MB");
	close(slow);
}

static bool closed_by_peer(void *userdata)
{
	char c;
	return recv(*(int *)userdata, &c, 1, MSG_DONTWAIT) == 0;
}

static void a_silent_client_is_closed_after_a_second(void **state)
{
	struct server *s = *state;
	start(s);
	int fd = connect_to(s->path);
	long long t0 = now_ms();
	assert_true(wait_until(closed_by_peer, &fd, 10000));
	long long ms = now_ms() - t0;
	printf("# a silent client closed after %lld ms\n", ms);
	assert_true(ms >= 900);
	assert_int_equal(control_clients(s->c), 0);
	close(fd);
}

static void a_line_too_long_is_closed(void **state)
{
	struct server *s = *state;
	char line[200];
	start(s);
	int fd = connect_to(s->path);
	memset(line, 's', sizeof(line));
	assert_int_equal(write(fd, line, sizeof(line)), sizeof(line));
	assert_true(wait_until(closed_by_peer, &fd, 5000));
	close(fd);
}

static void a_regular_file_is_left_alone(void **state)
{
	struct server *s = *state;
	FILE *f = fopen(s->path, "w");
	assert_non_null(f);
	fputs("keep me\n", f);
	fclose(f);
	assert_int_equal(control_listen(s->path, &s->c), -EEXIST);
	assert_null(s->c);
	char text[32] = "";
	f = fopen(s->path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_string_equal(text, "keep me\n");
}

static void a_directory_is_left_alone(void **state)
{
	struct server *s = *state;
	assert_int_equal(mkdir(s->path, 0700), 0);
	assert_int_equal(control_listen(s->path, &s->c), -EEXIST);
	struct stat st;
	assert_int_equal(stat(s->path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	rmdir(s->path);
}

/* A live daemon's socket is not taken over; a dead one's is. */
static void a_live_socket_is_kept_and_a_stale_one_replaced(void **state)
{
	struct server *s = *state;
	struct control *other = NULL;
	start(s);
	assert_int_equal(control_listen(s->path, &other), -EADDRINUSE);
	timed_status(s);

	/* a socket file whose daemon died (bound, never unlinked) */
	s->stop = true;
	pthread_join(s->thread, NULL);
	control_free(s->c);
	s->c = NULL;
	s->stop = false;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	int dead = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(dead, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(dead);
	start(s);
	timed_status(s);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			forty_idle_clients_do_not_delay_status, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_hundred_idle_clients_do_not_keep_status_out, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_client_that_does_not_read_delays_no_other, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_silent_client_is_closed_after_a_second, setup,
			teardown),
		cmocka_unit_test_setup_teardown(a_line_too_long_is_closed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_regular_file_is_left_alone,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_directory_is_left_alone,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_live_socket_is_kept_and_a_stale_one_replaced, setup,
			teardown),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
