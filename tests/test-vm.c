/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devpassd and VMs, against the fake LXD of tests/fake-lxd/fake-lxd.py:
 * VMs cannot run here as tests need them (LXD 5.0.2's need vhost_vsock,
 * which this kernel lacks, or a slow TCG workaround; Incus's bind a vsock
 * listener), nor LXD versions other than Debian's 5.0.2, so this fake
 * stands in. Each test names the extension set it runs against:
 * "lxd-5.0.2" (no device_usb_serial, pci_hotplug, device_patch_removal:
 * answers as a running 5.0.2 VM was measured to, which
 * fake_answers_as_a_running_lxd_5_0_2_vm_was_measured checks),
 * "incus-6.0.4" (device_usb_serial only) or "lxd-current" (all three, from
 * the LXD sources: nothing newer than 5.0.2 runs here). Devices come from
 * a umockdev testbed; the daemon runs as a child under its preload.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "daemon-harness.h"
#include "devpass/lxd/client.h"
#include "devpass/lxd/sync.h"
#include "request.h" /* daemon/lxd/: the raw lxd_request() */
#include "test-util.h"
#include "testbed.h"

#define GPU "0000:01:00.0"
#define AUDIO "0000:01:00.1"
/* Entry names hold no ':' (a VM's QEMU id refuses it). */
#define GPU_ENTRY "devpass-60-gpu-0000_01_00.0"
#define AUDIO_ENTRY "devpass-60-gpu-0000_01_00.1"
#define WAIT_MS 10000

struct fixture {
	UMockdevTestbed *tb;
	struct lxd_harness fake; /* only its socket: the fake is no LXD */
	pid_t fake_pid;
	struct daemon_harness d;
};

/* Starts the fake with @ext_set and @instances ("vm1:virtual-machine:
 * Running", NULL-terminated) and a daemon harness on it. */
static void fake_start(struct fixture *f, const char *ext_set,
		       const char *const *instances)
{
	snprintf(f->fake.dir, sizeof(f->fake.dir), "/tmp/fake-lxd-XXXXXX");
	assert_non_null(mkdtemp(f->fake.dir));
	snprintf(f->fake.socket, sizeof(f->fake.socket), "%s/unix.socket",
		 f->fake.dir);
	char script[4096];
	snprintf(script, sizeof(script), "%s/tests/fake-lxd/fake-lxd.py",
		 getenv("DEVPASS_SOURCE_DIR") ?: ".");
	const char *argv[12] = {"python3", script, f->fake.socket, ext_set};
	for (size_t i = 0; instances[i] && i < 7; i++)
		argv[4 + i] = instances[i];
	fflush(NULL);
	f->fake_pid = fork();
	assert_true(f->fake_pid >= 0);
	if (f->fake_pid == 0) {
		/* the fake is a plain program: not under the testbed */
		unsetenv("LD_PRELOAD");
		unsetenv("UMOCKDEV_DIR");
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	struct stat st;
	for (int i = 0; i < 250 && stat(f->fake.socket, &st) < 0; i++)
		sleep_ms(20);
	struct lxd_client *c = NULL;
	assert_int_equal(lxd_client_new(f->fake.socket, &c), 0);
	struct lxd_server *s = NULL;
	assert_int_equal(lxd_server_get(c, &s), 0);
	assert_non_null(s);
	lxd_server_free(s);
	lxd_client_free(c);
	daemon_harness_init(&f->d, &f->fake);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->tb = testbed_new();
	f->fake_pid = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->d.pid > 0)
		daemon_stop(&f->d, SIGTERM);
	if (f->d.client)
		daemon_harness_cleanup(&f->d);
	if (f->fake_pid > 0) {
		kill(f->fake_pid, SIGTERM);
		waitpid(f->fake_pid, NULL, 0);
	}
	unlink(f->fake.socket);
	rmdir(f->fake.dir);
	g_object_unref(f->tb);
	free(f);
	return 0;
}

static void pci_rule(struct fixture *f, const char *match, const char *attach)
{
	char *text = NULL;
	assert_true(asprintf(&text, "[Match]\nSubsystem=pci\n%s\n[Attach]\n%s\n",
			     match, attach) > 0);
	daemon_write_rule(&f->d, "60-gpu", text);
	free(text);
}

static char *gpu(struct fixture *f)
{
	return testbed_add_pci_device(f->tb, GPU, 0x10de, 0x1eb8, 0x030000,
				      "nvidia", 1);
}

static char *audio(struct fixture *f)
{
	return testbed_add_pci_device(f->tb, AUDIO, 0x10de, 0x10f0, 0x040300,
				      "snd_hda_intel", 1);
}

/* The status "reason" of device @id (a copy), or NULL. */
static char *status_reason(struct fixture *f, const char *id)
{
	json_object *s = daemon_status(&f->d);
	json_object *devs = json_object_object_get(s, "devices");
	char *why = NULL;
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *dev = json_object_array_get_idx(devs, i);
		const char *have = json_object_get_string(json_object_object_get(dev, "id"));
		const char *r = json_object_get_string(json_object_object_get(dev, "reason"));
		if (strcmp(have, id) == 0 && r)
			why = strdup(r);
	}
	json_object_put(s);
	return why;
}

static void assert_reason(struct fixture *f, const char *id, const char *part)
{
	char *why = status_reason(f, id);
	if (!why || !strstr(why, part))
		fail_msg("reason of %s: \"%s\", wanted \"%s\" in it", id,
			 why ? why : "(none)", part);
	free(why);
}

/* Starts or stops @name on the fake, as `lxc start/stop` would. */
static void vm_state(struct fixture *f, const char *name, const char *action)
{
	char path[128];
	snprintf(path, sizeof(path), "/1.0/instances/%s/state", name);
	json_object *body = json_object_new_object();
	json_object_object_add(body, "action", json_object_new_string(action));
	struct lxd_response resp = {0};
	assert_int_equal(lxd_request(f->d.client, "PUT", path, body, NULL, &resp), 0);
	lxd_response_clear(&resp);
	json_object_put(body);
}

/* Whether the fake was sent a request starting with @prefix. */
static bool fake_got(struct fixture *f, const char *prefix)
{
	struct lxd_response resp = {0};
	assert_int_equal(lxd_request(f->d.client, "GET", "/fake/log", NULL, NULL, &resp), 0);
	bool got = false;
	for (size_t i = 0; i < json_object_array_length(resp.metadata); i++)
		got |= strncmp(json_object_get_string(json_object_array_get_idx(
				       resp.metadata, i)),
			       prefix, strlen(prefix)) == 0;
	lxd_response_clear(&resp);
	return got;
}

/* Polls the fake's request log until a request starting with @prefix shows. */
static bool fake_wait_got(struct fixture *f, const char *prefix, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		if (fake_got(f, prefix))
			return true;
		sleep_ms(20);
	}
	return false;
}

static const char *const running_vm[] = {"vm1:virtual-machine:Running", NULL};
static const char *const stopped_vm[] = {"vm1:virtual-machine:Stopped", NULL};

/* lxd-current: pci_hotplug, so a running VM takes the device now. */
static void pci_hotplugs_into_running_vm(void **state)
{
	struct fixture *f = *state;
	g_free(gpu(f));
	fake_start(f, "lxd-current", running_vm);
	pci_rule(f, "Address=" GPU, "Instance=vm1");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "vm1", GPU_ENTRY, true, WAIT_MS));
	assert_true(wait_state(&f->d, GPU, "attached", WAIT_MS));
	json_object *e = daemon_entries(&f->d, "vm1");
	json_object *entry = json_object_object_get(e, GPU_ENTRY);
	assert_string_equal(json_object_get_string(json_object_object_get(entry, "type")), "pci");
	assert_string_equal(json_object_get_string(json_object_object_get(entry, "address")), GPU);
	json_object_put(e);
}

/* lxd-5.0.2: no pci_hotplug; the entry waits for the VM to stop, is
 * written then, and stays when it starts. */
static void pci_waits_for_vm_next_start_without_hotplug(void **state)
{
	struct fixture *f = *state;
	g_free(gpu(f));
	fake_start(f, "lxd-5.0.2", running_vm);
	pci_rule(f, "Address=" GPU, "Instance=vm1");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_state(&f->d, GPU, "waiting", WAIT_MS));
	assert_reason(f, GPU, "waits for vm1's next start: LXD lacks pci_hotplug");
	assert_true(wait_entries(&f->d, "vm1", 0, 200));

	vm_state(f, "vm1", "stop");
	assert_true(wait_entry(&f->d, "vm1", GPU_ENTRY, true, WAIT_MS));
	assert_true(wait_state(&f->d, GPU, "attached", WAIT_MS));
	assert_reason(f, GPU, "vm1 is stopped");
	vm_state(f, "vm1", "start");
	sleep_ms(300);
	assert_true(wait_entry(&f->d, "vm1", GPU_ENTRY, true, WAIT_MS));
	assert_true(wait_state(&f->d, GPU, "attached", WAIT_MS));
}

/* Unplugs the GPU of a stopped VM; @patch: removal by PATCH expected. */
static void removal_by(void **state, const char *ext_set, bool patch)
{
	struct fixture *f = *state;
	char *g = gpu(f);
	fake_start(f, ext_set, stopped_vm);
	pci_rule(f, "Address=" GPU, "Instance=vm1");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "vm1", GPU_ENTRY, true, WAIT_MS));
	umockdev_testbed_uevent(f->tb, g, "remove");
	umockdev_testbed_remove_device(f->tb, g);
	g_free(g);
	assert_true(wait_entry(&f->d, "vm1", GPU_ENTRY, false, WAIT_MS));
	assert_int_equal(fake_got(f, "PUT /1.0/instances/vm1"), !patch);
	/* The entry is gone when the PUT lands; the wait for its operation
	 * comes after, so poll for it. */
	if (patch)
		assert_false(fake_got(f, "GET /1.0/operations/"));
	else
		assert_true(fake_wait_got(f, "GET /1.0/operations/", WAIT_MS));
	/* nothing else of the instance changed */
	json_object *md = daemon_instance(&f->d, "vm1");
	json_object *devices = json_object_object_get(md, "devices");
	assert_int_equal(json_object_object_length(devices), 1);
	assert_true(json_object_object_get_ex(devices, "root", NULL));
	assert_string_equal(json_object_get_string(json_object_object_get(md, "description")),
			    "fake virtual-machine");
	json_object_put(md);
}

/* lxd-current: device_patch_removal, so one PATCH with "name": null. */
static void removal_by_patch_on_current_lxd(void **state)
{
	removal_by(state, "lxd-current", true);
}

/* lxd-5.0.2: a PUT of the whole instance, and its operation waited for. */
static void removal_by_put_and_operation_on_lxd_5_0_2(void **state)
{
	removal_by(state, "lxd-5.0.2", false);
}

static void usb_to_vm(void **state, const char *ext_set, bool pinned)
{
	struct fixture *f = *state;
	const struct testbed_usb cam = {
		.port = "1-2", .vendor = 0x046d, .product = 0x082d,
		.busnum = 1, .devnum = 7, .interface_class = -1,
	};
	struct testbed_usb twin = cam;
	twin.port = "1-3";
	twin.devnum = 8;
	g_free(testbed_add_usb_device(f->tb, &cam));
	g_free(testbed_add_usb_device(f->tb, &twin));
	fake_start(f, ext_set, running_vm);
	daemon_write_rule(&f->d, "50-cam",
			  "[Match]\nSubsystem=usb\nPort=1-2\n[Attach]\nInstance=vm1\n");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "vm1", "devpass-50-cam-1-2", true, WAIT_MS));
	assert_true(wait_state(&f->d, "1-2", "attached", WAIT_MS));
	json_object *e = daemon_entries(&f->d, "vm1");
	json_object *entry = json_object_object_get(e, "devpass-50-cam-1-2");
	assert_string_equal(json_object_get_string(json_object_object_get(entry, "type")), "usb");
	assert_string_equal(json_object_get_string(json_object_object_get(entry, "vendorid")), "046d");
	assert_string_equal(json_object_get_string(json_object_object_get(entry, "productid")), "082d");
	assert_int_equal(json_object_object_get_ex(entry, "busnum", NULL), pinned);
	assert_int_equal(json_object_object_get_ex(entry, "devnum", NULL), pinned);
	if (pinned) {
		assert_string_equal(json_object_get_string(json_object_object_get(entry, "devnum")), "7");
		char *why = status_reason(f, "1-2");
		assert_null(why);
	} else {
		/* a running 5.0.2 VM refuses "serial" too (measured) */
		assert_false(json_object_object_get_ex(entry, "serial", NULL));
		assert_reason(f, "1-2", "and 1-3 is one too");
	}
	json_object_put(e);
}

/* lxd-current: device_usb_serial: pinned by busnum/devnum. */
static void usb_to_vm_pinned_with_device_usb_serial(void **state)
{
	usb_to_vm(state, "lxd-current", true);
}

/* lxd-5.0.2: ids only, and status warns of the twin it would catch. */
static void usb_to_vm_warns_of_twin_on_lxd_5_0_2(void **state)
{
	usb_to_vm(state, "lxd-5.0.2", false);
}

/* incus-6.0.4: device_usb_serial without device_patch_removal (Incus's
 * VMs cannot run here): pinned by busnum/devnum going in, and out by a
 * PUT, never by a PATCH with null (which Incus refuses, as measured on a
 * real one). */
static void usb_to_vm_on_incus_pinned_then_removed_by_put(void **state)
{
	struct fixture *f = *state;
	const struct testbed_usb cam = {
		.port = "1-2", .vendor = 0x046d, .product = 0x082d,
		.busnum = 1, .devnum = 7, .interface_class = -1,
	};
	char *syspath = testbed_add_usb_device(f->tb, &cam);
	fake_start(f, "incus-6.0.4", running_vm);
	daemon_write_rule(&f->d, "50-cam",
			  "[Match]\nSubsystem=usb\nPort=1-2\n[Attach]\nInstance=vm1\n");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entry(&f->d, "vm1", "devpass-50-cam-1-2", true, WAIT_MS));
	json_object *e = daemon_entries(&f->d, "vm1");
	json_object *entry = json_object_object_get(e, "devpass-50-cam-1-2");
	assert_string_equal(json_object_get_string(json_object_object_get(entry, "busnum")), "1");
	assert_string_equal(json_object_get_string(json_object_object_get(entry, "devnum")), "7");
	json_object_put(e);
	umockdev_testbed_uevent(f->tb, syspath, "remove");
	umockdev_testbed_remove_device(f->tb, syspath);
	g_free(syspath);
	assert_true(wait_entry(&f->d, "vm1", "devpass-50-cam-1-2", false, WAIT_MS));
	assert_true(fake_got(f, "PUT /1.0/instances/vm1"));
	json_object *md = daemon_instance(&f->d, "vm1");
	assert_string_equal(json_object_get_string(json_object_object_get(md, "description")),
			    "fake virtual-machine");
	json_object_put(md);
}

/* lxd-current: IommuGroup=whole: GPU and audio in, and out together. */
static void whole_group_goes_and_leaves_together(void **state)
{
	struct fixture *f = *state;
	char *g = gpu(f);
	g_free(audio(f));
	fake_start(f, "lxd-current", running_vm);
	pci_rule(f, "Address=" GPU, "Instance=vm1\nIommuGroup=whole");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_entries(&f->d, "vm1", 2, WAIT_MS));
	assert_true(wait_entry(&f->d, "vm1", AUDIO_ENTRY, true, WAIT_MS));
	/* the fake shows a write before devpassd has its answer and counts
	 * it: the state is kept once the pass has ended */
	assert_true(wait_state(&f->d, GPU, "attached", WAIT_MS));
	unsigned writes = daemon_writes(&f->d);
	umockdev_testbed_uevent(f->tb, g, "remove");
	umockdev_testbed_remove_device(f->tb, g);
	g_free(g);
	assert_true(wait_entries(&f->d, "vm1", 0, WAIT_MS));
	for (int i = 0; i < 100 && daemon_writes(&f->d) < writes + 1; i++)
		sleep_ms(20);
	sleep_ms(200); /* a late second write would show here */
	assert_int_equal(daemon_writes(&f->d), writes + 1);
}

/* lxd-current, IommuGroup=strict: refused while the audio function is on
 * snd_hda_intel; its bind to vfio-pci lets the GPU go. */
static void bind_of_group_member_lets_the_waiting_gpu_go(void **state)
{
	struct fixture *f = *state;
	g_free(gpu(f));
	char *a = audio(f);
	fake_start(f, "lxd-current", running_vm);
	pci_rule(f, "Address=" GPU, "Instance=vm1");
	daemon_start(&f->d, NULL, true);
	assert_true(wait_state(&f->d, GPU, "refused", WAIT_MS));
	assert_reason(f, GPU, AUDIO " (");
	assert_reason(f, GPU, "is bound to snd_hda_intel");
	testbed_pci_bind(f->tb, a, "vfio-pci");
	g_free(a);
	assert_true(wait_entry(&f->d, "vm1", GPU_ENTRY, true, WAIT_MS));
	assert_true(wait_state(&f->d, GPU, "attached", WAIT_MS));
}

/* The fake itself, lxd-5.0.2: refuses a pci entry for a running VM as
 * LXD does (CanHotPlug), so the tests above would see a wrong write. */
static void fake_refuses_pci_hot_add_like_lxd_5_0_2(void **state)
{
	struct fixture *f = *state;
	fake_start(f, "lxd-5.0.2", running_vm);
	json_object *want = json_tokener_parse(
		"{\"devpass-x\": {\"type\": \"pci\", \"address\": \"" GPU "\"}}");
	char *why = NULL;
	assert_int_equal(lxd_instance_sync_devices(f->d.client, "default", "vm1",
						   "devpass-", want, false, NULL, &why),
			 -EIO);
	assert_string_equal(why, "Failed to add device \"devpass-x\": Device "
				 "cannot be added when instance is running");
	free(why);
	json_object_put(want);
}

/* PATCHes @body (JSON) into vm1 as is; LXD's error text into @why. */
static int raw_patch(struct fixture *f, const char *body, char **why)
{
	json_object *b = json_tokener_parse(body);
	assert_non_null(b);
	struct lxd_response resp = {0};
	int r = lxd_request(f->d.client, "PATCH", "/1.0/instances/vm1", b, NULL, &resp);
	free(*why);
	*why = resp.error ? strdup(resp.error) : NULL;
	lxd_response_clear(&resp);
	json_object_put(b);
	return r;
}

#define DEVICES(json) "{\"devices\": {" json "}}"

static void assert_refused(struct fixture *f, const char *body, const char *text)
{
	char *why = NULL;
	assert_int_equal(raw_patch(f, body, &why), -EIO);
	if (!why || strcmp(why, text) != 0)
		fail_msg("%s: \"%s\", wanted \"%s\"", body, why ? why : "", text);
	free(why);
}

/* vm1's description (a static copy) and its ETag (into @etag). */
static const char *vm_description(struct fixture *f, char **etag)
{
	static char text[64];
	json_object *md = NULL;
	free(*etag);
	assert_int_equal(lxd_instance_get(f->d.client, "default", "vm1", &md, etag), 0);
	snprintf(text, sizeof(text), "%s",
		 json_object_get_string(json_object_object_get(md, "description")));
	json_object_put(md);
	return text;
}

/* The fake itself, lxd-5.0.2, against what a running LXD 5.0.2 VM was
 * measured to answer (DESIGN.md; the texts are the real 5.0.2's for the
 * same requests to a container, whose validation is the same). The other
 * tests run devpass against these answers. */
static void fake_answers_as_a_running_lxd_5_0_2_vm_was_measured(void **state)
{
	struct fixture *f = *state;
	char *why = NULL, *etag = NULL, *etag2 = NULL;
	fake_start(f, "lxd-5.0.2", running_vm);
	/* usb by ids: accepted, though the host has no such device */
	assert_int_equal(raw_patch(f, DEVICES("\"devpass-u\": {\"type\": \"usb\", "
					      "\"vendorid\": \"0fce\", \"productid\": \"51da\"}"),
				   &why),
			 0);
	assert_refused(f, DEVICES("\"devpass-s\": {\"type\": \"usb\", \"vendorid\": \"0fce\", "
				  "\"serial\": \"TEST1\"}"),
		       "Invalid devices: Device validation failed for \"devpass-s\": "
		       "Invalid device option \"serial\"");
	assert_refused(f, DEVICES("\"devpass-p\": {\"type\": \"pci\", \"address\": \"" GPU "\"}"),
		       "Failed to add device \"devpass-p\": Device cannot be added "
		       "when instance is running");
	assert_refused(f, DEVICES("\"devpass-g\": {\"type\": \"gpu\", \"gputype\": "
				  "\"physical\", \"pci\": \"" GPU "\"}"),
		       "Failed to add device \"devpass-g\": Device cannot be added "
		       "when instance is running");
	assert_refused(f, DEVICES("\"devpass-u\": null"),
		       "Invalid devices: Device validation failed for \"devpass-u\": "
		       "Failed loading device \"devpass-u\": Missing device type in config");
	/* removal by PUT works */
	json_object *none = json_object_new_object();
	assert_int_equal(lxd_instance_sync_devices(f->d.client, "default", "vm1", "devpass-",
						   none, false, NULL, NULL),
			 0);
	json_object_put(none);
	assert_true(wait_entries(&f->d, "vm1", 0, 0));
	assert_true(fake_got(f, "PUT /1.0/instances/vm1"));
	/* a write without "description" resets it; the ETag does not cover it */
	assert_int_equal(raw_patch(f, "{\"description\": \"kiosk\"}", &why), 0);
	assert_string_equal(vm_description(f, &etag), "kiosk");
	assert_int_equal(raw_patch(f, DEVICES(""), &why), 0);
	assert_string_equal(vm_description(f, &etag2), "");
	assert_string_equal(etag, etag2);
	free(why);
	free(etag);
	free(etag2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
		T(fake_refuses_pci_hot_add_like_lxd_5_0_2),
		T(fake_answers_as_a_running_lxd_5_0_2_vm_was_measured),
		T(pci_hotplugs_into_running_vm),
		T(pci_waits_for_vm_next_start_without_hotplug),
		T(removal_by_patch_on_current_lxd),
		T(removal_by_put_and_operation_on_lxd_5_0_2),
		T(usb_to_vm_pinned_with_device_usb_serial),
		T(usb_to_vm_warns_of_twin_on_lxd_5_0_2),
		T(usb_to_vm_on_incus_pinned_then_removed_by_put),
		T(whole_group_goes_and_leaves_together),
		T(bind_of_group_member_lets_the_waiting_gpu_go),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
