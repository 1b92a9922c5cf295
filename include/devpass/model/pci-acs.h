/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: PCI Access Control Services
 *
 * Whether a PCI bridge isolates the functions below it, read from its
 * config space: the reason the kernel puts devices in one IOMMU group or
 * in several. Shown by `devpass iommu`; the plan does not depend on it.
 */

#include <stdint.h>

/**
 * enum pci_acs_result - expected outcomes of pci_acs_read().
 * @PCI_ACS_E_ABSENT: the function has no ACS capability.
 */
enum pci_acs_result {
	PCI_ACS_E_ABSENT = 1,
};

/* ACS control bits the kernel wants on every bridge above a device for
 * it to have a group of its own: source validation, request and
 * completion redirect, upstream forwarding. */
#define PCI_ACS_ISOLATING (0x01 | 0x04 | 0x08 | 0x10)

/**
 * pci_acs_read() - the ACS control word (PCI_ACS_CTRL) of the PCI function
 * at @address, read through libpci (the sysfs config file).
 * Return: 0 and *@ctrl set; PCI_ACS_E_ABSENT; -EACCES when its extended
 * config space cannot be read (it takes root); -EINVAL for a bad address;
 * -ENOMEM. Nothing is logged: the caller shows the outcome.
 */
int pci_acs_read(const char *address, uint16_t *ctrl);
