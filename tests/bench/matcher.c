/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The matcher over 10,000 devices x 1,000 rules, the worst case: no
 * device matches, so every device is tried against every rule. Rules
 * mix exact ids, globs, lists, negations, class and property terms, like
 * a big site's rule set. Shared by bench-match (the meson test) and
 * devpass-bench (the whole benchmark).
 */
#include <stdio.h>
#include <string.h>

#include "devpass/rules/match.h"
#include "fixture-structs.h"
#include "matcher.h"
#include "test-util.h"

static struct device *bench_device(unsigned i)
{
	char port[32], serial[32];
	struct device *d;

	if (i % 10 == 9) {
		snprintf(port, sizeof(port), "0000:%02x:%02x.%u", i / 256 % 256,
			 i % 32, i % 8);
		return fx_pci(port, 0x8000 + i % 4096, i % 65536,
			      0x020000 + i % 256);
	}
	snprintf(port, sizeof(port), "%u-%u.%u.%u", 1 + i % 4, 1 + i % 7,
		 1 + i % 5, 1 + i % 3);
	snprintf(serial, sizeof(serial), "SN%08X", i * 2654435761u);
	d = fx_usb(port, 0x1000 + i % 4096, i % 65536);
	fx_set(&d->serial, serial);
	fx_set(&d->manufacturer, "Bench Devices Inc.");
	fx_set(&d->name, "Widget");
	fx_add_interface(d, 0x03);
	fx_add_interface(d, 0x0e);
	fx_add_prop(d, "ID_MODEL", "Widget");
	fx_add_node(d, NODE_USB, "usb", "/dev/bus/usb/001/002", 189, 1);
	return d;
}

static struct rule *bench_rule(unsigned i)
{
	struct rule *r = fx_rule("bench", i % 10 == 9 ? RULE_SUBSYSTEM_PCI
						      : RULE_SUBSYSTEM_USB);
	char v[64];

	/*
	 * Vendor= holds for every device, so each rule costs its second term
	 * too, a glob or a list or a negation, which then fails.
	 */
	snprintf(v, sizeof(v), "%04x 1* 8*", 0xa000 + i);
	fx_term(r, MATCH_VENDOR, NULL, v);
	switch (i % 4) {
	case 0:
		snprintf(v, sizeof(v), "%04x z%03x", 0xa000 + i, i);
		fx_term(r, MATCH_PRODUCT, NULL, v);
		break;
	case 1:
		fx_term(r, MATCH_SERIAL, NULL, "XX* SN[a-f]*");
		break;
	case 2:
		fx_term(r, MATCH_CLASS, NULL, "!03 0b");
		break;
	case 3:
		fx_term(r, MATCH_PROPERTY, "ID_MODEL", "Gad*");
		break;
	}
	return r;
}

double bench_matcher_run(size_t *matched)
{
	static struct device *devices[BENCH_N_DEVICES];
	static struct rule *rules[BENCH_N_RULES];
	struct ruleset *rs;
	double start, ms;

	for (unsigned i = 0; i < BENCH_N_DEVICES; i++)
		devices[i] = bench_device(i);
	for (unsigned i = 0; i < BENCH_N_RULES; i++)
		rules[i] = bench_rule(i);
	rs = fx_ruleset(rules, BENCH_N_RULES);

	*matched = 0;
	start = now_ms_frac();
	for (unsigned i = 0; i < BENCH_N_DEVICES; i++)
		*matched += match_ruleset(rs, devices[i]) != NULL;
	ms = now_ms_frac() - start;

	ruleset_free(rs);
	for (unsigned i = 0; i < BENCH_N_DEVICES; i++)
		device_free(devices[i]);
	return ms;
}
