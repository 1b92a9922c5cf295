/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devpass-bench: devpassd against the way people attach devices to LXD
 * today (a udev RUN+= script calling `lxc config device add` per device)
 * and against LXD's own floor (the same entries in one raw PATCH), on one
 * private real LXD with busybox containers, devices from a umockdev
 * testbed built here (hubs with many ports). README.md shows the latest
 * table and what each column means.
 *
 *   devpass-bench [--runs N] [--output FILE] [--crowd-only]
 *
 * Run under LD_PRELOAD=libumockdev-preload.so.0 as root (meson test -C
 * build --suite bench does both).
 */
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon-harness.h"
#include "devpass/util/json.h"
#include "devpass/lxd/client.h"
#include "devpass/lxd/sync.h"
#include "request.h" /* daemon/lxd/: the raw lxd_request() */
#include "matcher.h"
#include "report.h"
#include "stats.h"
#include "test-util.h"
#include "testbed.h"
#include "watch.h"

#define N_INSTANCES 4
#define CROWD 300 /* instances on the host in (b)'s crowded case */
#define CROWD_FEW 2 /* and in its case to compare with: b1, b2 */
#define PORTS_PER_HUB 64
#define COLDPLUG_HUB0 5 /* hubs 5..8 hold the 256 coldplug devices */
#define WAIT_MS 60000
#define SCRIPT_DEADLINE_MS 15000 /* then a udev script counts as hung */

static const char *const instances[N_INSTANCES] = {"b1", "b2", "b3", "b4"};

struct bench {
	struct lxd_harness lxd;
	struct daemon_harness d;
	UMockdevTestbed *tb;
	struct lxd_client *c;
	struct watch *w;
	char *hubs[9];		/* syspath of hub k (k = its bus), 1..8 */
	char script[128];	/* the udev RUN+= script */
	char lock[128];
	const char *const *daemon_args;
	unsigned runs;
	bool crowd_only; /* (b) alone: one plug with 2 and 300 instances */
	bool crowd_started; /* (b) deleted b3 and b4 */
	bool coldplug_only; /* --coldplug-only: memory and coldplug alone */
	struct report rep;
};

/* One synthetic phone on hub @hub's port @port (bus @hub). */
struct dev {
	char port[32];
	char node[48];
	unsigned hub, devnum, minor;
	char *syspath;
};

static void dev_init(struct dev *v, unsigned hub, unsigned port)
{
	*v = (struct dev){.hub = hub, .devnum = port + 1};
	snprintf(v->port, sizeof(v->port), "%u-1.%u", hub, port);
	snprintf(v->node, sizeof(v->node), "/dev/bus/usb/%03u/%03u", hub, v->devnum);
	v->minor = (hub - 1) * 128 + v->devnum - 1;
}

static void dev_plug(struct bench *b, struct dev *v, uint16_t product)
{
	char serial[32];
	snprintf(serial, sizeof(serial), "BENCH%u%03u", v->hub, v->devnum);
	const struct testbed_usb u = {
		.port = v->port, .parent = b->hubs[v->hub], .vendor = 0x18d1,
		.product = product, .serial = serial, .manufacturer = "Google",
		.product_name = "Pixel", .busnum = v->hub, .devnum = v->devnum,
		.interface_class = 0xff,
	};
	v->syspath = testbed_add_usb_device(b->tb, &u);
}

/* umockdev_testbed_remove_device() leaves the /sys/bus/usb/devices links,
 * and adding the same port again would trip over them. */
static void unlink_bus_links(struct bench *b, const struct dev *v)
{
	g_autofree char *sys = umockdev_testbed_get_sys_dir(b->tb);
	g_autofree char *dev = g_strdup_printf("%s/bus/usb/devices/%s", sys, v->port);
	g_autofree char *intf = g_strdup_printf("%s:1.0", dev);
	unlink(dev);
	unlink(intf);
}

static void dev_unplug(struct bench *b, struct dev *v)
{
	umockdev_testbed_uevent(b->tb, v->syspath, "remove");
	umockdev_testbed_remove_device(b->tb, v->syspath);
	unlink_bus_links(b, v);
	g_free(v->syspath);
	v->syspath = NULL;
}

static void add_hub(struct bench *b, unsigned bus)
{
	char port[8];
	snprintf(port, sizeof(port), "%u-1", bus);
	const struct testbed_usb u = {
		.port = port, .vendor = 0x05e3, .product = 0x0610,
		.manufacturer = "GenesysLogic", .product_name = "USB2.1 Hub",
		.device_class = 0x09, .busnum = bus, .devnum = 1,
		.interface_class = 0x09,
	};
	b->hubs[bus] = testbed_add_usb_device(b->tb, &u);
}

/* A burst: @per devices plugged at once into each of @n_inst containers. */
struct scenario {
	const char *name;
	unsigned per;
	unsigned n_inst;
};

/* Device @i of a scenario: instance i / per sits on hub 1 + i / per. */
static void scenario_devs(const struct scenario *s, struct dev *devs)
{
	for (unsigned i = 0; i < s->per * s->n_inst; i++)
		dev_init(&devs[i], 1 + i / s->per, 1 + i % s->per);
}

static void wants(const struct scenario *s, size_t *want, size_t n)
{
	for (unsigned i = 0; i < s->n_inst; i++)
		want[i] = n;
}

static double wait_for(struct bench *b, const struct scenario *s, size_t n,
		       const char *prefix, double since)
{
	size_t want[N_INSTANCES];
	wants(s, want, n);
	return watch_wait(b->w, b->c, instances, want, s->n_inst, prefix, since, WAIT_MS);
}

static void clear_prefix(struct bench *b, const char *prefix)
{
	_cleanup_(json_object_putp) json_object *none = json_object_new_object();
	for (unsigned i = 0; i < N_INSTANCES; i++)
		if (lxd_instance_sync_devices(b->c, "default", instances[i], prefix,
					      none, false, NULL, NULL) < 0 &&
		    !(b->crowd_started && i >= CROWD_FEW)) /* deleted for (b) */
			fprintf(stderr, "bench: cannot clear %s* on %s\n", prefix,
				instances[i]);
}

/* --- devpassd ---------------------------------------------------------- */

/*
 * Plugs the burst "at once": the testbed takes 1-4 ms to add a device, so
 * the daemon is frozen while they are added and their uevents queue up,
 * as a hub's would while the daemon is busy; the clock starts when it
 * thaws with every uevent waiting. Then waits for the entries, unplugs and
 * waits them away.
 */
static void daemon_once(struct bench *b, const struct scenario *s,
			struct series *ms, struct series *writes)
{
	struct dev devs[PORTS_PER_HUB * N_INSTANCES];
	unsigned n = s->per * s->n_inst, w0 = daemon_writes(&b->d);

	scenario_devs(s, devs);
	kill(b->d.pid, SIGSTOP);
	for (unsigned i = 0; i < n; i++)
		dev_plug(b, &devs[i], 0x4ee7);
	double t0 = now_ms_frac();
	kill(b->d.pid, SIGCONT);
	double t = wait_for(b, s, s->per, "devpass-", t0);
	series_add(ms, t < 0 ? -1 : t - t0);
	sleep_ms(200); /* a late extra write would show here */
	series_add(writes, daemon_writes(&b->d) - w0);
	for (unsigned i = 0; i < n; i++)
		dev_unplug(b, &devs[i]);
	if (wait_for(b, s, 0, "devpass-", now_ms_frac()) < 0)
		fprintf(stderr, "bench: devpassd did not detach %s\n", s->name);
	/* LXD shows the removal before devpassd has its operation's end and
	 * counts the write: the next run's count must not get it */
	sleep_ms(200);
}

/*
 * Plugs the burst back to back into the running daemon, as a hub does
 * (the testbed adds one every 1-4 ms); the clock starts at the last plug:
 * a first write that carries one device must not hold the rest back.
 */
static void daemon_trickled(struct bench *b, const struct scenario *s,
			    struct series *ms, struct series *writes)
{
	struct dev devs[PORTS_PER_HUB * N_INSTANCES];
	unsigned n = s->per * s->n_inst, w0 = daemon_writes(&b->d);

	scenario_devs(s, devs);
	for (unsigned i = 0; i < n; i++)
		dev_plug(b, &devs[i], 0x4ee7);
	double t0 = now_ms_frac();
	double t = wait_for(b, s, s->per, "devpass-", t0);
	series_add(ms, t < 0 ? -1 : t - t0);
	sleep_ms(200);
	series_add(writes, daemon_writes(&b->d) - w0);
	for (unsigned i = 0; i < n; i++)
		dev_unplug(b, &devs[i]);
	if (wait_for(b, s, 0, "devpass-", now_ms_frac()) < 0)
		fprintf(stderr, "bench: devpassd did not detach %s\n", s->name);
	/* LXD shows the removal before devpassd has its operation's end and
	 * counts the write: the next run's count must not get it */
	sleep_ms(200);
}

static void daemon_up(struct bench *b)
{
	daemon_start(&b->d, b->daemon_args, true);
}

/* --- the udev-script way ----------------------------------------------- */

static const char udev_script[] =
	"#!/bin/sh\n"
	"# What RUN+=\"/usr/local/bin/lxd-attach INSTANCE %k $devnode $major\n"
	"# $minor\" does today: one `lxc config device add` per uevent. With\n"
	"# LOCK set, concurrent uevents take turns (else LXD's ETag check\n"
	"# refuses all but one of them).\n"
	"set -- \"$1\" \"$2\" unix-char source=\"$3\" path=\"$3\" major=\"$4\" minor=\"$5\"\n"
	"if [ -n \"$LOCK\" ]; then exec flock \"$LOCK\" lxc config device add \"$@\"; fi\n"
	"exec lxc config device add \"$@\"\n";

static void write_script(struct bench *b)
{
	snprintf(b->script, sizeof(b->script), "%s/lxd-attach", b->d.dir);
	snprintf(b->lock, sizeof(b->lock), "%s/lxd-attach.lock", b->d.dir);
	FILE *f = fopen(b->script, "w");
	if (!f || fputs(udev_script, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench: cannot write %s\n", b->script);
		exit(1);
	}
}

/* udev forks the RUN+= program per uevent, outside the testbed. */
static pid_t run_script(struct bench *b, const char *instance,
			const struct dev *v, bool locked)
{
	char name[48], minor[16];
	snprintf(name, sizeof(name), "udev-%s", v->port);
	snprintf(minor, sizeof(minor), "%u", v->minor);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char conf[sizeof(b->lxd.dir) + 8];
	snprintf(conf, sizeof(conf), "%s/client", b->lxd.dir);
	setenv("LXD_DIR", b->lxd.dir, 1);
	setenv("LXD_CONF", conf, 1);
	unsetenv("LD_PRELOAD");
	unsetenv("UMOCKDEV_DIR");
	locked ? setenv("LOCK", b->lock, 1) : unsetenv("LOCK");
	if (!freopen("/dev/null", "w", stdout) ||
	    !freopen(getenv("DEVPASS_BENCH_SCRIPT_LOG") ?: "/dev/null", "a", stderr))
		_exit(127);
	execl("/bin/sh", "sh", b->script, instance, name, v->node, "189", minor,
	      (char *)NULL);
	_exit(127);
}

/*
 * Waits for a script until @deadline, then kills it: racing ones can
 * leave `lxc` waiting for an LXD operation that never ends (seen here).
 * Return: 1 if it failed or hung (counted in *hung), 0 if it succeeded.
 */
static unsigned reap(pid_t pid, double deadline, unsigned *hung)
{
	int status = 0;
	pid_t r;
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms_frac() < deadline)
		sleep_ms(10);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		(*hung)++;
		return 1;
	}
	return r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/*
 * Plugs the burst, then starts one script per uevent, all at once (as
 * udev would for uevents that arrive together; the clock starts there,
 * as it does for devpassd). Return: scripts that failed.
 */
static unsigned udev_burst(struct bench *b, const struct scenario *s, bool locked,
			   struct dev *devs, double *t0, double *t, unsigned *hung)
{
	pid_t pids[PORTS_PER_HUB * N_INSTANCES];
	unsigned n = s->per * s->n_inst, failed = 0;

	scenario_devs(s, devs);
	for (unsigned i = 0; i < n; i++)
		dev_plug(b, &devs[i], 0x4ee7);
	*t0 = now_ms_frac();
	for (unsigned i = 0; i < n; i++)
		pids[i] = run_script(b, instances[i / s->per], &devs[i], locked);
	*t = locked ? wait_for(b, s, s->per, "udev-", *t0) : 0;
	for (unsigned i = 0; i < n; i++)
		failed += reap(pids[i], *t0 + SCRIPT_DEADLINE_MS, hung);
	return failed;
}

static void udev_cleanup(struct bench *b, const struct scenario *s, struct dev *devs)
{
	for (unsigned i = 0; i < s->per * s->n_inst; i++)
		dev_unplug(b, &devs[i]);
	clear_prefix(b, "udev-");
}

static void udev_once(struct bench *b, const struct scenario *s, struct series *ms)
{
	struct dev devs[PORTS_PER_HUB * N_INSTANCES];
	double t0, t;
	unsigned hung = 0, failed = udev_burst(b, s, true, devs, &t0, &t, &hung);
	if (failed)
		fprintf(stderr, "bench: %u udev scripts failed (%s)\n", failed, s->name);
	series_add(ms, t < 0 ? -1 : t - t0);
	udev_cleanup(b, s, devs);
}

/* Without the lock, as most such rules are written: how many land? */
static unsigned udev_plain_landed(struct bench *b, const struct scenario *s,
				  unsigned *hung)
{
	struct dev devs[PORTS_PER_HUB * N_INSTANCES];
	double t0, t;
	size_t landed = 0;

	udev_burst(b, s, false, devs, &t0, &t, hung);
	for (unsigned i = 0; i < s->n_inst; i++)
		landed += count_entries(b->c, instances[i], "udev-");
	udev_cleanup(b, s, devs);
	return (unsigned)landed;
}

/* --- the floor: one raw PATCH per instance ------------------------------ */

static json_object *entry_json(const struct dev *v)
{
	json_object *e = json_object_new_object();
	char minor[16];
	snprintf(minor, sizeof(minor), "%u", v->minor);
	json_object_object_add(e, "type", json_object_new_string("unix-char"));
	json_object_object_add(e, "source", json_object_new_string(v->node));
	json_object_object_add(e, "path", json_object_new_string(v->node));
	json_object_object_add(e, "major", json_object_new_string("189"));
	json_object_object_add(e, "minor", json_object_new_string(minor));
	return e;
}

/* The PATCH body for instance @k: the entries of its devices. */
static json_object *floor_body(const struct scenario *s, const struct dev *devs,
			       unsigned k, const char *prefix)
{
	json_object *body = json_object_new_object(), *map = json_object_new_object();
	for (unsigned i = k * s->per; i < (k + 1) * s->per; i++) {
		char name[48];
		snprintf(name, sizeof(name), "%s%s", prefix, devs[i].port);
		json_object_object_add(map, name, entry_json(&devs[i]));
	}
	json_object_object_add(body, "devices", map);
	return body;
}

/* Sends the PATCHes one after another; their summed time, or -1. */
static double floor_patch(struct bench *b, const struct scenario *s,
			  const struct dev *devs, const char *prefix)
{
	json_object *bodies[N_INSTANCES];
	double total = 0;

	for (unsigned k = 0; k < s->n_inst; k++)
		bodies[k] = floor_body(s, devs, k, prefix);
	for (unsigned k = 0; k < s->n_inst; k++) {
		struct lxd_response resp = {0};
		char path[64];
		snprintf(path, sizeof(path), "/1.0/instances/%s", instances[k]);
		double t0 = now_ms_frac();
		int r = lxd_request(b->c, "PATCH", path, bodies[k], NULL, &resp);
		total += now_ms_frac() - t0;
		if (r < 0)
			total = -1e9;
		lxd_response_clear(&resp);
		json_object_put(bodies[k]);
	}
	return total < 0 ? -1 : total;
}

static void floor_once(struct bench *b, const struct scenario *s, struct series *ms)
{
	struct dev devs[PORTS_PER_HUB * N_INSTANCES];

	scenario_devs(s, devs);
	series_add(ms, floor_patch(b, s, devs, "floor-"));
	if (wait_for(b, s, s->per, "floor-", now_ms_frac()) < 0)
		fprintf(stderr, "bench: the floor's entries are not there\n");
	clear_prefix(b, "floor-");
}

/* --- bursts -------------------------------------------------------------- */

static const struct scenario scenarios[] = {
	{"1 device (single plug)", 1, 1},
	{"burst of 4", 4, 1},
	{"burst of 16", 16, 1},
	{"burst of 64", 64, 1},
	{"64 over 4 containers", 16, 4},
};

/* Devices on hub k go to container bk. */
static void write_burst_rules(struct bench *b)
{
	for (unsigned k = 1; k <= N_INSTANCES; k++) {
		char name[16], text[160];
		snprintf(name, sizeof(name), "1%u-hub%u", k, k);
		snprintf(text, sizeof(text),
			 "[Match]\nSubsystem=usb\nVendor=18d1\nPort=%u-1.*\n"
			 "[Attach]\nInstance=b%u\n", k, k);
		daemon_write_rule(&b->d, name, text);
	}
}

static void remove_burst_rules(struct bench *b)
{
	for (unsigned k = 1; k <= N_INSTANCES; k++) {
		char name[16];
		snprintf(name, sizeof(name), "1%u-hub%u", k, k);
		daemon_remove_rule(&b->d, name);
	}
}

static void bench_scenario(struct bench *b, const struct scenario *s,
			   struct burst_result *res)
{
	unsigned runs = s->per * s->n_inst >= 64 ? (b->runs + 1) / 2 + 1 : b->runs;

	fprintf(stderr, "bench: %s, %u runs\n", s->name, runs);
	double t0 = now_ms_frac();
	*res = (struct burst_result){.name = s->name, .devices = s->per * s->n_inst,
				     .instances = s->n_inst};
	daemon_up(b);
	for (unsigned r = 0; r < runs; r++)
		daemon_once(b, s, &res->daemon_ms, &res->daemon_writes);
	for (unsigned r = 0; s->per == 16 && s->n_inst == 1 && r < runs; r++)
		daemon_trickled(b, s, &res->trickled_ms, &res->trickled_writes);
	daemon_stop(&b->d, SIGTERM);
	fprintf(stderr, "bench:   devpassd done at %.1f s\n", (now_ms_frac() - t0) / 1000);
	for (unsigned r = 0; r < runs; r++)
		udev_once(b, s, &res->udev_ms);
	fprintf(stderr, "bench:   udev script done at %.1f s\n", (now_ms_frac() - t0) / 1000);
	for (unsigned r = 0; r < runs; r++)
		floor_once(b, s, &res->floor_ms);
	fprintf(stderr, "bench:   floor done at %.1f s\n", (now_ms_frac() - t0) / 1000);
	res->plain_landed = udev_plain_landed(b, s, &res->plain_hung);
	fprintf(stderr, "bench:   floor and unlocked done at %.1f s\n",
		(now_ms_frac() - t0) / 1000);
}

/* --- (b) one plug on a crowded host ------------------------------------- */

static const struct scenario single = {"1 device (single plug)", 1, 1};

/* One GET /1.0/instances?recursion=1 (what devpassd once did on every
 * pass), timed in ms, or -1. */
static double list_once(struct bench *b)
{
	struct lxd_response resp = {0};
	double t0 = now_ms_frac();
	int r = lxd_request(b->c, "GET", "/1.0/instances?recursion=1", NULL,
			    NULL, &resp);
	double t = now_ms_frac() - t0;
	lxd_response_clear(&resp);
	return r < 0 ? -1 : t;
}

static unsigned instance_count(struct bench *b, unsigned *running)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	if (lxd_instances_list(b->c, "default", &l) < 0)
		return 0;
	*running = 0;
	for (size_t i = 0; i < l->n; i++)
		*running += l->items[i].running;
	return (unsigned)l->n;
}

/* The single plug, the floor and the list, with what is on the host now. */
static void crowd_phase(struct bench *b, struct crowd_phase *ph)
{
	struct series writes = {0};
	unsigned running;
	ph->instances = instance_count(b, &running);
	fprintf(stderr, "bench: single plug with %u instances\n", ph->instances);
	daemon_up(b);
	sleep_ms(1000); /* its start: the lists at start and on the stream's up */
	unsigned lists = daemon_lxd_counter(&b->d, "instance_lists");
	unsigned reads = daemon_lxd_counter(&b->d, "instance_reads");
	for (unsigned r = 0; r < b->runs; r++)
		daemon_once(b, &single, &ph->daemon_ms, &writes);
	ph->lists = daemon_lxd_counter(&b->d, "instance_lists") - lists;
	ph->reads = daemon_lxd_counter(&b->d, "instance_reads") - reads;
	daemon_stop(&b->d, SIGTERM);
	for (unsigned r = 0; r < b->runs; r++)
		floor_once(b, &single, &ph->floor_ms);
	for (unsigned r = 0; r < b->runs; r++)
		series_add(&ph->list_ms, list_once(b));
}

/* Creates stopped busybox containers crowdFROM..crowdTO, 8 at a time
 * (starting 300 would take minutes and memory; stopped ones are listed
 * all the same). */
static int crowd_create(struct bench *b, unsigned from, unsigned to)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "seq -f 'crowd%%03g' %u %u | xargs -P 8 -I{} lxc init "
		 "busybox {} --quiet >/dev/null 2>&1", from, to);
	return lxd_harness_run(&b->lxd, NULL, (const char *[]){"sh", "-c", cmd, NULL});
}

/* Runs last: it deletes b3 and b4 (the few) and adds the crowd. */
static void bench_crowd(struct bench *b, struct crowd_result *res)
{
	double t0 = now_ms_frac();
	lxd_harness_run(&b->lxd, NULL,
			(const char *[]){"lxc", "delete", "--force", "b3", "b4", NULL});
	b->crowd_started = true;
	crowd_phase(b, &res->few);
	if (crowd_create(b, 1, CROWD - res->few.instances) != 0)
		fprintf(stderr, "bench: could not create every crowd instance\n");
	fprintf(stderr, "bench:   %u instances created in %.0f s\n",
		CROWD - res->few.instances, (now_ms_frac() - t0) / 1000);
	unsigned running;
	instance_count(b, &running);
	res->running = running;
	crowd_phase(b, &res->many);
	res->done = true;
}

/* --- coldplug, memory, idle --------------------------------------------- */

static const char *pid_status_field(pid_t pid, const char *key, char *buf, size_t size)
{
	char path[64], line[256];
	size_t len = strlen(key);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			snprintf(buf, size, "%s", line + len + 1 + strspn(line + len + 1, " \t"));
			buf[strcspn(buf, "\n")] = '\0';
		}
	if (f)
		fclose(f);
	return buf;
}

static double pid_kib(pid_t pid, const char *key)
{
	char buf[64];
	return strtod(pid_status_field(pid, key, buf, sizeof(buf)), NULL);
}

/* CPU ms (utime + stime) of @pid. */
static double pid_cpu_ms(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f)) {
		const char *p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) != 2)
			ut = st = 0;
	}
	if (f)
		fclose(f);
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* A field of /proc/PID/smaps_rollup, in KiB (0 when absent). */
static double pid_rollup_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t len = strlen(key);
	double kib = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0 && line[len] == ':')
			kib = strtod(line + len + 1, NULL);
	if (f)
		fclose(f);
	return kib;
}

/* Private memory of @pid (its USS): pages no other process maps. */
static void memory_measure(pid_t pid, struct coldplug_result *res)
{
	series_add(&res->rss_kib, pid_rollup_kib(pid, "Rss"));
	series_add(&res->private_kib, pid_rollup_kib(pid, "Private_Clean") +
					      pid_rollup_kib(pid, "Private_Dirty"));
	series_add(&res->private_dirty_kib, pid_rollup_kib(pid, "Private_Dirty"));
}

static double pid_switches(pid_t pid)
{
	return pid_kib(pid, "voluntary_ctxt_switches") +
	       pid_kib(pid, "nonvoluntary_ctxt_switches");
}

static void coldplug_devices(struct bench *b, struct dev *devs)
{
	for (unsigned h = 0; h < N_INSTANCES; h++)
		for (unsigned p = 1; p <= PORTS_PER_HUB; p++) {
			struct dev *v = &devs[h * PORTS_PER_HUB + p - 1];
			dev_init(v, COLDPLUG_HUB0 + h, p);
			dev_plug(b, v, (uint16_t)(0x5000 + p - 1));
		}
}

/* Rule i takes product 0x5000+i (4 devices) to container b(i%4+1). */
static void write_coldplug_rules(struct bench *b)
{
	for (unsigned i = 0; i < PORTS_PER_HUB; i++) {
		char name[16], text[160];
		snprintf(name, sizeof(name), "%02u-cold", i);
		snprintf(text, sizeof(text),
			 "[Match]\nSubsystem=usb\nVendor=18d1\nProduct=%04x\n"
			 "[Attach]\nInstance=%s\n", 0x5000 + i, instances[i % N_INSTANCES]);
		daemon_write_rule(&b->d, name, text);
	}
}

static void remove_coldplug_rules(struct bench *b)
{
	for (unsigned i = 0; i < PORTS_PER_HUB; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%02u-cold", i);
		daemon_remove_rule(&b->d, name);
	}
}

static const struct scenario coldplug_scenario = {"coldplug", PORTS_PER_HUB, N_INSTANCES};

static void coldplug_once(struct bench *b, struct coldplug_result *res)
{
	clear_prefix(b, "devpass-");
	double t0 = now_ms_frac();
	daemon_up(b);
	double t = wait_for(b, &coldplug_scenario, PORTS_PER_HUB, "devpass-", t0);
	series_add(&res->ms, t < 0 ? -1 : t - t0);
	sleep_ms(200);
	series_add(&res->writes, daemon_writes(&b->d));
	series_add(&res->hwm_kib, pid_kib(b->d.pid, "VmHWM"));
	memory_measure(b->d.pid, res);
}

static void idle_measure(struct bench *b, struct coldplug_result *res)
{
	double cpu0 = pid_cpu_ms(b->d.pid), sw0 = pid_switches(b->d.pid);
	sleep_ms(10000);
	res->idle_cpu_ms = pid_cpu_ms(b->d.pid) - cpu0;
	res->idle_switches = pid_switches(b->d.pid) - sw0;
}

/* Devices from hubs 5..8 in the testbed: each rule owns 4, 64 per container. */
static void bench_coldplug(struct bench *b, struct coldplug_result *res)
{
	static struct dev devs[PORTS_PER_HUB * N_INSTANCES];
	unsigned runs = (b->runs + 1) / 2 + 1;

	fprintf(stderr, "bench: coldplug of 256 devices, 64 rules, %u runs\n", runs);
	remove_burst_rules(b);
	write_coldplug_rules(b);
	coldplug_devices(b, devs);
	for (unsigned r = 0; r < runs; r++) {
		coldplug_once(b, res);
		if (r + 1 < runs)
			daemon_stop(&b->d, SIGTERM);
	}
	fprintf(stderr, "bench: 10 idle seconds\n");
	idle_measure(b, res);
	daemon_stop(&b->d, SIGTERM);
	clear_prefix(b, "devpass-");
	series_add(&res->floor_ms, floor_patch(b, &coldplug_scenario, devs, "floor-"));
	clear_prefix(b, "floor-");
	/* what runs after it (b) plugs as the bursts do */
	for (unsigned i = 0; i < PORTS_PER_HUB * N_INSTANCES; i++)
		dev_unplug(b, &devs[i]);
	remove_coldplug_rules(b);
	write_burst_rules(b);
}

/* Idle: rules loaded, hubs present, nothing to attach. */
static void bench_idle_memory(struct bench *b, struct coldplug_result *res)
{
	daemon_up(b);
	sleep_ms(1000);
	res->idle_hwm_kib = pid_kib(b->d.pid, "VmHWM");
	daemon_stop(&b->d, SIGTERM);
}

static void bench_matcher(struct bench *b)
{
	fprintf(stderr, "bench: matcher\n");
	for (unsigned r = 0; r < b->runs; r++) {
		size_t matched;
		series_add(&b->rep.matcher_ms, bench_matcher_run(&matched));
		if (matched)
			fprintf(stderr, "bench: the matcher matched %zu devices, "
				"none should\n", matched);
	}
}

/* --- setup --------------------------------------------------------------- */

#define DGRAM_QLEN "/proc/sys/net/unix/max_dgram_qlen"
static char saved_qlen[32];

/* umockdev's uevent sockets queue 10 datagrams unless told otherwise
 * (tests/test-daemon.c says more); a burst of 64 needs more. */
static void set_qlen(const char *value)
{
	FILE *f = fopen(DGRAM_QLEN, "r");
	if (f && !saved_qlen[0] && !fgets(saved_qlen, sizeof(saved_qlen), f))
		saved_qlen[0] = '\0';
	if (f)
		fclose(f);
	f = fopen(DGRAM_QLEN, "w");
	if (f) {
		fputs(value, f);
		fclose(f);
	}
}

static void server_version(struct bench *b)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;
	if (lxd_server_get(b->c, &s) == 0 && s->server_version)
		snprintf(b->rep.lxd_version, sizeof(b->rep.lxd_version), "%s",
			 s->server_version);
}

static void setup(struct bench *b)
{
	set_qlen("4096");
	b->tb = testbed_new();
	if (lxd_harness_start(&b->lxd, (const char *[]){"b1", "b2", "b3", "b4", NULL}) < 0)
		exit(1);
	daemon_harness_init(&b->d, &b->lxd);
	b->c = b->d.client;
	if (watch_start(&b->w, b->lxd.socket) < 0) {
		fprintf(stderr, "bench: cannot listen to LXD's events\n");
		exit(1);
	}
	for (unsigned bus = 1; bus <= 8; bus++)
		add_hub(b, bus);
	write_script(b);
	write_burst_rules(b);
	server_version(b);
}

static void teardown(struct bench *b)
{
	watch_stop(b->w);
	daemon_harness_cleanup(&b->d);
	lxd_harness_stop(&b->lxd);
	if (saved_qlen[0])
		set_qlen(saved_qlen);
}

static int parse_args(int argc, char **argv, struct bench *b, const char **output)
{
	static const struct option opts[] = {
		{"runs", required_argument, NULL, 'r'},
		{"crowd-only", no_argument, NULL, 'c'},
		{"output", required_argument, NULL, 'o'},
		{"coldplug-only", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'r' && (b->runs = (unsigned)atoi(optarg)) >= 1 &&
		    b->runs <= SERIES_MAX)
			continue;
		if (c == 'o') {
			*output = optarg;
			continue;
		}
		if (c == 'c') {
			b->crowd_only = true;
			continue;
		}
		if (c == 'p') {
			b->coldplug_only = true;
			continue;
		}
		fputs("Usage: devpass-bench [--runs N (1-32, default 5)] "
		      "[--output FILE] [--crowd-only] [--coldplug-only]\n",
		      c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct bench b = {.runs = 5};
	const char *output = NULL;
	int r = parse_args(argc, argv, &b, &output);
	if (r >= 0)
		return r;
	b.daemon_args = (const char *[]){"--log-level", "info", NULL};
	double t0 = now_ms_frac();
	setup(&b);
	if (!b.crowd_only) {
		bench_idle_memory(&b, &b.rep.coldplug);
		for (size_t i = 0; !b.coldplug_only && i < ARRAY_SIZE(scenarios);
		     i++)
			bench_scenario(&b, &scenarios[i],
				       &b.rep.bursts[b.rep.n_bursts++]);
		bench_coldplug(&b, &b.rep.coldplug);
	}
	if (!b.coldplug_only)
		bench_crowd(&b, &b.rep.crowd);
	teardown(&b);
	bench_matcher(&b);
	b.rep.runs = b.runs;
	b.rep.seconds = (now_ms_frac() - t0) / 1000;
	return report_write(&b.rep, output) < 0 ? 1 : 0;
}
