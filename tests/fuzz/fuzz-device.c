/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device model on hostile sysfs trees. The input is written like a
 * umockdev recording (the seeds are the recordings of tests/data/): blocks
 * of "P: /devices/PATH", then "E: KEY=VALUE" (the uevent file's
 * properties), "A: name=value" (an attribute, with C escapes) and
 * "H: name=HEX" (a binary one), "L: name=target" (a link: driver,
 * iommu_group); plus "I: N=ADDRESS" lines anywhere for
 * /sys/kernel/iommu_groups/N/devices/ADDRESS. The harness writes that tree
 * into a fresh umockdev testbed's /sys, and then the whole model reads it
 * as it reads a real one: device_enumerate() (usb.c, pci.c: ids, strings,
 * busnum, classes, interface classes, driver and iommu_group links,
 * properties, child nodes), device_new_for_child() on every device,
 * monitor_receive() on an "add" and a "remove" uevent of every device,
 * device_json_new(), iommu_list_read(). Nothing may crash, leak or break
 * the model's promises.
 *
 * The tree is written here, not by umockdev_testbed_add_from_string():
 * umockdev aborts on conflicting input (a device twice, an attribute where
 * a directory is) and takes SUBSYSTEM and "dev" values as paths. Here every
 * name is one plain path component, every step is openat() with
 * O_NOFOLLOW below the testbed's /sys, and a step that fails is skipped,
 * so no input writes outside the testbed (the fuzzer may run as root).
 *
 * It needs libumockdev-preload (which shows the testbed's /sys to libudev):
 * when that is not loaded, the target sets LD_PRELOAD and runs itself again,
 * so it runs as any other fuzz target.
 */
#include <fcntl.h>
#include <ftw.h>
#include <libudev.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devpass/model/device-json.h"
#include "devpass/model/device.h"
#include "devpass/model/iommu.h"
#include "devpass/model/monitor.h"
#include "devpass/model/node.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"
#include "testbed.h"

#define PRELOAD "libumockdev-preload.so.0"

/* A plain path component: printable, no '/', not "." or "..". */
static bool is_component(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '/' ||
		    (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Opens (making it when missing) directory @name below @dirfd, never
 * through a link. Return: the fd, or -1. */
static int open_dir(int dirfd, const char *name)
{
	if (!is_component(name))
		return -1;
	(void)mkdirat(dirfd, name, 0755);
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

/* Opens (making them) the directories of @path ("a/b/c") below @dirfd. */
static int open_path(int dirfd, const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", 32);
	int fd = dup(dirfd);

	for (char **p = parts; fd >= 0 && *p; p++) {
		int next = open_dir(fd, *p);
		close(fd);
		fd = next;
	}
	return fd;
}

static void write_file(int dirfd, const char *name, const void *data, size_t n)
{
	if (!is_component(name))
		return;
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
			0644);
	if (fd < 0)
		return;
	(void)!write(fd, data, n);
	close(fd);
}

static void add_link(int dirfd, const char *name, const char *target)
{
	if (is_component(name))
		(void)symlinkat(target, dirfd, name);
}

/* "KEY=VALUE" split in place; NULL value when there is no '='. */
static char *split_value(char *kv)
{
	char *eq = strchr(kv, '=');
	if (!eq)
		return NULL;
	*eq = '\0';
	return eq + 1;
}

/* "../" once per component of @path ("a/b": twice), then @rest. */
static char *dotdots(const char *path, const char *rest)
{
	GString *s = g_string_new("../");
	for (const char *p = path; *p; p++)
		if (*p == '/')
			g_string_append(s, "../");
	g_string_append(s, rest);
	return g_string_free(s, false);
}

/* A device being written: its directory, path and what it said. */
struct block {
	int fd;
	char *path; /* "devices/..." below /sys */
	GString *uevent;
	char *subsystem;
};

static void block_clear(struct block *b)
{
	if (b->fd >= 0)
		close(b->fd);
	g_free(b->path);
	if (b->uevent)
		g_string_free(b->uevent, true);
	g_free(b->subsystem);
	*b = (struct block){.fd = -1};
}

/* The uevent file and the subsystem links, as sysfs has them. */
static void block_finish(int sysfd, struct block *b)
{
	if (b->fd < 0) {
		block_clear(b);
		return;
	}
	write_file(b->fd, "uevent", b->uevent->str, b->uevent->len);
	if (b->subsystem && is_component(b->subsystem)) {
		bool bus = strcmp(b->subsystem, "usb") == 0 ||
			   strcmp(b->subsystem, "pci") == 0;
		g_autofree char *dir =
			bus ? g_strdup_printf("bus/%s/devices", b->subsystem)
			    : g_strdup_printf("class/%s", b->subsystem);
		g_autofree char *to = g_strdup_printf(
			"%s/%s", bus ? "bus" : "class", b->subsystem);
		g_autofree char *up = dotdots(b->path, to);
		add_link(b->fd, "subsystem", up);
		int fd = open_path(sysfd, dir);
		g_autofree char *back = dotdots(dir, b->path);
		if (fd >= 0)
			add_link(fd, strrchr(b->path, '/') + 1, back);
		if (fd >= 0)
			close(fd);
	}
	block_clear(b);
}

static void block_line(struct block *b, char type, char *key)
{
	char *value = split_value(key);

	if (b->fd < 0 || !value)
		return;
	if (type == 'E') {
		/* The kernel writes DEVNAME relative to /dev; libudev 252
		 * asserts that an absolute one lies in /dev. */
		if (strcmp(key, "DEVNAME") == 0 &&
		    g_str_has_prefix(value, "/dev/"))
			value += 5;
		if (strcmp(key, "DEVNAME") == 0)
			value += strspn(value, "/");
		if (strcmp(key, "SUBSYSTEM") == 0 && !b->subsystem)
			b->subsystem = g_strdup(value);
		g_string_append_printf(b->uevent, "%s=%s\n", key, value);
	} else if (type == 'A' && strcmp(key, "uevent") != 0) {
		g_autofree char *raw = g_strcompress(value);
		write_file(b->fd, key, raw, strlen(raw));
	} else if (type == 'H') {
		size_t n = strlen(value) / 2;
		g_autofree uint8_t *bin = g_malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			bin[i] = (uint8_t)(g_ascii_xdigit_value(value[2 * i]) *
						   16 +
					   g_ascii_xdigit_value(
						   value[2 * i + 1]));
		write_file(b->fd, key, bin, n);
	} else if (type == 'L' && strcmp(key, "subsystem") != 0) {
		add_link(b->fd, key, value);
	}
}

static void block_start(int sysfd, struct block *b, const char *devpath)
{
	if (!g_str_has_prefix(devpath, "/devices/"))
		return;
	b->path = g_strdup(devpath + 1);
	b->fd = open_path(sysfd, b->path);
	b->uevent = g_string_new(NULL);
}

/* /sys/kernel/iommu_groups/N/devices/ADDRESS for "N=ADDRESS". */
static void add_iommu_entry(int sysfd, char *kv)
{
	char *address = split_value(kv);
	if (!address || !is_component(kv))
		return;
	g_autofree char *dir =
		g_strdup_printf("kernel/iommu_groups/%s/devices", kv);
	int fd = open_path(sysfd, dir);
	if (fd < 0)
		return;
	add_link(fd, address, "../../../../devices/none");
	close(fd);
}

/* Writes the tree that @text describes below @sysfd. */
static void write_tree(int sysfd, char *text)
{
	struct block b = {.fd = -1};
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (strlen(l) < 3 || l[1] != ':' || l[2] != ' ')
			continue;
		if (l[0] == 'P') {
			block_finish(sysfd, &b);
			block_start(sysfd, &b, l + 3);
		} else if (l[0] == 'I') {
			add_iommu_entry(sysfd, l + 3);
		} else {
			block_line(&b, l[0], l + 3);
		}
	}
	block_finish(sysfd, &b);
}

/* The model's promises about a device it built. */
static void check_device(const struct device *d)
{
	if (!d->syspath || !d->id || strncmp(d->syspath, "/sys/", 5) != 0)
		__builtin_trap();
	if (d->subsystem != DEVICE_USB && d->subsystem != DEVICE_PCI)
		__builtin_trap();
	if (d->iommu_group < -1 || (d->subsystem == DEVICE_USB &&
				    (d->iommu_group != -1 || d->pci_class)))
		__builtin_trap();
	for (size_t i = 0; i < d->n_nodes; i++) {
		const struct device_node *n = &d->nodes[i];
		if (!n->subsystem || !n->devnode || !n->major ||
		    !node_kind_to_string(n->kind) || n->kind == NODE_ALL)
			__builtin_trap();
		for (size_t j = 0; j < n->n_props; j++)
			if (!n->props[j].key || !n->props[j].value)
				__builtin_trap();
	}
	for (size_t i = 0; i < d->n_props; i++)
		if (!d->props[i].key || !d->props[i].value)
			__builtin_trap();
	const char *strings[] = {d->id, d->serial, d->manufacturer, d->name,
				 d->driver};
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		_cleanup_(freep) char *e =
			strings[i] ? text_escape_dup(strings[i]) : NULL;
		if (e && !text_is_safe(e))
			__builtin_trap();
	}
	_cleanup_(json_object_putp) json_object *j = device_json_new(d);
	if (j)
		(void)json_object_to_json_string(j);
}

/* A child node's device read again, as the monitor does, with and without
 * the node itself. */
static void check_child(struct udev *udev, const char *syspath)
{
	_cleanup_(udev_device_unrefp) struct udev_device *child =
		udev_device_new_from_syspath(udev, syspath);
	if (!child)
		return;
	const char *gone = udev_device_get_devnode(child);
	for (int pass = 0; pass < 2; pass++) {
		_cleanup_(device_freep) struct device *d = NULL;
		int r = device_new_for_child(child, pass ? gone : NULL, &d);
		if (r > 0 && (r != DEVICE_E_NOT_HANDLED || d))
			__builtin_trap();
		if (r != 0)
			continue;
		check_device(d);
		for (size_t i = 0; pass && gone && i < d->n_nodes; i++)
			if (streq_ptr(d->nodes[i].devnode, gone))
				__builtin_trap();
	}
}

/* One testbed and one monitor on it for the whole run (a new testbed per
 * input costs ~70 ms); the testbed's /sys is emptied before each input. */
static struct {
	UMockdevTestbed *tb;
	char *sys;
	struct udev *udev;
	struct monitor *monitor;
} fuzz;

/* What the monitor makes of uevent @action of @syspath, read to the end. */
static void check_uevent(const char *syspath, const char *action)
{
	umockdev_testbed_uevent(fuzz.tb, syspath, action);
	for (int i = 0; i < 64; i++) {
		_cleanup_(freep) char *act = NULL, *path = NULL;
		_cleanup_(device_freep) struct device *d = NULL;
		int r = monitor_receive(fuzz.monitor, &act, &d, &path);
		if (r == MONITOR_E_EMPTY)
			return;
		if (r != 0 && (act || d || path))
			__builtin_trap();
		if (r == 0 &&
		    (!act || !path || (!d && strcmp(act, "remove") != 0)))
			__builtin_trap();
		if (getenv("FUZZ_DEVICE_DEBUG"))
			fprintf(stderr, "monitor: %d %s %s\n", r, act, path);
		if (d)
			check_device(d);
	}
	__builtin_trap(); /* two uevents cannot make 64 events */
}

/* Every device of the tree, read as a child node's owner and through the
 * monitor as it comes and goes. */
static void check_children(struct udev *udev)
{
	_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *e =
		udev_enumerate_new(udev);
	struct udev_list_entry *entry;

	if (!e || udev_enumerate_scan_devices(e) < 0)
		return;
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e))
	{
		const char *syspath = udev_list_entry_get_name(entry);
		check_child(udev, syspath);
		check_uevent(syspath, "add");
		check_uevent(syspath, "remove");
	}
}

static void check_iommu(void)
{
	_cleanup_(iommu_list_freep) struct iommu_list *l = NULL;
	int r = iommu_list_read(NULL, &l);

	if (r > 0 && (r != IOMMU_E_NONE || l))
		__builtin_trap();
	for (size_t i = 0; l && i < l->n_groups; i++) {
		if (i && l->groups[i - 1].number >= l->groups[i].number)
			__builtin_trap();
		if (iommu_list_find(l, l->groups[i].number) != &l->groups[i])
			__builtin_trap();
	}
}

static void check_model(void)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(device_list_freep) struct device_list *l = NULL;

	if (!udev || device_enumerate(udev, &l) < 0)
		return;
	for (size_t i = 0; i < l->n_devices; i++) {
		if (getenv("FUZZ_DEVICE_DEBUG"))
			fprintf(stderr,
				"model: %s, %zu nodes, %zu interfaces, group %d\n",
				l->devices[i]->id, l->devices[i]->n_nodes,
				l->devices[i]->n_interface_classes,
				l->devices[i]->iommu_group);
		check_device(l->devices[i]);
		if (device_find(l, l->devices[i]->syspath) != l->devices[i])
			__builtin_trap();
	}
	check_children(udev);
	check_iommu();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	if (testbed_preloaded())
		return 0;
	const char *old = getenv("LD_PRELOAD");
	g_autofree char *preload =
		old && *old ? g_strdup_printf("%s:%s", PRELOAD, old)
			    : g_strdup(PRELOAD);
	setenv("LD_PRELOAD", preload, 1);
	execv("/proc/self/exe", *argv);
	perror("fuzz-device: cannot run itself again under " PRELOAD);
	exit(1);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st, (void)flag;
	if (ftw->level > 0)
		(void)remove(path);
	return 0;
}

static const char *testbed_sys(void)
{
	if (!fuzz.tb) {
		fuzz.tb = testbed_new(); /* removed at exit, even when killed */
		fuzz.sys = umockdev_testbed_get_sys_dir(fuzz.tb);
		fuzz.udev = udev_new();
		if (!fuzz.udev || monitor_new(fuzz.udev, &fuzz.monitor) < 0)
			abort();
	}
	(void)nftw(fuzz.sys, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return fuzz.sys;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_max_level(LOG_CRIT);
	const char *sys = testbed_sys();
	/* Up to the first NUL: the model reads sysfs files as strings. */
	g_autofree char *text = g_strndup((const char *)data, size);
	int sysfd = open(sys, O_RDONLY | O_DIRECTORY);

	if (sysfd >= 0) {
		write_tree(sysfd, text);
		close(sysfd);
		check_model();
	}
	return 0;
}
