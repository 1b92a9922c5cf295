/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devpass/rules/match.h"
#include "fixture-structs.h"
#include "test-util.h"

/* A Logitech webcam: device class ef, interfaces 0e 0e 01 01. */
static struct device *webcam(void)
{
	struct device *d = fx_usb("1-1.5.2", 0x046d, 0x082d);
	struct device_node *n;

	fx_set(&d->serial, "A1B2C3");
	fx_set(&d->manufacturer, "Logitech, Inc.");
	fx_set(&d->name, "HD Pro Webcam C920");
	fx_set(&d->driver, "usb");
	d->usb_class = 0xef;
	fx_add_interface(d, 0x0e);
	fx_add_interface(d, 0x0e);
	fx_add_interface(d, 0x01);
	fx_add_interface(d, 0x01);
	fx_add_prop(d, "ID_MODEL", "HD_Pro_Webcam_C920");
	fx_add_node(d, NODE_USB, "usb", "/dev/bus/usb/001/003", 189, 2);
	n = fx_add_node(d, NODE_VIDEO4LINUX, "video4linux", "/dev/video0", 81,
			0);
	fx_add_node_prop(n, "ID_V4L_CAPABILITIES", ":capture:");
	return d;
}

static struct device *vga(void)
{
	struct device *d = fx_pci("0000:65:00.0", 0x10de, 0x1eb8, 0x030000);

	fx_set(&d->driver, "nvidia");
	fx_set(&d->manufacturer, "NVIDIA Corporation");
	fx_set(&d->name, "TU104GL [Tesla T4]");
	return d;
}

/* Whether a USB rule with the one term KEY=VALUES matches @d. */
static bool one_term(const struct device *d, enum rule_subsystem s,
		     enum match_key key, const char *property,
		     const char *values, struct match_why *why)
{
	struct rule *r = fx_rule("t", s);
	bool m;

	fx_term(r, key, property, values);
	m = match_rule(r, d, why);
	rule_free(r);
	return m;
}

#define USB_MATCH(d, key, values)                                              \
	one_term(d, RULE_SUBSYSTEM_USB, key, NULL, values, NULL)
#define PCI_MATCH(d, key, values)                                              \
	one_term(d, RULE_SUBSYSTEM_PCI, key, NULL, values, NULL)

/* The reason given when a USB/PCI rule with one term does not match. */
static const char *why_not(const struct device *d, enum match_key key,
			   const char *property, const char *values)
{
	static struct match_why why;
	struct rule *r =
	    fx_rule("t", d->subsystem == DEVICE_USB ? RULE_SUBSYSTEM_USB
						    : RULE_SUBSYSTEM_PCI);

	memset(&why, 0, sizeof(why));
	fx_term(r, key, property, values);
	assert_false(match_rule(r, d, &why));
	assert_ptr_equal(why.term, &r->terms[0]);
	rule_free(r);
	why.term = NULL; /* freed with the rule */
	return why.reason;
}

static void vendor_and_product(void **state)
{
	struct device *d = webcam();

	assert_true(USB_MATCH(d, MATCH_VENDOR, "046d"));
	assert_false(USB_MATCH(d, MATCH_VENDOR, "05f3"));
	assert_true(USB_MATCH(d, MATCH_PRODUCT, "082d"));
	assert_false(USB_MATCH(d, MATCH_PRODUCT, "0843"));
	assert_true(USB_MATCH(d, MATCH_PRODUCT, "08*"));
	assert_true(USB_MATCH(d, MATCH_PRODUCT, "08[0-2]?"));
	assert_false(USB_MATCH(d, MATCH_PRODUCT, "08[3-9]?"));
	/* Hex keys are stored lower-case by the parser; no case folding. */
	assert_false(USB_MATCH(d, MATCH_VENDOR, "046D"));
	/* Leading zeros are part of the 4 digits. */
	d->vendor = 0x00ab;
	assert_true(USB_MATCH(d, MATCH_VENDOR, "00ab"));
	assert_false(USB_MATCH(d, MATCH_VENDOR, "ab"));
	device_free(d);
}

static void value_lists_match_any(void **state)
{
	struct device *d = webcam();

	assert_true(USB_MATCH(d, MATCH_PRODUCT, "0843 082d"));
	assert_true(USB_MATCH(d, MATCH_PRODUCT, "082d 0843"));
	assert_false(USB_MATCH(d, MATCH_PRODUCT, "0843 0844 1*"));
	device_free(d);
}

static void repeated_keys_must_all_hold(void **state)
{
	struct device *d = webcam();
	struct rule *r = fx_rule("t", RULE_SUBSYSTEM_USB);

	fx_term(r, MATCH_PRODUCT, NULL, "08*");
	fx_term(r, MATCH_PRODUCT, NULL, "*2d");
	assert_true(match_rule(r, d, NULL));
	fx_term(r, MATCH_PRODUCT, NULL, "0843");
	assert_false(match_rule(r, d, NULL));
	rule_free(r);
	device_free(d);
}

static void negated_lists_hold_when_none_match(void **state)
{
	struct device *d = webcam();

	assert_true(USB_MATCH(d, MATCH_VENDOR, "!05f3"));
	assert_true(USB_MATCH(d, MATCH_VENDOR, "!05f3 1234"));
	assert_false(USB_MATCH(d, MATCH_VENDOR, "!05f3 046d"));
	assert_false(USB_MATCH(d, MATCH_SERIAL, "!A1*"));
	assert_true(USB_MATCH(d, MATCH_SERIAL, "!B*"));
	device_free(d);
}

static void strings_are_globs_without_case_folding(void **state)
{
	struct device *d = webcam();

	assert_true(USB_MATCH(d, MATCH_SERIAL, "A1B2C3"));
	assert_true(USB_MATCH(d, MATCH_SERIAL, "A1B2*"));
	assert_false(USB_MATCH(d, MATCH_SERIAL, "a1b2c3"));
	assert_true(USB_MATCH(d, MATCH_MANUFACTURER, "Logitech*"));
	assert_false(USB_MATCH(d, MATCH_MANUFACTURER, "Logitech"));
	assert_true(USB_MATCH(d, MATCH_NAME, "*C920"));
	assert_true(USB_MATCH(d, MATCH_DRIVER, "usb"));
	assert_false(USB_MATCH(d, MATCH_DRIVER, "usbhid"));
	/* Backslash escapes: "\*" is a literal star. */
	assert_false(USB_MATCH(d, MATCH_SERIAL, "\\*"));
	fx_set(&d->serial, "*");
	assert_true(USB_MATCH(d, MATCH_SERIAL, "\\*"));
	device_free(d);
}

static void absent_values_fail_positive_pass_negated(void **state)
{
	struct device *d = fx_usb("2-1", 0x1050, 0x0407);

	assert_false(USB_MATCH(d, MATCH_SERIAL, "*"));
	assert_true(USB_MATCH(d, MATCH_SERIAL, "!*"));
	assert_false(USB_MATCH(d, MATCH_MANUFACTURER, "*"));
	assert_false(USB_MATCH(d, MATCH_NAME, "*"));
	assert_false(USB_MATCH(d, MATCH_DRIVER, "*"));
	assert_true(USB_MATCH(d, MATCH_DRIVER, "!*"));
	/* An empty string is no serial either. */
	fx_set(&d->serial, "");
	assert_false(USB_MATCH(d, MATCH_SERIAL, "*"));
	assert_true(USB_MATCH(d, MATCH_SERIAL, "!*"));
	device_free(d);
}

static void usb_class_matches_device_or_any_interface(void **state)
{
	struct device *d = webcam();

	assert_true(USB_MATCH(d, MATCH_CLASS, "ef"));
	assert_true(USB_MATCH(d, MATCH_CLASS, "0e"));
	assert_true(USB_MATCH(d, MATCH_CLASS, "01"));
	assert_false(USB_MATCH(d, MATCH_CLASS, "03"));
	assert_true(USB_MATCH(d, MATCH_CLASS, "03 0b 0e"));
	assert_true(USB_MATCH(d, MATCH_CLASS, "!03"));
	assert_false(USB_MATCH(d, MATCH_CLASS, "!0e"));
	/* Class 00 ("per interface") is a value of its own. */
	d->usb_class = 0;
	assert_true(USB_MATCH(d, MATCH_CLASS, "00"));
	device_free(d);
}

static void pci_class_matches_4_or_6_digits(void **state)
{
	struct device *d = vga();

	assert_true(PCI_MATCH(d, MATCH_CLASS, "0300"));
	assert_true(PCI_MATCH(d, MATCH_CLASS, "030000"));
	assert_true(PCI_MATCH(d, MATCH_CLASS, "03*"));
	assert_false(PCI_MATCH(d, MATCH_CLASS, "0302*"));
	assert_false(PCI_MATCH(d, MATCH_CLASS, "03"));
	assert_false(PCI_MATCH(d, MATCH_CLASS, "0c03"));
	assert_false(PCI_MATCH(d, MATCH_CLASS, "!0300"));
	assert_true(PCI_MATCH(d, MATCH_CLASS, "!0302*"));
	d->pci_class = 0x030200; /* 3D controller */
	assert_true(PCI_MATCH(d, MATCH_CLASS, "0302*"));
	assert_true(PCI_MATCH(d, MATCH_CLASS, "0302"));
	assert_false(PCI_MATCH(d, MATCH_CLASS, "0300"));
	d->pci_class = 0x0c0330; /* xHCI */
	assert_true(PCI_MATCH(d, MATCH_CLASS, "0c03"));
	assert_true(PCI_MATCH(d, MATCH_CLASS, "0c0330"));
	device_free(d);
}

static void port_is_usb_only_and_address_pci_only(void **state)
{
	struct device *u = webcam(), *p = vga();

	assert_true(USB_MATCH(u, MATCH_PORT, "1-1.5.2"));
	assert_true(USB_MATCH(u, MATCH_PORT, "1-1.*"));
	assert_false(USB_MATCH(u, MATCH_PORT, "1-1.5"));
	assert_false(USB_MATCH(u, MATCH_ADDRESS, "*"));
	assert_true(PCI_MATCH(p, MATCH_ADDRESS, "0000:65:00.0"));
	assert_true(PCI_MATCH(p, MATCH_ADDRESS, "0000:65:*"));
	assert_false(PCI_MATCH(p, MATCH_ADDRESS, "0000:66:00.0"));
	assert_false(PCI_MATCH(p, MATCH_PORT, "*"));
	device_free(u);
	device_free(p);
}

static void property_on_device_or_any_node(void **state)
{
	struct device *d = webcam();
	struct device_node *n;

	n = fx_add_node(d, NODE_INPUT, "input", "/dev/input/event5", 13, 69);
	fx_add_node_prop(n, "ID_INPUT_TOUCHSCREEN", "1");
	assert_true(one_term(d, RULE_SUBSYSTEM_USB, MATCH_PROPERTY,
			     "ID_INPUT_TOUCHSCREEN", "1", NULL));
	assert_false(one_term(d, RULE_SUBSYSTEM_USB, MATCH_PROPERTY,
			      "ID_INPUT_TOUCHSCREEN", "0", NULL));
	assert_true(one_term(d, RULE_SUBSYSTEM_USB, MATCH_PROPERTY, "ID_MODEL",
			     "HD_Pro_*", NULL));
	assert_true(one_term(d, RULE_SUBSYSTEM_USB, MATCH_PROPERTY,
			     "ID_V4L_CAPABILITIES", "*:capture:*", NULL));
	/* The key must be exact: no prefix or glob on the key. */
	assert_false(one_term(d, RULE_SUBSYSTEM_USB, MATCH_PROPERTY, "ID_INPUT",
			      "*", NULL));
	assert_false(one_term(d, RULE_SUBSYSTEM_USB, MATCH_PROPERTY, "ID_NOPE",
			      "*", NULL));
	assert_true(one_term(d, RULE_SUBSYSTEM_USB, MATCH_PROPERTY, "ID_NOPE",
			     "!*", NULL));
	device_free(d);
}

static void subsystem_mismatch_never_matches(void **state)
{
	struct device *p = vga();
	struct rule *r = fx_rule("any-usb", RULE_SUBSYSTEM_USB);
	struct match_why why = {.term = (void *)1};

	/* A rule with no terms takes every device of its subsystem... */
	assert_false(match_rule(r, p, &why));
	assert_null(why.term);
	assert_string_equal(why.reason, "Subsystem=pci does not match usb");
	r->subsystem = RULE_SUBSYSTEM_PCI;
	assert_true(match_rule(r, p, NULL));
	/* ...and an explicit Subsystem= term is checked too. */
	fx_term(r, MATCH_SUBSYSTEM, NULL, "usb");
	assert_false(match_rule(r, p, NULL));
	rule_free(r);
	device_free(p);
}

static void first_matching_rule_wins(void **state)
{
	struct device *d = webcam();
	struct rule *rules[4];
	struct ruleset *rs;

	rules[0] = fx_rule("10-other-vendor", RULE_SUBSYSTEM_USB);
	fx_term(rules[0], MATCH_VENDOR, NULL, "05f3");
	rules[1] = fx_rule("20-pci", RULE_SUBSYSTEM_PCI);
	rules[2] = fx_rule("30-webcam", RULE_SUBSYSTEM_USB);
	fx_term(rules[2], MATCH_VENDOR, NULL, "046d");
	fx_term(rules[2], MATCH_CLASS, NULL, "0e");
	rules[3] = fx_rule("40-any-usb", RULE_SUBSYSTEM_USB);
	rs = fx_ruleset(rules, 4);
	assert_ptr_equal(match_ruleset(rs, d), rules[2]);
	/* Not the webcam rule any more: falls through to the catch-all. */
	d->vendor = 0x1234;
	assert_ptr_equal(match_ruleset(rs, d), rules[3]);
	d->vendor = 0x05f3;
	assert_ptr_equal(match_ruleset(rs, d), rules[0]);
	ruleset_free(rs);

	rs = fx_ruleset(NULL, 0);
	assert_null(match_ruleset(rs, d));
	ruleset_free(rs);
	device_free(d);
}

static void why_names_key_values_and_patterns(void **state)
{
	struct device *d = webcam(), *p = vga(), *bare = fx_usb("3-2", 1, 2);

	assert_string_equal(why_not(d, MATCH_VENDOR, NULL, "05f3"),
			    "Vendor=046d does not match 05f3");
	assert_string_equal(why_not(d, MATCH_PRODUCT, NULL, "0843 0844"),
			    "Product=082d does not match 0843 0844");
	assert_string_equal(why_not(bare, MATCH_SERIAL, NULL, "A1*"),
			    "Serial= not set on this device");
	assert_string_equal(why_not(d, MATCH_CLASS, NULL, "!0e"),
			    "Class=!0e: 0e matches (interface 0)");
	assert_string_equal(why_not(d, MATCH_CLASS, NULL, "03 0b"),
			    "Class=ef (device), 0e (interface 0), "
			    "0e (interface 1), 01 (interface 2), "
			    "01 (interface 3) does not match 03 0b");
	assert_string_equal(why_not(d, MATCH_VENDOR, NULL, "!046d"),
			    "Vendor=!046d: 046d matches");
	assert_string_equal(why_not(p, MATCH_CLASS, NULL, "0c03*"),
			    "Class=030000, 0300 does not match 0c03*");
	assert_string_equal(why_not(p, MATCH_CLASS, NULL, "!0300"),
			    "Class=!0300: 0300 matches");
	assert_string_equal(why_not(d, MATCH_PROPERTY, "ID_NOPE", "1"),
			    "Property=ID_NOPE= not set on this device");
	assert_string_equal(
	    why_not(d, MATCH_PROPERTY, "ID_V4L_CAPABILITIES", "!*capture*"),
	    "Property=ID_V4L_CAPABILITIES=!*capture*: :capture: matches "
	    "(/dev/video0)");
	assert_string_equal(why_not(p, MATCH_PORT, NULL, "1-1"),
			    "Port= not set on this device");
	device_free(d);
	device_free(p);
	device_free(bare);
}

static void why_names_the_first_failing_term(void **state)
{
	struct device *d = webcam();
	struct rule *r = fx_rule("t", RULE_SUBSYSTEM_USB);
	struct match_why why;

	fx_term(r, MATCH_VENDOR, NULL, "046d");
	fx_term(r, MATCH_SERIAL, NULL, "X*");
	fx_term(r, MATCH_PRODUCT, NULL, "ffff");
	assert_false(match_rule(r, d, &why));
	assert_ptr_equal(why.term, &r->terms[1]);
	assert_string_equal(why.reason, "Serial=A1B2C3 does not match X*");
	rule_free(r);
	device_free(d);
}

static void why_escapes_device_strings(void **state)
{
	struct device *d = webcam();
	const char *why;

	fx_set(&d->serial, "\x1b[2J\xff\nok");
	why = why_not(d, MATCH_SERIAL, NULL, "A*");
	assert_string_equal(why,
			    "Serial=\\x1b[2J\\xff\\x0aok does not match A*");
	/* However long the values, the reason fits and is terminated. */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fx_set(&d->serial, big);
	why = why_not(d, MATCH_SERIAL, NULL, "A*");
	assert_true(strlen(why) < sizeof(((struct match_why *)0)->reason));
	assert_memory_equal(why, "Serial=xxxx", 11);
	device_free(d);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(vendor_and_product),
	    cmocka_unit_test(value_lists_match_any),
	    cmocka_unit_test(repeated_keys_must_all_hold),
	    cmocka_unit_test(negated_lists_hold_when_none_match),
	    cmocka_unit_test(strings_are_globs_without_case_folding),
	    cmocka_unit_test(absent_values_fail_positive_pass_negated),
	    cmocka_unit_test(usb_class_matches_device_or_any_interface),
	    cmocka_unit_test(pci_class_matches_4_or_6_digits),
	    cmocka_unit_test(port_is_usb_only_and_address_pci_only),
	    cmocka_unit_test(property_on_device_or_any_node),
	    cmocka_unit_test(subsystem_mismatch_never_matches),
	    cmocka_unit_test(first_matching_rule_wins),
	    cmocka_unit_test(why_names_key_values_and_patterns),
	    cmocka_unit_test(why_names_the_first_failing_term),
	    cmocka_unit_test(why_escapes_device_strings),
	};

	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests_name("match", tests, NULL, NULL);
}
