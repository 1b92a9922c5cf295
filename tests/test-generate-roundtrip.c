/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A generated rule, read back by the real parser, matches the device it
 * was generated for and not its twin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/rules/parse.h"
#include "devpass/rules/generate.h"
#include "devpass/rules/match.h"
#include "fixture-structs.h"
#include "test-util.h"

/* Generates @d's rule and parses it; fails the test on any error. */
static struct rule *generate_and_parse(const struct device *d)
{
	_cleanup_(freep) char *text = NULL;
	_cleanup_(strv_freep) char **errors = NULL;
	struct rule *r = NULL;

	assert_int_equal(generate_rule(d, NULL, &text), 0);
	if (rule_parse("50-generated", "50-generated.rules", text, strlen(text),
		       &r, &errors) != 0) {
		for (char **e = errors; e && *e; e++)
			print_error("%s\n", *e);
		fail_msg("generated rule does not parse:\n%s", text);
	}
	assert_null(errors);
	return r;
}

static void assert_matches(const struct rule *r, const struct device *d)
{
	struct match_why why;

	if (!match_rule(r, d, &why))
		fail_msg("%s", why.reason);
}

static struct device *phone(const char *port, const char *serial)
{
	struct device *d = fx_usb(port, 0x18d1, 0x4ee7);

	fx_set(&d->serial, serial);
	fx_add_node(d, NODE_USB, "usb", "/dev/bus/usb/001/007", 189, 6);
	fx_add_node(d, NODE_TTY, "tty", "/dev/ttyACM0", 166, 0);
	return d;
}

static void usb_serial_follows_the_device_not_its_twin(void **state)
{
	struct device *d = phone("1-2", "0A1B2C3D"), *moved, *twin;
	struct rule *r = generate_and_parse(d);

	assert_int_equal(r->subsystem, RULE_SUBSYSTEM_USB);
	assert_string_equal(r->instances[0], GENERATE_DEFAULT_INSTANCE);
	assert_int_equal(r->nodes, NODE_USB | NODE_TTY);
	assert_matches(r, d);
	moved = phone("3-4.1", "0A1B2C3D");
	assert_matches(r, moved);
	twin = phone("1-2", "0A1B2C3E");
	assert_false(match_rule(r, twin, NULL));
	rule_free(r);
	device_free(d);
	device_free(moved);
	device_free(twin);
}

static void usb_without_serial_is_pinned_to_its_port(void **state)
{
	struct device *d = phone("1-2", NULL), *twin = phone("1-3", NULL);
	struct rule *r = generate_and_parse(d);

	assert_matches(r, d);
	assert_false(match_rule(r, twin, NULL));
	rule_free(r);
	device_free(d);
	device_free(twin);
}

/* Every special and unwritable byte still gives a rule matching @d. */
static void hostile_serials_round_trip(void **state)
{
	static const char *const serials[] = {
	    "!bang",	   "a b\tc",
	    "*?[]\\",	   "[!a-z]*",
	    "x\ny\rz",	   "\x1b[31m",
	    "bad\xff\xfe", "caf\xc3\xa9 \xc2\x85",
	    "\\!",	   "  lead and trail  ",
	};

	for (size_t i = 0; i < ARRAY_SIZE(serials); i++) {
		struct device *d = phone("1-2", serials[i]);
		struct device *twin = phone("1-2", "plain");
		struct rule *r = generate_and_parse(d);

		assert_matches(r, d);
		assert_false(match_rule(r, twin, NULL));
		rule_free(r);
		device_free(d);
		device_free(twin);
	}
}

static void pci_gpu_is_pinned_to_its_address(void **state)
{
	struct device *d = fx_pci("0000:65:00.0", 0x10de, 0x1eb8, 0x030000);
	struct device *twin = fx_pci("0000:66:00.0", 0x10de, 0x1eb8, 0x030000);
	struct rule *r = generate_and_parse(d);

	assert_int_equal(r->subsystem, RULE_SUBSYSTEM_PCI);
	assert_int_equal(r->iommu, IOMMU_POLICY_STRICT);
	assert_matches(r, d);
	assert_false(match_rule(r, twin, NULL));
	rule_free(r);
	device_free(d);
	device_free(twin);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(usb_serial_follows_the_device_not_its_twin),
	    cmocka_unit_test(usb_without_serial_is_pinned_to_its_port),
	    cmocka_unit_test(hostile_serials_round_trip),
	    cmocka_unit_test(pci_gpu_is_pinned_to_its_address),
	};

	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests_name("generate-roundtrip", tests, NULL,
					   NULL);
}
