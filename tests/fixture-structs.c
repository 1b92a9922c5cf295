/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "fixture-structs.h"

static void *xzalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = s ? strdup(s) : NULL;

	if (s && !p)
		abort();
	return p;
}

/* Grows *@array of @size-byte items by one zeroed item; returns it. */
static void *grow(void *array_p, size_t *n, size_t size)
{
	void **array = array_p;
	char *p = realloc(*array, (*n + 1) * size);

	if (!p)
		abort();
	memset(p + *n * size, 0, size);
	*array = p;
	return p + (*n)++ * size;
}

static struct device *fx_device(enum device_subsystem s, const char *id,
				uint16_t vendor, uint16_t product)
{
	struct device *d = xzalloc(sizeof(*d));
	char syspath[256];

	snprintf(syspath, sizeof(syspath), "/sys/devices/fake/%s", id);
	d->subsystem = s;
	d->id = xstrdup(id);
	d->syspath = xstrdup(syspath);
	d->vendor = vendor;
	d->product = product;
	d->iommu_group = -1;
	return d;
}

struct device *fx_usb(const char *port, uint16_t vendor, uint16_t product)
{
	return fx_device(DEVICE_USB, port, vendor, product);
}

struct device *fx_pci(const char *address, uint16_t vendor, uint16_t product,
		      uint32_t pci_class)
{
	struct device *d = fx_device(DEVICE_PCI, address, vendor, product);

	d->pci_class = pci_class;
	return d;
}

void fx_set(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

void fx_add_interface(struct device *d, uint8_t cls)
{
	uint8_t *c = grow(&d->interface_classes, &d->n_interface_classes, 1);

	*c = cls;
}

static void add_prop(struct device_prop **props, size_t *n, const char *key,
		     const char *value)
{
	struct device_prop *p = grow(props, n, sizeof(*p));

	p->key = xstrdup(key);
	p->value = xstrdup(value);
}

void fx_add_prop(struct device *d, const char *key, const char *value)
{
	add_prop(&d->props, &d->n_props, key, value);
}

struct device_node *fx_add_node(struct device *d, unsigned kind,
				const char *subsystem, const char *devnode,
				unsigned major, unsigned minor)
{
	struct device_node *n = grow(&d->nodes, &d->n_nodes, sizeof(*n));

	n->kind = kind;
	n->subsystem = xstrdup(subsystem);
	n->devnode = xstrdup(devnode);
	n->major = major;
	n->minor = minor;
	return n;
}

void fx_add_node_prop(struct device_node *n, const char *key, const char *value)
{
	add_prop(&n->props, &n->n_props, key, value);
}


struct rule *fx_rule(const char *name, enum rule_subsystem s)
{
	struct rule *r = xzalloc(sizeof(*r));
	char path[256];

	snprintf(path, sizeof(path), "/etc/devpass/rules.d/%s.rules", name);
	r->name = xstrdup(name);
	r->path = xstrdup(path);
	r->subsystem = s;
	if (strv_push(&r->instances, "c1") < 0)
		abort();
	r->project = xstrdup("default");
	r->nodes = NODE_USB;
	r->uid = -1;
	r->gid = -1;
	return r;
}

struct match_term *fx_term(struct rule *r, enum match_key key,
			   const char *property, const char *values)
{
	struct match_term *t = grow(&r->terms, &r->n_terms, sizeof(*t));
	char *copy = xstrdup(values), *save = NULL;
	char *v = copy;

	t->key = key;
	t->property = xstrdup(property);
	t->line = (unsigned)r->n_terms + 1;
	if (*v == '!') {
		t->negate = true;
		v++;
	}
	for (char *tok = strtok_r(v, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		if (strv_push(&t->patterns, tok) < 0)
			abort();
	if (!t->patterns) /* "Serial=" with no value: an empty list */
		t->patterns = xzalloc(sizeof(char *));
	free(copy);
	return t;
}


struct instance fx_instance(const char *name, bool running,
			    enum instance_type type)
{
	struct instance i = {.project = xstrdup("default"),
			     .name = xstrdup(name),
			     .type = type,
			     .running = running,
			     .entries = json_object_new_object()};
	if (!i.entries)
		abort();
	return i;
}

struct ruleset *fx_ruleset(struct rule **rules, size_t n)
{
	struct ruleset *rs = xzalloc(sizeof(*rs));

	rs->rules = xzalloc((n ? n : 1) * sizeof(*rs->rules));
	if (n)
		memcpy(rs->rules, rules, n * sizeof(*rules));
	rs->n_rules = n;
	return rs;
}

