/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The --json output of devpass as scripts and people get it: one compact
 * line when stdout is a pipe, indented on a terminal (a pty here), and the
 * keys in the order devpass(1) documents. The recorded keyboard and a
 * synthetic GPU in one umockdev testbed; the real binary as a child.
 */
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "test-util.h"
#include "testbed.h"

#define KEYBOARD "1-1.5.4.2"
#define GPU	 "0000:01:00.0"

static char *read_all(int fd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	ssize_t n;
	/* A pty's master reads EIO once the child has closed the slave. */
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			fwrite(chunk, 1, (size_t)n, m);
	fclose(m);
	return buf;
}

/* Runs build/daemon/devpass @a @b with stdout a pipe, or a pty when
 * @tty; returns what it printed there (a pty's "\r\n" made "\n"). */
static char *devpass_json(const char *a, bool tty)
{
	char bin[4096];
	snprintf(bin, sizeof(bin), "%s/daemon/devpass",
		 getenv("DEVPASS_BUILD_DIR") ?: ".");
	int fds[2];
	if (tty)
		assert_int_equal(openpty(&fds[0], &fds[1], NULL, NULL, NULL),
				 0);
	else
		assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, a, "--json", "--rules-dir", "/nonexistent",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char *out = read_all(fds[0]);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	char *w = out;
	for (const char *r = out; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	return out;
}

static void assert_one_line(const char *out)
{
	const char *nl = strchr(out, '\n');
	if (!nl || nl[1] != '\0')
		fail_msg("not one line:\n%s", out);
}

static void list_json_is_one_compact_line_when_piped(void **state)
{
	char *out = devpass_json("list", false);
	assert_one_line(out);
	assert_non_null(strstr(out, "{\"devices\":[{\"subsystem\":"));
	json_object *root = json_tokener_parse(out);
	assert_non_null(root);
	json_object_put(root);
	free(out);
}

static void iommu_json_is_one_compact_line_when_piped(void **state)
{
	char *out = devpass_json("iommu", false);
	assert_one_line(out);
	assert_non_null(strstr(out, "{\"iommu\":true,"));
	free(out);
}

static void list_json_is_indented_on_a_terminal(void **state)
{
	char *out = devpass_json("list", true);
	if (!strstr(out, "{\n  \"devices\": [\n    {\n      \"subsystem\": "))
		fail_msg("not indented:\n%s", out);
	json_object *root = json_tokener_parse(out);
	assert_non_null(root);
	json_object_put(root);
	free(out);
}

/* The keys of @o, in order, against the NULL-terminated @want. */
static void assert_keys(json_object *o, const char *const *want)
{
	size_t i = 0;
	json_object_object_foreach(o, key, value) {
		(void)value;
		if (!want[i] || strcmp(key, want[i]) != 0)
			fail_msg("key %zu is \"%s\", devpass(1) says \"%s\"", i,
				 key, want[i] ? want[i] : "(no more keys)");
		i++;
	}
	if (want[i])
		fail_msg("key \"%s\" is missing", want[i]);
}

static json_object *device_by_id(json_object *devices, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		json_object *d = json_object_array_get_idx(devices, i);
		json_object *v = json_object_object_get(d, "id");
		if (v && strcmp(json_object_get_string(v), id) == 0)
			return d;
	}
	fail_msg("no device %s", id);
	return NULL;
}

static void list_json_keys_come_in_the_documented_order(void **state)
{
	char *out = devpass_json("list", false);
	json_object *root = json_tokener_parse(out);
	assert_non_null(root);
	assert_keys(root, (const char *[]){"devices", "rule_errors", NULL});
	json_object *devs = json_object_object_get(root, "devices");
	json_object *kbd = device_by_id(devs, KEYBOARD);
	assert_keys(kbd,
		    (const char *[]){"subsystem", "id", "syspath", "vendor",
				     "product", "serial", "manufacturer",
				     "name", "driver", "class",
				     "interface_classes", "busnum", "devnum",
				     "nodes", "rule", "instances", NULL});
	json_object *nodes = json_object_object_get(kbd, "nodes");
	assert_true(json_object_array_length(nodes) > 0);
	assert_keys(json_object_array_get_idx(nodes, 0),
		    (const char *[]){"subsystem", "devnode", "major", "minor",
				     NULL});
	assert_keys(device_by_id(devs, GPU),
		    (const char *[]){"subsystem", "id", "syspath", "vendor",
				     "product", "serial", "manufacturer",
				     "name", "driver", "class", "iommu_group",
				     "boot_vga", "nodes", "rule", "instances",
				     NULL});
	json_object_put(root);
	free(out);
}

static void iommu_json_keys_come_in_the_documented_order(void **state)
{
	char *out = devpass_json("iommu", false);
	json_object *root = json_tokener_parse(out);
	assert_non_null(root);
	assert_keys(root, (const char *[]){"iommu", "advice", "groups", NULL});
	json_object *groups = json_object_object_get(root, "groups");
	assert_int_equal(json_object_array_length(groups), 1);
	json_object *g = json_object_array_get_idx(groups, 0);
	assert_keys(g, (const char *[]){"group", "viable", "verdict", "devices",
					"acs", NULL});
	json_object *d = json_object_array_get_idx(
		json_object_object_get(g, "devices"), 0);
	assert_keys(d, (const char *[]){"subsystem", "id", "syspath", "vendor",
					"product", "serial", "manufacturer",
					"name", "driver", "class",
					"iommu_group", "boot_vga", "nodes",
					"address", "note", NULL});
	json_object_put(root);
	free(out);
}

static int group_setup(void **state)
{
	UMockdevTestbed *tb = testbed_new();
	testbed_load(tb, "usb-keyboard.umockdev");
	g_free(testbed_add_pci_device(tb, GPU, 0x10de, 0x1c82, 0x030000,
				      "nouveau", 1));
	*state = tb;
	return 0;
}

static int group_teardown(void **state)
{
	g_object_unref(*state);
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(list_json_is_one_compact_line_when_piped),
		cmocka_unit_test(iommu_json_is_one_compact_line_when_piped),
		cmocka_unit_test(list_json_is_indented_on_a_terminal),
		cmocka_unit_test(list_json_keys_come_in_the_documented_order),
		cmocka_unit_test(iommu_json_keys_come_in_the_documented_order),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
