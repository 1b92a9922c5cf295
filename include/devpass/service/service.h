/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: devpassd's event loop
 *
 * One thread, one epoll: udev uevents, LXD lifecycle events, the control
 * socket, signals and a retry timer. Every trigger only marks the state
 * dirty; after each round of ready events the reconciler runs once, so
 * what piles up while a write is in flight goes out in the next write.
 * LXD unreachable: retry with exponential backoff (0.25 s to 30 s), then
 * reconcile. SIGHUP reloads the rules (a set with errors is not taken; the
 * old one stays), SIGTERM/SIGINT exit cleanly.
 */

#include <stdbool.h>

/**
 * struct service_options - devpassd's command line.
 * @rules_dirs: NULL-terminated, or NULL for the defaults.
 * @socket: --socket, or NULL to discover LXD's socket.
 * @control: --control, or NULL for CONTROL_DEFAULT_PATH.
 * @dry_run: log the writes it would make, make none.
 * @once: coldplug, reconcile, exit.
 */
struct service_options {
	char **rules_dirs;
	const char *socket;
	const char *control;
	bool dry_run;
	bool once;
};

/**
 * enum service_exit - devpassd's exit codes (`devpassd --help` says them).
 * @SERVICE_EXIT_OK: stopped by a signal, or --once attached everything.
 * @SERVICE_EXIT_NOT_ATTACHED: --once, and something wanted is not
 *                             attached (it waits or was refused).
 * @SERVICE_EXIT_FAILED: it could not start, or its event loop failed
 *                       (logged).
 */
enum service_exit {
	SERVICE_EXIT_OK = 0,
	SERVICE_EXIT_NOT_ATTACHED = 1,
	SERVICE_EXIT_FAILED = 2,
};

/**
 * service_run() - run the daemon until SIGTERM (or once).
 * Return: the process exit code, an enum service_exit.
 */
int service_run(const struct service_options *o);
