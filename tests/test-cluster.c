/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devpassd in a real cluster: three members of LXD 5.0.2 or of Incus
 * (argv[1] or $DEVPASS_SERVER: lxd or incus) on loopback addresses (cluster-harness.h), a
 * busybox container running on each (cK on memberK), and a devpassd per
 * member, each under its own umockdev testbed: three hosts, each with its
 * own USB devices, as an admin runs devpass on every member of a cluster.
 *
 * The same USB device id on every member (port 1-2) with different device
 * numbers (member K's is 20+K) tells whose device an entry is.
 */
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
#include "devpass/lxd/sync.h"
#include "test-util.h"
#include "testbed.h"

#define PORT "1-2"
#define ENTRY "devpass-50-cam-" PORT
/* Generous: two cores shared with other test programs. */
#define WAIT_MS 20000

static struct cluster_harness cluster;

struct member {
	UMockdevTestbed *tb;
	struct daemon_harness d;
	char *camera; /* syspath, or NULL */
};

struct fixture {
	struct member m[CLUSTER_MAX_MEMBERS];
	bool moved; /* the test created instance "mv" */
};

static const char *const containers[] = {"c1", "c2", "c3", NULL};

/* lxc/incus @args on member @k; its stdout (progress bars) dropped. */
static int client(size_t k, const char *const *args)
{
	char *out = NULL;
	int r = cluster_client(&cluster, k, &out, args);
	free(out);
	return r;
}

static struct member *member(struct fixture *f, size_t k)
{
	return &f->m[k - 1];
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	for (size_t k = 1; k <= cluster.n_members; k++) {
		struct member *m = member(f, k);
		m->tb = testbed_new();
		daemon_harness_init(&m->d, &cluster.members[k - 1]);
	}
	*state = f;
	return 0;
}

static void clear_entries(struct daemon_harness *d, const char *instance)
{
	json_object *none = json_object_new_object();
	assert_int_equal(lxd_instance_sync_devices(d->client, "default",
						   instance, "devpass-", none,
						   false, NULL, NULL),
			 0);
	json_object_put(none);
}

static bool instance_running(struct daemon_harness *d, const char *instance)
{
	json_object *md = daemon_instance(d, instance);
	bool running = strcmp(json_object_get_string(
				      json_object_object_get(md, "status")),
			      "Running") == 0;
	json_object_put(md);
	return running;
}

/* Puts back what a test may leave, whether it passed or failed: every
 * member online, no devpass-* entries, no instance "mv", cK running. */
static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	for (size_t k = 1; k <= cluster.n_members; k++) {
		struct member *m = member(f, k);
		if (m->d.pid > 0)
			daemon_stop(&m->d, SIGTERM);
		if (cluster.halted[k - 1])
			assert_int_equal(cluster_harness_resume(&cluster, k), 0);
	}
	if (f->moved)
		client(1, (const char *[]){"delete", "--force", "mv", NULL});
	/* Each through its own member: a member just back may not answer
	 * forwarded requests for a while (seen: a GET of c3 through member1
	 * timing out after member3's resume, on a loaded machine). */
	for (size_t k = 1; k <= cluster.n_members; k++) {
		const char *c = containers[k - 1];
		clear_entries(&member(f, k)->d, c);
		if (!instance_running(&member(f, k)->d, c))
			client(k, (const char *[]){"start", c, NULL});
	}
	for (size_t k = 1; k <= cluster.n_members; k++) {
		struct member *m = member(f, k);
		daemon_harness_cleanup(&m->d);
		g_free(m->camera);
		g_object_unref(m->tb);
	}
	free(f);
	return 0;
}

/* Makes @m's testbed the one that umockdev's preload in this process
 * (uevents) and in a child started now (devpassd) work on: the one that
 * $UMOCKDEV_DIR names, the last made unless said otherwise. */
static void use_testbed(struct member *m)
{
	g_autofree char *root = umockdev_testbed_get_root_dir(m->tb);
	setenv("UMOCKDEV_DIR", root, 1);
}

/* Writes rule 50-cam (the camera to @instances) on member @k and starts
 * its devpassd under its own testbed. */
static void start_member(struct fixture *f, size_t k, const char *instances)
{
	struct member *m = member(f, k);
	char text[256];
	snprintf(text, sizeof(text),
		 "[Match]\nSubsystem=usb\nVendor=046d\nProduct=082d\n"
		 "[Attach]\nInstance=%s\n",
		 instances);
	daemon_write_rule(&m->d, "50-cam", text);
	use_testbed(m);
	daemon_start(&m->d, NULL, true);
}

/* Plugs member @k's camera: its USB node is /dev/bus/usb/001/0(20+k),
 * whose minor is 19+k ((bus - 1) * 128 + devnum - 1). */
static void plug_camera(struct fixture *f, size_t k)
{
	struct member *m = member(f, k);
	const struct testbed_usb u = {
		.port = PORT, .vendor = 0x046d, .product = 0x082d,
		.manufacturer = "Logitech", .product_name = "Webcam",
		.busnum = 1, .devnum = 20 + (unsigned)k, .interface_class = -1,
	};
	use_testbed(m);
	m->camera = testbed_add_usb_device(m->tb, &u);
}

/* The minor of @instance's camera entry (whose device it is), or -1. */
static int entry_minor(struct daemon_harness *d, const char *instance)
{
	json_object *e = daemon_entries(d, instance), *entry = NULL, *minor;
	int n = -1;
	if (json_object_object_get_ex(e, ENTRY, &entry) &&
	    json_object_object_get_ex(entry, "minor", &minor))
		n = atoi(json_object_get_string(minor));
	json_object_put(e);
	return n;
}

/* The camera in @m's `devpass status`, or NULL. */
static json_object *device_status(struct member *m)
{
	json_object *s = daemon_status(&m->d);
	json_object *devs = json_object_object_get(s, "devices");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *dev = json_object_array_get_idx(devs, i);
		const char *id =
			json_object_get_string(json_object_object_get(dev, "id"));
		if (strcmp(id, PORT) == 0) {
			json_object_get(dev);
			json_object_put(s);
			return dev;
		}
	}
	json_object_put(s);
	return NULL; /* its uevent has not reached devpassd yet */
}

static const char *field(json_object *dev, const char *key)
{
	return json_object_get_string(json_object_object_get(dev, key));
}

/* The end of @m's devpassd log, for a failure to show what it did. */
static void print_log_tail(const struct member *m)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "tail -n 30 '%s' >&2", m->d.log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log %s)\n", m->d.log);
}

/* What assert_camera() waits for. */
struct camera_wanted {
	struct member *m;
	const char *state, *instance, *reason;
};

static bool camera_is(void *userdata)
{
	const struct camera_wanted *w = userdata;
	json_object *dev = device_status(w->m);
	const char *state = field(dev, "state");
	const char *instance = field(dev, "instance");
	const char *reason = field(dev, "reason");
	bool ok = state && strcmp(state, w->state) == 0 &&
		  (w->instance ? instance && strcmp(instance, w->instance) == 0
			       : !instance) &&
		  (!w->reason || (reason && strstr(reason, w->reason)));
	json_object_put(dev);
	return ok;
}

/* Waits until member @k's camera is in @state with @instance as its target
 * (NULL: none) and, when @reason is given, a reason saying it. */
static void assert_camera(struct fixture *f, size_t k, const char *state,
			  const char *instance, const char *reason)
{
	struct camera_wanted w = {member(f, k), state, instance, reason};
	if (wait_until(camera_is, &w, WAIT_MS))
		return;
	json_object *dev = device_status(w.m);
	print_log_tail(w.m);
	fail_msg("member%zu's camera: %s for %s (\"%s\"), not %s for %s "
		 "(\"%s\"); log: %s",
		 k, field(dev, "state"), field(dev, "instance"),
		 field(dev, "reason"), state, instance, reason, w.m->d.log);
	json_object_put(dev);
}

/*
 * Instance=c1 c2 c3, all running, one on each member: without the location
 * filter every devpassd would take c1, the first that runs.
 */
static void each_member_attaches_only_to_instances_on_it(void **state)
{
	struct fixture *f = *state;
	for (size_t k = 1; k <= cluster.n_members; k++) {
		start_member(f, k, "c1 c2 c3");
		plug_camera(f, k);
	}
	for (size_t k = 1; k <= cluster.n_members; k++) {
		const char *name = containers[k - 1];
		assert_camera(f, k, "attached", name, NULL);
		/* the entry on cK is member K's device, and the only one */
		assert_int_equal(entry_minor(&member(f, k)->d, name), 19 + k);
		assert_true(wait_entries(&member(f, k)->d, name, 1, 0));
	}
}

static void rule_naming_instance_elsewhere_waits_naming_its_member(void **state)
{
	struct fixture *f = *state;
	start_member(f, 1, "c2");
	plug_camera(f, 1);
	assert_camera(f, 1, "waiting", NULL, "c2 is on cluster member member2");
	/* the status follows the pass that would have written it */
	assert_true(wait_entries(&member(f, 1)->d, "c2", 0, 0));
}

static void instance_fallback_skips_instances_elsewhere(void **state)
{
	struct fixture *f = *state;
	start_member(f, 1, "c2 c3 c1");
	plug_camera(f, 1);
	assert_camera(f, 1, "attached", "c1", NULL);
	assert_int_equal(entry_minor(&member(f, 1)->d, "c1"), 20);
	assert_true(wait_entries(&member(f, 1)->d, "c2", 0, 0));
	assert_true(wait_entries(&member(f, 1)->d, "c3", 0, 0));
}

/*
 * A stopped instance moved to this member by `move --target` (a stopped
 * one: both servers refuse to move a running container between members
 * without live migration) is picked up when it starts here.
 */
static void instance_moved_here_is_picked_up(void **state)
{
	struct fixture *f = *state;
	f->moved = true;
	assert_int_equal(cluster_launch(&cluster, 2, false,
					(const char *[]){"mv", NULL}),
			 0);
	start_member(f, 1, "mv");
	plug_camera(f, 1);
	assert_camera(f, 1, "waiting", NULL, "mv is on cluster member member2");
	assert_int_equal(client(1, (const char *[]){"move", "mv", "--target",
						    "member1", NULL}),
			 0);
	/* LXD 5.0.2 moves by a copy to "lxd-move-of-UUID" here, the deletion
	 * there and a rename back: the rename, its last event, comes after
	 * the move. Incus 6.0.4 sends only instance-migrated, and before its
	 * location changes (measured: a list on that event still says
	 * member2), so its devpassd learns of the move at the next event:
	 * the start below, which is when a USB device can go in anyway. */
	if (strcmp(cluster.kind, "lxd") == 0)
		assert_camera(f, 1, "waiting", NULL, "mv is not running");
	assert_int_equal(client(1, (const char *[]){"start", "mv", NULL}), 0);
	assert_camera(f, 1, "attached", "mv", NULL);
	assert_int_equal(entry_minor(&member(f, 1)->d, "mv"), 20);
}

/*
 * Member 3 goes offline (its daemon stops, as when its host's LXD dies):
 * the devpassds of members 1 and 2 still attach what is plugged into them,
 * and member 3's catches up when its member is back.
 */
static void member_offline_does_not_stop_the_others(void **state)
{
	struct fixture *f = *state;
	for (size_t k = 1; k <= cluster.n_members; k++)
		start_member(f, k, "c1 c2 c3");
	assert_int_equal(cluster_harness_halt(&cluster, 3), 0);
	for (size_t k = 1; k <= 2; k++)
		plug_camera(f, k);
	assert_camera(f, 1, "attached", "c1", NULL);
	assert_camera(f, 2, "attached", "c2", NULL);
	assert_int_equal(entry_minor(&member(f, 2)->d, "c2"), 21);
	/* member 3's devpassd, which lost its server, still answers, and
	 * once its member is back it attaches what was plugged meanwhile */
	plug_camera(f, 3);
	json_object_put(daemon_status(&member(f, 3)->d));
	assert_int_equal(cluster_harness_resume(&cluster, 3), 0);
	assert_camera(f, 3, "attached", "c3", NULL);
	assert_int_equal(entry_minor(&member(f, 3)->d, "c3"), 22);
}

static int group_setup(void **state)
{
	(void)state;
	if (cluster_harness_start(&cluster, cluster.kind, 3) < 0)
		return -1;
	for (size_t k = 1; k <= cluster.n_members; k++)
		if (cluster_launch(&cluster, k, true,
				   (const char *[]){containers[k - 1], NULL}) <
		    0)
			return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cluster_harness_stop(&cluster);
	return 0;
}

int main(int argc, char **argv)
{
	/* The server: argv[1], else $DEVPASS_SERVER (as the other
	 * integration tests take it), else LXD. */
	const char *kind = argc > 1 ? argv[1] : getenv("DEVPASS_SERVER");
	if (!kind)
		kind = "lxd";
	if (strcmp(kind, "lxd") != 0 && strcmp(kind, "incus") != 0) {
		fprintf(stderr, "usage: %s [lxd|incus]\n", argv[0]);
		return 2;
	}
	cluster.kind = kind;
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			each_member_attaches_only_to_instances_on_it,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			rule_naming_instance_elsewhere_waits_naming_its_member,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			instance_fallback_skips_instances_elsewhere,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(instance_moved_here_is_picked_up,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			member_offline_does_not_stop_the_others, fixture_setup,
			fixture_teardown),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	const char *name = strcmp(kind, "incus") == 0
				   ? "devpassd in an Incus cluster"
				   : "devpassd in an LXD cluster";
	return _cmocka_run_group_tests(name, tests,
				       sizeof(tests) / sizeof(tests[0]),
				       group_setup, group_teardown);
}
