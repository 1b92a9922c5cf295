/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devpass iommu: every IOMMU group, its functions with names and drivers,
 * whether a VM can take it (host_guard.h says when), and the ACS of the
 * bridges above it.
 */
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "devpass/cli/commands.h"
#include "devpass/model/iommu.h"
#include "devpass/plan/host_guard.h"
#include "devpass/model/pci-acs.h"
#include "devpass/util/json.h"
#include "devpass/model/device-json.h"

/* Members that keep the group from a VM for one device alone. */
static size_t count_blockers(const struct iommu_group *g,
			     const struct device_list *l, size_t *endpoints)
{
	size_t n = 0;
	*endpoints = 0;
	for (char **a = g->addresses; *a; a++) {
		const struct device *d = device_find(l, *a);
		if (d && !host_guard_is_bridge(d))
			(*endpoints)++;
		n += d && host_guard_member_blocks(d);
	}
	return n;
}

/* A VM can take the group's one function, or any of its functions. */
static bool group_viable(size_t blockers, size_t endpoints)
{
	return blockers == 0 || (blockers == 1 && endpoints == 1);
}

/* One sentence: can a VM take (a device of) this group? */
static char *verdict(const struct iommu_group *g, const struct device_list *l)
{
	size_t endpoints, blockers = count_blockers(g, l, &endpoints);
	char *s = NULL;
	int r;
	if (group_viable(blockers, endpoints))
		r = asprintf(&s, "viable for a VM");
	else
		r = asprintf(&s,
			     "not viable for one function alone: %zu of "
			     "its %zu functions %s bound to host drivers; "
			     "IommuGroup=whole passes them together",
			     blockers, endpoints, blockers == 1 ? "is" : "are");
	return r < 0 ? NULL : s;
}

/* Why a member matters to a VM, in a few words, or NULL. */
static const char *member_note(const struct device *d)
{
	const char *need = host_guard_needs(NULL, d);
	if (need)
		return need;
	if (host_guard_member_blocks(d))
		return "host driver: blocks the others";
	return NULL;
}

/* "SV RR CR UF": the names of the ACS control bits set in @ctrl. */
static char *acs_bits(uint16_t ctrl)
{
	static const char *const bits[] = {"SV", "TB", "RR", "CR",
					   "UF", "EC", "DT"};
	_cleanup_(strv_freep) char **names = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if ((ctrl & (1u << i)) && strv_push(&names, bits[i]) < 0)
			return NULL;
	return strv_join(names, " ");
}

/* What pci_acs_read() said when it needs no list of bits, or NULL. */
static const char *acs_word(int r, uint16_t ctrl)
{
	if (r == PCI_ACS_E_ABSENT)
		return "no ACS";
	if (r < 0)
		return r == -EACCES ? "unreadable (needs root)" : "unreadable";
	return ctrl ? NULL : "off";
}

/*
 * "on (SV RR CR UF)", "partial (SV)", "off", "no ACS", "unreadable (needs
 * root)"; NULL on ENOMEM (logged).
 */
static char *acs_text(const char *address)
{
	uint16_t ctrl = 0;
	int r = pci_acs_read(address, &ctrl);
	const char *word = acs_word(r, ctrl);
	bool on = (ctrl & PCI_ACS_ISOLATING) == PCI_ACS_ISOLATING;
	_cleanup_(freep) char *list = word ? NULL : acs_bits(ctrl);
	char *s = NULL;

	if (word)
		s = strdup(word);
	else if (list &&
		 asprintf(&s, "%s (%s)", on ? "on" : "partial", list) < 0)
		s = NULL;
	if (!s)
		cli_oom();
	return s;
}

/* The PCI bridges above the group's functions (their syspath parents). */
static char **upstream_bridges(const struct iommu_group *g,
			       const struct device_list *l)
{
	char **v = NULL;
	for (char **a = g->addresses; *a; a++) {
		const struct device *d = device_find(l, *a);
		_cleanup_(freep) char *path = d ? strdup(d->syspath) : NULL;
		for (char *p = path ? dirname(path) : NULL; p && strlen(p) > 1;
		     p = dirname(p)) {
			const struct device *up = device_find(l, basename(p));
			if (up && host_guard_is_bridge(up) &&
			    !strv_contains(v, up->id) &&
			    strv_push(&v, up->id) < 0)
				break;
		}
	}
	return v;
}

static void print_member(const char *address, const struct device *d, bool last)
{
	_cleanup_(freep) char *label = d ? cli_device_label(d) : NULL;
	_cleanup_(freep) char *driver = d ? cli_printable(d->driver) : NULL;
	const char *note = d ? member_note(d) : "not in udev's device list";
	char ids[10] = "?";
	printf("  %s %s  %-9s %-14s %s%s%s%s\n", last ? "└─" : "├─", address,
	       d ? cli_format_ids(d, ids) : ids,
	       driver ? driver : "(no driver)", label ? label : "",
	       note ? "  [" : "", note ? note : "", note ? "]" : "");
}

static void print_group(const struct iommu_group *g,
			const struct device_list *l)
{
	_cleanup_(freep) char *v = verdict(g, l);
	_cleanup_(strv_freep) char **bridges = upstream_bridges(g, l);
	printf("IOMMU group %d: %s\n", g->number, v ? v : "?");
	for (char **a = g->addresses; *a; a++)
		print_member(*a, device_find(l, *a), !a[1] && !bridges);
	STRV_FOREACH(b, bridges) {
		_cleanup_(freep) char *acs = acs_text(*b);
		printf("  %s ACS of upstream bridge %s: %s\n",
		       b[1] ? "├─" : "└─", *b, acs ? acs : "?");
	}
}

static json_object *acs_json(char **bridges)
{
	json_object *arr = json_object_new_array();
	STRV_FOREACH(b, bridges) {
		_cleanup_(freep) char *acs = acs_text(*b);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "bridge", json_object_new_string(*b));
		json_object_object_add(o, "acs", json_string_or_null(acs));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *group_json(const struct iommu_group *g,
			       const struct device_list *l)
{
	json_object *o = json_object_new_object();
	json_object *devs = json_object_new_array();
	size_t endpoints, blockers = count_blockers(g, l, &endpoints);
	_cleanup_(freep) char *v = verdict(g, l);
	_cleanup_(strv_freep) char **bridges = upstream_bridges(g, l);
	for (char **a = g->addresses; *a; a++) {
		const struct device *d = device_find(l, *a);
		json_object *j =
			d ? device_json_new(d) : json_object_new_object();
		json_object_object_add(j, "address",
				       json_object_new_string(*a));
		json_object_object_add(
			j, "note",
			json_string_or_null(d ? member_note(d) : NULL));
		json_object_array_add(devs, j);
	}
	json_object_object_add(o, "group", json_object_new_int(g->number));
	json_object_object_add(
		o, "viable",
		json_object_new_boolean(group_viable(blockers, endpoints)));
	json_object_object_add(o, "verdict", json_string_or_null(v));
	json_object_object_add(o, "devices", devs);
	json_object_object_add(o, "acs", acs_json(bridges));
	return o;
}

static int print_json(const struct iommu_list *groups,
		      const struct device_list *l)
{
	_cleanup_(json_object_putp) json_object *root =
		json_object_new_object();
	json_object *arr = json_object_new_array();
	json_object_object_add(root, "iommu",
			       json_object_new_boolean(groups != NULL));
	json_object_object_add(
		root, "advice",
		json_string_or_null(groups ? NULL
					   : host_guard_no_iommu_advice));
	json_object_object_add(root, "groups", arr);
	for (size_t i = 0; groups && i < groups->n_groups; i++)
		json_object_array_add(arr, group_json(&groups->groups[i], l));
	return cli_print_json(root);
}

int cmd_iommu(const struct cli_options *o)
{
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	_cleanup_(iommu_list_freep) struct iommu_list *groups = NULL;
	if (cli_load_devices(&l) < 0)
		return EXIT_TROUBLE;
	if (iommu_list_read(NULL, &groups) < 0)
		return EXIT_TROUBLE; /* logged by iommu_list_read() */
	if (o->json)
		return print_json(groups, l) < 0 ? EXIT_TROUBLE : EXIT_OK;
	if (!groups)
		printf("No IOMMU: %s.\n", host_guard_no_iommu_advice);
	for (size_t i = 0; groups && i < groups->n_groups; i++)
		print_group(&groups->groups[i], l);
	return EXIT_OK;
}
