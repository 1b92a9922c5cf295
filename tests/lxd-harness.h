/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: private LXD for integration tests
 *
 * Starts a private LXD (tests/lxd/lxd-env.sh) in a fresh directory under
 * /tmp, with a dir pool, no network and a busybox image, launches the
 * named containers, and stops and removes it all again. One per test
 * program: start it in the cmocka group setup, stop it in the teardown.
 *
 * If LXD cannot start, lxd_harness_start() exits the program with 77
 * (meson's "skipped") only when DEVPASS_ALLOW_SKIP=1 is set; otherwise it
 * returns the error, so the group setup and the test run fail loudly: CI
 * must never pass by skipping.
 */

#include <limits.h>
#include <stdbool.h>

/**
 * struct lxd_harness - one private LXD.
 * @dir: its LXD_DIR.
 * @socket: its API socket, @dir/unix.socket.
 * @running: started and not yet stopped.
 * @halted: lxd_harness_halt() stopped its daemon and no resume followed
 *   yet: a teardown that sees it resumes, so that a test failing in
 *   between does not leave the next ones without LXD.
 */
struct lxd_harness {
	char dir[64];
	char socket[96];
	bool running;
	bool halted;
};

/**
 * lxd_harness_start() - start a private LXD and launch @containers.
 * @containers: NULL-terminated names, or NULL for none.
 * Return: 0, or a negative errno (see the DOC for the skip rule).
 */
int lxd_harness_start(struct lxd_harness *h, const char *const *containers);

/**
 * lxd_harness_stop() - stop the containers and LXD, remove its directory.
 * Safe to call twice. Also runs at exit if a test forgot it, and when
 * SIGTERM, SIGINT or SIGABRT kills the test (at_exit_or_kill()).
 */
void lxd_harness_stop(struct lxd_harness *h);

/**
 * lxd_harness_halt() - stop only the LXD daemon: its socket goes away.
 * lxd_harness_resume() - start it again on the same directory; LXD starts
 * the containers that ran. Together: an LXD restart under a test.
 * Return: 0 or -EIO.
 */
int lxd_harness_halt(struct lxd_harness *h);
int lxd_harness_resume(struct lxd_harness *h);

/**
 * lxd_harness_run() - run @argv (e.g. "lxc", "exec", "c1", "--", ...) with
 * LXD_DIR and LXD_CONF pointing at the private LXD.
 * @output: its stdout, NUL-terminated (caller frees); may be NULL.
 * Return: its exit status (0..255), or a negative errno.
 */
int lxd_harness_run(const struct lxd_harness *h, char **output,
		    const char *const *argv);
