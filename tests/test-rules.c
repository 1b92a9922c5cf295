/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rule parser and loader: every key, lists, escapes, negation, repeats,
 * defaults, every error message, file checks, directory precedence.
 */
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "devpass/rules/parse.h"
#include "devpass/rules/load.h"
#include "rules-test-util.h"
#include "test-util.h"

#define P	  "t.rules"
#define MATCH_USB "[Match]\nSubsystem=usb\n"
#define MATCH_PCI "[Match]\nSubsystem=pci\n"
#define ATTACH	  "[Attach]\nInstance=c1\n"

static struct rule *parse_ok(const char *text)
{
	char **errors = NULL;
	struct rule *r = NULL;
	int ret = rule_parse("t", P, text, strlen(text), &r, &errors);
	if (ret != 0)
		tu_print_errors(errors);
	assert_int_equal(ret, 0);
	assert_null(errors);
	assert_non_null(r);
	return r;
}

/* Parses text that must fail and returns its errors (at least one). */
static char **parse_bad_len(const char *text, size_t len)
{
	char **errors = NULL;
	struct rule *r = NULL;
	assert_int_equal(rule_parse("t", P, text, len, &r, &errors), -EINVAL);
	assert_null(r);
	assert_non_null(errors);
	return errors;
}

static char **parse_bad(const char *text)
{
	return parse_bad_len(text, strlen(text));
}

/* The patterns of a term as one '|'-separated string, for comparing. */
static void assert_term(const struct match_term *t, enum match_key key,
			bool negate, const char *joined)
{
	_cleanup_(freep) char *got = strv_join(t->patterns, "|");
	assert_non_null(got);
	assert_int_equal(t->key, key);
	assert_int_equal(t->negate, negate);
	assert_string_equal(got, joined);
}

static void minimal_rule_gets_the_documented_defaults(void **state)
{
	struct rule *r = parse_ok(MATCH_USB ATTACH);
	assert_string_equal(r->name, "t");
	assert_string_equal(r->path, P);
	assert_int_equal(r->subsystem, RULE_SUBSYSTEM_USB);
	assert_int_equal(r->n_terms, 0);
	assert_string_equal(r->instances[0], "c1");
	assert_null(r->instances[1]);
	assert_string_equal(r->project, "default");
	assert_int_equal(r->nodes, NODE_USB);
	assert_null(r->mode);
	assert_int_equal(r->uid, -1);
	assert_int_equal(r->gid, -1);
	assert_int_equal(r->iommu, IOMMU_POLICY_STRICT);
	assert_false(r->allow_privileged);
	rule_free(r);
}

static void every_usb_match_key_parses_hex_lower_cased(void **state)
{
	struct rule *r = parse_ok("# a comment\n; another\n\n"
				  "[Match]\n"
				  "  Subsystem = usb  \n"
				  "Vendor=046D\n"
				  "Product=082d 08[4-5]? 0*\n"
				  "Serial=A1B2*\n"
				  "Manufacturer=Logitech*\n"
				  "Name=*Webcam*\n"
				  "Class=0E 0b\n"
				  "Port=1-1.5.2\n"
				  "Driver=uvcvideo\n"
				  "Property=ID_INPUT_TOUCHSCREEN=1\n" ATTACH);
	assert_int_equal(r->n_terms, 9);
	assert_term(&r->terms[0], MATCH_VENDOR, false, "046d");
	assert_int_equal(r->terms[0].line, 6);
	assert_term(&r->terms[1], MATCH_PRODUCT, false, "082d|08[4-5]?|0*");
	assert_term(&r->terms[2], MATCH_SERIAL, false, "A1B2*");
	assert_term(&r->terms[3], MATCH_MANUFACTURER, false, "Logitech*");
	assert_term(&r->terms[4], MATCH_NAME, false, "*Webcam*");
	assert_term(&r->terms[5], MATCH_CLASS, false, "0e|0b");
	assert_term(&r->terms[6], MATCH_PORT, false, "1-1.5.2");
	assert_term(&r->terms[7], MATCH_DRIVER, false, "uvcvideo");
	assert_term(&r->terms[8], MATCH_PROPERTY, false, "1");
	assert_string_equal(r->terms[8].property, "ID_INPUT_TOUCHSCREEN");
	for (size_t i = 0; i < 8; i++)
		assert_null(r->terms[i].property);
	rule_free(r);
}

static void pci_keys_parse_hex_and_addresses_lower_cased(void **state)
{
	struct rule *r = parse_ok(MATCH_PCI "Vendor=10DE\nClass=0300 0302* "
					    "040300\nAddress=0000:65:00.* "
					    "0000:0A:00.1\n" ATTACH);
	assert_int_equal(r->subsystem, RULE_SUBSYSTEM_PCI);
	assert_term(&r->terms[0], MATCH_VENDOR, false, "10de");
	assert_term(&r->terms[1], MATCH_CLASS, false, "0300|0302*|040300");
	assert_term(&r->terms[2], MATCH_ADDRESS, false,
		    "0000:65:00.*|0000:0a:00.1");
	rule_free(r);
}

/* lspci's short form names domain 0000: read it so, since as written it
 * would never match; an address that is neither form is refused. */
static void short_pci_address_reads_as_domain_0000(void **state)
{
	struct rule *r = parse_ok(MATCH_PCI "Address=00:05.0 65:00.*\n" ATTACH);
	assert_term(&r->terms[0], MATCH_ADDRESS, false,
		    "0000:00:05.0|0000:65:00.*");
	rule_free(r);
	char **errors = parse_bad(MATCH_PCI "Address=05.0\n" ATTACH);
	tu_assert_error(errors, P ":3: bad PCI address \"05.0\" for Address= "
				  "(expected domain:bus:device.function, like "
				  "0000:65:00.0)");
	strv_free(errors);
	errors = parse_bad(MATCH_PCI "Address=0000:00:05.00\n" ATTACH);
	tu_assert_error_like(errors, P ":3: bad PCI address \"0000:00:05.00\"", "");
	strv_free(errors);
}

/* Keys that do nothing for the rule's subsystem: the rule loads, with a
 * warning for each (devpass check exits 1 on them). */
static void attach_keys_of_the_other_subsystem_are_warned_of(void **state)
{
	struct rule *r = parse_ok(MATCH_PCI "Vendor=10de\n[Attach]\nInstance=c1\n"
			"Nodes=usb\nMode=0660\nIommuGroup=whole\n");
	tu_assert_error(r->warnings, P ":6: Nodes= does nothing for a "
			"Subsystem=pci rule: a PCI device has no device nodes "
			"to pass: a GPU goes to a container whole");
	tu_assert_error_like(r->warnings, P ":7: Mode= does nothing for a "
			     "Subsystem=pci rule", "");
	assert_int_equal(strv_length(r->warnings), 2);
	rule_free(r);
	r = parse_ok(MATCH_USB "Vendor=046d\n[Attach]\nInstance=c1\n"
		     "IommuGroup=strict\nNodes=usb\nGid=44\n");
	tu_assert_error(r->warnings, P ":6: IommuGroup= does nothing for a "
			"Subsystem=usb rule: IOMMU groups hold PCI functions; "
			"a USB device goes to a VM alone");
	assert_int_equal(strv_length(r->warnings), 1);
	rule_free(r);
}

/* "\ " keeps a space inside a value, and fnmatch reads the same escape. */
static void backslash_escapes_are_kept_as_fnmatch_reads_them(void **state)
{
	struct rule *r = parse_ok(MATCH_USB "Name=Logitech\\ Webcam\\ C920 "
					    "a\\*b \\!x\n" ATTACH);
	const struct match_term *t = &r->terms[0];
	assert_term(t, MATCH_NAME, false,
		    "Logitech\\ Webcam\\ C920|a\\*b|\\!x");
	assert_int_equal(fnmatch(t->patterns[0], "Logitech Webcam C920", 0), 0);
	assert_int_equal(fnmatch(t->patterns[1], "a*b", 0), 0);
	assert_int_not_equal(fnmatch(t->patterns[1], "axxb", 0), 0);
	assert_int_equal(fnmatch(t->patterns[2], "!x", 0), 0);
	rule_free(r);
}

static void only_a_leading_bang_negates_the_whole_list(void **state)
{
	struct rule *r = parse_ok(MATCH_USB "Vendor=!046d 05f3\n"
					    "Product=! 0001\n"
					    "Serial=abc !def\n"
					    "Property=ID_INPUT=!1\n" ATTACH);
	assert_term(&r->terms[0], MATCH_VENDOR, true, "046d|05f3");
	assert_term(&r->terms[1], MATCH_PRODUCT, true, "0001");
	/* Only a leading '!' negates; later ones are part of the glob. */
	assert_term(&r->terms[2], MATCH_SERIAL, false, "abc|!def");
	assert_term(&r->terms[3], MATCH_PROPERTY, true, "1");
	assert_string_equal(r->terms[3].property, "ID_INPUT");
	rule_free(r);
}

static void repeated_match_keys_are_separate_terms(void **state)
{
	struct rule *r =
	    parse_ok(MATCH_USB "Vendor=046d\nVendor=!05f3\n"
			       "Property=A=1\nProperty=B=2 3\n" ATTACH);
	assert_int_equal(r->n_terms, 4);
	assert_term(&r->terms[0], MATCH_VENDOR, false, "046d");
	assert_term(&r->terms[1], MATCH_VENDOR, true, "05f3");
	assert_int_equal(r->terms[0].line, 3);
	assert_int_equal(r->terms[1].line, 4);
	assert_string_equal(r->terms[2].property, "A");
	assert_term(&r->terms[3], MATCH_PROPERTY, false, "2|3");
	assert_string_equal(r->terms[3].property, "B");
	rule_free(r);
}

static void every_attach_key_parses(void **state)
{
	struct rule *r = parse_ok("[Attach]\n"
				  "Instance=kiosk-1 Kiosk2\tk\n"
				  "Project=lab_2.x\n"
				  "Nodes=usb video4linux sound tty\n"
				  "Mode=0660\n"
				  "Uid=0\n"
				  "Gid=4294967294\n"
				  "IommuGroup=whole\n"
				  "AllowPrivileged=yes\n"
				  "[Match]\nSubsystem=usb\n");
	assert_string_equal(r->instances[0], "kiosk-1");
	assert_string_equal(r->instances[1], "Kiosk2");
	assert_string_equal(r->instances[2], "k");
	assert_null(r->instances[3]);
	assert_string_equal(r->project, "lab_2.x");
	assert_int_equal(r->nodes,
			 NODE_USB | NODE_VIDEO4LINUX | NODE_SOUND | NODE_TTY);
	assert_string_equal(r->mode, "0660");
	assert_int_equal(r->uid, 0);
	assert_int_equal(r->gid, 4294967294LL);
	assert_int_equal(r->iommu, IOMMU_POLICY_WHOLE);
	assert_true(r->allow_privileged);
	rule_free(r);
}

static void attach_values_accept_every_spelling(void **state)
{
	static const struct {
		const char *line;
		unsigned nodes;
		int iommu;
		bool priv;
	} cases[] = {
	    {"Nodes=all", NODE_ALL, -1, false},
	    {"Nodes=hidraw input usbmisc",
	     NODE_HIDRAW | NODE_INPUT | NODE_USBMISC, -1, false},
	    {"Nodes=input", NODE_INPUT, -1, false},
	    {"IommuGroup=ignore", NODE_USB, IOMMU_POLICY_IGNORE, false},
	    {"IommuGroup=strict", NODE_USB, IOMMU_POLICY_STRICT, false},
	    {"AllowPrivileged=TRUE", NODE_USB, -1, true},
	    {"AllowPrivileged=1", NODE_USB, -1, true},
	    {"AllowPrivileged=no", NODE_USB, -1, false},
	    {"AllowPrivileged=false", NODE_USB, -1, false},
	    {"AllowPrivileged=0", NODE_USB, -1, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[256];
		snprintf(text, sizeof(text), MATCH_USB ATTACH "%s\n",
			 cases[i].line);
		struct rule *r = parse_ok(text);
		assert_int_equal(r->nodes, cases[i].nodes);
		if (cases[i].iommu >= 0)
			assert_int_equal(r->iommu, cases[i].iommu);
		assert_int_equal(r->allow_privileged, cases[i].priv);
		rule_free(r);
	}
}

/* CRLF line ends, a byte order mark, UTF-8 text and no final newline. */
static void crlf_bom_utf8_and_no_final_newline_parse(void **state)
{
	struct rule *r = parse_ok("\xef\xbb\xbf[Match]\r\nSubsystem=usb\r\n"
				  "Name=Cam\xc3\xa9ra \xf0\x9f\x93\xb7\r\n"
				  "[Attach]\r\nInstance=c1");
	assert_term(&r->terms[0], MATCH_NAME, false,
		    "Cam\xc3\xa9ra|\xf0\x9f\x93\xb7");
	assert_string_equal(r->instances[0], "c1");
	rule_free(r);
}

struct error_case {
	const char *text;
	const char *error;
};

static const struct error_case error_cases[] = {
    {MATCH_USB "Vendor=04g9\n" ATTACH,
     P ":3: bad hex value \"04g9\" for Vendor= (expected 4 hex digits)"},
    {MATCH_USB "Vendor=046d5\n" ATTACH,
     P ":3: bad hex value \"046d5\" for Vendor= (expected 4 hex digits)"},
    {MATCH_USB "Product=04?\n" ATTACH,
     P ":3: bad hex value \"04?\" for Product= (expected 4 hex digits)"},
    {MATCH_USB "Product=[04\n" ATTACH,
     P ":3: bad hex value \"[04\" for Product= (expected 4 hex digits)"},
    {MATCH_USB "Vendor=046d 0x46\n" ATTACH,
     P ":3: bad hex value \"0x46\" for Vendor= (expected 4 hex digits)"},
    {MATCH_USB "Vendr=046d\n" ATTACH,
     P ":3: unknown key \"Vendr\" in [Match]; known keys: Subsystem, "
       "Vendor, Product, Serial, Manufacturer, Name, Class, Port, "
       "Address, Driver, Property"},
    {MATCH_USB ATTACH "Instanse=c2\n",
     P ":5: unknown key \"Instanse\" in [Attach]; known keys: Instance, "
       "Project, Nodes, Mode, Uid, Gid, IommuGroup, AllowPrivileged"},
    {MATCH_USB "Instance=c1\n" ATTACH,
     P ":3: key Instance= belongs in [Attach], not [Match]"},
    {"Subsystem=usb\n" MATCH_USB ATTACH,
     P ":1: key \"Subsystem\" outside of a section (put [Match] or "
       "[Attach] before it)"},
    {MATCH_USB ATTACH "[Matchh]\nVendor=zz\n",
     P ":5: unknown section [Matchh]; known sections: [Match], [Attach]"},
    {"[Match\nSubsystem=usb\n" ATTACH,
     P ":1: bad section header \"[Match\" (expected [Match] or [Attach])"},
    {MATCH_USB "Vendor 046d\n" ATTACH,
     P ":3: missing \"=\" in \"Vendor 046d\" (expected Key=value)"},
    {MATCH_USB "Vendor=  \n" ATTACH, P ":3: empty value for Vendor="},
    {MATCH_USB " = 046d\n" ATTACH, P ":3: missing key before \"=\""},
    {MATCH_USB "Subsystem=usb\n" ATTACH,
     P ":3: duplicate key Subsystem= (first given on line 2)"},
    {MATCH_USB ATTACH "Instance=c2\n",
     P ":5: duplicate key Instance= (first given on line 4)"},
    {"[Match]\nVendor=046d\n" ATTACH,
     P ":1: missing Subsystem= in [Match] (usb or pci)"},
    {ATTACH, P ":1: missing Subsystem= in [Match] (usb or pci)"},
    {MATCH_USB "[Attach]\nNodes=usb\n", P ":3: missing Instance= in [Attach]"},
    {MATCH_USB, P ":1: missing Instance= in [Attach]"},
    {"[Match]\nSubsystem=usbx\n" ATTACH,
     P ":2: bad value \"usbx\" for Subsystem= (expected usb or pci)"},
    {"[Match]\nSubsystem=usb pci\n" ATTACH,
     P ":2: bad value \"usb pci\" for Subsystem= (expected usb or pci)"},
    {"[Match]\nPort=1-1\nSubsystem=pci\n" ATTACH,
     P ":2: Port= applies only to Subsystem=usb, but this rule has "
       "Subsystem=pci"},
    {MATCH_PCI "Serial=x\n" ATTACH,
     P ":3: Serial= applies only to Subsystem=usb, but this rule has "
       "Subsystem=pci"},
    {MATCH_USB "Address=0000:65:00.0\n" ATTACH,
     P ":3: Address= applies only to Subsystem=pci, but this rule has "
       "Subsystem=usb"},
    {MATCH_USB "Class=0300\n" ATTACH,
     P ":3: bad hex value \"0300\" for Class= (expected 2 hex digits "
       "with Subsystem=usb)"},
    {"[Match]\nClass=03\nSubsystem=pci\n" ATTACH,
     P ":2: bad hex value \"03\" for Class= (expected 4 or 6 hex digits "
       "with Subsystem=pci)"},
    {MATCH_PCI "Class=0x\n" ATTACH,
     P ":3: bad hex value \"0x\" for Class= (expected 2, 4 or 6 hex "
       "digits)"},
    {MATCH_PCI "Address=0000:zz:00.0\n" ATTACH,
     P ":3: bad PCI address \"0000:zz:00.0\" for Address= (expected like "
       "0000:65:00.0)"},
    {MATCH_USB "Property=ID_INPUT\n" ATTACH,
     P ":3: Property= needs KEY=VALUE, got \"ID_INPUT\""},
    {MATCH_USB "Property=ID-INPUT=1\n" ATTACH,
     P ":3: bad property name \"ID-INPUT\" for Property= (expected "
       "letters, digits and _)"},
    {MATCH_USB "Property=ID_INPUT=\n" ATTACH,
     P ":3: empty value for Property=ID_INPUT="},
    {MATCH_USB "Vendor=!\n" ATTACH, P ":3: nothing after \"!\" in Vendor="},
    {MATCH_USB "Serial=abc\\\n" ATTACH,
     P ":3: trailing backslash in Serial= value"},
    {MATCH_USB "[Attach]\nInstance=c1 1abc\n",
     P ":4: bad instance name \"1abc\" for Instance= (expected letters, "
       "digits and -, at most 63, starting with a letter)"},
    {MATCH_USB "[Attach]\nInstance=-abc\n",
     P ":4: bad instance name \"-abc\" for Instance= (expected letters, "
       "digits and -, at most 63, starting with a letter)"},
    {MATCH_USB "[Attach]\nInstance=a_b\n",
     P ":4: bad instance name \"a_b\" for Instance= (expected letters, "
       "digits and -, at most 63, starting with a letter)"},
    {MATCH_USB "[Attach]\nInstance=!c1\n",
     P ":4: bad instance name \"!c1\" for Instance= (expected letters, "
       "digits and -, at most 63, starting with a letter)"},
    {MATCH_USB "[Attach]\nInstance=a1234567890123456789012345678901234567"
	       "89012345678901234567890123\n",
     P ":4: bad instance name \"a12345678901234567890123456789012345678901"
       "2345678901234567890123\" for Instance= (expected letters, digits "
       "and -, at most 63, starting with a letter)"},
    {MATCH_USB ATTACH "Project=a/b\n",
     P ":5: bad value \"a/b\" for Project= (expected letters, digits and "
       "-_., at most 63)"},
    {MATCH_USB ATTACH "Project=a b\n",
     P ":5: Project= takes a single value, got \"a b\""},
    {MATCH_USB ATTACH "Nodes=usb usbb\n",
     P ":5: unknown node kind \"usbb\" for Nodes=; known: usb, "
       "video4linux, sound, tty, hidraw, input, usbmisc, all"},
    {MATCH_USB ATTACH "Mode=0668\n",
     P ":5: bad value \"0668\" for Mode= (expected octal, like 0660)"},
    {MATCH_USB ATTACH "Mode=06600\n",
     P ":5: bad value \"06600\" for Mode= (expected octal, like 0660)"},
    {MATCH_USB ATTACH "Uid=4294967295\n",
     P ":5: bad value \"4294967295\" for Uid= (expected a number from 0 "
       "to 4294967294)"},
    {MATCH_USB ATTACH "Uid=-1\n",
     P ":5: bad value \"-1\" for Uid= (expected a number from 0 to "
       "4294967294)"},
    {MATCH_USB ATTACH "Gid=99999999999\n",
     P ":5: bad value \"99999999999\" for Gid= (expected a number from 0 "
       "to 4294967294)"},
    {MATCH_USB ATTACH "Gid=plugdev\n",
     P ":5: bad value \"plugdev\" for Gid= (expected a number from 0 to "
       "4294967294)"},
    {MATCH_USB ATTACH "IommuGroup=loose\n",
     P ":5: bad value \"loose\" for IommuGroup= (expected strict, whole or "
       "ignore)"},
    {MATCH_USB ATTACH "AllowPrivileged=maybe\n",
     P ":5: bad value \"maybe\" for AllowPrivileged= (expected yes or "
       "no)"},
    {MATCH_USB "Name=\x1b[31mred\n" ATTACH,
     P ":3: control character 0x1b in line"},
    {"", P ":1: empty rule file"},
    {"# only a comment\n\n; and another\n", P ":1: empty rule file"},
    {MATCH_USB "Name=\xff\n" ATTACH, P ":3: invalid UTF-8"},
    {MATCH_USB "Name=\xc0\xaf\n" ATTACH, P ":3: invalid UTF-8"},
    {MATCH_USB "Name=\xed\xa0\x80\n" ATTACH, P ":3: invalid UTF-8"},
    {MATCH_USB "Name=\xe2\x82\n" ATTACH, P ":3: invalid UTF-8"},
    {MATCH_USB "Name=\xf4\x90\x80\x80\n" ATTACH, P ":3: invalid UTF-8"},
    {MATCH_USB "Name=\x80\n" ATTACH, P ":3: invalid UTF-8"},
};

static void each_mistake_gets_its_file_line_message(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
		print_message("case %zu: %s\n", i, error_cases[i].error);
		char **errors = parse_bad(error_cases[i].text);
		tu_assert_error(errors, error_cases[i].error);
		strv_free(errors);
	}
}

/* Bytes a C string cannot hold: NUL, and a line past the limit. */
static void nul_bytes_and_lines_over_4096_bytes_are_refused(void **state)
{
	static const char nul[] = MATCH_USB "Name=a\0b\n" ATTACH;
	char **errors = parse_bad_len(nul, sizeof(nul) - 1);
	tu_assert_error(errors, P ":3: NUL byte in line");
	strv_free(errors);

	size_t n = 5000;
	char *text = malloc(n + 64);
	assert_non_null(text);
	strcpy(text, MATCH_USB "Name=");
	size_t used = strlen(text);
	memset(text + used, 'a', n);
	strcpy(text + used + n, "\n" ATTACH);
	errors = parse_bad(text);
	tu_assert_error(errors, P ":3: line too long (more than 4096 bytes)");
	assert_int_equal(strv_length(errors), 1);
	strv_free(errors);

	/* A line of exactly 4096 bytes is fine. */
	used = strlen("Name=");
	memcpy(text, MATCH_USB "Name=", strlen(MATCH_USB) + used);
	memset(text + strlen(MATCH_USB) + used, 'a', 4096 - used);
	strcpy(text + strlen(MATCH_USB) + 4096, "\n" ATTACH);
	rule_free(parse_ok(text));
	free(text);
}

static void text_over_rule_file_max_is_refused(void **state)
{
	size_t n = RULE_FILE_MAX + 1;
	char *text = malloc(n);
	assert_non_null(text);
	memset(text, '\n', n);
	char **errors = parse_bad_len(text, n);
	tu_assert_error(errors, P ":1: rule file too large (more than 65536 "
				  "bytes)");
	strv_free(errors);

	/* RULE_FILE_MAX bytes exactly still parse. */
	const char *rule = MATCH_USB ATTACH;
	memcpy(text, rule, strlen(rule));
	struct rule *r = NULL;
	errors = NULL;
	assert_int_equal(rule_parse("t", P, text, RULE_FILE_MAX, &r, &errors),
			 0);
	assert_null(errors);
	rule_free(r);
	free(text);
}

/* Every problem of a file is reported, in line order, then the checks of
 * the whole file; good lines around them do not make it load. */
static void every_error_of_a_file_is_reported_in_order(void **state)
{
	char **errors = parse_bad("[Match]\nVendor=zz\nSubsystem=usb\n"
				  "Port=1-1\nBogus=1\n[Attach]\nInstance=ok\n"
				  "Nodes=none\n");
	assert_int_equal(strv_length(errors), 3);
	assert_string_equal(errors[0],
			    P ":2: bad hex value \"zz\" for Vendor= (expected "
			      "4 hex digits)");
	assert_true(strncmp(errors[1], P ":5: unknown key \"Bogus\"", 24) == 0);
	assert_string_equal(errors[2], P
			    ":8: unknown node kind \"none\" for Nodes=; known: "
			    "usb, video4linux, sound, tty, hidraw, input, "
			    "usbmisc, all");
	strv_free(errors);

	errors = parse_bad("[Match]\nClass=0300\nVendor=x\n[Attach]\n"
			   "Mode=9\n[Match]\nSubsystem=usb\n");
	assert_string_equal(errors[0], P ":3: bad hex value \"x\" for Vendor= "
					 "(expected 4 hex digits)");
	assert_string_equal(errors[1], P ":5: bad value \"9\" for Mode= "
					 "(expected octal, like 0660)");
	assert_string_equal(errors[2], P ":4: missing Instance= in [Attach]");
	assert_string_equal(errors[3], P ":2: bad hex value \"0300\" for "
					 "Class= (expected 2 hex digits with "
					 "Subsystem=usb)");
	assert_null(errors[4]);
	strv_free(errors);
}

static void errors_stop_after_20_per_file(void **state)
{
	char text[4096] = MATCH_USB;
	for (int i = 0; i < 50; i++)
		strcat(text, "Vendor=zz\n");
	strcat(text, ATTACH);
	char **errors = parse_bad(text);
	assert_int_equal(strv_length(errors), 21);
	assert_string_equal(errors[20],
			    P ":22: too many errors, not reading further");
	strv_free(errors);
}

static void rule_names_hold_only_device_name_characters(void **state)
{
	static const char *const good[] = {"50-kiosk_cam.v2", "a:b", "X"};
	static const char *const bad[] = {"a b", "", "a/b", "caf\xc3\xa9",
					  "a$b"};
	const char *text = MATCH_USB ATTACH;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct rule *r = NULL;
		assert_int_equal(
		    rule_parse(good[i], P, text, strlen(text), &r, NULL), 0);
		assert_string_equal(r->name, good[i]);
		rule_free(r);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char **errors = NULL;
		struct rule *r = NULL;
		assert_int_equal(
		    rule_parse(bad[i], P, text, strlen(text), &r, &errors),
		    -EINVAL);
		tu_assert_error_like(errors, P ":1: bad rule name \"",
				     "before .rules");
		strv_free(errors);
	}
}

static void names_of_keys_kinds_policies_and_default_dirs(void **state)
{
	assert_string_equal(rule_key_to_string(MATCH_SUBSYSTEM), "Subsystem");
	assert_string_equal(rule_key_to_string(MATCH_PROPERTY), "Property");
	assert_string_equal(rule_key_to_string(MATCH_ADDRESS), "Address");
	assert_null(rule_key_to_string(_MATCH_KEY_MAX));
	assert_string_equal(node_kind_to_string(NODE_USB), "usb");
	assert_string_equal(node_kind_to_string(NODE_VIDEO4LINUX),
			    "video4linux");
	assert_string_equal(node_kind_to_string(NODE_USBMISC), "usbmisc");
	assert_string_equal(node_kind_to_string(NODE_ALL), "all");
	assert_null(node_kind_to_string(NODE_USB | NODE_TTY));
	assert_string_equal(rule_iommu_to_string(IOMMU_POLICY_WHOLE),
			    "whole");
	assert_string_equal(rule_iommu_to_string(IOMMU_POLICY_STRICT),
			    "strict");
	assert_null(rule_iommu_to_string((enum iommu_policy)7));
	assert_int_equal(rule_iommu_from_string("ignore"), IOMMU_POLICY_IGNORE);
	assert_int_equal(rule_iommu_from_string("Whole"), -EINVAL);
	assert_string_equal(rule_subsystem_to_string(RULE_SUBSYSTEM_PCI), "pci");
	assert_null(rule_subsystem_to_string(_RULE_SUBSYSTEM_MAX));
	assert_int_equal(rule_subsystem_from_string("usb"), RULE_SUBSYSTEM_USB);
	assert_int_equal(rule_subsystem_from_string(""), -EINVAL);
	/* The build's sysconfdir and prefix (tests/meson.build passes them as
	 * meson was configured): /etc and /usr with --prefix=/usr. */
	assert_string_equal(rules_default_dirs[0],
			    TEST_SYSCONFDIR "/devpass/rules.d");
	assert_string_equal(rules_default_dirs[1], "/run/devpass/rules.d");
	assert_string_equal(rules_default_dirs[2],
			    TEST_PREFIX "/lib/devpass/rules.d");
	assert_null(rules_default_dirs[3]);
}

/* ---- files ---- */

static const char good_rule[] = MATCH_USB "Vendor=046d\n" ATTACH;

static int load(const char *path, char ***errors)
{
	struct rule *r = NULL;
	int ret = rule_load_file(path, &r, errors);
	assert_true(ret == 0 ? r != NULL : r == NULL);
	rule_free(r);
	return ret;
}

static void own_or_root_file_loads_named_after_its_path(void **state)
{
	char *dir = tu_mkdtemp();
	char *path = tu_write_str(dir, "50-cam.rules", good_rule, 0644);
	struct rule *r = NULL;
	char **errors = NULL;

	assert_int_equal(rule_load_file(path, &r, &errors), 0);
	assert_null(errors);
	assert_string_equal(r->name, "50-cam");
	assert_string_equal(r->path, path);
	assert_term(&r->terms[0], MATCH_VENDOR, false, "046d");
	rule_free(r);

	/* The caller's own 0600 draft is fine too. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(load(path, &errors), 0);
	assert_null(errors);
	tu_rm_rf(dir);
	free(path);
	free(dir);
}

static void assert_refused_mode(const char *dir, mode_t mode)
{
	char name[32], expect[512];
	snprintf(name, sizeof(name), "m%04o.rules", (unsigned)mode);
	char *path = tu_write_str(dir, name, good_rule, mode);
	char **errors = NULL;

	assert_int_equal(load(path, &errors), -EPERM);
	snprintf(expect, sizeof(expect),
		 "%s:1: refusing rule file with mode %04o: it is writable by "
		 "group or others, who could then choose what enters an "
		 "instance; fix with: chmod go-w %s",
		 path, (unsigned)mode, path);
	tu_assert_error(errors, expect);
	assert_int_equal(strv_length(errors), 1);
	strv_free(errors);
	free(path);
}

static void group_or_other_writable_files_are_refused(void **state)
{
	char *dir = tu_mkdtemp();
	assert_refused_mode(dir, 0666);
	assert_refused_mode(dir, 0664);
	assert_refused_mode(dir, 0646);
	assert_refused_mode(dir, 0620);
	tu_rm_rf(dir);
	free(dir);
}

static void files_owned_by_others_are_refused(void **state)
{
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	char *dir = tu_mkdtemp();
	char *path = tu_write_str(dir, "x.rules", good_rule, 0644);
	char **errors = NULL;
	char expect[512];

	assert_int_equal(chown(path, 12345, 0), 0);
	assert_int_equal(load(path, &errors), -EPERM);
	snprintf(expect, sizeof(expect),
		 "%s:1: refusing rule file owned by uid 12345: rule files "
		 "must belong to root; fix with: chown root %s",
		 path, path);
	tu_assert_error(errors, expect);
	strv_free(errors);
	tu_rm_rf(dir);
	free(path);
	free(dir);
}

static void symlinks_followed_fifos_and_dirs_refused(void **state)
{
	char *dir = tu_mkdtemp();
	char *good = tu_write_str(dir, "good.rules", good_rule, 0644);
	char *ww = tu_write_str(dir, "ww.target", good_rule, 0666);
	char path[4096];
	char **errors = NULL;

	/* A symlink is judged by what it points at. */
	snprintf(path, sizeof(path), "%s/link.rules", dir);
	assert_int_equal(symlink(good, path), 0);
	assert_int_equal(load(path, &errors), 0);
	snprintf(path, sizeof(path), "%s/link-ww.rules", dir);
	assert_int_equal(symlink(ww, path), 0);
	assert_int_equal(load(path, &errors), -EPERM);
	tu_assert_error_like(errors, path, "chmod go-w");
	strv_free(steal_ptr(&errors));

	snprintf(path, sizeof(path), "%s/dangling.rules", dir);
	assert_int_equal(symlink("/nonexistent/x.rules", path), 0);
	assert_int_equal(load(path, &errors), -ENOENT);
	tu_assert_error_like(errors, path, ":1: cannot open rule file: ");
	strv_free(steal_ptr(&errors));

	/* A FIFO must be refused, not block the loader. */
	snprintf(path, sizeof(path), "%s/fifo.rules", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(load(path, &errors), -EPERM);
	tu_assert_error_like(errors, path,
			     ":1: refusing rule file: not a "
			     "regular file");
	strv_free(steal_ptr(&errors));

	snprintf(path, sizeof(path), "%s/dir.rules", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(load(path, &errors), -EPERM);
	tu_assert_error_like(errors, path, "not a regular file");
	strv_free(errors);
	tu_rm_rf(dir);
	free(good);
	free(ww);
	free(dir);
}

static void oversize_file_is_refused_not_truncated(void **state)
{
	char *dir = tu_mkdtemp();
	size_t n = 4 * RULE_FILE_MAX;
	char *text = malloc(n);
	assert_non_null(text);
	memset(text, '#', n);
	memcpy(text, good_rule, strlen(good_rule));
	char *path = tu_write(dir, "big.rules", text, n, 0644);
	char **errors = NULL;
	char expect[512];

	assert_int_equal(load(path, &errors), -EINVAL);
	snprintf(expect, sizeof(expect),
		 "%s:1: rule file too large (more than 65536 bytes)", path);
	tu_assert_error(errors, expect);
	strv_free(errors);
	tu_rm_rf(dir);
	free(text);
	free(path);
	free(dir);
}

/* ---- directories ---- */

static char *subdir(const char *base, const char *name)
{
	char *d = NULL;
	assert_true(asprintf(&d, "%s/%s", base, name) > 0);
	assert_int_equal(mkdir(d, 0755), 0);
	return d;
}

static void put(const char *dir, const char *name, const char *instance)
{
	char text[256];
	snprintf(text, sizeof(text), MATCH_USB "[Attach]\nInstance=%s\n",
		 instance);
	free(tu_write_str(dir, name, text, 0644));
}

static void assert_rule(const struct ruleset *rs, size_t i, const char *name,
			const char *dir, const char *instance)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.rules", dir, name);
	assert_true(i < rs->n_rules);
	assert_string_equal(rs->rules[i]->name, name);
	assert_string_equal(rs->rules[i]->path, path);
	assert_string_equal(rs->rules[i]->instances[0], instance);
}

static void earlier_dirs_hide_same_names_rules_sorted_by_name(void **state)
{
	char *base = tu_mkdtemp();
	char *etc = subdir(base, "etc"), *run = subdir(base, "run");
	char *lib = subdir(base, "lib"), *missing = NULL;
	assert_true(asprintf(&missing, "%s/missing", base) > 0);

	put(etc, "10-a.rules", "from-etc");
	put(run, "10-a.rules", "from-run");
	put(lib, "10-a.rules", "from-lib");
	put(run, "20-b.rules", "from-run");
	put(lib, "20-b.rules", "from-lib");
	put(lib, "5-z.rules", "from-lib");
	put(lib, "a.rules", "from-lib");
	put(lib, "a-b.rules", "from-lib");
	/* A broken file in etc hides the good one in lib: it is not loaded. */
	free(tu_write_str(etc, "30-c.rules", MATCH_USB "Vendor=zz\n" ATTACH,
			  0644));
	put(lib, "30-c.rules", "from-lib");
	/* A broken file hidden by a good one is never read. */
	put(etc, "40-e.rules", "from-etc");
	free(tu_write_str(lib, "40-e.rules", "garbage", 0644));
	free(tu_write_str(lib, "20-b.rules~", "garbage", 0644));
	free(tu_write_str(lib, "README", "garbage", 0644));
	free(tu_write_str(etc, ".hidden.rules", "garbage", 0644));
	free(tu_write_str(run, "40-d.rules.bak", "garbage", 0644));

	char *dirs[] = {etc, missing, run, lib, NULL};
	struct ruleset *rs = NULL;
	assert_int_equal(ruleset_load(dirs, &rs), 0);
	tu_print_errors(rs->errors);
	assert_int_equal(strv_length(rs->errors), 1);
	char prefix[4096];
	snprintf(prefix, sizeof(prefix), "%s/30-c.rules:3: ", etc);
	tu_assert_error_like(rs->errors, prefix, "bad hex value \"zz\"");

	/* strcmp order of file names: "a-b.rules" < "a.rules". */
	assert_int_equal(rs->n_rules, 6);
	assert_rule(rs, 0, "10-a", etc, "from-etc");
	assert_rule(rs, 1, "20-b", run, "from-run");
	assert_rule(rs, 2, "40-e", etc, "from-etc");
	assert_rule(rs, 3, "5-z", lib, "from-lib");
	assert_rule(rs, 4, "a-b", lib, "from-lib");
	assert_rule(rs, 5, "a", lib, "from-lib");
	ruleset_free(rs);

	tu_rm_rf(base);
	free(etc), free(run), free(lib), free(missing), free(base);
}

/* Refused files are reported and skipped; the others load. */
static void refused_files_are_reported_the_rest_load(void **state)
{
	char *dir = tu_mkdtemp();
	put(dir, "ok.rules", "c1");
	free(tu_write_str(dir, "ww.rules", good_rule, 0666));
	free(tu_write_str(dir, "gw.rules", good_rule, 0664));
	free(tu_write_str(dir, "bad name.rules", good_rule, 0644));

	char *dirs[] = {dir, NULL};
	struct ruleset *rs = NULL;
	char prefix[4096];
	assert_int_equal(ruleset_load(dirs, &rs), 0);
	assert_int_equal(rs->n_rules, 1);
	assert_string_equal(rs->rules[0]->name, "ok");
	assert_int_equal(strv_length(rs->errors), 3);
	snprintf(prefix, sizeof(prefix), "%s/ww.rules:1: ", dir);
	tu_assert_error_like(rs->errors, prefix, "mode 0666");
	snprintf(prefix, sizeof(prefix), "%s/gw.rules:1: ", dir);
	tu_assert_error_like(rs->errors, prefix, "mode 0664");
	snprintf(prefix, sizeof(prefix), "%s/bad name.rules:1: ", dir);
	tu_assert_error_like(rs->errors, prefix, "bad rule name \"bad name\"");
	ruleset_free(rs);
	tu_rm_rf(dir);
	free(dir);
}

/* ---- trust: root controls the whole path ---- */

/* Each trust test's own directory, removed however the test ends (it
 * may hold directories of another user or writable by all). */
static char *trust_base;

static void trust_base_remove(void *data)
{
	tu_rm_rf(data);
}

static int trust_setup(void **state)
{
	trust_base = tu_mkdtemp();
	*state = trust_base;
	return at_exit_or_kill(trust_base_remove, trust_base);
}

static int trust_teardown(void **state)
{
	at_exit_or_kill_cancel(trust_base_remove, trust_base);
	tu_rm_rf(trust_base);
	free(trust_base);
	return 0;
}

static struct ruleset *load_dirs(char *dir)
{
	char *dirs[] = {dir, NULL};
	struct ruleset *rs = NULL;
	assert_int_equal(ruleset_load(dirs, &rs), 0);
	return rs;
}

/* A directory others may write is refused whole: anyone could plant or
 * swap a rule there. */
static void group_or_other_writable_rules_dir_is_refused_whole(void **state)
{
	char *base = *state;
	char *dir = subdir(base, "rules.d");
	put(dir, "10-a.rules", "c1");
	assert_int_equal(chmod(dir, 0777), 0);
	struct ruleset *rs = load_dirs(dir);
	char prefix[8192];
	snprintf(prefix, sizeof(prefix), "%s:0: refusing rules directory: %s is "
		 "writable by group or others (mode 0777)", dir, dir);
	tu_assert_error_like(rs->errors, prefix, "none of its files is read");
	assert_int_equal(rs->n_rules, 0);
	assert_int_equal(rs->n_refused, 1);
	ruleset_free(rs);

	/* sticky does not help the rules directory itself */
	assert_int_equal(chmod(dir, 01777), 0);
	rs = load_dirs(dir);
	assert_int_equal(rs->n_rules, 0);
	tu_assert_error_like(rs->errors, dir, "(mode 1777)");
	ruleset_free(rs);

	/* nor a group-writable directory on the way */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(base, 0770), 0);
	rs = load_dirs(dir);
	assert_int_equal(rs->n_rules, 0);
	snprintf(prefix, sizeof(prefix), "%s:0: refusing rules directory: %s is "
		 "writable", dir, base);
	tu_assert_error_like(rs->errors, prefix, "(mode 0770)");
	ruleset_free(rs);

	/* a sticky one on the way (as /tmp) is fine */
	assert_int_equal(chmod(base, 01777), 0);
	rs = load_dirs(dir);
	assert_int_equal(rs->n_rules, 1);
	assert_null(rs->errors);
	ruleset_free(rs);

	/* a symlink to it, kept where others may write, is not: they could
	 * point it elsewhere */
	char *open = subdir(base, "open"), link[4096 + 16];
	assert_int_equal(chmod(open, 0777), 0);
	snprintf(link, sizeof(link), "%s/rules.d", open);
	assert_int_equal(symlink(dir, link), 0);
	rs = load_dirs(link);
	assert_int_equal(rs->n_rules, 0);
	snprintf(prefix, sizeof(prefix), "%s:0: refusing rules directory: %s is "
		 "writable", link, open);
	tu_assert_error_like(rs->errors, prefix, "(mode 0777)");
	ruleset_free(rs);
	free(open);
	free(dir);
}

/* A root-owned rule in a directory another user owns: that user could
 * replace it any time. Refused, by ruleset_load() and rule_load_file(). */
static void root_rule_in_a_directory_of_another_user_is_refused(void **state)
{
	if (geteuid() != 0)
		skip(); /* only root can give a directory away */
	char *base = *state;
	char *dir = subdir(base, "rules.d");
	put(dir, "10-a.rules", "c1");
	assert_int_equal(chown(dir, 65534, 65534), 0);
	struct ruleset *rs = load_dirs(dir);
	char prefix[8192];
	snprintf(prefix, sizeof(prefix), "%s:0: refusing rules directory: %s "
		 "belongs to uid 65534; fix with: chown root %s", dir, dir, dir);
	tu_assert_error_like(rs->errors, prefix, "");
	assert_int_equal(rs->n_rules, 0);
	ruleset_free(rs);

	char path[4096 + 16], **errors = NULL;
	snprintf(path, sizeof(path), "%s/10-a.rules", dir);
	assert_int_equal(load(path, &errors), -EPERM);
	snprintf(prefix, sizeof(prefix), "%s:1: refusing rule file: %s belongs "
		 "to uid 65534", path, dir);
	tu_assert_error_like(errors, prefix, "");
	strv_free(errors);

	/* the same for a directory higher up */
	assert_int_equal(chown(dir, 0, 0), 0);
	assert_int_equal(chown(base, 65534, 65534), 0);
	rs = load_dirs(dir);
	assert_int_equal(rs->n_rules, 0);
	tu_assert_error_like(rs->errors, dir, "belongs to uid 65534");
	ruleset_free(rs);
	free(dir);
}

/* A symlink is followed only to a NAME.rules on a path root controls
 * (an example shipped elsewhere, enabled by a link), never to any other
 * root file; a link to /dev/null masks the name. */
static void symlinks_reach_only_rule_files_root_controls(void **state)
{
	char *base = *state;
	char *dir = subdir(base, "rules.d"), *lib = subdir(base, "lib");
	char *examples = subdir(base, "examples"), *open = subdir(base, "open");
	char target[4096], link[4096];
	put(examples, "50-webcam.rules", "from-example");
	free(tu_write_str(examples, "hostname", "host\n", 0644));
	put(open, "50-open.rules", "from-open");
	assert_int_equal(chmod(open, 0777), 0);
	put(lib, "60-masked.rules", "from-lib");

	snprintf(target, sizeof(target), "%s/50-webcam.rules", examples);
	snprintf(link, sizeof(link), "%s/50-webcam.rules", dir);
	assert_int_equal(symlink(target, link), 0);
	snprintf(target, sizeof(target), "%s/hostname", examples);
	snprintf(link, sizeof(link), "%s/51-hostname.rules", dir);
	assert_int_equal(symlink(target, link), 0);
	snprintf(target, sizeof(target), "%s/50-open.rules", open);
	snprintf(link, sizeof(link), "%s/52-open.rules", dir);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/60-masked.rules", dir);
	assert_int_equal(symlink("/dev/null", link), 0);

	char *dirs[] = {dir, lib, NULL};
	struct ruleset *rs = NULL;
	assert_int_equal(ruleset_load(dirs, &rs), 0);
	tu_print_errors(rs->errors);
	assert_int_equal(rs->n_rules, 1);
	assert_string_equal(rs->rules[0]->name, "50-webcam");
	assert_string_equal(rs->rules[0]->instances[0], "from-example");
	char prefix[8192];
	snprintf(prefix, sizeof(prefix), "%s/51-hostname.rules:1: refusing rule "
		 "file: it is a symlink to %s/hostname", dir, examples);
	tu_assert_error_like(rs->errors, prefix, "which is not named NAME.rules");
	snprintf(prefix, sizeof(prefix), "%s/52-open.rules:1: refusing rule "
		 "file: it is a symlink to %s/50-open.rules, and %s is writable",
		 dir, open, open);
	tu_assert_error_like(rs->errors, prefix, "");
	assert_int_equal(strv_length(rs->errors), 2);
	assert_int_equal(rs->n_refused, 2);
	ruleset_free(rs);

	/* a link in a directory others may write is refused, whatever it
	 * points to */
	char **errors = NULL;
	snprintf(target, sizeof(target), "%s/50-webcam.rules", examples);
	snprintf(link, sizeof(link), "%s/53-link.rules", open);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(load(link, &errors), -EPERM);
	tu_assert_error_like(errors, link, "is writable by group or others");
	strv_free(errors);
	free(dir), free(lib), free(examples), free(open);
}

/* One refused file among good ones costs only itself: it is counted as
 * refused (a reload takes the set), a broken rule is not. */
static void a_refused_file_costs_only_itself(void **state)
{
	char *dir = *state;
	put(dir, "10-a.rules", "c1");
	put(dir, "30-c.rules", "c3");
	free(tu_write_str(dir, "20-planted.rules", good_rule, 0666));
	struct ruleset *rs = load_dirs(dir);
	assert_int_equal(rs->n_rules, 2);
	assert_int_equal(strv_length(rs->errors), 1);
	assert_int_equal(rs->n_refused, 1);
	ruleset_free(rs);
	free(tu_write_str(dir, "40-broken.rules", MATCH_USB "Vendr=1\n" ATTACH,
			  0644));
	rs = load_dirs(dir);
	assert_int_equal(rs->n_rules, 2);
	assert_int_equal(strv_length(rs->errors), 2);
	assert_int_equal(rs->n_refused, 1);
	ruleset_free(rs);
}

static void missing_dirs_give_an_empty_set_without_errors(void **state)
{
	char *dirs[] = {"/nonexistent/devpass-a", "/nonexistent/b", NULL};
	char *none[] = {NULL};
	struct ruleset *rs = NULL;

	assert_int_equal(ruleset_load(dirs, &rs), 0);
	assert_int_equal(rs->n_rules, 0);
	assert_null(rs->errors);
	ruleset_free(rs);
	assert_int_equal(ruleset_load(none, &rs), 0);
	assert_int_equal(rs->n_rules, 0);
	ruleset_free(rs);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_rule_gets_the_documented_defaults),
	    cmocka_unit_test(every_usb_match_key_parses_hex_lower_cased),
	    cmocka_unit_test(pci_keys_parse_hex_and_addresses_lower_cased),
	    cmocka_unit_test(short_pci_address_reads_as_domain_0000),
	    cmocka_unit_test(attach_keys_of_the_other_subsystem_are_warned_of),
	    cmocka_unit_test(backslash_escapes_are_kept_as_fnmatch_reads_them),
	    cmocka_unit_test(only_a_leading_bang_negates_the_whole_list),
	    cmocka_unit_test(repeated_match_keys_are_separate_terms),
	    cmocka_unit_test(every_attach_key_parses),
	    cmocka_unit_test(attach_values_accept_every_spelling),
	    cmocka_unit_test(crlf_bom_utf8_and_no_final_newline_parse),
	    cmocka_unit_test(each_mistake_gets_its_file_line_message),
	    cmocka_unit_test(nul_bytes_and_lines_over_4096_bytes_are_refused),
	    cmocka_unit_test(text_over_rule_file_max_is_refused),
	    cmocka_unit_test(every_error_of_a_file_is_reported_in_order),
	    cmocka_unit_test(errors_stop_after_20_per_file),
	    cmocka_unit_test(rule_names_hold_only_device_name_characters),
	    cmocka_unit_test(names_of_keys_kinds_policies_and_default_dirs),
	    cmocka_unit_test(own_or_root_file_loads_named_after_its_path),
	    cmocka_unit_test(group_or_other_writable_files_are_refused),
	    cmocka_unit_test(files_owned_by_others_are_refused),
	    cmocka_unit_test(symlinks_followed_fifos_and_dirs_refused),
	    cmocka_unit_test(oversize_file_is_refused_not_truncated),
	    cmocka_unit_test(earlier_dirs_hide_same_names_rules_sorted_by_name),
	    cmocka_unit_test(refused_files_are_reported_the_rest_load),
	    cmocka_unit_test(missing_dirs_give_an_empty_set_without_errors),
	    cmocka_unit_test_setup_teardown(group_or_other_writable_rules_dir_is_refused_whole, trust_setup,
					    trust_teardown),
	    cmocka_unit_test_setup_teardown(root_rule_in_a_directory_of_another_user_is_refused, trust_setup,
					    trust_teardown),
	    cmocka_unit_test_setup_teardown(symlinks_reach_only_rule_files_root_controls, trust_setup,
					    trust_teardown),
	    cmocka_unit_test_setup_teardown(a_refused_file_costs_only_itself, trust_setup,
					    trust_teardown),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
