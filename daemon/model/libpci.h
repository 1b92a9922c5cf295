/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libpci, set up the way the model uses it: its warnings go to the debug
 * log, its errors (bad arguments only: a bug here) to the error log and
 * abort(). Private to the model (pci.c, pci-acs.c).
 */

#include <pci/pci.h>

#include "devpass/util/common.h"

DEFINE_FREEP(struct pci_access, pci_cleanup)
DEFINE_FREEP(struct pci_dev, pci_free_dev)

/* A new pci_access with devpass's log callbacks, not yet pci_init()ed;
 * NULL on ENOMEM. */
struct pci_access *libpci_new(void);
