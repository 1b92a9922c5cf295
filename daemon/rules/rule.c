/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rule and rule set types: their lifetime, their names as the rule
 * language spells them, and the error list the parser and loader fill.
 */
#include <stdio.h>
#include <string.h>

#include "devpass/rules/rule.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"
#include "rule-internal.h"

static const char *const key_names[_MATCH_KEY_MAX] = {
	[MATCH_SUBSYSTEM] = "Subsystem",
	[MATCH_VENDOR] = "Vendor",
	[MATCH_PRODUCT] = "Product",
	[MATCH_SERIAL] = "Serial",
	[MATCH_MANUFACTURER] = "Manufacturer",
	[MATCH_NAME] = "Name",
	[MATCH_CLASS] = "Class",
	[MATCH_PORT] = "Port",
	[MATCH_ADDRESS] = "Address",
	[MATCH_DRIVER] = "Driver",
	[MATCH_PROPERTY] = "Property",
};

static const char *const subsystem_names[_RULE_SUBSYSTEM_MAX] = {
	[RULE_SUBSYSTEM_USB] = "usb",
	[RULE_SUBSYSTEM_PCI] = "pci",
};

static const char *const iommu_names[_IOMMU_POLICY_MAX] = {
	[IOMMU_POLICY_STRICT] = "strict",
	[IOMMU_POLICY_WHOLE] = "whole",
	[IOMMU_POLICY_IGNORE] = "ignore",
};

/* Index of @s in @names, or -EINVAL. */
static int lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

bool rule_instance_name_valid(const char *s)
{
	size_t n = strlen(s);
	bool alpha =
		(s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');

	for (const char *c = s; *c; c++)
		if (!text_is_device_name_char(*c) || strchr("/:_.", *c))
			return false;
	return n > 0 && n <= 63 && alpha && s[n - 1] != '-';
}

const char *rule_key_to_string(enum match_key k)
{
	return (unsigned)k < ARRAY_SIZE(key_names) ? key_names[k] : NULL;
}

const char *rule_subsystem_to_string(enum rule_subsystem s)
{
	return (unsigned)s < ARRAY_SIZE(subsystem_names) ? subsystem_names[s]
							 : NULL;
}

int rule_subsystem_from_string(const char *s)
{
	return lookup(subsystem_names, ARRAY_SIZE(subsystem_names), s);
}

const char *rule_iommu_to_string(enum iommu_policy p)
{
	return (unsigned)p < ARRAY_SIZE(iommu_names) ? iommu_names[p] : NULL;
}

int rule_iommu_from_string(const char *s)
{
	return lookup(iommu_names, ARRAY_SIZE(iommu_names), s);
}

int rule_oom(void)
{
	return log_err_errno(-ENOMEM, "Out of memory reading rules");
}

int rule_errors_addv(char ***errors, const char *path, unsigned line,
		     const char *fmt, va_list ap)
{
	_cleanup_(freep) char *msg = NULL;
	_cleanup_(freep) char *full = NULL;

	if (!errors)
		return 0;
	if (!(msg = text_vprintf(fmt, ap)))
		return rule_oom();
	if (asprintf(&full, "%s:%u: %s", path, line, msg) < 0) {
		full = NULL;
		return rule_oom();
	}
	return strv_push(errors, full) < 0 ? rule_oom() : 0;
}

int rule_errors_add(char ***errors, int ret, const char *path, unsigned line,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = rule_errors_addv(errors, path, line, fmt, ap);
	va_end(ap);
	return r < 0 ? r : ret;
}

int rule_new(const char *name, const char *path, struct rule **out)
{
	_cleanup_(rule_freep) struct rule *r = calloc(1, sizeof(*r));
	if (!r)
		return rule_oom();
	r->name = strdup(name);
	r->path = strdup(path);
	r->project = strdup("default");
	if (!r->name || !r->path || !r->project)
		return rule_oom();
	r->subsystem = RULE_SUBSYSTEM_USB;
	r->nodes = NODE_USB;
	r->uid = -1;
	r->gid = -1;
	r->iommu = IOMMU_POLICY_STRICT;
	*out = steal_ptr(&r);
	return 0;
}

void rule_free(struct rule *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_terms; i++) {
		free(r->terms[i].property);
		strv_free(r->terms[i].patterns);
	}
	free(r->terms);
	free(r->name);
	free(r->path);
	strv_free(r->instances);
	free(r->project);
	free(r->mode);
	strv_free(r->warnings);
	free(r);
}

int ruleset_new(struct ruleset **out)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return rule_oom();
	*out = rs;
	return 0;
}

int ruleset_add(struct ruleset *rs, struct rule **r)
{
	if (rs->n_rules >= rs->cap_rules) {
		/* doubling: loading n files costs O(n) */
		size_t cap = rs->n_rules < 8 ? 16 : 2 * rs->n_rules;
		struct rule **v = reallocarray(rs->rules, cap, sizeof(*v));
		if (!v)
			return rule_oom();
		rs->rules = v;
		rs->cap_rules = cap;
	}
	rs->rules[rs->n_rules++] = steal_ptr(r);
	return 0;
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_rules; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	strv_free(rs->errors);
	strv_free(rs->warnings);
	strv_free(rs->notes);
	free(rs);
}
