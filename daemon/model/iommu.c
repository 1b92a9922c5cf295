/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "devpass/model/iommu.h"
#include "devpass/util/log.h"

void iommu_list_free(struct iommu_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_groups; i++)
		strv_free(l->groups[i].addresses);
	free(l->groups);
	free(l);
}

/*
 * A group directory's name as a number, or -1 ("." and friends). Only the
 * kernel's spelling counts: "007" beside "7" would be a second group 7.
 */
static int iommu_parse_number(const char *name)
{
	char *end;

	if (name[0] < '0' || name[0] > '9' || (name[0] == '0' && name[1]))
		return -1;
	errno = 0;
	long n = strtol(name, &end, 10);
	if (errno || *end || n > INT_MAX)
		return -1;
	return (int)n;
}

static int iommu_address_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int iommu_read_devices(const char *dir, struct iommu_group *g)
{
	char path[PATH_MAX];
	struct dirent *de;

	if (snprintf(path, sizeof(path), "%s/%d/devices", dir, g->number) >=
	    (int)sizeof(path))
		return 0; /* no such path on any system */
	_cleanup_(closedirp) DIR *d = opendir(path);
	if (!d) {
		log_debug("%s: %m, group taken as empty", path);
		return errno == ENOMEM ? -ENOMEM : 0;
	}
	_cleanup_(strv_builder_clear) struct strv_builder b = {0};
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (strv_builder_add(&b, de->d_name) < 0)
			return -ENOMEM;
	}
	if (b.n > 1)
		qsort(b.v, b.n, sizeof(char *), iommu_address_cmp);
	strv_free(g->addresses);
	g->addresses = strv_builder_steal(&b);
	return 0;
}

static int iommu_list_add(struct iommu_list *l, const char *dir, int number)
{
	struct iommu_group *grown =
		realloc(l->groups, (l->n_groups + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	l->groups = grown;
	l->groups[l->n_groups] = (struct iommu_group){.number = number};
	l->n_groups++;
	return iommu_read_devices(dir, &l->groups[l->n_groups - 1]);
}

static int iommu_group_cmp(const void *a, const void *b)
{
	const struct iommu_group *x = a, *y = b;
	return (x->number > y->number) - (x->number < y->number);
}

static int iommu_list_scan(struct iommu_list *l, DIR *d, const char *dir)
{
	struct dirent *de;

	while ((errno = 0, de = readdir(d))) {
		int number = iommu_parse_number(de->d_name);
		if (number < 0)
			continue;
		if (iommu_list_add(l, dir, number) < 0)
			return log_err_errno(-ENOMEM,
					     "IOMMU groups: out of memory");
	}
	if (errno)
		return log_err_errno(-errno, "%s: %m", dir);
	return 0;
}

int iommu_list_read(const char *dir, struct iommu_list **out)
{
	_cleanup_(iommu_list_freep) struct iommu_list *l = NULL;
	*out = NULL;
	if (!dir)
		dir = IOMMU_GROUPS_DIR;
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d && errno == ENOENT)
		return IOMMU_E_NONE;
	if (!d)
		return log_err_errno(-errno, "%s: %m", dir);
	if (!(l = calloc(1, sizeof(*l))))
		return log_err_errno(-ENOMEM, "IOMMU groups: out of memory");
	int r = iommu_list_scan(l, d, dir);
	if (r < 0)
		return r;
	if (l->n_groups == 0)
		return IOMMU_E_NONE;
	qsort(l->groups, l->n_groups, sizeof(*l->groups), iommu_group_cmp);
	*out = steal_ptr(&l);
	return 0;
}

const struct iommu_group *iommu_list_find(const struct iommu_list *l,
					  int number)
{
	for (size_t i = 0; l && i < l->n_groups; i++)
		if (l->groups[i].number == number)
			return &l->groups[i];
	return NULL;
}
