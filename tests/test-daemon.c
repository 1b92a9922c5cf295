/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devpassd end to end: a real private LXD with busybox containers, devices
 * from umockdev recordings and synthetic ones in a testbed, the daemon a
 * child under the testbed's preload, uevents sent by this process.
 *
 * The same tests run against LXD and against Incus ($DEVPASS_SERVER, as
 * meson's two entries of this program set it): the group setup checks
 * that the server that answers is the one named, and says its version.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "daemon-harness.h"
#include "devpass/service/control.h"
#include "devpass/lxd/client.h"
#include "devpass/lxd/sync.h"
#include "request.h" /* daemon/lxd/: the raw lxd_request() */
#include "test-util.h"
#include "testbed.h"

#define CAMERA "1-1.5.2.3"
#define KEYBOARD "1-1.5.4.2"
#define WAIT_MS 10000

static struct lxd_harness lxd;
/* "lxd 5.0.2" or "incus 6.0.4": what answers, as devpassd should say it. */
static char server_identity[64];

struct fixture {
	UMockdevTestbed *tb;
	struct daemon_harness d;
	int notify_fd; /* tells_systemd_...(): its socket, or -1 */
};

/* A USB device on bus 1 at @port; with @child a video4linux node. */
static char *plug(UMockdevTestbed *tb, const char *port, uint16_t product,
		  const char *serial, unsigned devnum, bool child)
{
	char video[16];
	snprintf(video, sizeof(video), "video%u", devnum);
	const struct testbed_usb u = {
		.port = port, .vendor = 0x046d, .product = product,
		.serial = serial, .manufacturer = "Logitech",
		.product_name = "Webcam", .busnum = 1, .devnum = devnum,
		.interface_class = child ? 0x0e : -1,
		.child_subsystem = child ? "video4linux" : NULL,
		.child_name = child ? video : NULL,
		.child_major = 81, .child_minor = devnum,
	};
	return testbed_add_usb_device(tb, &u);
}

static void unplug(UMockdevTestbed *tb, const char *syspath)
{
	umockdev_testbed_uevent(tb, syspath, "remove");
	umockdev_testbed_remove_device(tb, syspath);
}

/* Clears @instance's devpass-* entries. LXD may answer a write that
 * races the daemon's own with a passing error (-EAGAIN, "A matching
 * non-reusable operation has now succeeded"): tried again, as devpassd
 * does. */
static void clear_entries(struct daemon_harness *d, const char *instance)
{
	json_object *none = json_object_new_object();
	int r;
	for (int tries = 1;; tries++) {
		r = lxd_instance_sync_devices(d->client, "default", instance, "devpass-",
					      none, false, NULL, NULL);
		if (r != -EAGAIN || tries == 10)
			break;
		sleep_ms(200);
	}
	assert_int_equal(r, 0);
	json_object_put(none);
}

static bool instance_running(struct daemon_harness *d, const char *instance)
{
	json_object *md = daemon_instance(d, instance);
	bool running = strcmp(json_object_get_string(json_object_object_get(md, "status")),
			      "Running") == 0;
	json_object_put(md);
	return running;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->tb = testbed_new();
	f->notify_fd = -1;
	daemon_harness_init(&f->d, &lxd);
	*state = f;
	return 0;
}

/*
 * What every test may leave, put back whether it passed or failed: LXD up
 * again (a test that halted it failed before resuming), no devpass-*
 * entries, every instance running. Entries go first: a stopped c3 with a
 * GPU entry for a GPU the host lacks could not start.
 */
static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	if (f->d.pid > 0)
		daemon_stop(&f->d, SIGTERM);
	if (lxd.halted)
		assert_int_equal(lxd_harness_resume(&lxd), 0);
	for (const char *const *c = (const char *[]){"c1", "c2", "c3", NULL}; *c; c++)
		clear_entries(&f->d, *c);
	for (const char *const *c = (const char *[]){"c1", "c2", "c3", NULL}; *c; c++)
		if (!instance_running(&f->d, *c))
			lxc(&f->d, (const char *[]){"start", *c, NULL});
	if (f->notify_fd >= 0)
		close(f->notify_fd);
	daemon_harness_cleanup(&f->d);
	g_object_unref(f->tb);
	free(f);
	return 0;
}

static char *rule(const char *match, const char *attach)
{
	char *text = NULL;
	assert_true(asprintf(&text, "[Match]\nSubsystem=usb\n%s\n[Attach]\n%s\n",
			     match, attach) > 0);
	return text;
}

static void write_rule(struct fixture *f, const char *name, const char *match,
		       const char *attach)
{
	char *text = rule(match, attach);
	daemon_write_rule(&f->d, name, text);
	free(text);
}

static const char *entry_option(struct daemon_harness *d, const char *instance,
				const char *entry, const char *key)
{
	static char value[64];
	json_object *e = daemon_entries(d, instance), *dev = NULL;
	value[0] = '\0';
	if (json_object_object_get_ex(e, entry, &dev))
		snprintf(value, sizeof(value), "%s",
			 json_object_get_string(json_object_object_get(dev, key)));
	json_object_put(e);
	return value;
}

static void coldplug_then_hotplug_and_unplug(void **state)
{
	struct fixture *f = *state;
	testbed_load(f->tb, "canon-powershot-sx200.umockdev");
	testbed_load(f->tb, "usb-keyboard.umockdev");
	write_rule(f, "10-camera", "Serial=C767F1C714174C309255F70E4A7B2EE2",
		   "Instance=c1");
	write_rule(f, "20-keyboard", "Vendor=05f3\nProduct=0007",
		   "Instance=c2\nNodes=usb input");
	write_rule(f, "30-webcam", "Vendor=046d", "Instance=c2\nNodes=all");
	daemon_start(&f->d, NULL, true);

	/* coldplug: present at start */
	assert_true(wait_entry(&f->d, "c1", "devpass-10-camera-" CAMERA, true, WAIT_MS));
	assert_true(wait_entries(&f->d, "c2", 2, WAIT_MS));
	assert_true(container_has_node(&f->d, "c1", "/dev/bus/usb/001/011"));
	assert_true(container_has_node(&f->d, "c2", "/dev/input/event5"));

	/* hotplug: a webcam with its video4linux node */
	char *cam = plug(f->tb, "1-2", 0x082d, NULL, 20, true);
	assert_true(wait_entries(&f->d, "c2", 4, WAIT_MS));
	assert_true(container_has_node(&f->d, "c2", "/dev/bus/usb/001/020"));
	assert_true(container_has_node(&f->d, "c2", "/dev/video20"));

	/* unplug: its entries and nodes go, the keyboard's stay */
	unplug(f->tb, cam);
	assert_true(wait_entries(&f->d, "c2", 2, WAIT_MS));
	assert_false(container_has_node(&f->d, "c2", "/dev/video20"));
	assert_false(container_has_node(&f->d, "c2", "/dev/bus/usb/001/020"));
	assert_true(container_has_node(&f->d, "c2", "/dev/input/event5"));
	g_free(cam);
}

static void twins_go_by_port_and_phones_by_serial(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "10-left", "Vendor=046d\nPort=1-3", "Instance=c1");
	write_rule(f, "20-right", "Vendor=046d\nPort=1-4", "Instance=c2");
	write_rule(f, "05-phone", "Serial=PHONE-B", "Instance=c3");
	g_free(plug(f->tb, "1-3", 0x0843, NULL, 30, false));
	g_free(plug(f->tb, "1-4", 0x0843, NULL, 31, false));
	g_free(plug(f->tb, "1-5", 0x0843, "PHONE-A", 32, false));
	g_free(plug(f->tb, "1-6", 0x0843, "PHONE-B", 33, false));
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "c1", "devpass-10-left-1-3", true, WAIT_MS));
	assert_true(wait_entry(&f->d, "c2", "devpass-20-right-1-4", true, WAIT_MS));
	assert_true(wait_entry(&f->d, "c3", "devpass-05-phone-1-6", true, WAIT_MS));
	/* exactly this device, never its twin: its own minor, nothing else */
	assert_string_equal(entry_option(&f->d, "c1", "devpass-10-left-1-3", "minor"), "29");
	assert_string_equal(entry_option(&f->d, "c2", "devpass-20-right-1-4", "minor"), "30");
	assert_string_equal(entry_option(&f->d, "c3", "devpass-05-phone-1-6", "minor"), "32");
	assert_true(wait_entries(&f->d, "c1", 1, WAIT_MS));
	assert_true(wait_entries(&f->d, "c2", 1, WAIT_MS));
	assert_true(wait_entries(&f->d, "c3", 1, WAIT_MS));
}

static void waits_for_stopped_target_and_falls_back(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "c3", "--force", NULL}), 0);
	write_rule(f, "10-cam", "Port=1-7", "Instance=c3");
	write_rule(f, "20-fallback", "Port=1-8", "Instance=c3 c1");
	g_free(plug(f->tb, "1-7", 0x0843, NULL, 40, false));
	g_free(plug(f->tb, "1-8", 0x0843, NULL, 41, false));
	daemon_start(&f->d, NULL, true);
	assert_true(wait_state(&f->d, "1-7", "waiting", WAIT_MS));
	assert_true(wait_entry(&f->d, "c1", "devpass-20-fallback-1-8", true, WAIT_MS));

	assert_int_equal(lxc(&f->d, (const char *[]){"start", "c3", NULL}), 0);
	long long t0 = now_ms();
	assert_true(wait_entry(&f->d, "c3", "devpass-10-cam-1-7", true, WAIT_MS));
	print_message("attached %lld ms after `lxc start` returned (target: 1000)\n",
		      now_ms() - t0);
	assert_true(wait_state(&f->d, "1-7", "attached", WAIT_MS));
	/* the fallback device is not yanked from c1 when c3 starts */
	assert_true(wait_entries(&f->d, "c3", 1, WAIT_MS));
	assert_true(wait_entry(&f->d, "c1", "devpass-20-fallback-1-8", true, WAIT_MS));
}

static void restart_after_kill9_heals_without_duplicates(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "10-cams", "Vendor=046d", "Instance=c1");
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 50, false));
	char *gone = plug(f->tb, "1-3", 0x0843, NULL, 51, false);
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entries(&f->d, "c1", 2, WAIT_MS));
	assert_int_equal(daemon_stop(&f->d, SIGKILL), 128 + SIGKILL);

	unplug(f->tb, gone);
	g_free(gone);
	g_free(plug(f->tb, "1-4", 0x0843, NULL, 52, false));
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-3", false, WAIT_MS));
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-4", true, WAIT_MS));
	assert_true(wait_entries(&f->d, "c1", 2, WAIT_MS));

	/* a clean restart on a converged instance writes nothing */
	assert_int_equal(daemon_stop(&f->d, SIGTERM), 0);
	daemon_start(&f->d, NULL, true);
	assert_true(wait_state(&f->d, "1-4", "attached", WAIT_MS));
	assert_int_equal(daemon_writes(&f->d), 0);
	assert_true(wait_entries(&f->d, "c1", 2, WAIT_MS));
}

static void converges_after_lxd_restart(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "10-cams", "Vendor=046d", "Instance=c1");
	char *first = plug(f->tb, "1-2", 0x0843, NULL, 60, false);
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-2", true, WAIT_MS));

	assert_int_equal(lxd_harness_halt(&lxd), 0);
	unplug(f->tb, first);
	g_free(first);
	g_free(plug(f->tb, "1-3", 0x0843, NULL, 61, false));
	/* meanwhile status says what waits, and why */
	assert_true(wait_state(&f->d, "1-3", "pending", WAIT_MS));
	json_object *status = daemon_status(&f->d);
	json_object *lxd_status = json_object_object_get(status, "lxd");
	assert_non_null(json_object_get_string(json_object_object_get(lxd_status, "error")));
	json_object_put(status);
	assert_int_equal(lxd_harness_resume(&lxd), 0);

	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-3", true, 45000));
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-2", false, WAIT_MS));
	assert_true(wait_state(&f->d, "1-3", "attached", WAIT_MS));
}

/* What devpass must never change: everything but its own entries. */
static json_object *unmanaged_state(struct daemon_harness *d, const char *instance)
{
	json_object *md = daemon_instance(d, instance), *keep = json_object_new_object();
	json_object *devices = json_object_new_object(), *all = NULL;
	const char *fields[] = {"description", "config", "profiles", "architecture",
				"ephemeral", "stateful"};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		json_object_object_add(keep, fields[i],
				       json_object_get(json_object_object_get(md, fields[i])));
	json_object_object_get_ex(md, "devices", &all);
	json_object_object_foreach(all, name, value)
		if (strncmp(name, "devpass-", 8) != 0)
			json_object_object_add(devices, name, json_object_get(value));
	json_object_object_add(keep, "devices", devices);
	json_object_put(md);
	return keep;
}

static void set_description(struct daemon_harness *d, const char *instance, const char *text)
{
	json_object *body = json_object_new_object();
	json_object_object_add(body, "description", json_object_new_string(text));
	struct lxd_response resp = {0};
	char path[128];
	snprintf(path, sizeof(path), "/1.0/instances/%s", instance);
	assert_int_equal(lxd_request(d->client, "PATCH", path, body, NULL, &resp), 0);
	lxd_response_clear(&resp);
	json_object_put(body);
}

static void instance_is_untouched_but_for_own_entries(void **state)
{
	struct fixture *f = *state;
	struct daemon_harness *d = &f->d;
	set_description(d, "c2", "kiosk two, hands off");
	assert_int_equal(lxc(d, (const char *[]){"config", "set", "c2", "user.foo", "bar", NULL}), 0);
	assert_int_equal(lxc(d, (const char *[]){"config", "device", "add", "c2", "mine",
						 "unix-char", "source=/dev/null", "path=/dev/mine", NULL}), 0);
	assert_int_equal(lxc(d, (const char *[]){"profile", "create", "extra", NULL}), 0);
	assert_int_equal(lxc(d, (const char *[]){"profile", "add", "c2", "extra", NULL}), 0);
	json_object *before = unmanaged_state(d, "c2");

	testbed_load(f->tb, "usb-keyboard.umockdev");
	write_rule(f, "20-keyboard", "Vendor=05f3\nProduct=0007", "Instance=c2\nNodes=all");
	write_rule(f, "30-webcam", "Vendor=046d", "Instance=c2\nNodes=all\nMode=0660\nGid=44");
	daemon_start(d, NULL, true);
	char *cam = plug(f->tb, "1-2", 0x082d, "CAM1", 70, true);
	assert_true(wait_entries(d, "c2", 4, WAIT_MS));
	assert_string_equal(entry_option(d, "c2", "devpass-30-webcam-1-2-video70", "gid"), "44");
	unplug(f->tb, cam);
	g_free(cam);
	assert_true(wait_entries(d, "c2", 2, WAIT_MS));
	daemon_remove_rule(d, "20-keyboard");
	kill(d->pid, SIGHUP);
	assert_true(wait_entries(d, "c2", 0, WAIT_MS));

	json_object *after = unmanaged_state(d, "c2");
	assert_string_equal(json_object_to_json_string(before), json_object_to_json_string(after));
	json_object_put(before);
	json_object_put(after);
}

/* Takes back what the test above set on c2, however far it got. */
static int untouched_teardown(void **state)
{
	struct fixture *f = *state;
	struct daemon_harness *d = &f->d;
	if (d->pid > 0)
		daemon_stop(d, SIGTERM);
	lxc(d, (const char *[]){"profile", "remove", "c2", "extra", NULL});
	lxc(d, (const char *[]){"profile", "delete", "extra", NULL});
	lxc(d, (const char *[]){"config", "device", "remove", "c2", "mine", NULL});
	lxc(d, (const char *[]){"config", "unset", "c2", "user.foo", NULL});
	set_description(d, "c2", "");
	return fixture_teardown(state);
}

static const char *description(struct daemon_harness *d, const char *instance,
			       char **etag)
{
	static char text[64];
	json_object *md = NULL;
	free(*etag);
	assert_int_equal(lxd_instance_get(d->client, "default", instance, &md, etag), 0);
	snprintf(text, sizeof(text), "%s",
		 json_object_get_string(json_object_object_get(md, "description")));
	json_object_put(md);
	return text;
}

static void sync_one(struct daemon_harness *d, const char *entries)
{
	json_object *want = json_tokener_parse(entries);
	assert_int_equal(lxd_instance_sync_devices(d->client, "default", "c1", "devpass-",
						   want, false, NULL, NULL),
			 0);
	json_object_put(want);
}

/* Someone else's write, in the window between the sync's read and its
 * write (lxd_client_set_after_read()). */
struct intruder {
	struct lxd_client *c;
	long long at_ms;
};

static void intrude(void *userdata)
{
	struct intruder *in = userdata;
	if (in->at_ms)
		return;
	json_object *body = json_tokener_parse("{\"description\": \"theirs\"}");
	struct lxd_response resp = {0};
	assert_int_equal(lxd_request(in->c, "PATCH", "/1.0/instances/c1", body, NULL, &resp), 0);
	lxd_response_clear(&resp);
	json_object_put(body);
	in->at_ms = now_ms();
}

#define CAM_ENTRY "{\"devpass-d\": {\"type\": \"unix-char\", \"path\": \"/dev/dp-d\", " \
		  "\"source\": \"/dev/null\", \"major\": \"1\", \"minor\": \"3\"}}"

/*
 * The description, measured on this server: a PATCH (or PUT) that omits
 * it sets it to "", and the ETag does not cover it (both hold on LXD 5.0.2
 * and on Incus 6.0.4). So devpass cannot leave it out: it sends the one it
 * read with the ETag, which keeps every description written before its
 * read. What is left: one written by someone else after devpass's read
 * and before its write lands is reverted, and no If-Match can catch it.
 * devpass keeps that window to one read and the write right after it (no
 * other request between); the test writes there and sees the revert, and
 * prints how long the window was.
 */
static void description_kept_but_one_written_inside_our_window(void **state)
{
	struct fixture *f = *state;
	struct daemon_harness *d = &f->d;
	char *etag = NULL, *etag2 = NULL;

	/* the server's facts */
	set_description(d, "c1", "one");
	assert_string_equal(description(d, "c1", &etag), "one");
	set_description(d, "c1", "two");
	assert_string_equal(description(d, "c1", &etag2), "two");
	assert_string_equal(etag, etag2);
	struct lxd_response resp = {0};
	json_object *none = json_tokener_parse("{\"devices\": {}}");
	assert_int_equal(lxd_request(d->client, "PATCH", "/1.0/instances/c1", none, NULL, &resp), 0);
	lxd_response_clear(&resp);
	json_object_put(none);
	assert_string_equal(description(d, "c1", &etag), "");

	/* devpass's writes keep it: PATCH to add, PUT to remove */
	set_description(d, "c1", "kiosk one");
	sync_one(d, CAM_ENTRY);
	assert_true(wait_entries(d, "c1", 1, 0));
	assert_string_equal(description(d, "c1", &etag), "kiosk one");
	sync_one(d, "{}");
	assert_true(wait_entries(d, "c1", 0, 0));
	assert_string_equal(description(d, "c1", &etag), "kiosk one");

	/* what is left: a write inside the window is reverted */
	struct intruder in = {0};
	assert_int_equal(lxd_client_new(lxd.socket, &in.c), 0);
	lxd_client_set_after_read(d->client, intrude, &in);
	sync_one(d, CAM_ENTRY);
	long long window = now_ms() - in.at_ms;
	lxd_client_set_after_read(d->client, NULL, NULL);
	lxd_client_free(in.c);
	assert_true(in.at_ms > 0);
	print_message("a description written %lld ms before devpass's write "
		      "landed was reverted\n", window);
	assert_string_equal(description(d, "c1", &etag), "kiosk one");
	free(etag);
	free(etag2);
}

/* Leaves c1 with the description it had (""), whatever the test did. */
static int description_teardown(void **state)
{
	struct fixture *f = *state;
	lxd_client_set_after_read(f->d.client, NULL, NULL);
	set_description(&f->d, "c1", "");
	return fixture_teardown(state);
}

static void plug_many(UMockdevTestbed *tb, unsigned bus, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++) {
		char port[16];
		snprintf(port, sizeof(port), "%u-%u", bus, i);
		const struct testbed_usb u = {
			.port = port, .vendor = 0x18d1, .product = 0x4ee7,
			.busnum = bus, .devnum = i + 1, .interface_class = -1,
		};
		g_free(testbed_add_usb_device(tb, &u));
	}
}

static void bursts_cost_few_writes(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "40-phones", "Vendor=18d1", "Instance=c1");
	plug_many(f->tb, 2, 1, 16);
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entries(&f->d, "c1", 16, WAIT_MS));
	/* LXD shows the entries before devpassd has its answer and counts the
	 * write; the device's state is kept once the pass has ended. */
	assert_true(wait_state(&f->d, "2-16", "attached", WAIT_MS));
	unsigned coldplug = daemon_writes(&f->d);
	print_message("coldplug of 16 devices: %u LXD write(s)\n", coldplug);
	assert_int_equal(coldplug, 1);

	/* "At once", made deterministic: the first plug starts a write, the
	 * daemon is frozen right after it, so the other 15 pile up while
	 * that write is in flight, as a hub's devices would. */
	plug_many(f->tb, 3, 1, 1);
	kill(f->d.pid, SIGSTOP);
	plug_many(f->tb, 3, 2, 15);
	kill(f->d.pid, SIGCONT);
	assert_true(wait_entries(&f->d, "c1", 32, WAIT_MS));
	assert_true(wait_state(&f->d, "3-16", "attached", WAIT_MS));
	unsigned burst = daemon_writes(&f->d) - coldplug;
	print_message("hotplug burst of 16 devices: %u LXD write(s)\n", burst);
	assert_true(burst >= 1 && burst <= 2);
}

static void dry_run_changes_nothing(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "10-cams", "Vendor=046d", "Instance=c1");
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 80, false));
	json_object *before = daemon_instance(&f->d, "c1");
	daemon_start(&f->d, (const char *[]){"--dry-run", NULL}, true);
	assert_true(wait_state(&f->d, "1-2", "would-attach", WAIT_MS));
	g_free(plug(f->tb, "1-3", 0x0843, NULL, 81, false));
	assert_true(wait_state(&f->d, "1-3", "would-attach", WAIT_MS));
	assert_int_equal(daemon_writes(&f->d), 0);
	json_object *after = daemon_instance(&f->d, "c1");
	assert_string_equal(json_object_to_json_string(json_object_object_get(before, "devices")),
			    json_object_to_json_string(json_object_object_get(after, "devices")));
	json_object_put(before);
	json_object_put(after);
}

static void once_exits_by_whether_all_is_attached(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "10-cams", "Vendor=046d\nPort=1-2", "Instance=c1");
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 90, false));
	assert_int_equal(daemon_run(&f->d, (const char *[]){"--once", NULL}), 0);
	assert_true(wait_entries(&f->d, "c1", 1, 0));

	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "c3", "--force", NULL}), 0);
	write_rule(f, "20-stopped", "Vendor=046d\nPort=1-3", "Instance=c3");
	g_free(plug(f->tb, "1-3", 0x0843, NULL, 91, false));
	assert_int_equal(daemon_run(&f->d, (const char *[]){"--once", NULL}), 1);
}

static char *read_log(struct daemon_harness *d)
{
	gchar *text = NULL;
	assert_true(g_file_get_contents(d->log, &text, NULL, NULL));
	return text;
}

static void assert_log_has(const char *log, const char *line)
{
	if (!strstr(log, line))
		fail_msg("\"%s\" not in the log:\n%s", line, log);
}

/* --once says why it exits 1 or 2, at the default log level: each device
 * not attached with its reason; no "waiting for LXD" when it does not. */
static void once_says_why_it_exits(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "c3", "--force", NULL}), 0);
	write_rule(f, "20-stopped", "Vendor=046d\nPort=1-3", "Instance=c3");
	g_free(plug(f->tb, "1-3", 0x0843, NULL, 93, false));
	const char *info[] = {"--once", "--log-level", "info", NULL};
	assert_int_equal(daemon_run(&f->d, info), 1);
	g_autofree char *log = read_log(&f->d);
	assert_log_has(log, "20-stopped 1-3: waiting: c3 is not running (project default)");
	assert_log_has(log, "--once: exit 1: 1 device not attached: 1-3 (waiting)");

	assert_int_equal(truncate(f->d.log, 0), 0);
	const char *no_lxd[] = {"--once", "--log-level", "info", "--socket",
				"/nonexistent/unix.socket", NULL};
	assert_int_equal(daemon_run(&f->d, no_lxd), 2);
	g_autofree char *log2 = read_log(&f->d);
	assert_log_has(log2, "20-stopped 1-3: not attached: cannot reach LXD");
	assert_log_has(log2, "--once: exit 2: cannot reach LXD: No such file or directory; "
			     "1 device a rule owns not attached: 1-3 (pending)");
	if (strstr(log2, "waiting for LXD"))
		fail_msg("--once does not wait for LXD:\n%s", log2);
}

static void sighup_reloads_and_keeps_old_rules_when_broken(void **state)
{
	struct fixture *f = *state;
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 95, false));
	daemon_start(&f->d, NULL, true);
	assert_true(wait_state(&f->d, "1-2", "unmatched", WAIT_MS));

	write_rule(f, "10-cams", "Vendor=046d", "Instance=c1");
	kill(f->d.pid, SIGHUP);
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-2", true, WAIT_MS));

	/* a broken set is not taken: the device stays where it is */
	daemon_write_rule(&f->d, "05-broken", "[Match]\nVendr=046d\n");
	daemon_remove_rule(&f->d, "10-cams");
	kill(f->d.pid, SIGHUP);
	g_free(plug(f->tb, "1-3", 0x0843, NULL, 96, false));
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-3", true, WAIT_MS));
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-2", true, 0));
}

/* A file the loader refuses (writable by others: anyone could have put it
 * there) costs only itself: the reload takes the rest, new rules too. */
static void sighup_takes_the_rules_despite_a_refused_file(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "10-cams", "Vendor=046d\nPort=1-2", "Instance=c1");
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 97, false));
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-2", true, WAIT_MS));

	write_rule(f, "05-planted", "Vendor=046d", "Instance=c2");
	char path[256];
	snprintf(path, sizeof(path), "%s/05-planted.rules", f->d.rules_dir);
	assert_int_equal(chmod(path, 0666), 0);
	write_rule(f, "20-more", "Vendor=046d\nPort=1-3", "Instance=c1");
	g_free(plug(f->tb, "1-3", 0x0843, NULL, 98, false));
	kill(f->d.pid, SIGHUP);
	assert_true(wait_entry(&f->d, "c1", "devpass-20-more-1-3", true, WAIT_MS));
	assert_true(wait_entry(&f->d, "c1", "devpass-10-cams-1-2", true, 0));
	assert_true(wait_entries(&f->d, "c2", 0, 0));
}

#define DGRAM_QLEN "/proc/sys/net/unix/max_dgram_qlen"
static char saved_qlen[32];

/*
 * umockdev delivers uevents over unix datagram sockets, whose queue holds
 * 10 messages by default; the kernel's netlink buffer that it stands in
 * for holds thousands. A burst of 16 plugs would make umockdev abort, so
 * the queue is raised for the test (and restored after).
 */
static void set_dgram_qlen(const char *value)
{
	FILE *f = fopen(DGRAM_QLEN, "w");
	if (f) {
		fputs(value, f);
		fclose(f);
	}
}

/* Lines of devpassd's log that contain @needle. */
static unsigned log_count(struct daemon_harness *d, const char *needle)
{
	FILE *f = fopen(d->log, "r");
	char line[1024];
	unsigned n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

static void lxd_refusal_is_the_device_state_and_keeps_no_other_out(void **state)
{
	struct fixture *f = *state;
	/* LXD checks a physical GPU against the host's PCI bus, where this
	 * testbed GPU does not exist: it refuses the entry. */
	g_free(testbed_add_pci_device(f->tb, "0000:0b:00.0", 0x10de, 0x1b80,
				      0x030000, NULL, -1));
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 97, false));
	daemon_write_rule(&f->d, "10-gpu",
			  "[Match]\nSubsystem=pci\nClass=0300\n[Attach]\nInstance=c1\n");
	write_rule(f, "20-cam", "Vendor=046d", "Instance=c1");
	json_object *before = unmanaged_state(&f->d, "c1");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "c1", "devpass-20-cam-1-2", true, WAIT_MS));
	assert_true(wait_state(&f->d, "0000:0b:00.0", "refused", WAIT_MS));
	json_object *status = daemon_status(&f->d);
	json_object *devs = json_object_object_get(status, "devices");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *dev = json_object_array_get_idx(devs, i);
		if (strcmp(json_object_get_string(json_object_object_get(dev, "id")),
			   "0000:0b:00.0") == 0)
			print_message("GPU refused: %s\n", json_object_get_string(
				json_object_object_get(dev, "reason")));
	}
	json_object_put(status);
	assert_true(wait_entries(&f->d, "c1", 1, 0));
	/* A refusal must not feed itself (LXD's events on our writes): after a
	 * quiet second, devpassd has tried the GPU a few times, not hundreds. */
	sleep(1);
	unsigned tries = log_count(&f->d, "LXD refused 10-gpu");
	print_message("GPU tried %u time(s)\n", tries);
	assert_true(tries >= 1 && tries <= 4);
	/* however often it was tried, its state is said once */
	assert_int_equal(log_count(&f->d, "10-gpu 0000:0b:00.0 for default/c1: refused:"), 1);
	json_object *after = unmanaged_state(&f->d, "c1");
	assert_string_equal(json_object_to_json_string(before), json_object_to_json_string(after));
	json_object_put(before);
	json_object_put(after);
}

/* Whether devpass status says LXD's event stream is up. */
static bool events_up(void *userdata)
{
	json_object *status = daemon_status(userdata), *lxd_status, *events;
	bool up = json_object_object_get_ex(status, "lxd", &lxd_status) &&
		  json_object_object_get_ex(lxd_status, "events", &events) &&
		  strcmp(json_object_get_string(events), "up") == 0;
	json_object_put(status);
	return up;
}

/* Once it has read the instances at start (and once the event stream is
 * up), the daemon lists them no more: every lifecycle event of another
 * container (created, started, stopped, renamed, started, stopped, deleted
 * by `lxc`) and an unplug are seen from the events and from reads of single
 * instances by name. */
static void lifecycle_events_are_seen_without_a_list(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "10-cam", "Port=1-2", "Instance=c6 c5");
	write_rule(f, "20-kbd", "Port=1-3", "Instance=c1");
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 60, false));
	daemon_start(&f->d, NULL, true);
	assert_true(wait_state(&f->d, "1-2", "waiting", WAIT_MS));
	/* the stream coming up is a doubt (events may have been missed before
	 * it): the pass after it lists again, so the count starts after that */
	assert_true(wait_until(events_up, &f->d, WAIT_MS));
	char *kbd = plug(f->tb, "1-3", 0x0843, NULL, 61, false);
	assert_true(wait_entry(&f->d, "c1", "devpass-20-kbd-1-3", true, WAIT_MS));
	unsigned lists = daemon_lxd_counter(&f->d, "instance_lists");
	print_message("instance lists at start: %u\n", lists);
	assert_true(lists >= 1);

	assert_int_equal(lxc(&f->d, (const char *[]){"init", "busybox", "c5", "--quiet", NULL}), 0);
	assert_int_equal(lxc(&f->d, (const char *[]){"start", "c5", NULL}), 0);
	assert_true(wait_entry(&f->d, "c5", "devpass-10-cam-1-2", true, WAIT_MS));
	assert_true(wait_state(&f->d, "1-2", "attached", WAIT_MS));
	/* each change waits for devpassd's detach: LXD refuses a rename or
	 * a delete while devpassd's write to the instance runs */
	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "c5", "--force", NULL}), 0);
	assert_true(wait_state(&f->d, "1-2", "waiting", WAIT_MS));
	assert_true(wait_entry(&f->d, "c5", "devpass-10-cam-1-2", false, WAIT_MS));
	assert_int_equal(lxc(&f->d, (const char *[]){"rename", "c5", "c6", NULL}), 0);
	assert_int_equal(lxc(&f->d, (const char *[]){"start", "c6", NULL}), 0);
	assert_true(wait_state(&f->d, "1-2", "attached", WAIT_MS));
	assert_true(wait_entry(&f->d, "c6", "devpass-10-cam-1-2", true, WAIT_MS));
	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "c6", "--force", NULL}), 0);
	assert_true(wait_state(&f->d, "1-2", "waiting", WAIT_MS));
	assert_true(wait_entry(&f->d, "c6", "devpass-10-cam-1-2", false, WAIT_MS));
	assert_int_equal(lxc(&f->d, (const char *[]){"delete", "c6", NULL}), 0);
	unplug(f->tb, kbd);
	g_free(kbd);
	assert_true(wait_entry(&f->d, "c1", "devpass-20-kbd-1-3", false, WAIT_MS));

	unsigned reads = daemon_lxd_counter(&f->d, "instance_reads");
	print_message("after 7 lifecycle changes and an unplug: %u list(s), %u "
		      "read(s) by name\n",
		      daemon_lxd_counter(&f->d, "instance_lists"), reads);
	assert_int_equal(daemon_lxd_counter(&f->d, "instance_lists"), lists);
	assert_true(reads >= 1); /* c5 read by name after its creation */
}

static int lifecycle_teardown(void **state)
{
	struct fixture *f = *state;
	lxc(&f->d, (const char *[]){"delete", "--force", "c5", NULL});
	lxc(&f->d, (const char *[]){"delete", "--force", "c6", NULL});
	return fixture_teardown(state);
}

/* A device LXD refused is not sent again on the next passes (a plug of
 * another device to the same container, the event of that write), only
 * once the container changes. */
static void refusal_is_not_retried_until_the_instance_changes(void **state)
{
	struct fixture *f = *state;
	g_free(testbed_add_pci_device(f->tb, "0000:0b:00.0", 0x10de, 0x1b80,
				      0x030000, NULL, -1));
	g_free(plug(f->tb, "1-2", 0x0843, NULL, 97, false));
	daemon_write_rule(&f->d, "10-gpu",
			  "[Match]\nSubsystem=pci\nClass=0300\n[Attach]\nInstance=c1\n");
	write_rule(f, "20-cam", "Vendor=046d", "Instance=c1");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "c1", "devpass-20-cam-1-2", true, WAIT_MS));
	assert_true(wait_state(&f->d, "0000:0b:00.0", "refused", WAIT_MS));
	unsigned tries = log_count(&f->d, "LXD refused 10-gpu");
	assert_int_equal(tries, 1);

	g_free(plug(f->tb, "1-3", 0x0843, NULL, 98, false));
	assert_true(wait_entry(&f->d, "c1", "devpass-20-cam-1-3", true, WAIT_MS));
	/* the write's answer is counted after LXD shows the entry */
	sleep_ms(500);
	unsigned writes = daemon_writes(&f->d);
	sleep_ms(500); /* the event of that write, and its pass */
	assert_int_equal(log_count(&f->d, "LXD refused 10-gpu"), 1);
	assert_int_equal(daemon_writes(&f->d), writes);
	assert_true(wait_state(&f->d, "0000:0b:00.0", "refused", 0));

	/* someone changes c1: LXD may think otherwise now */
	assert_int_equal(lxc(&f->d, (const char *[]){"config", "set", "c1",
						     "user.devpass-test=1", NULL}),
			 0);
	long long deadline = now_ms() + WAIT_MS;
	while (log_count(&f->d, "LXD refused 10-gpu") < 2 && now_ms() < deadline)
		sleep_ms(50);
	assert_int_equal(log_count(&f->d, "LXD refused 10-gpu"), 2);
	assert_int_equal(lxc(&f->d, (const char *[]){"config", "unset", "c1",
						     "user.devpass-test", NULL}),
			 0);
}

/* A device that waits is said once, not on every reconcile: not on the
 * plugs of other devices, not on the events of our own writes, not on a
 * reload. */
static void waiting_is_logged_once_across_reconciles(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "c3", "--force", NULL}), 0);
	write_rule(f, "10-cam", "Port=1-7", "Instance=c3");
	write_rule(f, "20-more", "Port=1-9*", "Instance=c1");
	g_free(plug(f->tb, "1-7", 0x0843, NULL, 40, false));
	daemon_start(&f->d, NULL, true);
	assert_true(wait_state(&f->d, "1-7", "waiting", WAIT_MS));
	for (unsigned i = 0; i < 4; i++) {
		char port[16], entry[64];
		snprintf(port, sizeof(port), "1-9%u", i);
		snprintf(entry, sizeof(entry), "devpass-20-more-%s", port);
		if (i == 2)
			kill(f->d.pid, SIGHUP);
		g_free(plug(f->tb, port, 0x0843, NULL, 42 + i, false));
		assert_true(wait_entry(&f->d, "c1", entry, true, WAIT_MS));
	}
	assert_true(wait_state(&f->d, "1-7", "waiting", WAIT_MS));
	unsigned said = log_count(&f->d, "10-cam 1-7: waiting: c3 is not running");
	print_message("waiting said %u time(s) over 5+ reconciles\n", said);
	assert_int_equal(said, 1);
}

/* Binds a datagram socket where devpassd's sd_notify() messages land. */
static int notify_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void expect_notify(int fd, const char *state)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, state);
}

static void tells_systemd_ready_reloading_stopping(void **state)
{
	struct fixture *f = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/notify", f->d.dir);
	int fd = f->notify_fd = notify_socket(path);
	setenv("NOTIFY_SOCKET", path, 1);
	daemon_start(&f->d, NULL, true);
	unsetenv("NOTIFY_SOCKET");
	expect_notify(fd, "READY=1");
	kill(f->d.pid, SIGHUP);
	expect_notify(fd, "RELOADING=1");
	expect_notify(fd, "READY=1");
	assert_int_equal(daemon_stop(&f->d, SIGTERM), 0);
	expect_notify(fd, "STOPPING=1");
	close(steal_fd(&f->notify_fd));
}

/* NOTIFY_SOCKET is not left set when daemon_start() fails. */
static int notify_teardown(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	return fixture_teardown(state);
}

static void status_is_for_root_only(void **state)
{
	struct fixture *f = *state;
	daemon_start(&f->d, NULL, true);
	struct stat st;
	assert_int_equal(stat(f->d.control, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		json_object *reply = NULL;
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		_exit(control_request(f->d.control, "status", &reply) == -EACCES ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* --control names a regular file: devpassd says why and exits; the file
 * stays as it was (it was deleted once). */
static void control_on_a_regular_file_is_left_alone(void **state)
{
	struct fixture *f = *state;
	FILE *file = fopen(f->d.control, "w");
	assert_non_null(file);
	fputs("keep me\n", file);
	assert_int_equal(fclose(file), 0);
	assert_int_equal(daemon_run(&f->d, NULL), 2);
	char text[32] = "";
	file = fopen(f->d.control, "r");
	assert_non_null(file);
	assert_non_null(fgets(text, sizeof(text), file));
	fclose(file);
	unlink(f->d.control);
	assert_string_equal(text, "keep me\n");
	assert_int_equal(log_count(&f->d, "exists and is not a socket"), 1);
}

static long long timed_status(struct daemon_harness *d)
{
	json_object *reply = NULL;
	long long t0 = now_ms();
	assert_int_equal(control_request(d->control, "status", &reply), 0);
	json_object_put(reply);
	return now_ms() - t0;
}

/*
 * 40 root clients connect and say nothing (8 made status take 8 s, 40
 * made it fail). The target is 100 ms; the margin for a loaded machine:
 * the best of five within it, every one within 1 s.
 */
static void idle_control_clients_do_not_delay_status(void **state)
{
	struct fixture *f = *state;
	int idle[40];
	daemon_start(&f->d, NULL, true);
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->d.control);
		idle[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(idle[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	sleep_ms(100);
	long long best = -1, worst = 0;
	for (int i = 0; i < 5; i++) {
		long long ms = timed_status(&f->d);
		best = best < 0 || ms < best ? ms : best;
		worst = ms > worst ? ms : worst;
	}
	print_message("status with 40 idle clients: best %lld ms, worst %lld ms\n",
		      best, worst);
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++)
		close(idle[i]);
	assert_true(best < 100);
	assert_true(worst < 1000);
}

/* How many reconciles devpassd ran (status "reconciles"). */
static long long reconciles(struct daemon_harness *d)
{
	json_object *st = daemon_status(d), *n = NULL;
	assert_true(json_object_object_get_ex(st, "reconciles", &n));
	long long v = json_object_get_int64(n);
	json_object_put(st);
	return v;
}

/* Plugs phone 2-@n and returns how long until c1 holds @entries. */
static long long timed_plug(struct fixture *f, unsigned n, size_t entries)
{
	long long t0 = now_ms();
	plug_many(f->tb, 2, n, 1);
	assert_true(wait_entries(&f->d, "c1", entries, WAIT_MS));
	return now_ms() - t0;
}

/*
 * 3000 "change" uevents of one attached device that alter nothing: no
 * reconcile, no LXD write, and a phone plugged behind 1500 of them
 * attaches about as fast as one plugged on a quiet bus (a flapping device
 * once held a keyboard back 65 s). Reconciles: the plug's, and at most two
 * more for LXD's events of our own write. The bound is generous for a
 * loaded machine: the plug in the storm within 3x the quiet one plus 1 s.
 */
static void change_storm_costs_no_write_and_delays_no_plug(void **state)
{
	struct fixture *f = *state;
	write_rule(f, "40-phones", "Vendor=18d1", "Instance=c1");
	plug_many(f->tb, 2, 1, 1);
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entries(&f->d, "c1", 1, WAIT_MS));
	long long quiet = timed_plug(f, 2, 2);
	sleep_ms(200);
	unsigned before = daemon_writes(&f->d);
	long long passes = reconciles(&f->d);
	const char *flapping = "/sys/devices/2-1";
	for (unsigned i = 0; i < 1500; i++)
		umockdev_testbed_uevent(f->tb, flapping, "change");
	/* the plug queues behind 1500 changes */
	long long stormy = timed_plug(f, 3, 3);
	for (unsigned i = 0; i < 1500; i++)
		umockdev_testbed_uevent(f->tb, flapping, "change");
	long long status_ms = timed_status(&f->d);
	sleep_ms(500); /* the rest of the storm is read */
	unsigned writes = daemon_writes(&f->d) - before;
	passes = reconciles(&f->d) - passes;
	print_message("plug on a quiet bus: %lld ms; behind 1500 changes: %lld ms; "
		      "status then: %lld ms; during the storm LXD writes: %u, "
		      "reconciles: %lld\n",
		      quiet, stormy, status_ms, writes, passes);
	assert_true(status_ms < 1000);
	assert_int_equal(writes, 1);
	assert_true(passes >= 1 && passes <= 3);
	assert_true(stormy <= 3 * quiet + 1000);
}

static bool status_names_the_server(void *userdata)
{
	json_object *status = daemon_status(userdata), *lxd_status, *server;
	bool named = json_object_object_get_ex(status, "lxd", &lxd_status) &&
		     json_object_object_get_ex(lxd_status, "server", &server) &&
		     json_object_is_type(server, json_type_string) &&
		     strcmp(json_object_get_string(server), server_identity) == 0;
	json_object_put(status);
	return named;
}

/* devpassd says which server it talks to: once in its log, with what it
 * found, and in `devpass status` (once its first GET /1.0 is answered:
 * that is not waited for before READY). */
static void status_and_log_name_the_server(void **state)
{
	struct fixture *f = *state;
	daemon_start(&f->d, NULL, true);
	assert_true(wait_until(status_names_the_server, &f->d, WAIT_MS));
	char said[256];
	snprintf(said, sizeof(said), "%s at %s: usb serial", server_identity, lxd.socket);
	assert_int_equal(log_count(&f->d, said), 1);
}

static void gpu_entry_goes_into_stopped_container_config(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "c3", "--force", NULL}), 0);
	g_free(testbed_add_pci_device(f->tb, "0000:0b:00.0", 0x10de, 0x1b80,
				      0x030000, "nvidia", -1));
	daemon_write_rule(&f->d, "10-gpu",
			  "[Match]\nSubsystem=pci\nClass=0300\n[Attach]\nInstance=c3\n");
	json_object *before = unmanaged_state(&f->d, "c3");
	daemon_start(&f->d, NULL, true);
	const char *entry = "devpass-10-gpu-0000_0b_00.0";
	assert_true(wait_entry(&f->d, "c3", entry, true, WAIT_MS));
	assert_string_equal(entry_option(&f->d, "c3", entry, "type"), "gpu");
	assert_string_equal(entry_option(&f->d, "c3", entry, "gputype"), "physical");
	assert_string_equal(entry_option(&f->d, "c3", entry, "pci"), "0000:0b:00.0");
	assert_true(wait_state(&f->d, "0000:0b:00.0", "attached", WAIT_MS));
	json_object *after = unmanaged_state(&f->d, "c3");
	assert_string_equal(json_object_to_json_string(before), json_object_to_json_string(after));
	json_object_put(before);
	json_object_put(after);
	/* c3 could not start with a GPU the host lacks: take it out first */
	daemon_stop(&f->d, SIGTERM);
	clear_entries(&f->d, "c3");
	assert_int_equal(lxc(&f->d, (const char *[]){"start", "c3", NULL}), 0);
}

/* The server that answers is the one $DEVPASS_SERVER named, not a system
 * one or the other kind: each result is that server's. */
static int server_is_the_one_named(void)
{
	const char *want = lxd.server == LXD_HARNESS_INCUS ? "incus" : "lxd";
	struct lxd_client *c = NULL;
	struct lxd_server *s = NULL;
	int r = lxd_client_new(lxd.socket, &c);
	if (r == 0)
		r = lxd_server_get(c, &s);
	if (r == 0 && (!s->server || strcmp(s->server, want) != 0)) {
		fprintf(stderr, "%s answers, not %s\n", s->server, want);
		r = -EPROTO;
	}
	if (r == 0)
		snprintf(server_identity, sizeof(server_identity), "%s %s",
			 s->server, s->server_version);
	if (r == 0)
		fprintf(stderr, "against a real %s %s: device_usb_serial %s, "
			"pci_hotplug %s, device_patch_removal %s\n",
			s->server, s->server_version,
			lxd_server_has_extension(s, "device_usb_serial") ? "yes" : "no",
			lxd_server_has_extension(s, "pci_hotplug") ? "yes" : "no",
			lxd_server_has_extension(s, "device_patch_removal") ? "yes" : "no");
	lxd_server_free(s);
	lxd_client_free(c);
	return r;
}

static int group_setup(void **state)
{
	FILE *f = fopen(DGRAM_QLEN, "r");
	if (f && !fgets(saved_qlen, sizeof(saved_qlen), f))
		saved_qlen[0] = '\0';
	if (f)
		fclose(f);
	set_dgram_qlen("4096");
	int r = lxd_harness_start(&lxd, (const char *[]){"c1", "c2", "c3", NULL});
	return r < 0 ? r : server_is_the_one_named();
}

static int group_teardown(void **state)
{
	lxd_harness_stop(&lxd);
	if (saved_qlen[0])
		set_dgram_qlen(saved_qlen);
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
		T(coldplug_then_hotplug_and_unplug),
		T(twins_go_by_port_and_phones_by_serial),
		T(waits_for_stopped_target_and_falls_back),
		T(restart_after_kill9_heals_without_duplicates),
		cmocka_unit_test_setup_teardown(instance_is_untouched_but_for_own_entries,
						fixture_setup, untouched_teardown),
		cmocka_unit_test_setup_teardown(description_kept_but_one_written_inside_our_window,
						fixture_setup, description_teardown),
		T(bursts_cost_few_writes),
		T(dry_run_changes_nothing),
		T(once_exits_by_whether_all_is_attached),
		T(once_says_why_it_exits),
		T(sighup_reloads_and_keeps_old_rules_when_broken),
		T(sighup_takes_the_rules_despite_a_refused_file),
		T(lxd_refusal_is_the_device_state_and_keeps_no_other_out),
		T(waiting_is_logged_once_across_reconciles),
		cmocka_unit_test_setup_teardown(lifecycle_events_are_seen_without_a_list,
						fixture_setup, lifecycle_teardown),
		T(refusal_is_not_retried_until_the_instance_changes),
		cmocka_unit_test_setup_teardown(tells_systemd_ready_reloading_stopping,
						fixture_setup, notify_teardown),
		T(status_is_for_root_only),
		T(control_on_a_regular_file_is_left_alone),
		T(idle_control_clients_do_not_delay_status),
		T(change_storm_costs_no_write_and_delays_no_plug),
		T(status_and_log_name_the_server),
		T(gpu_entry_goes_into_stopped_container_config),
		T(converges_after_lxd_restart),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	/* DEVPASS_TEST_FILTER=glob runs only the tests it names */
	if (getenv("DEVPASS_TEST_FILTER"))
		cmocka_set_test_filter(getenv("DEVPASS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
