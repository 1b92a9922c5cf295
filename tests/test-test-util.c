/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/test-util.c, on which every integration test's waits and
 * teardown rest: the clock, wait_until()'s deadline, at_exit_or_kill(). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test-util.h"

static void sleep_advances_both_clocks(void **state)
{
	int64_t t0 = now_ms();
	double f0 = now_ms_frac();

	sleep_ms(30);
	assert_true(now_ms() - t0 >= 30);
	assert_true(now_ms_frac() - f0 >= 30.0);
	/* one clock: the fraction is the whole milliseconds' */
	double f = now_ms_frac();
	int64_t ms = now_ms();
	assert_true(ms - (int64_t)f >= 0 && ms - (int64_t)f <= 1);
}

struct calls {
	unsigned n;
	unsigned true_from; /* 0: never */
};

static bool nth_call_holds(void *userdata)
{
	struct calls *c = userdata;
	c->n++;
	return c->true_from && c->n >= c->true_from;
}

static void wait_until_returns_once_the_condition_holds(void **state)
{
	struct calls c = {.true_from = 3};
	int64_t t0 = now_ms();

	assert_true(wait_until(nth_call_holds, &c, 10000));
	assert_int_equal(c.n, 3);
	assert_true(now_ms() - t0 >= 2 * WAIT_POLL_MS);
	assert_true(now_ms() - t0 < 5000);
}

static void wait_until_gives_up_at_the_deadline_not_before(void **state)
{
	struct calls c = {0};
	int64_t t0 = now_ms();

	assert_false(wait_until(nth_call_holds, &c, 100));
	assert_true(now_ms() - t0 >= 100);
	assert_true(now_ms() - t0 < 5000);
	assert_true(c.n >= 2);
}

static void wait_until_looks_once_without_time(void **state)
{
	struct calls yes = {.true_from = 1}, no = {0};

	assert_true(wait_until(nth_call_holds, &yes, 0));
	assert_int_equal(yes.n, 1);
	assert_false(wait_until(nth_call_holds, &no, 0));
	assert_int_equal(no.n, 1);
}

static int out_fd = -1;
/* Registered by address: one object each, not literals that may or may
 * not be merged. */
static char A[] = "A", B[] = "B", C[] = "C", D[] = "D", X[] = "x",
	    NONE[] = "-";

static void say(void *data)
{
	if (write(out_fd, data, 1) != 1)
		_exit(3);
}

/* In a child: registers A, B, C, D, cancels B, then ends by @how
 * ("exit" or a signal's number). What ran, in order, and the status. */
static void run_child(int how, char *ran, size_t size, int *status)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		out_fd = p[1];
		if (at_exit_or_kill(say, A) < 0 || at_exit_or_kill(say, B) < 0 ||
		    at_exit_or_kill(say, C) < 0 || at_exit_or_kill(say, D) < 0)
			_exit(2);
		at_exit_or_kill_cancel(say, B);
		at_exit_or_kill_cancel(say, NONE); /* not registered: no-op */
		/* A grandchild that exit()s runs none of its parent's. */
		pid_t g = fork();
		if (g == 0)
			exit(0);
		waitpid(g, NULL, 0);
		if (how == 0)
			exit(0);
		raise(how);
		_exit(4);
	}
	close(p[1]);
	/* Each function writes its own byte: read to the end, not once. */
	size_t len = 0;
	for (ssize_t n = 1; n > 0 && len < size - 1; len += (size_t)n)
		if ((n = read(p[0], ran + len, size - 1 - len)) < 0)
			n = 0;
	ran[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, status, 0), pid);
}

static void at_exit_or_kill_runs_last_first_at_exit(void **state)
{
	char ran[16];
	int status;

	run_child(0, ran, sizeof(ran), &status);
	assert_string_equal(ran, "DCA");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void at_exit_or_kill_runs_then_dies_of_the_signal(void **state)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGABRT};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char ran[16];
		int status;

		run_child(sigs[i], ran, sizeof(ran), &status);
		assert_string_equal(ran, "DCA");
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), sigs[i]);
	}
}

static void at_exit_or_kill_holds_sixteen(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 16; i++)
			if (at_exit_or_kill(say, X) < 0)
				_exit(1);
		if (at_exit_or_kill(say, X) != -ENOSPC)
			_exit(2);
		for (int i = 0; i < 16; i++)
			at_exit_or_kill_cancel(say, X);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Sets DEVPASS_TEST_ORDER to @order (NULL: unset) and reorders 0..7. */
static int order_of(const char *order, int t[8])
{
	for (int i = 0; i < 8; i++)
		t[i] = i;
	if (order)
		setenv("DEVPASS_TEST_ORDER", order, 1);
	else
		unsetenv("DEVPASS_TEST_ORDER");
	return test_order(t, 8, sizeof(t[0]));
}

static void test_order_reverses_or_shuffles_by_seed_and_refuses_the_rest(void **state)
{
	int t[8], u[8];
	unsigned seen = 0;

	assert_int_equal(order_of(NULL, t), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(t[i], i);
	assert_int_equal(order_of("reverse", t), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(t[i], 7 - i);
	/* a shuffle is a permutation, the same one for the same seed */
	assert_int_equal(order_of("shuffle:42", t), 0);
	assert_int_equal(order_of("shuffle:42", u), 0);
	assert_memory_equal(t, u, sizeof(t));
	for (int i = 0; i < 8; i++)
		seen |= 1u << t[i];
	assert_int_equal(seen, 0xff);
	assert_int_equal(order_of("shuffle", t), 0);
	assert_int_equal(order_of("backwards", t), -EINVAL);
	assert_int_equal(order_of("shuffle:x", t), -EINVAL);
	assert_int_equal(order_of("shuffle:", t), -EINVAL);
	unsetenv("DEVPASS_TEST_ORDER");
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(sleep_advances_both_clocks),
	    cmocka_unit_test(wait_until_returns_once_the_condition_holds),
	    cmocka_unit_test(wait_until_gives_up_at_the_deadline_not_before),
	    cmocka_unit_test(wait_until_looks_once_without_time),
	    cmocka_unit_test(at_exit_or_kill_runs_last_first_at_exit),
	    cmocka_unit_test(at_exit_or_kill_runs_then_dies_of_the_signal),
	    cmocka_unit_test(at_exit_or_kill_holds_sixteen),
	    cmocka_unit_test(test_order_reverses_or_shuffles_by_seed_and_refuses_the_rest),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
