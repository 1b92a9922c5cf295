/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The matcher: whether a rule's terms hold for a device, on the hot path
 * (every device x every rule, on every reconcile), and why not, off it.
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devpass/rules/match.h"
#include "devpass/util/text.h"

/*
 * Called once per value the device has for a key. @label and @index say
 * where the value came from, for reasons only: no label for the device's
 * one value, "(label)" when @index < 0, "(label N)" otherwise.
 * Returning true stops the walk.
 */
typedef bool (*value_fn)(const char *value, const char *label, long index,
			 void *userdata);

/* The matcher runs for every device x every rule: no snprintf, no malloc. */
static const char *hex(char *buf, uint32_t v, int digits)
{
	static const char xdigits[] = "0123456789abcdef";

	for (int i = digits - 1; i >= 0; i--, v >>= 4)
		buf[i] = xdigits[v & 0xf];
	buf[digits] = '\0';
	return buf;
}

/* An unset or empty string is no value: "Serial=*" means "has a serial". */
static bool string_value(const char *s, value_fn fn, void *ud)
{
	return s && *s && fn(s, NULL, -1, ud);
}

static bool class_values(const struct device *d, value_fn fn, void *ud)
{
	char buf[8];

	if (d->subsystem == DEVICE_PCI)
		return fn(hex(buf, d->pci_class & 0xffffff, 6), NULL, -1, ud) ||
		       fn(hex(buf, (d->pci_class >> 8) & 0xffff, 4), NULL, -1,
			  ud);
	if (fn(hex(buf, d->usb_class, 2), "device", -1, ud))
		return true;
	for (size_t i = 0; i < d->n_interface_classes; i++)
		if (fn(hex(buf, d->interface_classes[i], 2), "interface",
		       (long)i, ud))
			return true;
	return false;
}

static bool props_values(const struct device_prop *props, size_t n,
			 const char *key, const char *label, value_fn fn,
			 void *ud)
{
	for (size_t i = 0; i < n; i++)
		if (props[i].key && props[i].value &&
		    strcmp(props[i].key, key) == 0 &&
		    fn(props[i].value, label, -1, ud))
			return true;
	return false;
}

static bool property_values(const struct device *d, const char *key,
			    value_fn fn, void *ud)
{
	if (!key)
		return false;
	if (props_values(d->props, d->n_props, key, NULL, fn, ud))
		return true;
	for (size_t i = 0; i < d->n_nodes; i++) {
		const struct device_node *nd = &d->nodes[i];
		const char *label = nd->devnode ? nd->devnode : nd->subsystem;

		if (props_values(nd->props, nd->n_props, key, label, fn, ud))
			return true;
	}
	return false;
}

/* Calls @fn for each of @d's values for @t's key, until @fn returns true. */
static bool for_each_value(const struct device *d, const struct match_term *t,
			   value_fn fn, void *ud)
{
	bool usb = d->subsystem == DEVICE_USB;
	char buf[8];

	switch (t->key) {
	case MATCH_SUBSYSTEM:
		return fn(usb ? "usb" : "pci", NULL, -1, ud);
	case MATCH_VENDOR:
		return fn(hex(buf, d->vendor, 4), NULL, -1, ud);
	case MATCH_PRODUCT:
		return fn(hex(buf, d->product, 4), NULL, -1, ud);
	case MATCH_SERIAL:
		return string_value(d->serial, fn, ud);
	case MATCH_MANUFACTURER:
		return string_value(d->manufacturer, fn, ud);
	case MATCH_NAME:
		return string_value(d->name, fn, ud);
	case MATCH_CLASS:
		return class_values(d, fn, ud);
	case MATCH_PORT:
		return usb && string_value(d->id, fn, ud);
	case MATCH_ADDRESS:
		return !usb && string_value(d->id, fn, ud);
	case MATCH_DRIVER:
		return string_value(d->driver, fn, ud);
	case MATCH_PROPERTY:
		return property_values(d, t->property, fn, ud);
	case _MATCH_KEY_MAX:
		break;
	}
	return false;
}

/* fnmatch() is the slow part of a miss; most patterns hold no glob. */
static bool glob_matches(const char *pattern, const char *value)
{
	if (!strpbrk(pattern, "*?[\\"))
		return strcmp(pattern, value) == 0;
	return fnmatch(pattern, value, 0) == 0;
}

static bool any_pattern_matches(const char *value, const char *label,
				long index, void *userdata)
{
	const struct match_term *t = userdata;

	for (char **p = t->patterns; p && *p; p++)
		if (glob_matches(*p, value))
			return true;
	return false;
}

static bool term_holds(const struct match_term *t, const struct device *d)
{
	return for_each_value(d, t, any_pattern_matches, (void *)t) !=
	       t->negate;
}

/* ---- reasons: only built for a miss someone asked to explain ---- */

static _printf_(2, 3) void why_printf(struct match_why *w, const char *fmt, ...)
{
	size_t at = strnlen(w->reason, sizeof(w->reason));
	va_list ap;

	if (at + 1 >= sizeof(w->reason))
		return;
	va_start(ap, fmt);
	vsnprintf(w->reason + at, sizeof(w->reason) - at, fmt, ap);
	va_end(ap);
}

static void why_escaped(struct match_why *w, const char *s)
{
	text_escape(w->reason, sizeof(w->reason), s);
}

/* "Vendor", or "Property=ID_FOO": the term's key as written in the rule. */
static void why_key(struct match_why *w, const struct match_term *t)
{
	const char *name = rule_key_to_string(t->key);

	why_printf(w, "%s", name ? name : "?");
	if (t->key == MATCH_PROPERTY) {
		why_printf(w, "=");
		why_escaped(w, t->property ? t->property : "");
	}
}

/* Escaping the joined list is escaping each: the blank is a safe byte. */
static void why_patterns(struct match_why *w, const struct match_term *t)
{
	_cleanup_(freep) char *list = strv_join(t->patterns, " ");

	why_escaped(w, list ? list : "?");
}

static void why_where(struct match_why *w, const char *label, long index)
{
	if (!label)
		return;
	why_printf(w, " (");
	why_escaped(w, label);
	if (index >= 0)
		why_printf(w, " %ld", index);
	why_printf(w, ")");
}

struct why_values {
	struct match_why *why;
	const struct match_term *term;
	size_t n;
};

static bool why_list_value(const char *value, const char *label, long index,
			   void *userdata)
{
	struct why_values *v = userdata;

	if (v->n++ > 0)
		why_printf(v->why, ", ");
	why_escaped(v->why, value);
	why_where(v->why, label, index);
	return false;
}

static bool why_matching_value(const char *value, const char *label, long index,
			       void *userdata)
{
	struct why_values *v = userdata;

	if (!any_pattern_matches(value, label, index, (void *)v->term))
		return false;
	why_printf(v->why, ": ");
	why_escaped(v->why, value);
	why_printf(v->why, " matches");
	why_where(v->why, label, index);
	return true;
}

/* "Vendor=046d does not match 05f3", "Serial= not set on this device". */
static void why_positive(struct match_why *w, const struct match_term *t,
			 const struct device *d)
{
	struct why_values v = {.why = w, .term = t};

	why_key(w, t);
	why_printf(w, "=");
	for_each_value(d, t, why_list_value, &v);
	if (v.n == 0) {
		why_printf(w, " not set on this device");
		return;
	}
	why_printf(w, " does not match ");
	why_patterns(w, t);
}

/* "Class=!03: 03 matches (interface 0)". */
static void why_negated(struct match_why *w, const struct match_term *t,
			const struct device *d)
{
	struct why_values v = {.why = w, .term = t};

	why_key(w, t);
	why_printf(w, "=!");
	why_patterns(w, t);
	for_each_value(d, t, why_matching_value, &v);
}

static const char *device_subsystem_name(const struct device *d)
{
	return d->subsystem == DEVICE_USB ? "usb" : "pci";
}

/* "Subsystem=usb does not match pci": the device's value, the rule's. */
static void why_subsystem(struct match_why *w, const struct rule *r,
			  const struct device *d)
{
	w->term = NULL;
	snprintf(w->reason, sizeof(w->reason), "Subsystem=%s does not match %s",
		 device_subsystem_name(d),
		 rule_subsystem_to_string(r->subsystem));
}

/* Fills @w for the term @t that failed. */
static void why_term(struct match_why *w, const struct match_term *t,
		     const struct device *d)
{
	w->term = t;
	w->reason[0] = '\0';
	if (t->negate)
		why_negated(w, t, d);
	else
		why_positive(w, t, d);
}

static bool subsystem_matches(const struct rule *r, const struct device *d)
{
	return (r->subsystem == RULE_SUBSYSTEM_USB) ==
	       (d->subsystem == DEVICE_USB);
}

bool match_rule(const struct rule *r, const struct device *d,
		struct match_why *why)
{
	if (!subsystem_matches(r, d)) {
		if (why)
			why_subsystem(why, r, d);
		return false;
	}
	for (size_t i = 0; i < r->n_terms; i++) {
		const struct match_term *t = &r->terms[i];

		if (term_holds(t, d))
			continue;
		if (why)
			why_term(why, t, d);
		return false;
	}
	return true;
}

const struct rule *match_ruleset(const struct ruleset *rs,
				 const struct device *d)
{
	for (size_t i = 0; i < rs->n_rules; i++)
		if (match_rule(rs->rules[i], d, NULL))
			return rs->rules[i];
	return NULL;
}
