/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: IOMMU groups
 *
 * The host's IOMMU groups as the kernel lists them in
 * /sys/kernel/iommu_groups/N/devices/ (one link per PCI address). Under a
 * umockdev testbed /sys is the testbed's, so tests can build groups there.
 */

#include <stddef.h>

#include "devpass/util/common.h"

#define IOMMU_GROUPS_DIR "/sys/kernel/iommu_groups"

/**
 * enum iommu_result - expected outcomes of iommu_list_read().
 * @IOMMU_E_NONE: the host has no IOMMU (no groups at all).
 */
enum iommu_result {
	IOMMU_E_NONE = 1,
};

/**
 * struct iommu_group - one group.
 * @number: the group's number.
 * @addresses: PCI addresses of its devices, sorted, NULL-terminated.
 */
struct iommu_group {
	int number;
	char **addresses;
};

/**
 * struct iommu_list - every group, sorted by number.
 */
struct iommu_list {
	struct iommu_group *groups;
	size_t n_groups;
};

void iommu_list_free(struct iommu_list *l);
DEFINE_FREEP(struct iommu_list, iommu_list_free)

/**
 * iommu_list_read() - read every group under @dir (IOMMU_GROUPS_DIR when
 * NULL). Entries whose names are not numbers are skipped.
 * Return: 0 and *@out set; IOMMU_E_NONE (*@out NULL) when @dir is missing
 * or empty; -errno when it cannot be read, logged here.
 */
int iommu_list_read(const char *dir, struct iommu_list **out);

/* The group numbered @number, or NULL. */
const struct iommu_group *iommu_list_find(const struct iommu_list *l,
					  int number);
