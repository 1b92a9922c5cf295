/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * devpassd as a child of an integration test: started with its own rules
 * directory, control socket and log file, against the test's private LXD
 * (lxd-harness.h), under the test's umockdev testbed (the child inherits
 * LD_PRELOAD and UMOCKDEV_DIR). Helpers poll LXD and the daemon's status
 * with a deadline, so a test waits as long as it must and never forever.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lxd-harness.h"

struct lxd_client;

struct daemon_harness {
	const struct lxd_harness *lxd;
	char dir[64];       /* rules.d/, control, devpassd.log live here */
	char rules_dir[96];
	char control[96];
	char log[96];
	pid_t pid;
	struct lxd_client *client;
};

/* Creates the directories; the daemon is not started yet. */
void daemon_harness_init(struct daemon_harness *d, const struct lxd_harness *lxd);
void daemon_harness_cleanup(struct daemon_harness *d);

/* Writes rules.d/NAME.rules (mode 0644). */
void daemon_write_rule(struct daemon_harness *d, const char *name, const char *text);
void daemon_remove_rule(struct daemon_harness *d, const char *name);

/* Starts devpassd with @extra arguments (NULL-terminated, may be NULL);
 * waits until its control socket answers (unless --once/--dry-run says
 * otherwise: @wait_ready false). */
void daemon_start(struct daemon_harness *d, const char *const *extra, bool wait_ready);
/* Sends @sig and waits for the exit; returns the exit status or 128+sig. */
int daemon_stop(struct daemon_harness *d, int sig);
/* Runs devpassd with @extra in the foreground; its exit status. */
int daemon_run(struct daemon_harness *d, const char *const *extra);

/* The instance's devpass-* entries (new reference; {} when none). */
json_object *daemon_entries(struct daemon_harness *d, const char *instance);
/* The instance as LXD returns it (new reference). */
json_object *daemon_instance(struct daemon_harness *d, const char *instance);

/* Polls until the instance has exactly @n devpass-* entries. */
bool wait_entries(struct daemon_harness *d, const char *instance, size_t n, int timeout_ms);
/* Polls until the named entry exists (@present) or not. */
bool wait_entry(struct daemon_harness *d, const char *instance, const char *entry,
		bool present, int timeout_ms);

/* `devpass status --json` of the running daemon (new reference). */
json_object *daemon_status(struct daemon_harness *d);
/* The state ("attached", "waiting", ...) of the device with @id, or NULL. */
const char *status_state(json_object *status, const char *id);
/* Polls until the device's state is @state. */
bool wait_state(struct daemon_harness *d, const char *id, const char *state, int timeout_ms);
/* The number of LXD writes the daemon made so far. */
unsigned daemon_writes(struct daemon_harness *d);
/* A counter of the status's "lxd" object ("writes", "instance_lists",
 * "instance_reads"). */
unsigned daemon_lxd_counter(struct daemon_harness *d, const char *name);

/* Whether @path is a character device inside @instance (lxc exec test -c). */
bool container_has_node(struct daemon_harness *d, const char *instance, const char *path);

/* Runs `lxc ARGS...` on the private LXD (`incus ARGS...` on an Incus:
 * lxd_harness_run()); its exit status. */
int lxc(struct daemon_harness *d, const char *const *args);
