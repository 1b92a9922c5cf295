/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: syncing an instance's devpass entries
 *
 * The one primitive the reconciler writes through: make the entries of an
 * instance's own "devices" map whose names start with a prefix ("devpass-")
 * equal to a desired map, in at most one write, and touch nothing else.
 *
 * How (LXD facts, checked against 5.0.2):
 * - GET the instance and its ETag; compare only the instance's own
 *   "devices" (not "expanded_devices", which holds profile devices).
 * - Nothing differs: no write.
 * - Only additions or changes: one PATCH {"devices": {changed entries},
 *   "description": as read}; LXD merges the map by entry name and replaces
 *   a named entry whole. The description must be sent: 5.0.2's PATCH
 *   resets it to "" when the body lacks it.
 * - Removals: with the device_patch_removal extension, the same PATCH with
 *   "name": null; without it (5.0.2), a PUT of the whole instance as read
 *   (architecture, config, devices, ephemeral, profiles, stateful,
 *   description), only its prefixed entries replaced. PUT is async: the
 *   operation is waited for.
 * - Every write carries If-Match; on 412 the instance is read again and
 *   the write recomputed, at most LXD_SYNC_MAX_ATTEMPTS times.
 *
 * Known gap: LXD 5.0.2's instance ETag covers architecture, config,
 * devices, ephemeral and profiles, not the description. A description
 * changed between our GET and our write is overwritten with the one we
 * read (no 412 warns of it). The window is one round trip.
 */

#include <stdbool.h>

#include "devpass/lxd/client.h"

#define LXD_SYNC_MAX_ATTEMPTS 5
#define LXD_SYNC_OP_TIMEOUT_S 30

/**
 * struct lxd_sync_stats - what a sync did.
 * @writes: PATCH/PUT requests that LXD accepted.
 * @retries: writes refused with 412 and recomputed.
 * @found: the instance's own "devices" map as the last attempt read it
 *         (what the write changed is the difference between it and the
 *         desired map), or NULL if it was not read; in lxd_sync_done_t's
 *         @stats, borrowed for the call. lxd_instance_sync_devices() leaves
 *         it NULL (its callers, tests, passed their stats uninitialised
 *         and leaked it).
 */
struct lxd_sync_stats {
	unsigned writes;
	unsigned retries;
	struct json_object *found;
};

/**
 * lxd_instance_sync_devices() - make @instance's prefixed entries @desired.
 * @c: the LXD client.
 * @project: LXD project ("default").
 * @instance: instance name.
 * @prefix: the ownership mark ("devpass-"); must not be empty.
 * @desired: object, entry name -> entry (an object of string values);
 *           every name starts with @prefix. Not modified.
 * @has_patch_removal: the server has the device_patch_removal extension.
 * @stats: filled in (zeroed first); may be NULL.
 * @lxd_error: on -EIO, LXD's reason for refusing the write (caller frees;
 *             lxd_error_device() finds the entry it names); may be NULL.
 *
 * Refusals are not logged here (at debug level only): the caller knows
 * which device and rule an entry stands for and reports it there.
 *
 * Return: 0 when the entries match (written or already so); -EINVAL when
 * @desired is malformed (a name without @prefix, a non-string option);
 * -ENXIO when the instance does not exist; -EIO when LXD refused the write
 * (see @lxd_error); -EAGAIN when LXD refused it for a passing reason
 * (retry later); -ESTALE when the instance kept changing under us;
 * other errors of client.h's DOC.
 *
 * Tests can run code between the read and the write of each attempt
 * (lxd_client_set_after_read(), daemon/lxd/request.h).
 */
int lxd_instance_sync_devices(struct lxd_client *c, const char *project,
			      const char *instance, const char *prefix,
			      struct json_object *desired,
			      bool has_patch_removal,
			      struct lxd_sync_stats *stats, char **lxd_error);

/*
 * Done callback of lxd_instance_sync_start(): @r and @stats as
 * lxd_instance_sync_devices() returns them (or -ECANCELED); @lxd_error,
 * on -EIO, LXD's reason (borrowed for the call), else NULL.
 */
typedef void (*lxd_sync_done_t)(int r, const struct lxd_sync_stats *stats,
				const char *lxd_error, void *userdata);

/**
 * lxd_instance_sync_start() - lxd_instance_sync_devices(), asynchronously:
 * every read, write, operation wait and 412 retry runs from
 * lxd_client_dispatch(). @prefix must outlive the sync (a constant);
 * @desired is referenced, not copied: do not change it meanwhile.
 * Return: 0 when started (@done is called once), or a negative errno
 * (logged) when not (-EINVAL for a malformed @desired, -ENOMEM).
 */
int lxd_instance_sync_start(struct lxd_client *c, const char *project,
			    const char *instance, const char *prefix,
			    struct json_object *desired, bool has_patch_removal,
			    lxd_sync_done_t done, void *userdata);

/**
 * lxd_error_device() - the entry an LXD error text names.
 * LXD names the failing device in double quotes ("Device validation
 * failed for \"devpass-x\": ..."); returns the first quoted name that
 * starts with @prefix, or NULL if none (or on ENOMEM). Caller frees.
 */
char *lxd_error_device(const char *lxd_error, const char *prefix);
