/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `devpass explain` says what devpassd does: both run on the same
 * umockdev testbed against the same real private LXD, and for every
 * device the daemon's `devpass status` and explain's "devpassd:" line
 * agree: the state, the instance and the reason, word for word.
 *
 * The devices: those of tests/demo.sh (the recorded camera and keyboard
 * with the rules `devpass generate` writes for them, the Logitech webcam
 * and the phone it plugs, the shipped rules) and PCI functions like this
 * build host's own (host bridge, root disk, virtio RNG) plus a GPU with
 * its HDMI audio in one IOMMU group. Extra rules reach each answer the
 * plan can give a container: the RNG and host bridge are refused (not a
 * GPU), a serial adapter is refused by a privileged container, the GPU
 * and the phone wait for instances that do not exist, the webcam goes to
 * kiosk-1 and, when kiosk-1 stops, falls back to kiosk-2.
 *
 * What explain cannot foresee is an entry LXD itself refuses when it is
 * written; no device here gets one.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "daemon-harness.h"
#include "test-util.h"
#include "testbed.h"

#define CAMERA "1-1.5.2.3"
#define KEYBOARD "1-1.5.4.2"
#define WAIT_MS 20000

static struct lxd_harness lxd;

struct fixture {
	UMockdevTestbed *tb;
	struct daemon_harness d;
};

/* Runs build/daemon/devpass with @args; its stdout (free it). */
static char *devpass(const char *const *args, int *status)
{
	char bin[4096];
	snprintf(bin, sizeof(bin), "%s/daemon/devpass",
		 getenv("DEVPASS_BUILD_DIR") ?: ".");
	const char *argv[16] = {bin};
	for (size_t i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	FILE *in = fdopen(fds[0], "r");
	int c;
	while ((c = fgetc(in)) != EOF)
		fputc(c, m);
	fclose(in);
	fclose(m);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (status)
		*status = WEXITSTATUS(st);
	return buf;
}

static void generate_into(struct fixture *f, const char *device,
			  const char *instance, const char *name)
{
	int status;
	char *text = devpass((const char *[]){"generate", device, "--instance",
					      instance, NULL},
			     &status);
	assert_int_equal(status, 0);
	daemon_write_rule(&f->d, name, text);
	free(text);
}

static void copy_shipped_rules(struct fixture *f)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cp %s/rules/*.rules %s/ && chmod 0644 %s/*",
		 getenv("DEVPASS_SOURCE_DIR") ?: ".", f->d.rules_dir,
		 f->d.rules_dir);
	assert_int_equal(system(cmd), 0);
}

static void add_usb(UMockdevTestbed *tb, const char *port, uint16_t vendor,
		    uint16_t product, const char *serial, unsigned devnum)
{
	const struct testbed_usb u = {
		.port = port, .vendor = vendor, .product = product,
		.serial = serial, .busnum = 1, .devnum = devnum,
		.interface_class = -1,
	};
	g_free(testbed_add_usb_device(tb, &u));
}

static void add_devices(UMockdevTestbed *tb)
{
	testbed_load(tb, "canon-powershot-sx200.umockdev");
	testbed_load(tb, "usb-keyboard.umockdev");
	add_usb(tb, "1-2", 0x046d, 0x082d, "A1B2C3D4", 80); /* the demo's */
	add_usb(tb, "1-3", 0x18d1, 0x4ee7, "R58M42ABCDE", 81);
	add_usb(tb, "1-4", 0x0403, 0x6001, "FT1", 82);
	g_free(testbed_add_pci_device(tb, "0000:00:00.0", 0x8086, 0x0d57,
				      0x060000, NULL, -1));
	g_free(testbed_add_pci_device(tb, "0000:00:02.0", 0x1af4, 0x1042,
				      0x010000, "virtio-pci", -1));
	g_free(testbed_add_pci_device(tb, "0000:00:05.0", 0x1af4, 0x1044,
				      0xffff00, "virtio-pci", -1));
	g_free(testbed_add_pci_device(tb, "0000:0b:00.0", 0x10de, 0x1b80,
				      0x030000, "nouveau", 7));
	g_free(testbed_add_pci_device(tb, "0000:0b:00.1", 0x10de, 0x10f0,
				      0x040300, "snd_hda_intel", 7));
}

static void write_rules(struct fixture *f)
{
	copy_shipped_rules(f);
	generate_into(f, CAMERA, "lab-1", "30-camera");
	generate_into(f, KEYBOARD, "kiosk-2", "30-keyboard");
	daemon_write_rule(&f->d, "10-good",
			  "[Match]\nSubsystem=pci\nAddress=0000:00:05.0\n"
			  "[Attach]\nInstance=kiosk-1\n");
	daemon_write_rule(&f->d, "20-host-bridge",
			  "[Match]\nSubsystem=pci\nClass=0600\n"
			  "[Attach]\nInstance=kiosk-1\n");
	daemon_write_rule(&f->d, "20-serial",
			  "[Match]\nSubsystem=usb\nVendor=0403\n"
			  "[Attach]\nInstance=priv-1\n");
}

/* What explain must print for @dev, as the daemon's status has it. */
static char *expected_line(json_object *dev)
{
	const char *state = json_object_get_string(json_object_object_get(dev, "state"));
	const char *inst = json_object_get_string(json_object_object_get(dev, "instance"));
	const char *reason = json_object_get_string(json_object_object_get(dev, "reason"));
	char *line = NULL;
	if (strcmp(state, "unmatched") == 0)
		return strdup("No rule matches: the device stays on the host");
	if (strcmp(state, "attached") == 0)
		assert_true(asprintf(&line, "  devpassd: attach to %s (container)%s%s\n",
				     inst, reason ? ": " : "", reason ? reason : "") > 0);
	else if (strcmp(state, "waiting") == 0 || strcmp(state, "refused") == 0)
		assert_true(asprintf(&line, "  devpassd: %s: %s\n", state, reason) > 0);
	else
		fail_msg("device in state %s: the daemon has not settled", state);
	return line;
}

static bool settled(void *data)
{
	struct daemon_harness *d = data;
	json_object *s = daemon_status(d);
	json_object *devs = json_object_object_get(s, "devices");
	bool ok = json_object_array_length(devs) > 0;
	for (size_t i = 0; ok && i < json_object_array_length(devs); i++) {
		json_object *dev = json_object_array_get_idx(devs, i);
		ok = strcmp(json_object_get_string(json_object_object_get(dev, "state")),
			    "pending") != 0;
	}
	json_object_put(s);
	return ok;
}

/* Every device of the daemon's status, explained; adds to @counts how
 * many devices had each state: attached, waiting, refused, unmatched. */
static void assert_explain_agrees(struct fixture *f, unsigned counts[4])
{
	static const char *const states[] = {"attached", "waiting", "refused", "unmatched"};
	json_object *s = daemon_status(&f->d);
	json_object *devs = json_object_object_get(s, "devices");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *dev = json_object_array_get_idx(devs, i);
		const char *id = json_object_get_string(json_object_object_get(dev, "id"));
		const char *state = json_object_get_string(json_object_object_get(dev, "state"));
		char *want = expected_line(dev);
		int status;
		char *out = devpass((const char *[]){"explain", id, "--rules-dir",
						     f->d.rules_dir, "--socket",
						     lxd.socket, NULL},
				    &status);
		if (!strstr(out, want))
			fail_msg("%s: the daemon says\n%s\nexplain says\n%s", id, want, out);
		assert_int_equal(status, strcmp(state, "attached") == 0 ? 0 : 1);
		for (size_t k = 0; k < 4; k++)
			counts[k] += strcmp(state, states[k]) == 0;
		free(want);
		free(out);
	}
	json_object_put(s);
}

static bool webcam_on_kiosk_2(void *data)
{
	json_object *s = daemon_status(data);
	json_object *devs = json_object_object_get(s, "devices");
	bool ok = false;
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *dev = json_object_array_get_idx(devs, i);
		const char *inst = json_object_get_string(json_object_object_get(dev, "instance"));
		if (strcmp(json_object_get_string(json_object_object_get(dev, "id")), "1-2") == 0)
			ok = inst && strcmp(inst, "kiosk-2") == 0;
	}
	json_object_put(s);
	return ok;
}

static void explain_says_what_the_daemon_does(void **state)
{
	struct fixture *f = *state;
	add_devices(f->tb);
	write_rules(f);
	daemon_start(&f->d, NULL, true);
	assert_true(wait_until(settled, &f->d, WAIT_MS));
	assert_true(wait_state(&f->d, "1-2", "attached", WAIT_MS));
	unsigned counts[4] = {0};
	assert_explain_agrees(f, counts);
	/* camera, keyboard, webcam; phone, GPU; RNG, host bridge, serial
	 * adapter; the rest (hubs, root disk, GPU audio) match no rule */
	assert_int_equal(counts[0], 3);
	assert_int_equal(counts[1], 2);
	assert_int_equal(counts[2], 3);
	assert_true(counts[3] > 0);

	/* The demo's fallback: kiosk-1 stops, the webcam goes to kiosk-2. */
	assert_int_equal(lxc(&f->d, (const char *[]){"stop", "kiosk-1", "--force", NULL}), 0);
	assert_true(wait_until(webcam_on_kiosk_2, &f->d, WAIT_MS));
	unsigned again[4] = {0};
	assert_explain_agrees(f, again);
	assert_int_equal(again[0], 3);
	assert_int_equal(lxc(&f->d, (const char *[]){"start", "kiosk-1", NULL}), 0);
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->tb = testbed_new();
	daemon_harness_init(&f->d, &lxd);
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	if (f->d.pid > 0)
		daemon_stop(&f->d, SIGTERM);
	daemon_harness_cleanup(&f->d);
	g_object_unref(f->tb);
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	int r = lxd_harness_start(&lxd, (const char *[]){"kiosk-1", "kiosk-2", "lab-1",
							  "priv-1", NULL});
	if (r < 0)
		return r;
	const char *argv[] = {"lxc", "config", "set", "priv-1",
			      "security.privileged", "true", NULL};
	return lxd_harness_run(&lxd, NULL, argv) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	lxd_harness_stop(&lxd);
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(explain_says_what_the_daemon_does,
						fixture_setup, fixture_teardown),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
