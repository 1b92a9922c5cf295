/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* device_enumerate() and iommu_list_read() on this machine's own sysfs:
 * whatever is there must come out sane. Skipped without /sys/bus/pci. */
#include <dirent.h>
#include <stdbool.h>
#include <fnmatch.h>
#include <libudev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/model/device.h"
#include "devpass/model/iommu.h"
#include "test-util.h"

#define HEX "[0-9a-f]"
#define PCI_ADDRESS                                                            \
	HEX HEX HEX HEX ":" HEX HEX ":" HEX HEX "."                            \
			"[0-7]"

static size_t count_pci_sysfs(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void check_pci(const struct device *d)
{
	assert_int_equal(fnmatch(PCI_ADDRESS, d->id, 0), 0);
	assert_true(d->vendor != 0 && d->vendor != 0xffff);
	assert_true(d->pci_class <= 0xffffff);
	assert_int_equal(d->n_nodes, 0);
	assert_non_null(device_get_prop(d, "PCI_SLOT_NAME"));
	assert_string_equal(device_get_prop(d, "PCI_SLOT_NAME"), d->id);
}

static void check_usb(const struct device *d)
{
	assert_true(strncmp(d->id, "usb", 3) != 0);
	assert_true(d->busnum > 0);
	for (size_t i = 0; i < d->n_nodes; i++)
		assert_true(strncmp(d->nodes[i].devnode, "/dev/", 5) == 0);
}

static void real_enumerate(void **state)
{
	struct udev *udev = udev_new();
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	size_t n_pci = 0;

	assert_non_null(udev);
	assert_int_equal(device_enumerate(udev, &l), 0);
	for (size_t i = 0; i < l->n_devices; i++) {
		struct device *d = l->devices[i];
		if (d->subsystem == DEVICE_PCI) {
			check_pci(d);
			n_pci++;
		} else {
			assert_int_equal(n_pci, 0); /* USB sorts first */
			check_usb(d);
		}
		assert_ptr_equal(device_find(l, d->id), d);
		assert_ptr_equal(device_find(l, d->syspath), d);
		if (i > 0 && d->subsystem == l->devices[i - 1]->subsystem)
			assert_true(strverscmp(l->devices[i - 1]->id, d->id) <
				    0);
	}
	assert_int_equal(n_pci, count_pci_sysfs());
	udev_unref(udev);
}

static bool group_has(const struct iommu_group *g, const char *address)
{
	for (char **a = g ? g->addresses : NULL; a && *a; a++)
		if (strcmp(*a, address) == 0)
			return true;
	return false;
}

/* Each PCI device's iommu_group link agrees with the group listing. */
static void real_iommu(void **state)
{
	_cleanup_(iommu_list_freep) struct iommu_list *groups = NULL;
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	struct udev *udev = udev_new();
	int r = iommu_list_read(NULL, &groups);

	assert_true(r == 0 || r == IOMMU_E_NONE);
	assert_true((r == IOMMU_E_NONE) == (groups == NULL));
	assert_int_equal(device_enumerate(udev, &l), 0);
	for (size_t i = 0; i < l->n_devices; i++) {
		struct device *d = l->devices[i];
		if (d->subsystem != DEVICE_PCI)
			continue;
		if (r == IOMMU_E_NONE)
			assert_int_equal(d->iommu_group, -1);
		else
			assert_true(group_has(
			    iommu_list_find(groups, d->iommu_group), d->id));
	}
	udev_unref(udev);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(real_enumerate),
	    cmocka_unit_test(real_iommu),
	};

	if (access("/sys/bus/pci", F_OK) < 0)
		return 77;
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
