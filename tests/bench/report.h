/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "stats.h"

/* One burst scenario, the three ways. Times in ms from the first uevent
 * (the first PATCH for the floor) to all entries visible in LXD. */
struct burst_result {
	const char *name;
	unsigned devices;
	unsigned instances;
	struct series daemon_ms;
	struct series daemon_writes;
	struct series udev_ms;
	struct series floor_ms;
	struct series trickled_ms; /* plugged back to back, from the last plug */
	struct series trickled_writes;
	unsigned plain_landed; /* of the unlocked scripts' entries */
	unsigned plain_hung;   /* unlocked scripts killed after 15 s */
};

struct coldplug_result {
	struct series ms;	/* daemon start to all 256 entries visible */
	struct series writes;
	struct series hwm_kib;	/* VmHWM after converging */
	struct series rss_kib;	/* smaps_rollup Rss after converging */
	struct series private_kib; /* Private_Clean + Private_Dirty (USS) */
	struct series private_dirty_kib;
	struct series floor_ms; /* 4 raw PATCHes of 64 entries */
	double idle_hwm_kib;	/* VmHWM started with nothing to attach */
	double idle_cpu_ms;	/* over 10 idle s after the coldplug */
	double idle_switches;
};

/* (b): one plug with few and with many instances on the host. */
struct crowd_phase {
	unsigned instances;	/* on the host (running or not) */
	struct series daemon_ms; /* plug to entry visible */
	struct series floor_ms;	/* the raw PATCH alone */
	struct series list_ms;	/* one GET /1.0/instances?recursion=1 */
	unsigned lists;		/* instance lists devpassd made during the plugs */
	unsigned reads;		/* instance reads by name during the plugs */
};

struct crowd_result {
	bool done;
	struct crowd_phase few, many;
	unsigned running;	/* of many's instances, how many ran */
};

struct report {
	struct burst_result bursts[8];
	size_t n_bursts;
	struct coldplug_result coldplug;
	struct crowd_result crowd;
	struct series matcher_ms;
	char lxd_version[32];
	unsigned runs;
	double seconds;
};

/* Prints the tables and writes them (markdown) to @path, or to
 * $DEVPASS_SOURCE_DIR/tests/bench/results.md when @path is NULL.
 * Return: 0 or -1 when the file cannot be written. */
int report_write(const struct report *r, const char *path);
