/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "devpass/util/json.h"
#include "devpass/plan/entries.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"

#define FNV1A_OFFSET 2166136261u
#define FNV1A_PRIME  16777619u

/* Room for "-" and 8 hex digits at the end of a shortened name. */
#define NAME_HASH_LEN 9

/* Streams the pieces of a name: sanitised into out, hashed whole. */
struct name_writer {
	char *out;
	size_t len;
	size_t total;
	uint32_t hash;
};

static char entry_char(char c)
{
	bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		  (c >= 'a' && c <= 'z') || (c && strchr("/:_.-", c));

	return ok ? c : '_';
}

static void name_put(struct name_writer *w, const char *s)
{
	for (; *s; s++) {
		w->hash = (w->hash ^ (uint8_t)*s) * FNV1A_PRIME;
		if (w->len < ENTRY_NAME_MAX)
			w->out[w->len++] = entry_char(*s);
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

	if (!s || json_object_object_add(o, key, s) < 0) {
		json_object_put(s);
		return log_err_errno(-ENOMEM, "Out of memory");
	}
	return 0;
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

/* Adds @entry under @name to @map; the map owns it afterwards. */
static int map_add(struct json_object *map, const char *name,
		   struct json_object *entry)
{
	if (json_object_object_get_ex(map, name, NULL)) {
		json_object_put(entry);
		return log_err_errno(-EEXIST, "Two LXD entries named %s", name);
	}
	if (json_object_object_add(map, name, entry) < 0) {
		json_object_put(entry);
		return log_err_errno(-ENOMEM, "Out of memory");
	}
	return 0;
}

/* A new entry {"type": @type}. Return: 0 or -ENOMEM. */
static int entry_new(const char *type, struct json_object **out)
{
	_cleanup_(json_object_putp) struct json_object *e =
		json_object_new_object();
	int r;

	if (!e)
		return log_err_errno(-ENOMEM, "Out of memory");
	r = add_string(e, "type", type);
	if (r < 0)
		return r;
	*out = steal_ptr(&e);
	return 0;
}

static int refuse(char **reason, const char *fmt, ...) _printf_(2, 3);
static int refuse(char **reason, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (!reason)
		return ENTRIES_REFUSED;
	va_start(ap, fmt);
	r = vasprintf(reason, fmt, ap);
	va_end(ap);
	if (r < 0) {
		*reason = NULL;
		return log_err_errno(-ENOMEM, "Out of memory");
	}
	return ENTRIES_REFUSED;
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

static int usb_container_entries(const struct rule *r, const struct device *d,
				 struct json_object *map, char **reason)
{
	size_t added = 0;

	for (size_t i = 0; i < d->n_nodes; i++) {
		const struct device_node *n = &d->nodes[i];
		struct json_object *e = NULL;
		char name[ENTRY_NAME_MAX + 1];
		int ret;

		if (!(n->kind & r->nodes))
			continue;
		/* LXD takes unix-char sources from /dev only. */
		if (!n->devnode || strncmp(n->devnode, "/dev/", 5) != 0) {
			log_warning("USB device %s: not passing %s: LXD takes "
				    "nodes in /dev only",
				    d->id, n->devnode ? n->devnode : "(none)");
			continue;
		}
		entry_name(r->name, d->id, node_suffix(n), name);
		if ((ret = unix_char_entry(r, n, &e)) < 0 ||
		    (ret = map_add(map, name, e)) < 0)
			return ret;
		added++;
	}
	if (added == 0)
		return refuse(reason,
			      "rule %s: Nodes= selects none of the nodes of "
			      "USB device %s",
			      r->name, d->id);
	return 0;
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
	return map_add(map, name, steal_ptr(&e));
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
	return map_add(map, name, steal_ptr(&e));
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
		return log_err_errno(-ENOMEM, "Out of memory");
	if (d->subsystem == DEVICE_PCI)
		ret = pci_entry(r, d, t, map, reason);
	else if (t == INSTANCE_CONTAINER)
		ret = usb_container_entries(r, d, map, reason);
	else
		ret = usb_vm_entry(r, d, has_usb_serial, map);
	if (ret != 0)
		return ret;
	*out_map = steal_ptr(&map);
	return 0;
}
