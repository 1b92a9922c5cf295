/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `devpass explain`: which rule matches, and then what devpassd does with
 * the device: the daemon's own plan (service/decide.h) with the instances
 * LXD has now, or, when LXD cannot be asked, with instances assumed and
 * said so.
 */
#include <stdio.h>
#include <string.h>

#include "devpass/cli/commands.h"
#include "devpass/lxd/client.h"
#include "devpass/rules/match.h"
#include "devpass/service/decide.h"
#include "devpass/service/inventory.h"
#include "devpass/util/text.h"

/* What the plan is built on: LXD's answer, or assumptions. */
struct view {
	struct instance_set *set;
	struct plan_features features;
	char *socket;  /* the LXD socket asked, or NULL */
	char *assumed; /* why LXD was not asked; NULL when it answered */
};

static void view_clear(struct view *v)
{
	instance_set_free(v->set);
	free(v->socket);
	free(v->assumed);
}

static void print_device(const struct device *d)
{
	char ids[10];
	_cleanup_(freep) char *label = cli_device_label(d);
	_cleanup_(freep) char *serial = cli_printable(d->serial);
	printf("%s %s  %s  %s%s%s\n",
	       d->subsystem == DEVICE_USB ? "USB" : "PCI", d->id,
	       cli_format_ids(d, ids), label ? label : "",
	       serial ? "  serial " : "", serial ? serial : "");
}

/* Every instance the rules name, as LXD has it (the daemon's inventory).
 * Return: 0; a negative errno with v->assumed saying why. */
static int read_lxd(const struct cli_options *o, const struct ruleset *rs,
		    struct view *v)
{
	static const struct ledger none;
	_cleanup_(lxd_client_freep) struct lxd_client *c = NULL;
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;
	_cleanup_(strv_freep) char **projects = NULL, **missing = NULL;
	int r = lxd_socket_discover(o->socket, &v->socket);
	if (r == -ENOENT)
		v->assumed = text_printf("no LXD or Incus socket found (give "
					 "--socket PATH or set LXD_DIR or "
					 "INCUS_DIR)");
	if (r < 0)
		return r;
	if ((r = lxd_client_new(v->socket, &c)) < 0 ||
	    (r = lxd_server_get(c, &s)) < 0 ||
	    (r = inventory_projects(rs, &none, &projects)) < 0 ||
	    (r = inventory_read(c, s->clustered ? s->server_name : NULL, rs,
				projects, &v->set, &missing)) < 0) {
		v->assumed = text_printf("LXD at %s did not answer: %s",
					 v->socket, strerror(-r));
		return r;
	}
	decide_features(s, &v->features);
	return 0;
}

/* Each instance a rule names, taken as a running, unprivileged container.
 * Return: 0 or -ENOMEM (logged). */
static int assume_instances(const struct ruleset *rs, struct view *v)
{
	instance_set_free(v->set);
	v->set = NULL;
	v->features = (struct plan_features){0};
	if (instance_set_new(&v->set) < 0)
		return cli_oom();
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule *r = rs->rules[i];
		STRV_FOREACH(n, r->instances) {
			struct instance inst = {
				.project = r->project,
				.name = *n,
				.type = INSTANCE_CONTAINER,
				.running = true,
				.entries = json_object_new_object(),
			};
			if (instance_set_find(v->set, r->project, *n)) {
				json_object_put(inst.entries);
				continue;
			}
			if (!inst.entries ||
			    instance_set_add(v->set, &inst) < 0)
				return cli_oom();
		}
	}
	return 0;
}

static void print_view(const struct view *v)
{
	if (!v->assumed) {
		printf("LXD at %s: %zu instance%s read; usb serial %s, pci "
		       "hotplug %s\n",
		       v->socket, v->set->n_instances,
		       v->set->n_instances == 1 ? "" : "s",
		       v->features.usb_serial ? "yes" : "no",
		       v->features.pci_hotplug ? "yes" : "no");
		return;
	}
	printf("LXD not asked: %s.\nAssumed: every instance a rule names "
	       "exists and is a running, unprivileged container, on a server "
	       "without device_usb_serial and pci_hotplug (as LXD 5.0.2).\n",
	       v->assumed);
}

/* What devpassd does with @d, as devpassd decides it (plan.h). */
static bool print_placement(const struct plan *p, const struct device *d)
{
	for (size_t i = 0; i < p->n_placements; i++) {
		const struct placement *pl = &p->placements[i];
		if (pl->device != d)
			continue;
		switch (pl->state) {
		case PLACEMENT_ATTACH:
			printf("  devpassd: attach to %s (%s)%s%s\n",
			       pl->target->name,
			       pl->target->type == INSTANCE_VM ? "VM"
							       : "container",
			       pl->reason ? ": " : "",
			       pl->reason ? pl->reason : "");
			return true;
		case PLACEMENT_WAITING:
			printf("  devpassd: waiting: %s\n", pl->reason);
			return false;
		case PLACEMENT_REFUSED:
			printf("  devpassd: refused: %s\n", pl->reason);
			return false;
		}
	}
	return false;
}

/* The match of every rule, in order; the owner, or NULL. */
static const struct rule *print_matches(const struct ruleset *rs,
					const struct device *d)
{
	const struct rule *owner = NULL;
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule *r = rs->rules[i];
		struct match_why why;
		if (!match_rule(r, d, &why))
			printf("  no   %s: %s\n", r->name, why.reason);
		else if (owner)
			printf("  also %s matches, but %s comes first\n",
			       r->name, owner->name);
		else {
			owner = r;
			printf("  YES  %s matches\n", r->name);
		}
	}
	if (!owner)
		printf("No rule matches: the device stays on the host "
		       "(%zu rule%s tried).\n",
		       rs->n_rules, rs->n_rules == 1 ? "" : "s");
	return owner;
}

int cmd_explain(const struct cli_options *o, const char *what)
{
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	_cleanup_(device_list_freep) struct device_list *l = NULL;
	_cleanup_(view_clear) struct view v = {0};
	_cleanup_(plan_freep) struct plan *p = NULL;
	if (cli_load_rules(o, false, &rs) < 0 || cli_load_devices(&l) < 0)
		return EXIT_TROUBLE;
	const struct device *d = cli_find_device(l, what);
	if (!d)
		return EXIT_TROUBLE;
	print_device(d);
	if (!print_matches(rs, d))
		return EXIT_NEGATIVE;
	int r = read_lxd(o, rs, &v);
	if (r < 0 && (!v.assumed || assume_instances(rs, &v) < 0))
		return EXIT_TROUBLE;
	if (decide_plan(rs, l, v.set, &v.features, &p) < 0)
		return EXIT_TROUBLE;
	print_view(&v);
	return print_placement(p, d) ? EXIT_OK : EXIT_NEGATIVE;
}
