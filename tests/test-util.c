/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test-util.h"

#define AT_EXIT_MAX 16

static struct {
	void (*fn)(void *data);
	void *data;
} at_exit_fns[AT_EXIT_MAX];
static size_t n_at_exit;
/* The process that registered them: a forked child that exit()s must
 * not stop its parent's LXD. */
static pid_t at_exit_pid;

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double now_ms_frac(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool wait_until(bool (*done)(void *userdata), void *userdata, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		if (done(userdata))
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(WAIT_POLL_MS);
	}
}

/* Each is taken off the list before it runs, so one that cancels itself
 * (lxd_harness_stop() does) or fails half-way is never run twice. */
static void run_at_exit(void)
{
	if (getpid() != at_exit_pid)
		return;
	while (n_at_exit > 0) {
		n_at_exit--;
		at_exit_fns[n_at_exit].fn(at_exit_fns[n_at_exit].data);
	}
}

/*
 * The kernel hands a kill() to any thread that does not block it; the
 * umockdev preload blocks every signal in the main thread while it works,
 * so SIGTERM often lands on a GLib or curl thread, and a teardown there
 * would race the test still running. Such a signal goes on to the main
 * thread instead. An abort() is the thread's own and dies there.
 */
static void die_of(int sig)
{
	if (sig != SIGABRT && gettid() != getpid()) {
		tgkill(getpid(), getpid(), sig);
		return;
	}
	signal(sig, SIG_DFL);
	run_at_exit();
	raise(sig);
}

int at_exit_or_kill(void (*fn)(void *data), void *data)
{
	static bool installed;

	if (n_at_exit == AT_EXIT_MAX)
		return -ENOSPC;
	if (!installed) {
		atexit(run_at_exit);
		signal(SIGTERM, die_of);
		signal(SIGINT, die_of);
		signal(SIGABRT, die_of);
		installed = true;
	}
	at_exit_pid = getpid();
	at_exit_fns[n_at_exit].fn = fn;
	at_exit_fns[n_at_exit].data = data;
	n_at_exit++;
	return 0;
}

void at_exit_or_kill_cancel(void (*fn)(void *data), void *data)
{
	for (size_t i = n_at_exit; i-- > 0;) {
		if (at_exit_fns[i].fn != fn || at_exit_fns[i].data != data)
			continue;
		for (; i + 1 < n_at_exit; i++)
			at_exit_fns[i] = at_exit_fns[i + 1];
		n_at_exit--;
		return;
	}
}

static void swap(char *a, char *b, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		char t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

/* xorshift64: the same seed gives the same order on every libc. */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void shuffle(char *t, size_t n, size_t size, uint64_t seed)
{
	uint64_t x = seed ? seed : 1;

	for (size_t i = n; i > 1; i--)
		swap(t + (i - 1) * size, t + next_random(&x) % i * size, size);
}

int test_order(void *tests, size_t n, size_t size)
{
	const char *order = getenv("DEVPASS_TEST_ORDER");
	char *t = tests, *end;
	uint64_t seed;

	if (!order || !*order)
		return 0;
	if (strcmp(order, "reverse") == 0) {
		for (size_t i = 0; i < n / 2; i++)
			swap(t + i * size, t + (n - 1 - i) * size, size);
		return 0;
	}
	if (strcmp(order, "shuffle") == 0) {
		seed = (uint64_t)now_ms() ^ (uint64_t)getpid();
	} else if (strncmp(order, "shuffle:", 8) == 0) {
		errno = 0;
		seed = strtoull(order + 8, &end, 10);
		if (errno || end == order + 8 || *end)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	fprintf(stderr, "DEVPASS_TEST_ORDER=shuffle:%llu\n",
		(unsigned long long)seed);
	shuffle(t, n, size, seed);
	return 0;
}
