/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The devpass command on recorded devices: the camera and keyboard
 * recordings loaded into one umockdev testbed, the real binary run as a
 * child under the testbed's preload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "devpass/util/common.h"
#include "test-util.h"
#include "testbed.h"

#define CAMERA "1-1.5.2.3"
#define KEYBOARD "1-1.5.4.2"
#define HOST_BRIDGE "0000:00:00.0"
#define ROOT_DISK "0000:00:02.0"
#define RNG "0000:00:05.0"

/* Each test's own, empty rules directory (rules_setup()): what one test
 * writes there no other sees. */
static char rules_dir[64];

struct run {
	int status;
	char *out;
	char *err;
};

static char *slurp(FILE *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int c;
	rewind(f);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* Runs build/daemon/devpass with @args (NULL-terminated). */
static struct run devpass(const char *const *args)
{
	char bin[4096];
	snprintf(bin, sizeof(bin), "%s/daemon/devpass",
		 getenv("DEVPASS_BUILD_DIR") ?: ".");
	const char *argv[16] = {bin};
	for (size_t i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	FILE *out = tmpfile(), *err = tmpfile();
	assert_non_null(out);
	assert_non_null(err);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return (struct run){WEXITSTATUS(status), slurp(out), slurp(err)};
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" not found in:\n%s", needle, haystack);
}

static void list_shows_both_devices(void **state)
{
	struct run r = devpass((const char *[]){"list", "--rules-dir",
						rules_dir, NULL});
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "└─ " CAMERA);
	assert_contains(r.out, "04a9:31c0");
	assert_contains(r.out, "Canon Inc. Canon Digital Camera");
	assert_contains(r.out, "C767F1C714174C309255F70E4A7B2EE2");
	assert_contains(r.out, "└─ " KEYBOARD);
	assert_contains(r.out, "05f3:0007");
	assert_contains(r.out, "input/event5");
	run_free(&r);
}

static json_object *find_device(json_object *root, const char *id)
{
	json_object *devs = json_object_object_get(root, "devices");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i);
		if (strcmp(json_object_get_string(
				   json_object_object_get(d, "id")), id) == 0)
			return d;
	}
	fail_msg("device %s not in the JSON list", id);
	return NULL;
}

static void list_json_has_keyboard_node(void **state)
{
	struct run r = devpass((const char *[]){"list", "--json", "--rules-dir",
						rules_dir, NULL});
	assert_int_equal(r.status, 0);
	json_object *root = json_tokener_parse(r.out);
	assert_non_null(root);
	json_object *kbd = find_device(root, KEYBOARD);
	json_object *ifc = json_object_object_get(kbd, "interface_classes");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ifc, 0)), "03");
	json_object *nodes = json_object_object_get(kbd, "nodes");
	bool found = false;
	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		json_object *n = json_object_array_get_idx(nodes, i);
		if (strcmp(json_object_get_string(json_object_object_get(n, "devnode")),
			   "/dev/input/event5") == 0) {
			found = true;
			assert_string_equal(json_object_get_string(json_object_object_get(n, "subsystem")),
					    "input");
		}
	}
	assert_true(found);
	json_object *cam = find_device(root, CAMERA);
	assert_string_equal(json_object_get_string(json_object_object_get(cam, "serial")),
			    "C767F1C714174C309255F70E4A7B2EE2");
	json_object_put(root);
	run_free(&r);
}

/* generate DEVICE > rules_dir/NAME.rules; then check and explain agree. */
static void generate_then_explain(const char *device, const char *name,
				  const char *expect_key)
{
	struct run gen = devpass((const char *[]){"generate", device,
						  "--instance", "c1", NULL});
	assert_int_equal(gen.status, 0);
	assert_contains(gen.out, expect_key);
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.rules", rules_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(gen.out, f);
	fclose(f);
	chmod(path, 0644);
	struct run check = devpass((const char *[]){"check", "--rules-dir", rules_dir, NULL});
	assert_int_equal(check.status, 0);
	struct run explain = devpass((const char *[]){"explain", device,
						      "--rules-dir", rules_dir, NULL});
	assert_int_equal(explain.status, 0);
	char yes[128];
	snprintf(yes, sizeof(yes), "YES  %s matches", name);
	assert_contains(explain.out, yes);
	run_free(&gen);
	run_free(&check);
	run_free(&explain);
}

static void generate_explain_round_trip(void **state)
{
	generate_then_explain(CAMERA, "50-camera",
			      "Serial=C767F1C714174C309255F70E4A7B2EE2");
	generate_then_explain(KEYBOARD, "60-keyboard", "Port=" KEYBOARD);
	/* Each rule matches its own device only; explain says why not. */
	struct run r = devpass((const char *[]){"explain", KEYBOARD,
						"--rules-dir", rules_dir, NULL});
	assert_contains(r.out, "no   50-camera: Vendor=05f3 does not match 04a9");
	run_free(&r);
}

static void explain_unknown_device_says_what_to_give(void **state)
{
	struct run r = devpass((const char *[]){"explain", "9-9", "--rules-dir",
						rules_dir, NULL});
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "no device \"9-9\"");
	run_free(&r);
}

static void check_fails_on_bad_rules(void **state)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tests/rules/bad",
		 getenv("DEVPASS_SOURCE_DIR") ?: ".");
	struct run r = devpass((const char *[]){"check", "--rules-dir", dir, NULL});
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "bad-hex.rules:");
	run_free(&r);
}

static void shipped_rules_pass_check(void **state)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/rules", getenv("DEVPASS_SOURCE_DIR") ?: ".");
	struct run r = devpass((const char *[]){"check", "--rules-dir", dir, NULL});
	if (r.status != 0)
		fail_msg("devpass check %s:\n%s%s", dir, r.out, r.err);
	assert_contains(r.out, "60-gpu-to-vm");
	run_free(&r);
}

/* The example: explain said YES for the RNG and the daemon then
 * refused it. Now explain plans as the daemon does; with no LXD to ask it
 * says what it assumed. */
static void explain_says_the_daemon_refuses_a_non_gpu_for_a_container(void **state)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/10-good.rules", rules_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Match]\nSubsystem=pci\nAddress=" RNG "\n[Attach]\nInstance=x\n", f);
	fclose(f);
	chmod(path, 0644);
	struct run r = devpass((const char *[]){"explain", RNG, "--rules-dir", rules_dir,
						"--socket", "/nonexistent/unix.socket", NULL});
	assert_int_equal(r.status, 1);
	assert_contains(r.out, "YES  10-good matches");
	assert_contains(r.out, "LXD not asked: LXD at /nonexistent/unix.socket did not answer");
	assert_contains(r.out, "Assumed: every instance a rule names exists and is a "
			       "running, unprivileged container");
	assert_contains(r.out, "devpassd: refused: rule 10-good: PCI device " RNG
			       " (class ffff00) is not a GPU; only a VM can take it");
	run_free(&r);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
}

/* check questions what loads but cannot work: keys that do nothing for
 * the subsystem, files ignored for their name; lspci's short address
 * is read as domain 0000, so the rule matches. */
static void check_questions_what_cannot_work(void **state)
{
	write_file(rules_dir, "10-rng.rules", "[Match]\nSubsystem=pci\nAddress=00:05.0\n"
		   "[Attach]\nInstance=vm1\nNodes=usb\n");
	write_file(rules_dir, "20-kbd.rules", "[Match]\nSubsystem=usb\nVendor=05f3\n"
		   "[Attach]\nInstance=c1\nIommuGroup=whole\n");
	write_file(rules_dir, "30-cam.rule", "[Match]\nSubsystem=usb\n[Attach]\nInstance=c1\n");
	write_file(rules_dir, "40-cam.conf", "[Match]\nSubsystem=usb\n[Attach]\nInstance=c1\n");
	write_file(rules_dir, "50-cam.rules~", "backup");
	struct run r = devpass((const char *[]){"check", "--rules-dir", rules_dir, NULL});
	assert_int_equal(r.status, 1);
	assert_contains(r.out, "2 rules loaded");
	assert_contains(r.out, "4 warnings (above)");
	assert_contains(r.err, "10-rng.rules:6: Nodes= does nothing for a Subsystem=pci rule");
	assert_contains(r.err, "20-kbd.rules:6: IommuGroup= does nothing for a Subsystem=usb rule");
	assert_contains(r.err, "30-cam.rule: ignored: only files named NAME.rules are read");
	assert_contains(r.err, "40-cam.conf: ignored");
	if (strstr(r.err, "50-cam.rules~"))
		fail_msg("an editor backup is no mistake:\n%s", r.err);
	run_free(&r);
	r = devpass((const char *[]){"explain", RNG, "--rules-dir", rules_dir,
				     "--socket", "/nonexistent/unix.socket", NULL});
	assert_contains(r.out, "YES  10-rng matches");
	run_free(&r);
}

/* A --rules-dir that is not there is a mistake ("0 rules loaded" and
 * exit 0 before); a file hidden by one of its name in an earlier
 * directory is said, and is no mistake. */
static void check_says_a_missing_dir_and_a_hidden_file(void **state)
{
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nonexistent", rules_dir);
	struct run r = devpass((const char *[]){"check", "--rules-dir", missing, NULL});
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "nonexistent: no such rules directory (--rules-dir)");
	run_free(&r);

	char etc[128], lib[128];
	snprintf(etc, sizeof(etc), "%s/etc", rules_dir);
	snprintf(lib, sizeof(lib), "%s/lib", rules_dir);
	assert_int_equal(mkdir(etc, 0755), 0);
	assert_int_equal(mkdir(lib, 0755), 0);
	const char *text = "[Match]\nSubsystem=usb\n[Attach]\nInstance=c1\n";
	write_file(etc, "50-cam.rules", text);
	write_file(lib, "50-cam.rules", text);
	r = devpass((const char *[]){"check", "--rules-dir", etc, "--rules-dir", lib, NULL});
	assert_int_equal(r.status, 0);
	char note[512];
	snprintf(note, sizeof(note), "note: %s/50-cam.rules: not read: %s/50-cam.rules "
		 "has its name and comes first", lib, etc);
	assert_contains(r.err, note);
	run_free(&r);
}

/* Whether "/" lives on a block device (add_vm_pci()). */
static bool root_on_block_device;

/* generate names a PCI device by its address, which lifts the guard that
 * keeps a device the host needs on the host: it refuses unless asked by
 * --allow-host-device, and says why. */
static void generate_refuses_devices_the_host_needs(void **state)
{
	struct run r = devpass((const char *[]){"generate", HOST_BRIDGE, NULL});
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "it is the host bridge");
	assert_contains(r.err, "--allow-host-device");
	assert_string_equal(r.out, "");
	run_free(&r);
	r = devpass((const char *[]){"generate", RNG, NULL});
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "Address=" RNG);
	run_free(&r);
	if (!root_on_block_device)
		skip(); /* "/" on overlay or tmpfs: no disk holds it */
	r = devpass((const char *[]){"generate", ROOT_DISK, NULL});
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "a mounted filesystem lives on it");
	run_free(&r);
	r = devpass((const char *[]){"generate", ROOT_DISK,
				     "--allow-host-device", NULL});
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "# The host needs this device (a mounted");
	assert_contains(r.out, "Address=" ROOT_DISK);
	run_free(&r);
}

/* The PCI functions of a small virtual machine (this build host's own):
 * the host bridge, a virtio block device holding the root filesystem
 * (its disk carries the device number of this machine's "/", so the
 * mountinfo the command reads finds it there), a virtio RNG. */
static void add_vm_pci(UMockdevTestbed *tb)
{
	struct stat st;
	assert_int_equal(stat("/", &st), 0);
	root_on_block_device = major(st.st_dev) != 0;
	g_free(testbed_add_pci_device(tb, HOST_BRIDGE, 0x8086, 0x0d57,
				      0x060000, NULL, -1));
	g_autofree char *disk = testbed_add_pci_device(
		tb, ROOT_DISK, 0x1af4, 0x1042, 0x010000, "virtio-pci", -1);
	g_autofree char *dev = g_strdup_printf("%u:%u", major(st.st_dev),
					       minor(st.st_dev));
	g_free(umockdev_testbed_add_device(tb, "block", "vda", disk, "dev",
					   dev, NULL, "DEVTYPE", "disk",
					   NULL));
	/* umockdev makes no /sys/dev links; the kernel does. */
	g_autofree char *sys = umockdev_testbed_get_sys_dir(tb);
	g_autofree char *links = g_build_filename(sys, "dev", "block", NULL);
	g_autofree char *link = g_build_filename(links, dev, NULL);
	assert_int_equal(g_mkdir_with_parents(links, 0755), 0);
	assert_int_equal(symlink("../../devices/" ROOT_DISK "/vda", link), 0);
	g_free(testbed_add_pci_device(tb, RNG, 0x1af4, 0x1044, 0xffff00,
				      "virtio-pci", -1));
}

/* The recordings are the same for every test: one testbed. */
static int group_setup(void **state)
{
	UMockdevTestbed *tb = testbed_new();
	testbed_load(tb, "canon-powershot-sx200.umockdev");
	testbed_load(tb, "usb-keyboard.umockdev");
	add_vm_pci(tb);
	*state = tb;
	return 0;
}

static int group_teardown(void **state)
{
	g_object_unref(*state);
	return 0;
}

static void rules_dir_remove(void *data)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (const char *)data);
	if (system(cmd) != 0)
		fprintf(stderr, "test-cli: cannot remove %s\n", (char *)data);
}

/* A rules directory of each test's own, removed even if the test dies. */
static int rules_setup(void **state)
{
	snprintf(rules_dir, sizeof(rules_dir), "/tmp/devpass-cli-XXXXXX");
	if (!mkdtemp(rules_dir))
		return -1;
	return at_exit_or_kill(rules_dir_remove, rules_dir);
}

static int rules_teardown(void **state)
{
	at_exit_or_kill_cancel(rules_dir_remove, rules_dir);
	rules_dir_remove(rules_dir);
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, rules_setup, rules_teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
		T(list_shows_both_devices),
		T(list_json_has_keyboard_node),
		T(generate_explain_round_trip),
		T(explain_unknown_device_says_what_to_give),
		T(check_fails_on_bad_rules),
		T(shipped_rules_pass_check),
		T(generate_refuses_devices_the_host_needs),
		T(explain_says_the_daemon_refuses_a_non_gpu_for_a_container),
		T(check_questions_what_cannot_work),
		T(check_says_a_missing_dir_and_a_hidden_file),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
