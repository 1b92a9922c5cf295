/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"
#include "testbed.h"

#define testbed_die(...)                                                       \
	do {                                                                   \
		fprintf(stderr, "testbed: " __VA_ARGS__);                      \
		fputc('\n', stderr);                                           \
		abort();                                                       \
	} while (0)

bool testbed_preloaded(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "libumockdev-preload");
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	return remove(path);
}

/* A test killed by a signal (test-util.h) removes its testbed's
 * directory, as umockdev does when the testbed is freed. */
static void remove_root_on_death(void *root)
{
	nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	g_free(root);
}

/* Freed the ordinary way: umockdev removed the directory itself. Run at
 * the end of GObject's finalize (object data), so after umockdev's
 * removal: a test killed half-way through that still removes the rest. */
static void forget_root(gpointer root)
{
	at_exit_or_kill_cancel(remove_root_on_death, root);
	g_free(root);
}

UMockdevTestbed *testbed_new(void)
{
	if (!testbed_preloaded()) {
		fprintf(stderr, "not under LD_PRELOAD=libumockdev-preload.so.0,"
				" skipping\n");
		exit(77);
	}
	UMockdevTestbed *tb = umockdev_testbed_new();
	char *root = umockdev_testbed_get_root_dir(tb);
	if (at_exit_or_kill(remove_root_on_death, root) < 0)
		testbed_die("too many testbeds");
	g_object_set_data_full(G_OBJECT(tb), "devpass-testbed-root", root,
			       forget_root);
	return tb;
}

static char *testbed_data_path(const char *name)
{
	const char *src = getenv("DEVPASS_SOURCE_DIR");

	if (strchr(name, '/'))
		return g_strdup(name);
	return g_strdup_printf("%s/tests/data/%s", src ? src : ".", name);
}

/* Whether the block "P: /devices/...\n..." names a device @tb has. */
static bool testbed_has_block(UMockdevTestbed *tb, const char *block)
{
	g_autofree char *sys = umockdev_testbed_get_sys_dir(tb);
	size_t len = strcspn(block + 3, "\n");
	g_autofree char *uevent =
	    g_strdup_printf("%s%.*s/uevent", sys, (int)len, block + 3);
	return g_file_test(uevent, G_FILE_TEST_EXISTS);
}

void testbed_load(UMockdevTestbed *tb, const char *name)
{
	g_autofree char *path = testbed_data_path(name);
	g_autofree char *text = NULL;
	g_autoptr(GError) err = NULL;

	if (!g_file_get_contents(path, &text, NULL, &err))
		testbed_die("%s", err->message);
	/* A recording is blocks of lines split by empty lines. */
	g_auto(GStrv) blocks = g_strsplit(text, "\n\n", -1);
	g_autoptr(GString) keep = g_string_new(NULL);
	for (char **b = blocks; *b; b++) {
		const char *block = *b + strspn(*b, "\n");
		if (strncmp(block, "P: ", 3) != 0 ||
		    testbed_has_block(tb, block))
			continue;
		g_string_append_printf(keep, "%s\n\n", block);
	}
	if (keep->len && !umockdev_testbed_add_from_string(tb, keep->str, &err))
		testbed_die("%s: %s", path, err->message);
}

/* Adds a NULL-terminated name/value list to @v. */
static void strv_add(GPtrArray *v, const char *name, char *value)
{
	g_ptr_array_add(v, g_strdup(name));
	g_ptr_array_add(v, value);
}

static char *testbed_add(UMockdevTestbed *tb, const char *subsystem,
			 const char *name, const char *parent, GPtrArray *attrs,
			 GPtrArray *props)
{
	g_ptr_array_add(attrs, NULL);
	g_ptr_array_add(props, NULL);
	char *syspath = umockdev_testbed_add_devicev(
	    tb, subsystem, name, parent, (char **)attrs->pdata,
	    (char **)props->pdata);
	if (!syspath)
		testbed_die("cannot add %s device %s", subsystem, name);
	return syspath;
}

/* /dev path of a child node, as the kernel names them. */
static char *testbed_child_devname(const struct testbed_usb *u)
{
	const char *dir = "";

	if (strcmp(u->child_subsystem, "input") == 0)
		dir = "input/";
	else if (strcmp(u->child_subsystem, "sound") == 0)
		dir = "snd/";
	else if (strcmp(u->child_subsystem, "usbmisc") == 0)
		dir = "usb/";
	return g_strdup_printf("/dev/%s%s", dir, u->child_name);
}

static void testbed_add_usb_child(UMockdevTestbed *tb,
				  const struct testbed_usb *u,
				  const char *parent)
{
	g_autoptr(GPtrArray) attrs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) props = g_ptr_array_new_with_free_func(g_free);

	strv_add(attrs, "dev",
		 g_strdup_printf("%u:%u", u->child_major, u->child_minor));
	strv_add(props, "DEVNAME", testbed_child_devname(u));
	strv_add(props, "MAJOR", g_strdup_printf("%u", u->child_major));
	strv_add(props, "MINOR", g_strdup_printf("%u", u->child_minor));
	if (u->child_property) {
		const char *eq = strchr(u->child_property, '=');
		if (!eq)
			testbed_die("child_property needs KEY=VALUE");
		g_ptr_array_add(props, g_strndup(u->child_property,
						 eq - u->child_property));
		g_ptr_array_add(props, g_strdup(eq + 1));
	}
	g_free(testbed_add(tb, u->child_subsystem, u->child_name, parent, attrs,
			   props));
}

static void testbed_add_usb_interface(UMockdevTestbed *tb,
				      const struct testbed_usb *u,
				      const char *parent)
{
	g_autoptr(GPtrArray) attrs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) props = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *name = g_strdup_printf("%s:1.0", u->port);

	strv_add(attrs, "bInterfaceClass",
		 g_strdup_printf("%02x", (unsigned)u->interface_class));
	strv_add(attrs, "bInterfaceNumber", g_strdup("00"));
	strv_add(props, "DEVTYPE", g_strdup("usb_interface"));
	g_autofree char *syspath =
	    testbed_add(tb, "usb", name, parent, attrs, props);
	if (u->child_subsystem)
		testbed_add_usb_child(tb, u, syspath);
}

static void testbed_usb_attrs(const struct testbed_usb *u, GPtrArray *attrs)
{
	unsigned minor = (u->busnum - 1) * 128 + (u->devnum - 1);

	strv_add(attrs, "idVendor", g_strdup_printf("%04x", u->vendor));
	strv_add(attrs, "idProduct", g_strdup_printf("%04x", u->product));
	strv_add(attrs, "bDeviceClass",
		 g_strdup_printf("%02x", u->device_class));
	strv_add(attrs, "busnum", g_strdup_printf("%u", u->busnum));
	strv_add(attrs, "devnum", g_strdup_printf("%u", u->devnum));
	strv_add(attrs, "dev", g_strdup_printf("189:%u", minor));
	if (u->serial)
		strv_add(attrs, "serial", g_strdup(u->serial));
	if (u->manufacturer)
		strv_add(attrs, "manufacturer", g_strdup(u->manufacturer));
	if (u->product_name)
		strv_add(attrs, "product", g_strdup(u->product_name));
}

static void testbed_usb_props(const struct testbed_usb *u, GPtrArray *props)
{
	unsigned minor = (u->busnum - 1) * 128 + (u->devnum - 1);

	strv_add(props, "DEVTYPE", g_strdup("usb_device"));
	strv_add(
	    props, "DEVNAME",
	    g_strdup_printf("/dev/bus/usb/%03u/%03u", u->busnum, u->devnum));
	strv_add(props, "BUSNUM", g_strdup_printf("%03u", u->busnum));
	strv_add(props, "DEVNUM", g_strdup_printf("%03u", u->devnum));
	strv_add(props, "MAJOR", g_strdup("189"));
	strv_add(props, "MINOR", g_strdup_printf("%u", minor));
	strv_add(props, "ID_VENDOR_ID", g_strdup_printf("%04x", u->vendor));
	strv_add(props, "ID_MODEL_ID", g_strdup_printf("%04x", u->product));
	strv_add(props, "PRODUCT",
		 g_strdup_printf("%x/%x/100", u->vendor, u->product));
}

char *testbed_add_usb_device(UMockdevTestbed *tb, const struct testbed_usb *u)
{
	g_autoptr(GPtrArray) attrs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) props = g_ptr_array_new_with_free_func(g_free);

	if (!u->port || u->busnum < 1 || u->devnum < 1)
		testbed_die("a USB device needs a port, busnum and devnum");
	testbed_usb_attrs(u, attrs);
	testbed_usb_props(u, props);
	char *syspath =
	    testbed_add(tb, "usb", u->port, u->parent, attrs, props);
	if (u->interface_class >= 0)
		testbed_add_usb_interface(tb, u, syspath);
	return syspath;
}

/* mkdir -p of @path inside the testbed's sys dir. */
static char *testbed_sys_mkdir(UMockdevTestbed *tb, const char *path)
{
	g_autofree char *sys = umockdev_testbed_get_sys_dir(tb);
	char *dir = g_strdup_printf("%s/%s", sys, path);

	if (g_mkdir_with_parents(dir, 0755) < 0)
		testbed_die("mkdir %s: %s", dir, strerror(errno));
	return dir;
}

static void testbed_symlink(const char *target, const char *dir,
			    const char *name)
{
	g_autofree char *link = g_strdup_printf("%s/%s", dir, name);

	if (symlink(target, link) < 0)
		testbed_die("symlink %s: %s", link, strerror(errno));
}

static void testbed_pci_iommu(UMockdevTestbed *tb, const char *syspath,
			      int group)
{
	g_autofree char *gdir =
	    g_strdup_printf("kernel/iommu_groups/%d/devices", group);
	g_autofree char *dir = testbed_sys_mkdir(tb, gdir);
	g_autofree char *sys = umockdev_testbed_get_sys_dir(tb);
	/* syspath is "/sys/devices/..."; links are relative to /sys. */
	const char *rel = syspath + 5;
	g_autofree char *devdir = g_strdup_printf("%s/%s", sys, rel);
	g_autofree char *to_dev = g_strdup_printf("../../../../%s", rel);
	g_autofree char *up = g_strnfill(0, 0);
	for (const char *c = rel; *c; c++)
		if (*c == '/') {
			char *grown = g_strconcat(up, "../", NULL);
			g_free(up);
			up = grown;
		}
	g_autofree char *to_group = g_strdup_printf(
	    "../%skernel/iommu_groups/%d", up, group);

	testbed_symlink(to_dev, dir, strrchr(syspath, '/') + 1);
	testbed_symlink(to_group, devdir, "iommu_group");
}

/* The driver link, to a driver directory that exists like the kernel's. */
static void testbed_pci_driver(UMockdevTestbed *tb, const char *syspath,
			       const char *driver)
{
	g_autofree char *drv = g_strdup_printf("bus/pci/drivers/%s", driver);
	g_free(testbed_sys_mkdir(tb, drv));
	g_autofree char *target =
	    g_strdup_printf("../../bus/pci/drivers/%s", driver);

	umockdev_testbed_set_attribute_link(tb, syspath, "driver", target);
}

char *testbed_add_pci(UMockdevTestbed *tb, const struct testbed_pci *p)
{
	g_autoptr(GPtrArray) attrs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) props = g_ptr_array_new_with_free_func(g_free);

	strv_add(attrs, "vendor", g_strdup_printf("0x%04x", p->vendor));
	strv_add(attrs, "device", g_strdup_printf("0x%04x", p->device));
	strv_add(attrs, "class", g_strdup_printf("0x%06x", p->cls));
	if (p->boot_vga)
		strv_add(attrs, "boot_vga", g_strdup("1"));
	strv_add(props, "PCI_SLOT_NAME", g_strdup(p->address));
	strv_add(props, "PCI_ID",
		 g_strdup_printf("%04X:%04X", p->vendor, p->device));
	strv_add(props, "PCI_CLASS", g_strdup_printf("%X", p->cls));
	if (p->driver)
		strv_add(props, "DRIVER", g_strdup(p->driver));
	char *syspath = testbed_add(tb, "pci", p->address, p->parent, attrs,
				    props);
	if (p->driver)
		testbed_pci_driver(tb, syspath, p->driver);
	if (p->iommu_group >= 0)
		testbed_pci_iommu(tb, syspath, p->iommu_group);
	if (p->config)
		umockdev_testbed_set_attribute_binary(
		    tb, syspath, "config", (guint8 *)p->config,
		    (gssize)p->config_len);
	return syspath;
}

char *testbed_add_pci_device(UMockdevTestbed *tb, const char *address,
			     uint16_t vendor, uint16_t device, uint32_t cls,
			     const char *driver, int iommu_group)
{
	const struct testbed_pci p = {
		.address = address, .vendor = vendor, .device = device,
		.cls = cls, .driver = driver, .iommu_group = iommu_group,
	};
	return testbed_add_pci(tb, &p);
}

void testbed_pci_bind(UMockdevTestbed *tb, const char *syspath,
		      const char *driver)
{
	g_autofree char *link = g_strdup_printf("%s/driver", syspath);
	g_autofree char *sys = umockdev_testbed_get_sys_dir(tb);
	/* syspath is "/sys/devices/..."; the file lives in the testbed. */
	g_autofree char *file = g_strdup_printf("%s/%s", sys, link + 5);

	if (unlink(file) < 0 && errno != ENOENT)
		testbed_die("unlink %s: %s", file, strerror(errno));
	if (driver)
		testbed_pci_driver(tb, syspath, driver);
	umockdev_testbed_set_property(tb, syspath, "DRIVER", driver ? driver : "");
	umockdev_testbed_uevent(tb, syspath, driver ? "bind" : "unbind");
}
