/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: a private cluster for integration tests
 *
 * Starts a real cluster of LXD 5.0.2 or Incus members on loopback
 * addresses (tests/lxd/cluster-env.sh) in a fresh directory under /tmp,
 * and stops and removes it all again: at cluster_harness_stop(), at exit,
 * and when SIGTERM, SIGINT or SIGABRT kills the test (at_exit_or_kill());
 * after a SIGKILL the next start sweeps it. One per test program.
 *
 * Each member has the struct lxd_harness that daemon-harness.h takes, so
 * a devpassd per member is started as against a single LXD: its socket is
 * the member's. Those structs only describe the member (@running false):
 * stopping is the cluster's.
 *
 * The skip rule is lxd-harness.h's: exit 77 only with DEVPASS_ALLOW_SKIP=1.
 */

#include <stdbool.h>
#include <stddef.h>

#include "lxd-harness.h"

#define CLUSTER_MAX_MEMBERS 3

/**
 * struct cluster_harness - one private cluster.
 * @kind: "lxd" or "incus".
 * @dir: the cluster's directory; member K's is @dir/memberK.
 * @members: member K (1-based) is @members[K - 1].
 * @halted: which members cluster_harness_halt() took offline.
 */
struct cluster_harness {
	const char *kind;
	char dir[40];
	size_t n_members;
	struct lxd_harness members[CLUSTER_MAX_MEMBERS];
	bool halted[CLUSTER_MAX_MEMBERS];
	bool running;
};

/**
 * cluster_harness_start() - form a cluster of @n members of @kind.
 * Return: 0, or a negative errno (see the DOC for the skip rule).
 */
int cluster_harness_start(struct cluster_harness *c, const char *kind,
			  size_t n);

/* Stops every instance and member, removes the directory. Safe twice. */
void cluster_harness_stop(struct cluster_harness *c);

/**
 * cluster_launch() - launch (@start) or create stopped containers @names
 * (NULL-terminated) on member @k.
 * Return: 0 or -EIO.
 */
int cluster_launch(const struct cluster_harness *c, size_t k, bool start,
		   const char *const *names);

/**
 * cluster_empty_instances() - create @n stopped instances with an empty
 * root (source "none": nothing to unpack, ~0.1 s each) on member @k,
 * named @prefix1..@prefixN; for what only needs many instances to exist.
 * Return: 0 or -EIO.
 */
int cluster_empty_instances(const struct cluster_harness *c, size_t k,
			    const char *prefix, int n);

/**
 * cluster_client() - run `lxc ARGS` (or `incus ARGS`) against member @k.
 * @output: its stdout (caller frees), or NULL.
 * Return: its exit status, or a negative errno.
 */
int cluster_client(const struct cluster_harness *c, size_t k, char **output,
		   const char *const *args);

/**
 * cluster_harness_halt() - stop member @k's daemon (it goes offline; its
 * containers keep running). cluster_harness_resume() starts it again.
 * Return: 0 or -EIO.
 */
int cluster_harness_halt(struct cluster_harness *c, size_t k);
int cluster_harness_resume(struct cluster_harness *c, size_t k);

/* The server's name for a result line: "LXD" or "Incus". */
const char *cluster_kind_name(const struct cluster_harness *c);
