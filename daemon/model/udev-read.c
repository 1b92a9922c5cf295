/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <string.h>

#include "device-core.h"
#include "udev-read.h"

#define BLANKS " \t\n"

int udev_read_parse_uint(const char *s, int base, unsigned long max,
			 unsigned long *out)
{
	char *end;

	s += strspn(s, BLANKS);
	/* strtoul() takes signs and would wrap "-1"; a sysattr has none. */
	if (!isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long n = strtoul(s, &end, base);
	if (errno || end == s || end[strspn(end, BLANKS)] != '\0' || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

int udev_read_uint(struct udev_device *ud, const char *name, int base,
		   unsigned long max, unsigned long *out)
{
	const char *v = udev_device_get_sysattr_value(ud, name);

	if (!v)
		return -ENOENT;
	return udev_read_parse_uint(v, base, max, out);
}

int udev_read_string(struct udev_device *ud, const char *name, char **out)
{
	const char *v = udev_device_get_sysattr_value(ud, name);

	*out = NULL;
	if (!v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

/* A uevent's own keys, not the device's: the same device read from an
 * event and from an enumeration has the same properties. */
static bool is_event_key(const char *key)
{
	return streq_ptr(key, "ACTION") || streq_ptr(key, "SEQNUM") ||
	       strncmp(key, "SYNTH_", 6) == 0;
}

/* Properties being copied: freed unless handed over. */
struct prop_array {
	struct device_prop *v;
	size_t n;
};

static void prop_array_clear(struct prop_array *a)
{
	device_props_free(a->v, a->n);
}

bool udev_props_are(struct udev_device *ud, const struct device_prop *props,
		    size_t n_props)
{
	struct udev_list_entry *e;
	size_t i = 0;

	udev_list_entry_foreach(e, udev_device_get_properties_list_entry(ud)) {
		const char *key = udev_list_entry_get_name(e);
		const char *value = udev_list_entry_get_value(e);
		if (is_event_key(key))
			continue;
		if (i == n_props || !streq_ptr(key, props[i].key) ||
		    !streq_ptr(value ? value : "", props[i].value))
			return false;
		i++;
	}
	return i == n_props;
}

int udev_read_props(struct udev_device *ud, struct device_prop **props,
		    size_t *n_props)
{
	struct udev_list_entry *first =
		udev_device_get_properties_list_entry(ud);
	struct udev_list_entry *e;
	_cleanup_(prop_array_clear) struct prop_array a = {0};
	size_t n = 0;

	udev_list_entry_foreach(e, first)
		n++;
	if (!(a.v = calloc(n ? n : 1, sizeof(*a.v))))
		return -ENOMEM;
	udev_list_entry_foreach(e, first) {
		const char *value = udev_list_entry_get_value(e);
		if (is_event_key(udev_list_entry_get_name(e)))
			continue;
		struct device_prop *p = &a.v[a.n++];
		p->key = strdup(udev_list_entry_get_name(e));
		p->value = strdup(value ? value : "");
		if (!p->key || !p->value)
			return -ENOMEM;
	}
	*n_props = a.n;
	a.n = 0;
	*props = steal_ptr(&a.v);
	return 0;
}
