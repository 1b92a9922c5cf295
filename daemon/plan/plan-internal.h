/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by plan.c and plan_iommu.c only: the IOMMU pass over a plan whose
 * placements have their targets.
 */

#include "devpass/plan/host_guard.h"
#include "devpass/plan/plan.h"

/*
 * plan_iommu() - apply IommuGroup= and the devices the host needs to every
 * placement of a PCI device to a VM: refuses those the group or the host
 * forbid, adds the group's functions to an IommuGroup=whole placement.
 * Return: 0 or -ENOMEM.
 */
int plan_iommu(struct plan *p, const struct device_list *devices,
	       const struct host_guard *host);
