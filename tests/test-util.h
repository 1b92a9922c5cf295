/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: time and teardown for tests
 *
 * What every test program, harness and benchmark needs and used to define
 * for itself: one clock (CLOCK_MONOTONIC, so a clock step never cuts a
 * wait short), a sleep, a poll with a deadline, and a teardown that also
 * runs when the program is killed. Linked as the static library
 * test-util (tests/meson.build); it needs nothing of devpass.
 *
 * The names are short and unprefixed, as the tests have always called
 * them: they exist only in test programs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How often wait_until() looks again. */
#define WAIT_POLL_MS 20

/**
 * now_ms() - the monotonic clock in whole milliseconds.
 * now_ms_frac() - the same clock with the fraction, for the benchmark's
 * figures.
 */
int64_t now_ms(void);
double now_ms_frac(void);

/**
 * sleep_ms() - sleep @ms milliseconds, the whole time even if a signal
 * interrupts it.
 */
void sleep_ms(int ms);

/**
 * wait_until() - call @done(@userdata) until it returns true, every
 * WAIT_POLL_MS, for at most @timeout_ms. @done is called at least once,
 * also with a @timeout_ms of 0, so a test waits as long as it must and
 * never forever.
 * Return: true once @done did, false when the time ran out.
 */
bool wait_until(bool (*done)(void *userdata), void *userdata, int timeout_ms);

/**
 * at_exit_or_kill() - run @fn(@data) when the program exits, or when
 * SIGTERM (meson's timeout), SIGINT or SIGABRT (a failed assert(), ASan's
 * abort_on_error) kills it; after a signal the program then dies of that
 * signal. Functions run last-registered first, each once. For what a
 * harness must not leave behind: a private LXD, a daemon, a directory.
 * Up to 16 at once. Not async-signal-safe, but the program is on its
 * way out anyway. SIGKILL runs nothing: tests/lxd/lxd-env.sh sweeps the
 * private LXDs of dead test programs at its next start.
 * Return: 0, or -ENOSPC when 16 are registered.
 *
 * at_exit_or_kill_cancel() - forget @fn(@data) again (once it has been
 * run by hand); a no-op for a pair that is not registered.
 */
int at_exit_or_kill(void (*fn)(void *data), void *data);
void at_exit_or_kill_cancel(void (*fn)(void *data), void *data);

/**
 * test_order() - reorder a test program's table of @n tests of @size bytes
 * each as $DEVPASS_TEST_ORDER says: "reverse", "shuffle" (a seed from the
 * clock) or "shuffle:SEED"; unset or empty leaves it as written. It proves
 * that the tests do not depend on their order: a test that needs another
 * to run first fails in one of them. A shuffle prints its seed to stderr,
 * so a failing order can be run again. Call it on the cmocka_unit_test()
 * table before cmocka_run_group_tests(); it knows nothing of cmocka.
 * Return: 0, or -EINVAL for another value (the program should fail then,
 * not run in an order nobody asked for).
 *
 * TEST_ORDER() - test_order() on an array @tests, its size and count from
 * its type.
 */
int test_order(void *tests, size_t n, size_t size);
#define TEST_ORDER(tests) \
	test_order((tests), sizeof(tests) / sizeof((tests)[0]), sizeof((tests)[0]))
