/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "devpass/plan/entries.h"
#include "fixture-structs.h"
#include "test-util.h"

static const char *name_of(const char *rule, const char *id, const char *node)
{
	static char out[ENTRY_NAME_MAX + 1];

	memset(out, '#', sizeof(out));
	entry_name(rule, id, node, out);
	return out;
}

static void names_are_prefix_rule_id_node(void **state)
{
	assert_string_equal(name_of("50-cam", "1-1.5.2", NULL),
			    "devpass-50-cam-1-1.5.2");
	assert_string_equal(name_of("50-cam", "1-1.5.2", ""),
			    "devpass-50-cam-1-1.5.2");
	assert_string_equal(name_of("50-cam", "1-1.5.2", "event5"),
			    "devpass-50-cam-1-1.5.2-event5");
	assert_string_equal(name_of("r", "0000:65:00.0", NULL),
			    "devpass-r-0000_65_00.0");
}

static void names_are_sanitised(void **state)
{
	assert_string_equal(name_of("kiosk cam\xc3\xa9", "1-1", "video0"),
			    "devpass-kiosk_cam__-1-1-video0");
	assert_string_equal(name_of("a\n*b", "x/y", "c\"d"),
			    "devpass-a__b-x_y-c_d");
}

/* LXD 5.0.2 makes a VM's entry name a QEMU id: letters, digits, '-', '.',
 * '_' only, or the VM does not start (seen in the lab, tests/lab/). */
static void names_are_qemu_ids(void **state)
{
	const char *name = name_of("60-gpu", "0000:65:00.0", "snd/pcm:0");

	assert_string_equal(name, "devpass-60-gpu-0000_65_00.0-snd_pcm_0");
	assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"),
			 strlen(name));
}

static void long_names_end_in_a_stable_hash(void **state)
{
	char x52[53], x53[54], again[ENTRY_NAME_MAX + 1];
	const char *rule = "50-kiosk-touchscreen-with-a-very-long-name";

	memset(x52, 'x', 52);
	x52[52] = '\0';
	memset(x53, 'x', 53);
	x53[53] = '\0';
	/* 64 characters exactly: kept as it is. */
	assert_string_equal(name_of(x52, "1-1", NULL),
			    "devpass-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxxxxxxxxxxx-1-1");
	/* 65: 55 characters, '-', FNV-1a 32 of the whole name. */
	assert_string_equal(name_of(x53, "1-1", NULL),
			    "devpass-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxxxxxx-d5782aa4");
	assert_string_equal(
	    name_of(rule, "1-1.5.2.3.4", "event12"),
	    "devpass-50-kiosk-touchscreen-with-a-very-long-name-"
	    "1-1.-6af6625c");
	/* Names alike up to the cut still differ. */
	assert_string_equal(
	    name_of(rule, "1-1.5.2.3.4", "event13"),
	    "devpass-50-kiosk-touchscreen-with-a-very-long-name-"
	    "1-1.-6bf663ef");
	entry_name(rule, "1-1.5.2.3.4", "event12", again);
	assert_string_equal(again, name_of(rule, "1-1.5.2.3.4", "event12"));
	assert_int_equal(strlen(again), ENTRY_NAME_MAX);
}

static void ours_is_the_prefix(void **state)
{
	assert_true(entry_is_ours("devpass-50-cam-1-1"));
	assert_true(entry_is_ours(name_of("r", "1-1", NULL)));
	assert_false(entry_is_ours("devpas-x"));
	assert_false(entry_is_ours("eth0"));
	assert_false(entry_is_ours("root"));
	assert_false(entry_is_ours(""));
	assert_false(entry_is_ours(NULL));
}

/* Fails unless @got equals the JSON text @want (key order aside). */
static void assert_json(struct json_object *got, const char *want)
{
	struct json_object *w = json_tokener_parse(want);

	assert_non_null(w);
	if (!json_object_equal(got, w))
		fail_msg("got  %s\nwant %s", json_object_to_json_string(got),
			 json_object_to_json_string(w));
	json_object_put(w);
}

static struct device *touchscreen(void)
{
	struct device *d = fx_usb("1-1.5.2", 0x0eef, 0x0001);

	fx_set(&d->serial, "TS42");
	d->busnum = 1;
	d->devnum = 3;
	fx_add_node(d, NODE_USB, "usb", "/dev/bus/usb/001/003", 189, 2);
	fx_add_node(d, NODE_INPUT, "input", "/dev/input/event5", 13, 69);
	fx_add_node(d, NODE_HIDRAW, "hidraw", "/dev/hidraw0", 243, 0);
	return d;
}

/* entries_build() that must succeed. */
static struct json_object *build(const struct rule *r, const struct device *d,
				 enum instance_type t, bool has_usb_serial)
{
	struct json_object *map = NULL;
	char *reason = (char *)"untouched";

	assert_int_equal(entries_build(r, d, t, has_usb_serial, &map, &reason),
			 0);
	assert_null(reason);
	assert_non_null(map);
	return map;
}

static void usb_to_container_default_nodes(void **state)
{
	struct device *d = touchscreen();
	struct rule *r = fx_rule("50-ts", RULE_SUBSYSTEM_USB);
	struct json_object *map = build(r, d, INSTANCE_CONTAINER, true);

	assert_json(map, "{\"devpass-50-ts-1-1.5.2\": {\"type\": \"unix-char\","
			 " \"source\": \"/dev/bus/usb/001/003\","
			 " \"path\": \"/dev/bus/usb/001/003\","
			 " \"major\": \"189\", \"minor\": \"2\"}}");
	json_object_put(map);
	rule_free(r);
	device_free(d);
}

static void usb_to_container_selected_nodes_and_owner(void **state)
{
	struct device *d = touchscreen();
	struct rule *r = fx_rule("50-ts", RULE_SUBSYSTEM_USB);
	struct json_object *map;

	r->nodes = NODE_INPUT | NODE_VIDEO4LINUX;
	fx_set(&r->mode, "0660");
	r->uid = 0;
	r->gid = 44;
	map = build(r, d, INSTANCE_CONTAINER, false);
	assert_json(
	    map, "{\"devpass-50-ts-1-1.5.2-event5\": {\"type\": \"unix-char\","
		 " \"source\": \"/dev/input/event5\","
		 " \"path\": \"/dev/input/event5\", \"major\": \"13\","
		 " \"minor\": \"69\", \"mode\": \"0660\", \"uid\": \"0\","
		 " \"gid\": \"44\"}}");
	json_object_put(map);

	r->nodes = NODE_ALL;
	fx_set(&r->mode, NULL);
	r->uid = -1;
	map = build(r, d, INSTANCE_CONTAINER, false);
	assert_json(
	    map, "{"
		 "\"devpass-50-ts-1-1.5.2\": {\"type\": \"unix-char\","
		 " \"source\": \"/dev/bus/usb/001/003\","
		 " \"path\": \"/dev/bus/usb/001/003\","
		 " \"major\": \"189\", \"minor\": \"2\", \"gid\": \"44\"},"
		 "\"devpass-50-ts-1-1.5.2-event5\": {\"type\": \"unix-char\","
		 " \"source\": \"/dev/input/event5\","
		 " \"path\": \"/dev/input/event5\", \"major\": \"13\","
		 " \"minor\": \"69\", \"gid\": \"44\"},"
		 "\"devpass-50-ts-1-1.5.2-hidraw0\": {\"type\": \"unix-char\","
		 " \"source\": \"/dev/hidraw0\", \"path\": \"/dev/hidraw0\","
		 " \"major\": \"243\", \"minor\": \"0\", \"gid\": \"44\"}}");
	json_object_put(map);
	rule_free(r);
	device_free(d);
}

/* On a real kernel a keyboard's add comes before its event and hidraw
 * nodes': until they come it waits (it was refused, then attached). */
static void usb_to_container_waits_for_its_nodes(void **state)
{
	struct device *d = fx_usb("1-1", 0x0627, 0x0001);
	struct rule *r = fx_rule("50-kbd", RULE_SUBSYSTEM_USB);
	struct json_object *map = NULL;
	char *reason = NULL;

	fx_add_node(d, NODE_USB, "usb", "/dev/bus/usb/001/002", 189, 1);
	r->nodes = NODE_INPUT | NODE_HIDRAW;
	assert_int_equal(
	    entries_build(r, d, INSTANCE_CONTAINER, false, &map, &reason),
	    ENTRIES_E_NO_NODES);
	assert_null(map);
	assert_string_equal(reason, "USB device 1-1 has no device node Nodes= "
				    "selects yet: waiting for its nodes");
	free(reason);
	/* its hidraw node came: it goes */
	fx_add_node(d, NODE_HIDRAW, "hidraw", "/dev/hidraw0", 243, 0);
	json_object_put(build(r, d, INSTANCE_CONTAINER, false));
	rule_free(r);
	device_free(d);
}

static void usb_to_container_refused_without_selected_nodes(void **state)
{
	struct device *d = touchscreen();
	struct rule *r = fx_rule("50-ts", RULE_SUBSYSTEM_USB);
	struct json_object *map = NULL;
	char *reason = NULL;

	r->nodes = NODE_VIDEO4LINUX | NODE_SOUND;
	assert_int_equal(
	    entries_build(r, d, INSTANCE_CONTAINER, false, &map, &reason),
	    ENTRIES_E_REFUSED);
	assert_null(map);
	assert_string_equal(reason, "rule 50-ts: Nodes= selects none of the "
				    "nodes of USB device 1-1.5.2");
	free(reason);
	/* A node outside /dev is never passed. */
	r->nodes = NODE_INPUT;
	fx_set(&d->nodes[1].devnode, "/tmp/event5");
	assert_int_equal(
	    entries_build(r, d, INSTANCE_CONTAINER, false, &map, NULL),
	    ENTRIES_E_REFUSED);
	assert_null(map);
	rule_free(r);
	device_free(d);
}

static void node_outside_dev_is_left_out_with_a_note(void **state)
{
	struct device *d = touchscreen();
	struct rule *r = fx_rule("50-ts", RULE_SUBSYSTEM_USB);
	struct json_object *map = NULL;
	char *reason = NULL;

	r->nodes = NODE_USB | NODE_INPUT;
	fx_set(&d->nodes[1].devnode, "/tmp/event5");
	assert_int_equal(
	    entries_build(r, d, INSTANCE_CONTAINER, false, &map, &reason), 0);
	assert_int_equal(json_object_object_length(map), 1);
	assert_true(json_object_object_get_ex(map, "devpass-50-ts-1-1.5.2", NULL));
	assert_string_equal(reason, "not passing /tmp/event5 of USB device "
				    "1-1.5.2: LXD takes nodes in /dev only");
	free(reason);
	json_object_put(map);
	rule_free(r);
	device_free(d);
}

static void usb_node_names_must_differ(void **state)
{
	struct device *d = touchscreen();
	struct rule *r = fx_rule("50-ts", RULE_SUBSYSTEM_USB);
	struct json_object *map = NULL;
	char *reason = NULL;

	r->nodes = NODE_ALL;
	fx_add_node(d, NODE_USBMISC, "usbmisc", "/dev/usb/event5", 180, 5);
	/* Not an error (-EEXIST, as it was): an outcome, with the reason. */
	assert_int_equal(
	    entries_build(r, d, INSTANCE_CONTAINER, false, &map, &reason),
	    ENTRIES_E_REFUSED);
	assert_null(map);
	assert_string_equal(reason, "rule 50-ts: nodes /dev/input/event5 and "
				    "/dev/usb/event5 of USB device 1-1.5.2 "
				    "would both be LXD entry "
				    "devpass-50-ts-1-1.5.2-event5");
	free(reason);
	rule_free(r);
	device_free(d);
}

static void usb_to_vm_adds_bus_devnum_and_valid_serial_only_with_device_usb_serial(void **state)
{
	struct device *d = touchscreen();
	struct rule *r = fx_rule("50-ts", RULE_SUBSYSTEM_USB);
	struct json_object *map = build(r, d, INSTANCE_VM, false);

	/* 5.0.2: no device_usb_serial, only the ids. */
	assert_json(map, "{\"devpass-50-ts-1-1.5.2\": {\"type\": \"usb\","
			 " \"vendorid\": \"0eef\", \"productid\": \"0001\"}}");
	json_object_put(map);
	map = build(r, d, INSTANCE_VM, true);
	assert_json(map, "{\"devpass-50-ts-1-1.5.2\": {\"type\": \"usb\","
			 " \"vendorid\": \"0eef\", \"productid\": \"0001\","
			 " \"busnum\": \"1\", \"devnum\": \"3\","
			 " \"serial\": \"TS42\"}}");
	json_object_put(map);
	/* A serial LXD could not compare is left to busnum/devnum. */
	fx_set(&d->serial, "bad\xff");
	map = build(r, d, INSTANCE_VM, true);
	assert_json(map, "{\"devpass-50-ts-1-1.5.2\": {\"type\": \"usb\","
			 " \"vendorid\": \"0eef\", \"productid\": \"0001\","
			 " \"busnum\": \"1\", \"devnum\": \"3\"}}");
	json_object_put(map);
	rule_free(r);
	device_free(d);
}

static void pci_gpu_to_container_and_vm(void **state)
{
	struct device *d = fx_pci("0000:65:00.0", 0x10de, 0x1eb8, 0x030200);
	struct rule *r = fx_rule("60-gpu", RULE_SUBSYSTEM_PCI);
	struct json_object *map = build(r, d, INSTANCE_CONTAINER, false);

	assert_json(map, "{\"devpass-60-gpu-0000_65_00.0\": {\"type\": \"gpu\","
			 " \"gputype\": \"physical\","
			 " \"pci\": \"0000:65:00.0\"}}");
	json_object_put(map);
	map = build(r, d, INSTANCE_VM, false);
	assert_json(map, "{\"devpass-60-gpu-0000_65_00.0\": {\"type\": \"pci\","
			 " \"address\": \"0000:65:00.0\"}}");
	json_object_put(map);
	rule_free(r);
	device_free(d);
}

static void pci_non_gpu_to_vm_only(void **state)
{
	struct device *d = fx_pci("0000:03:00.0", 0x1912, 0x0014, 0x0c0330);
	struct rule *r = fx_rule("70-xhci", RULE_SUBSYSTEM_PCI);
	struct json_object *map = build(r, d, INSTANCE_VM, false);
	char *reason = NULL;

	assert_json(map,
		    "{\"devpass-70-xhci-0000_03_00.0\": {\"type\": \"pci\","
		    " \"address\": \"0000:03:00.0\"}}");
	json_object_put(map);
	map = NULL;
	assert_int_equal(
	    entries_build(r, d, INSTANCE_CONTAINER, false, &map, &reason),
	    ENTRIES_E_REFUSED);
	assert_null(map);
	assert_string_equal(
	    reason, "rule 70-xhci: PCI device 0000:03:00.0 (class "
		    "0c0330) is not a GPU; only a VM can take it, not a "
		    "container");
	free(reason);
	rule_free(r);
	device_free(d);
}

static void gpu_is_class_03(void **state)
{
	struct device *d = fx_pci("0000:00:02.0", 0x8086, 0x3e92, 0x030000);

	assert_true(device_is_gpu(d));
	d->pci_class = 0x038000;
	assert_true(device_is_gpu(d));
	d->pci_class = 0x040300; /* its HDMI audio function */
	assert_false(device_is_gpu(d));
	d->subsystem = DEVICE_USB; /* a USB device is never a GPU */
	d->pci_class = 0x030000;
	assert_false(device_is_gpu(d));
	device_free(d);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_are_prefix_rule_id_node),
	    cmocka_unit_test(names_are_sanitised),
	    cmocka_unit_test(names_are_qemu_ids),
	    cmocka_unit_test(long_names_end_in_a_stable_hash),
	    cmocka_unit_test(ours_is_the_prefix),
	    cmocka_unit_test(usb_to_container_default_nodes),
	    cmocka_unit_test(usb_to_container_selected_nodes_and_owner),
	    cmocka_unit_test(usb_to_container_waits_for_its_nodes),
	    cmocka_unit_test(usb_to_container_refused_without_selected_nodes),
	    cmocka_unit_test(node_outside_dev_is_left_out_with_a_note),
	    cmocka_unit_test(usb_node_names_must_differ),
	    cmocka_unit_test(usb_to_vm_adds_bus_devnum_and_valid_serial_only_with_device_usb_serial),
	    cmocka_unit_test(pci_gpu_to_container_and_vm),
	    cmocka_unit_test(pci_non_gpu_to_vm_only),
	    cmocka_unit_test(gpu_is_class_03),
	};

	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests_name("entries", tests, NULL, NULL);
}
