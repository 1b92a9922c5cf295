/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "devpass/model/pci-acs.h"
#include "libpci.h"

/* The first extended capability's offset: readable means all of it is. */
#define PCI_ACS_PROBE_AT 0x100

/* The ACS control word of @p, from its config space. */
static int pci_acs_of(struct pci_dev *p, uint16_t *ctrl)
{
	uint8_t probe[4];

	/* Past the first 64 bytes sysfs gives root only. */
	if (!pci_read_block(p, PCI_ACS_PROBE_AT, probe, sizeof(probe)))
		return -EACCES;
	pci_fill_info(p, PCI_FILL_EXT_CAPS);
	struct pci_cap *c =
		pci_find_cap(p, PCI_EXT_CAP_ID_ACS, PCI_CAP_EXTENDED);
	if (!c)
		return PCI_ACS_E_ABSENT;
	*ctrl = pci_read_word(p, c->addr + PCI_ACS_CTRL);
	return 0;
}

int pci_acs_read(const char *address, uint16_t *ctrl)
{
	unsigned dom, bus, dev, fn;
	char end;

	if (sscanf(address, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &end) != 4)
		return -EINVAL;
	_cleanup_(pci_cleanupp) struct pci_access *a = libpci_new();
	if (!a)
		return -ENOMEM;
	a->method = PCI_ACCESS_SYS_BUS_PCI;
	pci_init(a);
	_cleanup_(pci_free_devp) struct pci_dev *p =
		pci_get_dev(a, (int)dom, (int)bus, (int)dev, (int)fn);
	if (!p)
		return -ENOMEM;
	return pci_acs_of(p, ctrl);
}
