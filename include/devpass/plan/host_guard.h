/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the host guard: what keeps a PCI function from a VM
 *
 * (The IommuGroup= decisions themselves are the plan's IOMMU pass,
 * plan_iommu.c.)
 *
 * A VM can take a PCI function only when its whole IOMMU group is free of
 * the host: the kernel (vfio) calls a group viable when every device in it
 * is driverless, bound to vfio-pci or pci-stub, or a PCI bridge. The
 * members of a group are the devices of the device list with the same
 * iommu_group number, so these checks need no sysfs of their own.
 *
 * Some devices the host needs whatever a rule says, unless a rule names
 * the device's very address (Address=0000:00:02.0, no glob): bridges
 * (PCI-to-PCI, the host bridge, ISA/LPC and the other class 06 glue), the
 * boot VGA (boot_vga=1) and storage controllers a mounted filesystem
 * lives on. They are never handed to a VM. A GPU given to a container
 * stays bound to its host driver, so none of this applies there.
 *
 * struct host_guard holds the little the device list does not say; the
 * daemon reads it before each plan (host_guard_read()), tests build it.
 */

#include <stdbool.h>

#include "devpass/model/device.h"

/**
 * struct host_guard - host facts the plan needs for PCI to VMs.
 * @iommu: the host has IOMMU groups at all.
 * @busy_storage: PCI addresses of storage controllers that a mounted
 *                filesystem lives on, NULL-terminated, or NULL.
 */
struct host_guard {
	bool iommu;
	char **busy_storage;
};

/* The advice given when the host has no IOMMU. */
extern const char host_guard_no_iommu_advice[];

/**
 * host_guard_read() - fill @h from the host.
 * @groups_dir: NULL for /sys/kernel/iommu_groups.
 * @mountinfo: NULL for /proc/self/mountinfo.
 * A storage controller is busy when a mounted block device (or a device
 * mapper / md device built on one) sits below its syspath.
 * Return: 0 or -ENOMEM (not logged); unreadable files count as "none"
 * (logged at debug).
 */
int host_guard_read(const struct device_list *l, const char *groups_dir,
		    const char *mountinfo, struct host_guard *h);
void host_guard_clear(struct host_guard *h);

/* Whether @d is a PCI-to-PCI bridge (class 0604 or 0609). */
bool host_guard_is_bridge(const struct device *d);

/**
 * host_guard_member_blocks() - whether @m, in the group of a device going
 * to a VM, keeps the group from being viable: it is bound to a host driver
 * other than vfio-pci and pci-stub and is not a PCI bridge.
 */
bool host_guard_member_blocks(const struct device *m);

/**
 * host_guard_needs() - why the host needs @d, or NULL: "it is a PCI
 * bridge", "it is the host bridge", "it is a bridge of the platform" (any
 * other class 06), "it is the boot VGA (boot_vga=1)", "a mounted filesystem
 * lives on it". @h may be NULL (no busy storage known).
 */
const char *host_guard_needs(const struct host_guard *h,
			     const struct device *d);
