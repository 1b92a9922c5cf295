/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static void cpu_model(char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	snprintf(buf, size, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		const char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		snprintf(buf, size, "%s", colon + 2);
		buf[strcspn(buf, "\n")] = '\0';
		break;
	}
	if (f)
		fclose(f);
}

static void header(FILE *f, const struct report *r)
{
	char cpu[128], date[32];
	struct utsname u;
	time_t now = time(NULL);

	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	fprintf(f, "Run %s on %ld CPUs (%s), kernel %s, LXD %s; busybox "
		   "containers on a `dir` pool. Each figure: median (min-max) of "
		   "%u runs (64-device cases and coldplug: %u); the whole run took "
		   "%.0f s.\n\n",
		date, sysconf(_SC_NPROCESSORS_ONLN), cpu, u.release,
		r->lxd_version[0] ? r->lxd_version : "?", r->runs,
		(r->runs + 1) / 2 + 1, r->seconds);
}

static double ratio(const struct series *a, const struct series *b)
{
	double x = series_median(a), y = series_median(b);
	return x > 0 && y > 0 ? x / y : -1;
}

static void bursts(FILE *f, const struct report *r)
{
	if (!r->n_bursts)
		return;
	fprintf(f, "Time from the moment every uevent of the burst is there "
		   "(devpassd thawed with them queued; the udev scripts all "
		   "started) to every entry visible in LXD (ms); for the floor, "
		   "the raw PATCHes alone.\n\n"
		   "| devices plugged at once | devpassd | udev script | floor "
		   "| devpassd / floor | udev script / devpassd | LXD writes: "
		   "devpassd, udev script, floor | unlocked script: entries that landed |\n"
		   "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (size_t i = 0; i < r->n_bursts; i++) {
		const struct burst_result *b = &r->bursts[i];
		fprintf(f, "| %s | %s | %s | %s | %.2f | %.1f | %s, %u, %u | %u of %u%s |\n",
			b->name, series_fmt(&b->daemon_ms, 1, 0),
			series_fmt(&b->udev_ms, 1, 1), series_fmt(&b->floor_ms, 1, 2),
			ratio(&b->daemon_ms, &b->floor_ms),
			ratio(&b->udev_ms, &b->daemon_ms),
			series_fmt(&b->daemon_writes, 0, 3), b->devices, b->instances,
			b->plain_landed, b->devices, b->plain_hung ? " (some hung)" : "");
	}
}

/* The bursts also plugged back to back into the running daemon. */
static void trickled(FILE *f, const struct report *r)
{
	bool any = false;
	for (size_t i = 0; i < r->n_bursts; i++) {
		const struct burst_result *b = &r->bursts[i];
		if (!b->trickled_ms.n)
			continue;
		if (!any)
			fprintf(f, "\nPlugged back to back into the running devpassd "
				   "(the testbed adds one every 1-4 ms, as a hub does): "
				   "from the last plug to every entry visible (ms).\n\n"
				   "| devices plugged back to back | devpassd | floor "
				   "| devpassd / floor | LXD writes |\n"
				   "| --- | ---: | ---: | ---: | ---: |\n");
		any = true;
		fprintf(f, "| %s | %s | %s | %.2f | %s |\n", b->name,
			series_fmt(&b->trickled_ms, 1, 5), series_fmt(&b->floor_ms, 1, 6),
			ratio(&b->trickled_ms, &b->floor_ms),
			series_fmt(&b->trickled_writes, 0, 7));
	}
}

static void coldplug(FILE *f, const struct report *r)
{
	const struct coldplug_result *c = &r->coldplug;
	if (!c->ms.n && !c->ms.failed)
		return;
	fprintf(f, "\nColdplug: devpassd started with 256 devices present "
		   "and 64 rules (64 devices to each of 4 containers).\n\n"
		   "| start to converged (ms) | LXD writes | floor: 4 raw PATCHes of 64 (ms) "
		   "| devpassd / floor |\n| ---: | ---: | ---: | ---: |\n"
		   "| %s | %s | %s | %.2f |\n",
		series_fmt(&c->ms, 0, 0), series_fmt(&c->writes, 0, 1),
		series_fmt(&c->floor_ms, 0, 2), ratio(&c->ms, &c->floor_ms));
	fprintf(f, "\nMemory and idle (devpassd runs under the umockdev preload).\n\n"
		   "| peak RSS idle | peak RSS after the 256-device coldplug "
		   "| CPU over 10 idle s | context switches over 10 idle s |\n"
		   "| ---: | ---: | ---: | ---: |\n"
		   "| %.1f MiB | %s KiB | %.0f ms | %.0f |\n",
		c->idle_hwm_kib / 1024, series_fmt(&c->hwm_kib, 0, 3),
		c->idle_cpu_ms, c->idle_switches);
	fprintf(f, "\nMemory after the 256-device coldplug (/proc/PID/smaps_rollup, KiB): "
		   "what only devpassd maps (USS) beside RSS, which counts the "
		   "shared libraries.\n\n"
		   "| RSS | private (USS) | private dirty |\n| ---: | ---: | ---: |\n"
		   "| %s | %s | %s |\n",
		series_fmt(&c->rss_kib, 0, 5), series_fmt(&c->private_kib, 0, 6),
		series_fmt(&c->private_dirty_kib, 0, 7));
	fprintf(f, "\nMatcher alone: 10,000 devices x 1,000 rules, none "
		   "matching (every pair tried), one core: %s ms.\n",
		series_fmt(&r->matcher_ms, 0, 4));
}

static void crowd_row(FILE *f, const struct crowd_phase *p)
{
	fprintf(f, "| %u | %s | %s | %.2f | %s | %u, %u |\n", p->instances,
		series_fmt(&p->daemon_ms, 1, 0), series_fmt(&p->floor_ms, 1, 1),
		ratio(&p->daemon_ms, &p->floor_ms), series_fmt(&p->list_ms, 1, 2),
		p->lists, p->reads);
}

static void crowd(FILE *f, const struct report *r)
{
	const struct crowd_result *c = &r->crowd;
	if (!c->done)
		return;
	fprintf(f, "\nOne plug on a crowded host: the single plug above with "
		   "%u, then %u instances on the host (the %u added created "
		   "stopped, %u of all running); devpassd started again for "
		   "each. The list column is what one `GET "
		   "/1.0/instances?recursion=1` costs there; devpassd's lists "
		   "and reads by name are those it made during the plugs.\n\n"
		   "| instances on the host | devpassd (ms) | floor (ms) | "
		   "devpassd / floor | one instance list (ms) | devpassd: "
		   "lists, reads by name |\n"
		   "| ---: | ---: | ---: | ---: | ---: | ---: |\n",
		c->few.instances, c->many.instances,
		c->many.instances - c->few.instances, c->running);
	crowd_row(f, &c->few);
	crowd_row(f, &c->many);
}

static const char *verdict(bool ok)
{
	return ok ? "met" : "**missed**";
}

static const struct burst_result *find(const struct report *r, unsigned devices,
				       unsigned instances)
{
	for (size_t i = 0; i < r->n_bursts; i++)
		if (r->bursts[i].devices == devices && r->bursts[i].instances == instances)
			return &r->bursts[i];
	return NULL;
}

static unsigned max_writes_per_instance(const struct report *r)
{
	double m = 0;
	for (size_t i = 0; i < r->n_bursts; i++) {
		double w = series_max(&r->bursts[i].daemon_writes) / r->bursts[i].instances;
		m = w > m ? w : m;
	}
	return (unsigned)(m + 0.999);
}

static void crowd_targets(FILE *f, const struct report *r)
{
	const struct crowd_result *c = &r->crowd;
	if (!c->done)
		return;
	double many = series_median(&c->many.daemon_ms);
	double few = series_median(&c->few.daemon_ms);
	double max = 1.3 * series_median(&c->many.floor_ms) + 5;
	fprintf(f, "| single plug with %u instances within 1.3 x floor + 5 ms "
		   "(%.1f ms) | %.1f ms | %s |\n",
		c->many.instances, max, many, verdict(many > 0 && many <= max));
	fprintf(f, "| single plug with %u instances within 10%% of %u "
		   "instances (%.1f ms) | %.1f ms (%+.0f%%) | %s |\n",
		c->many.instances, c->few.instances, 1.1 * few, many,
		few > 0 ? 100 * (many - few) / few : 0,
		verdict(many > 0 && few > 0 && many <= 1.1 * few));
}

static void targets(FILE *f, const struct report *r)
{
	const struct burst_result *b16 = find(r, 16, 1), *b1 = find(r, 1, 1);
	const struct coldplug_result *c = &r->coldplug;
	if (!b16 || !b1) {
		fprintf(f, "\n| target | measured | |\n| --- | --- | --- |\n");
		return crowd_targets(f, r);
	}
	double f16 = ratio(&b16->daemon_ms, &b16->floor_ms);
	double u16 = ratio(&b16->udev_ms, &b16->daemon_ms);
	double one = series_median(&b1->daemon_ms);
	double one_max = 1.3 * series_median(&b1->floor_ms) + 5;
	double hwm = series_max(&c->hwm_kib) / 1024;
	unsigned w = max_writes_per_instance(r);
	double match = series_median(&r->matcher_ms);

	fprintf(f, "\n| target | measured | |\n| --- | --- | --- |\n");
	fprintf(f, "| burst of 16 within 1.3 x the floor | %.2f x | %s |\n", f16,
		verdict(f16 > 0 && f16 <= 1.3));
	double t16 = ratio(&b16->trickled_ms, &b16->floor_ms);
	fprintf(f, "| 16 plugged back to back: last plug to all visible within "
		   "1.3 x the floor | %.2f x | %s |\n",
		t16, verdict(t16 > 0 && t16 <= 1.3));
	fprintf(f, "| burst of 16 at least 5 x faster than the udev script | %.1f x | %s |\n",
		u16, verdict(u16 >= 5));
	fprintf(f, "| single plug within 1.3 x floor + 5 ms (%.1f ms) | %.1f ms | %s |\n",
		one_max, one, verdict(one > 0 && one <= one_max));
	crowd_targets(f, r);
	fprintf(f, "| at most 2 LXD writes per instance touched | %u | %s |\n", w,
		verdict(w <= 2));
	fprintf(f, "| peak RSS after the coldplug under 8 MiB | %.1f MiB | %s |\n", hwm,
		verdict(hwm > 0 && hwm < 8));
	double uss = series_max(&c->private_kib) / 1024;
	fprintf(f, "| private memory (USS) after the coldplug at most 4 MiB | %.1f MiB | %s |\n",
		uss, verdict(uss > 0 && uss <= 4));
	fprintf(f, "| no wake-ups while idle (10 s) | %.0f | %s |\n", c->idle_switches,
		verdict(c->idle_switches == 0));
	fprintf(f, "| matcher 10,000 x 1,000 under 1 s | %.0f ms | %s |\n", match,
		verdict(match >= 0 && match < 1000));
}

static void print(FILE *f, const struct report *r)
{
	header(f, r);
	bursts(f, r);
	trickled(f, r);
	coldplug(f, r);
	crowd(f, r);
	targets(f, r);
}

int report_write(const struct report *r, const char *path)
{
	char def[4096];
	if (!path) {
		snprintf(def, sizeof(def), "%s/tests/bench/results.md",
			 getenv("DEVPASS_SOURCE_DIR") ?: ".");
		path = def;
	}
	print(stdout, r);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		return -1;
	}
	print(f, r);
	if (fclose(f) != 0)
		return -1;
	printf("\n(written to %s)\n", path);
	return 0;
}
