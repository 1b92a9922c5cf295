/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: private LXD (or Incus) for integration tests
 *
 * Starts a private LXD or Incus (tests/lxd/lxd-env.sh) in a fresh
 * directory under /tmp, with a dir pool, no network and a busybox image,
 * launches the named containers, and stops and removes it all again. One
 * per test program: start it in the cmocka group setup, stop it in the
 * teardown.
 *
 * Which server: lxd_harness_start_server() names it; lxd_harness_start()
 * takes it from $DEVPASS_SERVER ("lxd", the default, or "incus"), so one
 * test program runs against either, as meson's two entries of it say. The
 * same API paths, the same tests: only the CLI (lxc or incus) and the
 * daemon's own tools differ, and those stay in here and in lxd-env.sh.
 *
 * If LXD cannot start, lxd_harness_start() exits the program with 77
 * (meson's "skipped") only when DEVPASS_ALLOW_SKIP=1 is set; otherwise it
 * returns the error, so the group setup and the test run fail loudly: CI
 * must never pass by skipping.
 */

#include <limits.h>
#include <stdbool.h>

/**
 * enum lxd_harness_server - which server a harness runs.
 * @LXD_HARNESS_LXD: Debian 12's LXD (5.0.2), `lxd` and `lxc`.
 * @LXD_HARNESS_INCUS: Incus (6.0.4 from bookworm-backports), incusd and
 *   `incus`.
 */
enum lxd_harness_server {
	LXD_HARNESS_LXD,
	LXD_HARNESS_INCUS,
};

/**
 * struct lxd_harness - one private LXD or Incus.
 * @server: which.
 * @dir: its LXD_DIR (INCUS_DIR).
 * @socket: its API socket, @dir/unix.socket.
 * @running: started and not yet stopped.
 * @halted: lxd_harness_halt() stopped its daemon and no resume followed
 *   yet: a teardown that sees it resumes, so that a test failing in
 *   between does not leave the next ones without LXD.
 */
struct lxd_harness {
	enum lxd_harness_server server;
	char dir[64];
	char socket[96];
	bool running;
	bool halted;
};

/**
 * lxd_harness_server_from_env() - the server $DEVPASS_SERVER names.
 * @out: LXD_HARNESS_LXD when it is unset or "lxd", LXD_HARNESS_INCUS for
 *   "incus".
 * Return: 0, or -EINVAL (with a message) for any other value.
 */
int lxd_harness_server_from_env(enum lxd_harness_server *out);

/**
 * lxd_harness_server_name() - "LXD" or "Incus", for messages and titles.
 * lxd_harness_cli() - "lxc" or "incus": the server's command line client.
 */
const char *lxd_harness_server_name(enum lxd_harness_server server);
const char *lxd_harness_cli(enum lxd_harness_server server);

/**
 * lxd_harness_start_server() - start a private @server and launch
 * @containers.
 * @containers: NULL-terminated names, or NULL for none.
 * Return: 0, or a negative errno (see the DOC for the skip rule).
 */
int lxd_harness_start_server(struct lxd_harness *h,
			     enum lxd_harness_server server,
			     const char *const *containers);

/**
 * lxd_harness_start() - lxd_harness_start_server() on the server of
 * $DEVPASS_SERVER (lxd_harness_server_from_env()).
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
 * LXD_DIR and LXD_CONF (INCUS_DIR and INCUS_CONF) pointing at the private
 * server. An @argv[0] of "lxc" runs the server's own client (`incus` for
 * Incus: the same verbs), so a test's commands serve both.
 * @output: its stdout, NUL-terminated (caller frees); may be NULL.
 * Return: its exit status (0..255), or a negative errno.
 */
int lxd_harness_run(const struct lxd_harness *h, char **output,
		    const char *const *argv);
