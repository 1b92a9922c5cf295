/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Hand-built struct device / struct rule for unit tests, so they need
 * neither udev nor the rule parser. Everything is heap-allocated the way
 * the model and the rule parser do, so device_free(), rule_free() and
 * ruleset_free() free what these build. Allocation
 * failure aborts the test.
 */

#include "devpass/model/device.h"
#include "devpass/plan/instance.h"
#include "devpass/rules/rule.h"

struct device *fx_usb(const char *port, uint16_t vendor, uint16_t product);
struct device *fx_pci(const char *address, uint16_t vendor, uint16_t product,
		      uint32_t pci_class);
void fx_set(char **field, const char *value);
void fx_add_interface(struct device *d, uint8_t cls);
void fx_add_prop(struct device *d, const char *key, const char *value);
struct device_node *fx_add_node(struct device *d, unsigned kind,
				const char *subsystem, const char *devnode,
				unsigned major, unsigned minor);
void fx_add_node_prop(struct device_node *n, const char *key,
		      const char *value);

struct rule *fx_rule(const char *name, enum rule_subsystem s);
/*
 * Adds a term; @values are space-separated globs, a leading '!' negates
 * (no escapes: build a term by hand for patterns with spaces).
 */
struct match_term *fx_term(struct rule *r, enum match_key key,
			   const char *property, const char *values);

/* An instance of project "default" with no entries; free its project,
 * name and entries (or let instance_set_free() do it). */
struct instance fx_instance(const char *name, bool running,
			    enum instance_type type);

/* A ruleset of @n rules taking ownership of them; ruleset_free() frees. */
struct ruleset *fx_ruleset(struct rule **rules, size_t n);
