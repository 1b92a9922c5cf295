/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cluster-bench: what one plug costs devpassd in a cluster, with few and
 * with many instances on the other members. A real 3-member LXD 5.0.2 (or
 * Incus) cluster (cluster-harness.h), a busybox container c1 on member1,
 * devpassd on member1 under a testbed with one rule (the camera to c1).
 * Each run plugs the camera and times it from the uevent to the entry in
 * LXD (the instance-updated event of devpassd's write, watch.h), then
 * unplugs it and waits for the entry to go. Then @extra stopped instances
 * are created on member2 and member3 (half each; empty ones, source
 * "none": they only need to exist) and the same runs are made again.
 * Beside each figure: one GET /1.0/instances?recursion=1 on member1 (what
 * a reconcile that lists everything pays) at that size, and the lists and
 * reads by name devpassd made per plug or unplug where its status counts
 * them (lxd.instance_lists, lxd.instance_reads).
 *
 *   cluster-bench [--kind lxd|incus] [--runs N] [--extra N]
 *
 * DEVPASS_BUILD_DIR names the build whose devpassd runs: the same
 * benchmark measures another branch's daemon. Run under
 * LD_PRELOAD=libumockdev-preload.so.0 as root.
 */
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster-harness.h"
#include "daemon-harness.h"
#include "devpass/lxd/client.h"
#include "request.h" /* daemon/lxd/: the raw lxd_request() */
#include "stats.h"
#include "test-util.h"
#include "testbed.h"
#include "watch.h"

#define PORT "1-2"
#define WAIT_MS 60000

static struct cluster_harness cluster;

struct bench {
	UMockdevTestbed *tb;
	struct daemon_harness d;
	struct watch *watch;
	unsigned devnum;
};

struct figures {
	struct series plug, unplug, list;
	size_t instances;
	double lists, reads; /* per plug and unplug; < 0: not counted */
};

/* lxd.@key of the daemon's status, or -1 where it does not count it
 * (main's reconciler lists every project on every pass and says nothing;
 * the instance cache counts its lists and reads). */
static double status_count(struct daemon_harness *d, const char *key)
{
	json_object *s = daemon_status(d), *lxd = NULL, *v = NULL;
	double n = -1;
	if (json_object_object_get_ex(s, "lxd", &lxd) &&
	    json_object_object_get_ex(lxd, key, &v))
		n = (double)json_object_get_int64(v);
	json_object_put(s);
	return n;
}

/* One plug and unplug; the times into @fig. */
static void plug_once(struct bench *b, struct figures *fig)
{
	static const char *const target[] = {"c1"};
	const struct testbed_usb u = {
		.port = PORT, .vendor = 0x046d, .product = 0x082d,
		.busnum = 1, .devnum = b->devnum++, .interface_class = -1,
	};
	const size_t one = 1, none = 0;
	double t0 = now_ms_frac();
	char *sys = testbed_add_usb_device(b->tb, &u);
	double t = watch_wait(b->watch, b->d.client, target, &one, 1,
			      "devpass-", t0, WAIT_MS);
	series_add(&fig->plug, t < 0 ? -1 : t - t0);
	t0 = now_ms_frac();
	umockdev_testbed_uevent(b->tb, sys, "remove");
	umockdev_testbed_remove_device(b->tb, sys);
	t = watch_wait(b->watch, b->d.client, target, &none, 1, "devpass-",
		       t0, WAIT_MS);
	series_add(&fig->unplug, t < 0 ? -1 : t - t0);
	g_free(sys);
}

/* How long one full instance list takes on member1, and how many. */
static void time_list(struct lxd_client *c, struct figures *fig)
{
	for (int i = 0; i < 5; i++) {
		struct lxd_instance_list *l = NULL;
		double t0 = now_ms_frac();
		if (lxd_instances_list(c, "default", &l) < 0) {
			series_add(&fig->list, -1);
			continue;
		}
		series_add(&fig->list, now_ms_frac() - t0);
		fig->instances = l->n;
		lxd_instance_list_free(l);
	}
}

static void measure(struct bench *b, int runs, struct figures *fig)
{
	*fig = (struct figures){0};
	double lists = status_count(&b->d, "instance_lists");
	double reads = status_count(&b->d, "instance_reads");
	for (int i = 0; i < runs; i++)
		plug_once(b, fig);
	fig->lists = lists < 0 ? -1
			       : (status_count(&b->d, "instance_lists") - lists) /
					 (2.0 * runs);
	fig->reads = reads < 0 ? -1
			       : (status_count(&b->d, "instance_reads") - reads) /
					 (2.0 * runs);
	time_list(b->d.client, fig);
}

static const char *count_fmt(double v, char *buf, size_t size)
{
	if (v < 0)
		return "not counted";
	snprintf(buf, size, "%.2f", v);
	return buf;
}

static void print_row(const char *what, const struct figures *f)
{
	char l[16], r[16];
	printf("%-30s %5zu  %-22s %-22s %-20s %-12s %-12s\n", what,
	       f->instances, series_fmt(&f->plug, 1, 0),
	       series_fmt(&f->unplug, 1, 1), series_fmt(&f->list, 1, 2),
	       count_fmt(f->lists, l, sizeof(l)),
	       count_fmt(f->reads, r, sizeof(r)));
}

static int start(struct bench *b)
{
	b->tb = testbed_new();
	b->devnum = 20;
	if (cluster_launch(&cluster, 1, true, (const char *[]){"c1", NULL}) < 0)
		return -1;
	daemon_harness_init(&b->d, &cluster.members[0]);
	daemon_write_rule(&b->d, "50-cam",
			  "[Match]\nSubsystem=usb\nVendor=046d\n"
			  "[Attach]\nInstance=c1\n");
	daemon_start(&b->d, NULL, true);
	return watch_start(&b->watch, cluster.members[0].socket);
}

int main(int argc, char **argv)
{
	const char *kind = "lxd";
	int runs = 10, extra = 300, c;
	while ((c = getopt(argc, argv, "k:r:e:")) != -1) {
		if (c == 'k')
			kind = optarg;
		else if (c == 'r')
			runs = atoi(optarg);
		else if (c == 'e')
			extra = atoi(optarg);
		else
			return 2;
	}
	if (runs < 1 || runs > SERIES_MAX || extra < 0)
		return 2;
	/* static: the teardown at exit (test-util.h) outlives main() */
	static struct bench b;
	struct figures few, many;
	if (cluster_harness_start(&cluster, kind, 3) < 0 || start(&b) < 0)
		return 1;
	measure(&b, runs, &few);
	double t0 = now_ms_frac();
	if (cluster_empty_instances(&cluster, 2, "m2-", extra / 2) < 0 ||
	    cluster_empty_instances(&cluster, 3, "m3-", extra - extra / 2) < 0)
		return 1;
	fprintf(stderr, "%d stopped instances created in %.1f s\n", extra,
		(now_ms_frac() - t0) / 1e3);
	measure(&b, runs, &many);
	printf("\nOne plug in a 3-member %s cluster, devpassd on member1 "
	       "(%s/daemon/devpassd),\n%d runs each, ms as median "
	       "(min-max):\n\n",
	       cluster_kind_name(&cluster),
	       getenv("DEVPASS_BUILD_DIR") ?: ".", runs);
	printf("%-30s %5s  %-22s %-22s %-20s %-12s %-12s\n", "", "insts",
	       "plug -> entry", "unplug -> gone", "one full list",
	       "lists/event", "reads/event");
	print_row("c1 alone", &few);
	print_row("+ stopped ones on member2, 3", &many);
	watch_stop(b.watch);
	daemon_harness_cleanup(&b.d);
	g_object_unref(b.tb);
	cluster_harness_stop(&cluster);
	return 0;
}
