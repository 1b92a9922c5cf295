/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "devpass/model/iommu.h"
#include "devpass/plan/host_guard.h"
#include "devpass/util/log.h"

#define PCI_CLASS_STORAGE		 0x01
#define PCI_CLASS_BRIDGE		 0x06
#define PCI_CLASS_BRIDGE_HOST		 0x0600
#define PCI_CLASS_BRIDGE_PCI		 0x0604
#define PCI_CLASS_BRIDGE_PCI_SUBTRACTIVE 0x0609

/* dm on md on a partition is as deep as it gets in practice. */
#define SLAVES_DEPTH_MAX 4

const char host_guard_no_iommu_advice[] =
	"the host has no IOMMU (no groups in " IOMMU_GROUPS_DIR "), so no PCI "
	"device can go to a VM: enable VT-d (Intel) or AMD-Vi (AMD) in the "
	"firmware and boot with intel_iommu=on (Intel; AMD enables it by "
	"default) and iommu=pt";

bool host_guard_is_bridge(const struct device *d)
{
	unsigned cls = d->pci_class >> 8;
	return d->subsystem == DEVICE_PCI &&
	       (cls == PCI_CLASS_BRIDGE_PCI ||
		cls == PCI_CLASS_BRIDGE_PCI_SUBTRACTIVE);
}

bool host_guard_member_blocks(const struct device *m)
{
	if (host_guard_is_bridge(m) || !m->driver)
		return false;
	return strcmp(m->driver, "vfio-pci") != 0 &&
	       strcmp(m->driver, "pci-stub") != 0;
}

static bool is_busy(const struct host_guard *h, const struct device *d)
{
	return strv_contains(h->busy_storage, d->id);
}

const char *host_guard_needs(const struct host_guard *h, const struct device *d)
{
	if (host_guard_is_bridge(d))
		return "it is a PCI bridge";
	if (d->subsystem == DEVICE_PCI &&
	    (d->pci_class >> 8) == PCI_CLASS_BRIDGE_HOST)
		return "it is the host bridge";
	/* ISA/LPC, PCMCIA and the like: the platform's own glue. */
	if (d->subsystem == DEVICE_PCI &&
	    (d->pci_class >> 16) == PCI_CLASS_BRIDGE)
		return "it is a bridge of the platform";
	if (d->boot_vga)
		return "it is the boot VGA (boot_vga=1)";
	if (h && is_busy(h, d))
		return "a mounted filesystem lives on it";
	return NULL;
}

/* ---- storage controllers with mounted filesystems ---- */

/* Marks the storage controller @sysdir lies below, and recurses into the
 * devices a dm/md device is built on. */
static int mark_sysdir(const struct device_list *l, const char *sysdir,
		       struct host_guard *h, int depth);

static int mark_slaves(const struct device_list *l, const char *sysdir,
		       struct host_guard *h, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	if (depth >= SLAVES_DEPTH_MAX ||
	    snprintf(path, sizeof(path), "%s/slaves", sysdir) >=
		    (int)sizeof(path))
		return 0;
	_cleanup_(closedirp) DIR *d = opendir(path);
	while (d && (de = readdir(d))) {
		char link[PATH_MAX];
		if (de->d_name[0] == '.' ||
		    snprintf(link, sizeof(link), "/sys/class/block/%s",
			     de->d_name) >= (int)sizeof(link))
			continue;
		int r = mark_sysdir(l, link, h, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static int mark_sysdir(const struct device_list *l, const char *sysdir,
		       struct host_guard *h, int depth)
{
	_cleanup_(freep) char *real = realpath(sysdir, NULL);
	if (!real)
		return 0;
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct device *d = l->devices[i];
		if (d->subsystem != DEVICE_PCI ||
		    (d->pci_class >> 16) != PCI_CLASS_STORAGE ||
		    !below(real, d->syspath) || is_busy(h, d))
			continue;
		log_debug("%s: a mounted filesystem lives on it", d->id);
		if (strv_push(&h->busy_storage, d->id) < 0)
			return -ENOMEM;
	}
	return mark_slaves(l, real, h, depth);
}

static int mark_dev(const struct device_list *l, dev_t dev,
		    struct host_guard *h)
{
	char sysdir[64];
	if (major(dev) == 0) /* tmpfs, overlay, proc...: no block device */
		return 0;
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	return mark_sysdir(l, sysdir, h, 0);
}

/* A mountinfo line: "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS] - FS SOURCE
 * OPTS". The source is looked at too: btrfs reports an anonymous 0:N. */
static int mark_mount(const struct device_list *l, const char *line,
		      struct host_guard *h)
{
	unsigned maj, min;
	struct stat st;
	int r = 0;
	if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2)
		r = mark_dev(l, makedev(maj, min), h);
	const char *sep = strstr(line, " - ");
	char source[PATH_MAX];
	if (r == 0 && sep && sscanf(sep, " - %*s %4095s", source) == 1 &&
	    strncmp(source, "/dev/", 5) == 0 && stat(source, &st) == 0 &&
	    S_ISBLK(st.st_mode) && st.st_rdev != makedev(maj, min))
		r = mark_dev(l, st.st_rdev, h);
	return r;
}

static int read_busy_storage(const struct device_list *l, const char *mountinfo,
			     struct host_guard *h)
{
	_cleanup_(fclosep) FILE *f = fopen(mountinfo, "re");
	_cleanup_(freep) char *line = NULL;
	size_t size = 0;
	if (!f) {
		log_debug("%s: %m; no storage controller taken as busy",
			  mountinfo);
		return 0;
	}
	while (getline(&line, &size, f) > 0) {
		int r = mark_mount(l, line, h);
		if (r < 0)
			return r;
	}
	return 0;
}

int host_guard_read(const struct device_list *l, const char *groups_dir,
		    const char *mountinfo, struct host_guard *h)
{
	_cleanup_(iommu_list_freep) struct iommu_list *groups = NULL;
	*h = (struct host_guard){0};
	int r = iommu_list_read(groups_dir, &groups);
	h->iommu = r == 0;
	if (r < 0)
		log_debug("IOMMU groups unreadable: taken as none");
	r = read_busy_storage(l, mountinfo ? mountinfo : "/proc/self/mountinfo",
			      h);
	if (r < 0)
		host_guard_clear(h);
	return r;
}

void host_guard_clear(struct host_guard *h)
{
	strv_free(h->busy_storage);
	h->busy_storage = NULL;
}
