/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "devpass/plan/entries.h"
#include "devpass/util/text.h"
#include "devpass/util/json.h"

#define FNV1A_OFFSET 2166136261u
#define FNV1A_PRIME  16777619u

/* Room for "-" and 8 hex digits at the end of a shortened name. */
#define NAME_HASH_LEN 9

/* LXD accepts [A-Za-z0-9/:_.-] in a device name, but LXD 5.0.2 also makes
 * it the QEMU id of a VM's device, where ':' and '/' are refused ("Identifiers
 * consist of letters, digits, '-', '.', '_'"): a VM holding such an entry
 * does not start. So a PCI address 0000:01:00.0 is written 0000_01_00.0. */
static char name_char(char c)
{
	return (text_is_device_name_char(c) && c != ':' && c != '/') ? c : '_';
}

/* Streams the pieces of a name: sanitised into out, hashed whole. */
struct name_writer {
	char *out;
	size_t len;
	size_t total;
	uint32_t hash;
};

static void name_put(struct name_writer *w, const char *s)
{
	for (; *s; s++) {
		w->hash = (w->hash ^ (uint8_t)*s) * FNV1A_PRIME;
		if (w->len < ENTRY_NAME_MAX)
			w->out[w->len++] = name_char(*s);
		w->total++;
	}
}

void entry_name(const char *rule, const char *id, const char *node,
		char out[ENTRY_NAME_MAX + 1])
{
	struct name_writer w = {.out = out, .hash = FNV1A_OFFSET};

	name_put(&w, ENTRY_PREFIX);
	name_put(&w, rule ? rule : "");
	name_put(&w, "-");
	name_put(&w, id ? id : "");
	if (node && *node) {
		name_put(&w, "-");
		name_put(&w, node);
	}
	if (w.total > ENTRY_NAME_MAX) {
		w.len = ENTRY_NAME_MAX - NAME_HASH_LEN;
		snprintf(out + w.len, NAME_HASH_LEN + 1, "-%08" PRIx32, w.hash);
		w.len += NAME_HASH_LEN;
	}
	out[w.len] = '\0';
}

bool entry_is_ours(const char *name)
{
	return name && strncmp(name, ENTRY_PREFIX, strlen(ENTRY_PREFIX)) == 0;
}

/* ---- building the entries ---- */

static int add_string(struct json_object *o, const char *key, const char *v)
{
	struct json_object *s = json_object_new_string(v);

	return s ? json_add(o, key, s) : -ENOMEM;
}

static int add_number(struct json_object *o, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return add_string(o, key, buf);
}

static int add_hex4(struct json_object *o, const char *key, unsigned v)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%04x", v & 0xffff);
	return add_string(o, key, buf);
}

/* A new entry {"type": @type}. Return: 0 or -ENOMEM. */
static int entry_new(const char *type, struct json_object **out)
{
	_cleanup_(json_object_putp) struct json_object *e =
		json_object_new_object();
	int r;

	if (!e)
		return -ENOMEM;
	r = add_string(e, "type", type);
	if (r < 0)
		return r;
	*out = steal_ptr(&e);
	return 0;
}

/* Puts the sentence into *@reason (when asked for). Return: 0 or -ENOMEM. */
static int vsay(char **reason, const char *fmt, va_list ap) _printf_(2, 0);
static int vsay(char **reason, const char *fmt, va_list ap)
{
	if (reason && !(*reason = text_vprintf(fmt, ap)))
		return -ENOMEM;
	return 0;
}

static int say(char **reason, const char *fmt, ...) _printf_(2, 3);
static int say(char **reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsay(reason, fmt, ap);
	va_end(ap);
	return r;
}

/* Return: ENTRIES_E_REFUSED, with the reason when asked for; -ENOMEM. */
static int refuse(char **reason, const char *fmt, ...) _printf_(2, 3);
static int refuse(char **reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsay(reason, fmt, ap);
	va_end(ap);
	return r < 0 ? r : ENTRIES_E_REFUSED;
}

static int unix_char_entry(const struct rule *r, const struct device_node *n,
			   struct json_object **out)
{
	_cleanup_(json_object_putp) struct json_object *e = NULL;
	int ret;

	if ((ret = entry_new("unix-char", &e)) < 0 ||
	    (ret = add_string(e, "source", n->devnode)) < 0 ||
	    (ret = add_string(e, "path", n->devnode)) < 0 ||
	    (ret = add_number(e, "major", n->major)) < 0 ||
	    (ret = add_number(e, "minor", n->minor)) < 0)
		return ret;
	if (r->mode && (ret = add_string(e, "mode", r->mode)) < 0)
		return ret;
	if (r->uid >= 0 && (ret = add_number(e, "uid", r->uid)) < 0)
		return ret;
	if (r->gid >= 0 && (ret = add_number(e, "gid", r->gid)) < 0)
		return ret;
	*out = steal_ptr(&e);
	return 0;
}

/* The /dev/bus/usb node's entry has no suffix; a child's has its name. */
static const char *node_suffix(const struct device_node *n)
{
	const char *slash = strrchr(n->devnode, '/');

	if (n->kind == NODE_USB)
		return NULL;
	return slash ? slash + 1 : n->devnode;
}

/* LXD takes unix-char sources from /dev only. */
static bool in_dev(const struct device_node *n)
{
	return n->devnode && strncmp(n->devnode, "/dev/", 5) == 0;
}

/* Adds @n's entry to @map; refuses the device when another node of it
 * already has that name (two children "event5" in different folders). */
static int node_entry(const struct rule *r, const struct device *d,
		      const struct device_node *n, struct json_object *map,
		      char **reason)
{
	_cleanup_(json_object_putp) struct json_object *e = NULL;
	struct json_object *other = NULL;
	char name[ENTRY_NAME_MAX + 1];
	int ret;

	entry_name(r->name, d->id, node_suffix(n), name);
	if (json_object_object_get_ex(map, name, &other))
		return refuse(reason,
			      "rule %s: nodes %s and %s of USB device %s would "
			      "both be LXD entry %s",
			      r->name,
			      json_object_get_string(
				      json_object_object_get(other, "source")),
			      n->devnode, d->id, name);
	ret = unix_char_entry(r, n, &e);
	return ret < 0 ? ret : json_add(map, name, steal_ptr(&e));
}

/* Says which selected nodes lie outside /dev; refuses when no node is left. */
static int outside_dev(const struct rule *r, const struct device *d,
		       bool none_left, char **outside, char **reason)
{
	_cleanup_(freep) char *list = outside ? strv_join(outside, ", ") : NULL;

	if (outside && !list)
		return -ENOMEM;
	if (none_left)
		return refuse(reason,
			      "rule %s: Nodes= selects none of the nodes of "
			      "USB device %s%s%s%s",
			      r->name, d->id, list ? " (not passing " : "",
			      list ? list : "",
			      list ? ": LXD takes nodes in /dev only)" : "");
	if (!list)
		return 0;
	return say(reason,
		   "not passing %s of USB device %s: LXD takes nodes in /dev "
		   "only",
		   list, d->id);
}

/* Whether @d has a node besides its own bus node (/dev/bus/usb/...),
 * which it has from its add on. */
static bool has_child_nodes(const struct device *d)
{
	for (size_t i = 0; i < d->n_nodes; i++)
		if (d->nodes[i].kind != NODE_USB)
			return true;
	return false;
}

/* A real kernel sends a device's add before its interfaces' nodes (each
 * an event of its own): until one comes, the device waits for them. */
static int wait_for_nodes(const struct device *d, char **reason)
{
	int ret = say(reason,
		      "USB device %s has no device node Nodes= selects yet: "
		      "waiting for its nodes",
		      d->id);
	return ret < 0 ? ret : ENTRIES_E_NO_NODES;
}

static int usb_container_entries(const struct rule *r, const struct device *d,
				 struct json_object *map, char **reason)
{
	_cleanup_(strv_freep) char **outside = NULL;

	for (size_t i = 0; i < d->n_nodes; i++) {
		const struct device_node *n = &d->nodes[i];
		int ret;

		if (!(n->kind & r->nodes))
			continue;
		if (in_dev(n))
			ret = node_entry(r, d, n, map, reason);
		else
			ret = strv_push(&outside,
					n->devnode ? n->devnode : "(none)");
		if (ret != 0)
			return ret;
	}
	if (json_object_object_length(map) == 0 && !outside &&
	    !has_child_nodes(d))
		return wait_for_nodes(d, reason);
	return outside_dev(r, d, json_object_object_length(map) == 0, outside,
			   reason);
}

static int usb_vm_entry(const struct rule *r, const struct device *d,
			bool has_usb_serial, struct json_object *map)
{
	_cleanup_(json_object_putp) struct json_object *e = NULL;
	char name[ENTRY_NAME_MAX + 1];
	int ret;

	if ((ret = entry_new("usb", &e)) < 0 ||
	    (ret = add_hex4(e, "vendorid", d->vendor)) < 0 ||
	    (ret = add_hex4(e, "productid", d->product)) < 0)
		return ret;
	/* Without the extension LXD takes every device with these ids. */
	if (has_usb_serial && ((ret = add_number(e, "busnum", d->busnum)) < 0 ||
			       (ret = add_number(e, "devnum", d->devnum)) < 0))
		return ret;
	/* A serial LXD could not compare byte for byte is left out. */
	if (has_usb_serial && d->serial && *d->serial &&
	    text_is_safe(d->serial) &&
	    (ret = add_string(e, "serial", d->serial)) < 0)
		return ret;
	entry_name(r->name, d->id, NULL, name);
	return json_add(map, name, steal_ptr(&e));
}

static int pci_entry(const struct rule *r, const struct device *d,
		     enum instance_type t, struct json_object *map,
		     char **reason)
{
	_cleanup_(json_object_putp) struct json_object *e = NULL;
	char name[ENTRY_NAME_MAX + 1];
	bool vm = t == INSTANCE_VM;
	int ret;

	if (!vm && !device_is_gpu(d))
		return refuse(
			reason,
			"rule %s: PCI device %s (class %06x) is not a GPU; "
			"only a VM can take it, not a container",
			r->name, d->id, d->pci_class);
	if ((ret = entry_new(vm ? "pci" : "gpu", &e)) < 0)
		return ret;
	if (vm)
		ret = add_string(e, "address", d->id);
	else if ((ret = add_string(e, "gputype", "physical")) == 0)
		ret = add_string(e, "pci", d->id);
	if (ret < 0)
		return ret;
	entry_name(r->name, d->id, NULL, name);
	return json_add(map, name, steal_ptr(&e));
}

int entries_build(const struct rule *r, const struct device *d,
		  enum instance_type t, bool has_usb_serial,
		  struct json_object **out_map, char **reason)
{
	_cleanup_(json_object_putp) struct json_object *map =
		json_object_new_object();
	int ret;

	if (reason)
		*reason = NULL;
	if (!map)
		return -ENOMEM;
	if (d->subsystem == DEVICE_PCI)
		ret = pci_entry(r, d, t, map, reason);
	else if (t == INSTANCE_CONTAINER)
		ret = usb_container_entries(r, d, map, reason);
	else
		ret = usb_vm_entry(r, d, has_usb_serial, map);
	if (ret < 0 && reason) {
		free(*reason);
		*reason = NULL;
	}
	if (ret != 0)
		return ret;
	*out_map = steal_ptr(&map);
	return 0;
}
