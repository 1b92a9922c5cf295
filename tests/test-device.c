/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device model, the monitor and IOMMU groups against umockdev testbeds:
 * the recorded camera and keyboard, plus devices built in code.
 */
#include <libudev.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/model/device.h"
#include "devpass/model/iommu.h"
#include "devpass/model/monitor.h"
#include "devpass/model/node.h"
#include "devpass/util/text.h"
#include "testbed.h"
#include "test-util.h"

#define CAMERA_PORT   "1-1.5.2.3"
#define KEYBOARD_PORT "1-1.5.4.2"

struct fixture {
	UMockdevTestbed *tb;
	struct udev *udev;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* One testbed per test, made before libudev reads anything. */
	f->tb = testbed_new();
	testbed_load(f->tb, "canon-powershot-sx200.umockdev");
	testbed_load(f->tb, "usb-keyboard.umockdev");
	f->udev = udev_new();
	assert_non_null(f->udev);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	udev_unref(f->udev);
	g_object_unref(f->tb);
	free(f);
	return 0;
}

static struct device_list *enumerate(struct fixture *f)
{
	struct device_list *l = NULL;

	assert_int_equal(device_enumerate(f->udev, &l), 0);
	assert_non_null(l);
	return l;
}

static void recorded_camera(void **state)
{
	_cleanup_(device_list_freep) struct device_list *l = enumerate(*state);
	struct device *d = device_find(l, CAMERA_PORT);

	assert_non_null(d);
	assert_int_equal(d->subsystem, DEVICE_USB);
	assert_int_equal(d->vendor, 0x04a9);
	assert_int_equal(d->product, 0x31c0);
	assert_string_equal(d->serial, "C767F1C714174C309255F70E4A7B2EE2");
	assert_string_equal(d->manufacturer, "Canon Inc.");
	assert_string_equal(d->name, "Canon Digital Camera");
	assert_int_equal(d->usb_class, 0x00);
	assert_int_equal(d->busnum, 1);
	assert_int_equal(d->devnum, 11);
	assert_int_equal(d->iommu_group, -1);
	assert_int_equal(d->n_nodes, 1);
	assert_int_equal(d->nodes[0].kind, NODE_USB);
	assert_string_equal(d->nodes[0].devnode, "/dev/bus/usb/001/011");
	assert_int_equal(d->nodes[0].major, 189);
	assert_int_equal(d->nodes[0].minor, 10);
	assert_string_equal(device_get_prop(d, "ID_GPHOTO2"), "1");
	assert_null(device_get_prop(d, "NO_SUCH_PROPERTY"));
	assert_ptr_equal(device_find(l, d->syspath), d);
	assert_true(g_str_has_suffix(d->syspath,
				     "/usb1/1-1/1-1.5/1-1.5.2/" CAMERA_PORT));
}

static void recorded_keyboard(void **state)
{
	_cleanup_(device_list_freep) struct device_list *l = enumerate(*state);
	struct device *d = device_find(l, KEYBOARD_PORT);

	assert_non_null(d);
	assert_int_equal(d->vendor, 0x05f3);
	assert_int_equal(d->product, 0x0007);
	assert_null(d->serial);
	assert_string_equal(d->driver, "usb");
	assert_int_equal(d->n_interface_classes, 1);
	assert_int_equal(d->interface_classes[0], 0x03);
	assert_int_equal(d->n_nodes, 2);
	assert_int_equal(d->nodes[0].kind, NODE_USB);
	assert_string_equal(d->nodes[0].devnode, "/dev/bus/usb/001/009");
	assert_int_equal(d->nodes[0].minor, 8);

	struct device_node *n = &d->nodes[1];
	assert_int_equal(n->kind, NODE_INPUT);
	assert_string_equal(n->subsystem, "input");
	assert_string_equal(n->devnode, "/dev/input/event5");
	assert_int_equal(n->major, 13);
	assert_int_equal(n->minor, 69);
	bool keyboard = false;
	for (size_t i = 0; i < n->n_props; i++)
		keyboard |= strcmp(n->props[i].key, "ID_INPUT_KEYBOARD") == 0 &&
			    strcmp(n->props[i].value, "1") == 0;
	assert_true(keyboard);
}

/* Hubs are devices too; root hubs are not; a hub owns none of the nodes or
 * interfaces of the devices behind it. USB sorts before PCI. */
static void recorded_hubs_and_order(void **state)
{
	_cleanup_(device_list_freep) struct device_list *l = enumerate(*state);
	static const char *const ids[] = {
	    "1-1",     "1-1.5",	      "1-1.5.2",      CAMERA_PORT,
	    "1-1.5.4", KEYBOARD_PORT, "0000:00:1a.0",
	};

	assert_int_equal(l->n_devices, ARRAY_SIZE(ids));
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		assert_string_equal(l->devices[i]->id, ids[i]);
	assert_null(device_find(l, "usb1"));

	struct device *hub = device_find(l, "1-1.5.4");
	assert_int_equal(hub->usb_class, 0x09);
	assert_string_equal(hub->name, "Kinesis Keyboard Hub");
	assert_int_equal(hub->n_nodes, 1);
	assert_int_equal(hub->n_interface_classes, 0);

	struct device *pci = device_find(l, "0000:00:1a.0");
	assert_int_equal(pci->subsystem, DEVICE_PCI);
	assert_int_equal(pci->vendor, 0x8086);
	assert_int_equal(pci->product, 0x3b3c);
	assert_int_equal(pci->pci_class, 0x0c0320);
	assert_string_equal(pci->manufacturer, "Intel Corporation");
}

static void synthetic_touchscreen(void **state)
{
	struct fixture *f = *state;
	const struct testbed_usb u = {
	    .port = "1-2",
	    .vendor = 0x0eef,
	    .product = 0x0001,
	    .serial = "TS-42",
	    .manufacturer = "eGalax Inc.",
	    .product_name = "USB TouchController",
	    .busnum = 2,
	    .devnum = 5,
	    .interface_class = 0x03,
	    .child_subsystem = "input",
	    .child_name = "event7",
	    .child_major = 13,
	    .child_minor = 71,
	    .child_property = "ID_INPUT_TOUCHSCREEN=1",
	};
	g_autofree char *syspath = testbed_add_usb_device(f->tb, &u);
	_cleanup_(device_list_freep) struct device_list *l = enumerate(f);
	struct device *d = device_find(l, syspath);

	assert_non_null(d);
	assert_string_equal(d->id, "1-2");
	assert_int_equal(d->vendor, 0x0eef);
	assert_int_equal(d->product, 0x0001);
	assert_string_equal(d->serial, "TS-42");
	assert_string_equal(d->manufacturer, "eGalax Inc.");
	assert_string_equal(d->name, "USB TouchController");
	assert_int_equal(d->busnum, 2);
	assert_int_equal(d->devnum, 5);
	assert_int_equal(d->n_nodes, 2);
	assert_string_equal(d->nodes[0].devnode, "/dev/bus/usb/002/005");
	assert_int_equal(d->nodes[0].major, 189);
	assert_int_equal(d->nodes[0].minor, 128 + 4);
	assert_int_equal(d->nodes[1].kind, NODE_INPUT);
	assert_string_equal(d->nodes[1].devnode, "/dev/input/event7");
	assert_int_equal(d->nodes[1].minor, 71);
	assert_int_equal(d->n_interface_classes, 1);
	assert_int_equal(d->interface_classes[0], 0x03);
	assert_string_equal(device_get_prop(d, "ID_VENDOR_ID"), "0eef");
}

static void synthetic_webcam(void **state)
{
	struct fixture *f = *state;
	const struct testbed_usb u = {
	    .port = "3-1",
	    .vendor = 0x046d,
	    .product = 0x0843,
	    .device_class = 0xef,
	    .busnum = 3,
	    .devnum = 2,
	    .interface_class = 0x0e,
	    .child_subsystem = "video4linux",
	    .child_name = "video0",
	    .child_major = 81,
	    .child_minor = 0,
	};
	g_autofree char *syspath = testbed_add_usb_device(f->tb, &u);
	_cleanup_(device_list_freep) struct device_list *l = enumerate(f);
	struct device *d = device_find(l, "3-1");

	assert_ptr_equal(device_find(l, syspath), d);

	assert_non_null(d);
	assert_null(d->serial);
	assert_null(d->manufacturer);
	assert_int_equal(d->usb_class, 0xef);
	assert_int_equal(d->interface_classes[0], 0x0e);
	assert_int_equal(d->n_nodes, 2);
	assert_int_equal(d->nodes[1].kind, NODE_VIDEO4LINUX);
	assert_string_equal(d->nodes[1].devnode, "/dev/video0");
	assert_int_equal(d->nodes[1].major, 81);
}

/* Strings are kept byte for byte; text_escape_dup() makes them safe. */
static void synthetic_hostile_strings(void **state)
{
	struct fixture *f = *state;
	const char serial[] = "AB\x1b[2J\xff\xfe\x01\ncd\\";
	const struct testbed_usb u = {
	    .port = "1-3",
	    .vendor = 0x1234,
	    .product = 0x5678,
	    .serial = serial,
	    .manufacturer = "\xc3\x28\x07",
	    .busnum = 1,
	    .devnum = 40,
	    .interface_class = -1,
	};
	g_autofree char *syspath = testbed_add_usb_device(f->tb, &u);
	_cleanup_(device_list_freep) struct device_list *l = enumerate(f);
	struct device *d = device_find(l, "1-3");

	assert_ptr_equal(device_find(l, syspath), d);

	assert_non_null(d);
	assert_string_equal(d->serial, serial);
	assert_int_equal(d->n_interface_classes, 0);
	_cleanup_(freep) char *p = text_escape_dup(d->serial);
	assert_string_equal(p, "AB\\x1b[2J\\xff\\xfe\\x01\\x0acd\\x5c");
	_cleanup_(freep) char *m = text_escape_dup(d->manufacturer);
	assert_string_equal(m, "\\xc3(\\x07");
}

/* A device with garbage ids is left out; the rest still enumerate. */
static void synthetic_garbage_ids(void **state)
{
	struct fixture *f = *state;
	g_autofree char *bad = umockdev_testbed_add_device(
	    f->tb, "usb", "1-4", NULL, "idVendor", "-1", "idProduct", "0x12345",
	    NULL, "DEVTYPE", "usb_device", NULL);
	g_autofree char *bad_pci = umockdev_testbed_add_device(
	    f->tb, "pci", "0000:07:00.0", NULL, "vendor", "0x10de", "device",
	    "", "class", "0x030000", NULL, NULL);
	_cleanup_(device_list_freep) struct device_list *l = enumerate(f);

	assert_non_null(bad);
	assert_non_null(bad_pci);
	assert_null(device_find(l, "1-4"));
	assert_null(device_find(l, "0000:07:00.0"));
	assert_non_null(device_find(l, CAMERA_PORT));
}

static void synthetic_pci_and_iommu(void **state)
{
	struct fixture *f = *state;
	_cleanup_(iommu_list_freep) struct iommu_list *groups = NULL;

	assert_int_equal(iommu_list_read(NULL, &groups), IOMMU_E_NONE);
	assert_null(groups);
	g_free(testbed_add_pci_device(f->tb, "0000:65:00.1", 0x10de, 0x10f8,
				      0x040300, NULL, 7));
	g_free(testbed_add_pci_device(f->tb, "0000:65:00.0", 0x10de, 0x1eb8,
				      0x030000, "vfio-pci", 7));
	g_free(testbed_add_pci_device(f->tb, "0000:66:00.0", 0x0bad, 0x0bad,
				      0x020000, "e1000e", 12));
	_cleanup_(device_list_freep) struct device_list *l = enumerate(f);

	struct device *gpu = device_find(l, "0000:65:00.0");
	assert_non_null(gpu);
	assert_int_equal(gpu->subsystem, DEVICE_PCI);
	assert_int_equal(gpu->pci_class, 0x030000);
	assert_string_equal(gpu->driver, "vfio-pci");
	assert_int_equal(gpu->iommu_group, 7);
	assert_string_equal(gpu->manufacturer, "NVIDIA Corporation");
	assert_string_equal(gpu->name, "TU104GL [Tesla T4]");
	struct device *audio = device_find(l, "0000:65:00.1");
	assert_null(audio->driver);
	assert_int_equal(audio->iommu_group, 7);
	struct device *nic = device_find(l, "0000:66:00.0");
	assert_null(nic->manufacturer);
	assert_null(nic->name);
	assert_int_equal(device_find(l, "0000:00:1a.0")->iommu_group, -1);

	assert_int_equal(iommu_list_read(NULL, &groups), 0);
	assert_int_equal(groups->n_groups, 2);
	assert_int_equal(groups->groups[0].number, 7);
	const struct iommu_group *g = iommu_list_find(groups, 7);
	assert_int_equal(strv_length(g->addresses), 2);
	assert_string_equal(g->addresses[0], "0000:65:00.0");
	assert_string_equal(g->addresses[1], "0000:65:00.1");
	assert_null(iommu_list_find(groups, 8));
}

/* Regression (fuzz-device): a directory "007" beside "7" made a second
 * group 7 that iommu_list_find() hid; only the kernel's spelling counts. */
static void iommu_group_with_leading_zeros_is_no_group(void **state)
{
	struct fixture *f = *state;
	_cleanup_(iommu_list_freep) struct iommu_list *groups = NULL;
	g_autofree char *sys = umockdev_testbed_get_sys_dir(f->tb);
	g_autofree char *odd =
	    g_strdup_printf("%s/kernel/iommu_groups/007/devices", sys);

	g_free(testbed_add_pci_device(f->tb, "0000:65:00.0", 0x10de, 0x1eb8,
				      0x030000, "vfio-pci", 7));
	assert_int_equal(g_mkdir_with_parents(odd, 0755), 0);
	g_autofree char *odd_member = g_strdup_printf("%s/0000:66:00.0", odd);
	assert_int_equal(symlink("../../../../devices/0000:66:00.0", odd_member),
			 0);

	assert_int_equal(iommu_list_read(NULL, &groups), 0);
	assert_int_equal(groups->n_groups, 1);
	const struct iommu_group *g = iommu_list_find(groups, 7);
	assert_non_null(g);
	assert_int_equal(strv_length(g->addresses), 1);
	assert_string_equal(g->addresses[0], "0000:65:00.0");
}

/* Regression (fuzz-device): of two children that udev lists with one node
 * name, removing that node dropped only the first from the device. */
static void removed_child_node_leaves_no_copy(void **state)
{
	struct fixture *f = *state;
	const struct testbed_usb u = {
	    .port = "1-7",
	    .vendor = 0x0eef,
	    .product = 0x0001,
	    .busnum = 1,
	    .devnum = 60,
	    .interface_class = 0x03,
	    .child_subsystem = "input",
	    .child_name = "event7",
	    .child_major = 13,
	    .child_minor = 71,
	};
	g_autofree char *syspath = testbed_add_usb_device(f->tb, &u);
	g_autofree char *iface = g_strdup_printf("%s/1-7:1.0", syspath);
	/* No "dev" attribute: umockdev allows one per node name. */
	g_autofree char *twin = umockdev_testbed_add_device(
	    f->tb, "input", "event7-twin", iface, NULL, "DEVNAME",
	    "/dev/input/event7", "MAJOR", "13", "MINOR", "71", NULL);
	_cleanup_(udev_device_unrefp) struct udev_device *child =
	    udev_device_new_from_syspath(f->udev, twin);
	_cleanup_(device_freep) struct device *d = NULL;

	assert_non_null(child);
	assert_int_equal(device_new_for_child(child, NULL, &d), 0);
	assert_int_equal(d->n_nodes, 3);
	device_free(steal_ptr(&d));
	assert_int_equal(device_new_for_child(child, "/dev/input/event7", &d),
			 0);
	assert_int_equal(d->n_nodes, 1);
	assert_int_equal(d->nodes[0].kind, NODE_USB);
}

struct event {
	char *action;
	struct device *dev;
	char *syspath;
};

static void event_clear(struct event *e)
{
	free(e->action);
	device_free(e->dev);
	free(e->syspath);
	*e = (struct event){0};
}

static int receive_now(struct monitor *m, struct event *e)
{
	event_clear(e);
	return monitor_receive(m, &e->action, &e->dev, &e->syspath);
}

/* Waits for the monitor's fd, then reads one event. */
static int receive(struct monitor *m, struct event *e)
{
	struct pollfd p = {.fd = monitor_get_fd(m), .events = POLLIN};

	assert_int_equal(poll(&p, 1, 5000), 1);
	return receive_now(m, e);
}

static void monitor_add_and_remove(void **state)
{
	struct fixture *f = *state;
	_cleanup_(monitor_freep) struct monitor *m = NULL;
	_cleanup_(event_clear) struct event e = {0};
	const struct testbed_usb u = {
	    .port = "1-6",
	    .vendor = 0x04e6,
	    .product = 0x5116,
	    .busnum = 1,
	    .devnum = 50,
	    .interface_class = 0x0b,
	};

	assert_int_equal(monitor_new(f->udev, &m), 0);
	assert_int_equal(receive_now(m, &e), MONITOR_E_EMPTY);
	/* umockdev sends "add" itself (the interface's is filtered out). */
	g_autofree char *added = testbed_add_usb_device(f->tb, &u);
	assert_int_equal(receive(m, &e), 0);
	assert_string_equal(e.action, "add");
	assert_string_equal(e.syspath, e.dev->syspath);
	assert_string_equal(e.dev->id, "1-6");
	assert_int_equal(e.dev->vendor, 0x04e6);
	assert_int_equal(e.dev->interface_classes[0], 0x0b);
	assert_int_equal(receive_now(m, &e), MONITOR_E_EMPTY);
	assert_null(e.action);

	umockdev_testbed_uevent(f->tb, added, "change");
	assert_int_equal(receive(m, &e), 0);
	assert_string_equal(e.action, "change");
	assert_string_equal(e.dev->id, "1-6");

	umockdev_testbed_uevent(f->tb, added, "remove");
	umockdev_testbed_remove_device(f->tb, added);
	assert_int_equal(receive(m, &e), 0);
	assert_string_equal(e.action, "remove");
	assert_null(e.dev);
	assert_true(g_str_has_suffix(e.syspath, "/1-6"));
}

/* The filter drops interfaces; a root hub's event is read and skipped. */
static void monitor_filters(void **state)
{
	struct fixture *f = *state;
	_cleanup_(monitor_freep) struct monitor *m = NULL;
	_cleanup_(event_clear) struct event e = {0};
	const char *root = "/sys/devices/pci0000:00/0000:00:1a.0/usb1";
	g_autofree char *iface =
	    g_strdup_printf("%s/1-1/1-1.5/1-1.5.4/%s/%s:1.0", root,
			    KEYBOARD_PORT, KEYBOARD_PORT);

	assert_int_equal(monitor_new(f->udev, &m), 0);
	umockdev_testbed_uevent(f->tb, iface, "change");
	umockdev_testbed_uevent(f->tb, root, "change");
	assert_int_equal(receive(m, &e), MONITOR_E_SKIPPED);
	assert_null(e.action);
	assert_null(e.dev);
	assert_null(e.syspath);
	assert_int_equal(receive_now(m, &e), MONITOR_E_EMPTY);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(recorded_camera, setup, teardown),
	    cmocka_unit_test_setup_teardown(recorded_keyboard, setup, teardown),
	    cmocka_unit_test_setup_teardown(recorded_hubs_and_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(synthetic_touchscreen, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(synthetic_webcam, setup, teardown),
	    cmocka_unit_test_setup_teardown(synthetic_hostile_strings, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(synthetic_garbage_ids, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(synthetic_pci_and_iommu, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		iommu_group_with_leading_zeros_is_no_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(removed_child_node_leaves_no_copy,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(monitor_add_and_remove, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(monitor_filters, setup, teardown),
	};

	if (!testbed_preloaded())
		return 77;
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
