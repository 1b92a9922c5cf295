/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keys of a rule file (key_defs[]): the section each belongs in,
 * whether it may repeat, and how its value is checked and stored into
 * the rule. [Match] keys become terms; [Attach] keys set fields.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse-internal.h"
#include "rule-internal.h"

/* ---- character classes (ASCII only: no locale surprises) ----------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static void ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s | 0x20);
}

/* True when every character of @s is alphanumeric or in @extra. */
static bool all_chars(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!is_alpha(*s) && !is_digit(*s) && !strchr(extra, *s))
			return false;
	return true;
}

/*
 * Number of characters a hex glob matches (a [...] set counts as one);
 * -1 when it holds anything but hex digits, '*', '?' and sets of hex
 * digits (with '-' ranges and '!'/'^' negation).
 */
static int hex_glob_width(const char *s, bool *star)
{
	int w = 0;

	*star = false;
	for (; *s; s++) {
		if (*s == '*') {
			*star = true;
			continue;
		}
		if (*s == '[') {
			const char *close = strchr(s + 1, ']');
			if (!close || close == s + 1)
				return -1;
			for (const char *c = s + 1; c < close; c++)
				if (!is_hex(*c) && !strchr("-!^", *c))
					return -1;
			s = close;
		} else if (*s != '?' && !is_hex(*s))
			return -1;
		w++;
	}
	return w;
}

/* Whether a hex glob can match a value of exactly @width digits. */
static bool hex_glob_fits(const char *s, int width)
{
	bool star;
	int w = hex_glob_width(s, &star);
	return w >= 0 && (star ? w <= width : w == width);
}

/* How the patterns of a [Match] key are checked and stored. */
enum value_kind {
	VALUE_GLOB,    /* any glob, kept as written */
	VALUE_HEX,     /* hex digits and globs, lower-cased */
	VALUE_ADDRESS, /* PCI address glob, lower-cased */
};

struct key_def;
typedef int (*key_fn)(struct parser *p, const struct key_def *k, char *value);

/**
 * struct key_def - one key a rule file may use.
 * @repeatable: may appear on several lines (each is its own term).
 * @match, @kind, @width: for [Match] list keys: the term's key, how its
 *                        patterns are checked, the hex width (0: later).
 */
struct key_def {
	const char *name;
	enum section section;
	bool repeatable;
	key_fn parse;
	enum match_key match;
	enum value_kind kind;
	int width;
};

/*
 * Splits @value at blanks into a list. A backslash makes the next
 * character part of the token ("\ " is a space) and is kept, since
 * fnmatch(3) reads the same escapes.
 */
static int split_value(struct parser *p, const struct key_def *k,
		       const char *value, char ***out)
{
	_cleanup_(strv_freep) char **v = NULL;

	for (const char *s = value; *s;) {
		size_t n = 0;
		for (; s[n] && !parse_is_blank(s[n]); n++)
			if (s[n] == '\\' && !s[++n])
				return parse_report(
					p, p->line,
					"trailing backslash in %s= value",
					k->name);
		_cleanup_(freep) char *tok = strndup(s, n);
		if (!tok || strv_push(&v, tok) < 0)
			return parse_oom(p);
		for (s += n; parse_is_blank(*s); s++)
			;
	}
	*out = steal_ptr(&v);
	return 0;
}

/* Removes v[0] from a non-empty list. */
static void list_drop_first(char **v)
{
	free(v[0]);
	memmove(v, v + 1, strv_length(v) * sizeof(char *));
}

/* Splits a [Match] value list; a leading '!' negates the whole list. */
static int split_patterns(struct parser *p, const struct key_def *k,
			  const char *value, bool *negate, char ***out)
{
	_cleanup_(strv_freep) char **v = NULL;
	int r = split_value(p, k, value, &v);
	if (r < 0)
		return r;

	*negate = v && v[0][0] == '!';
	if (*negate) {
		memmove(v[0], v[0] + 1, strlen(v[0]));
		if (v[0][0] == '\0')
			list_drop_first(v);
		if (!v[0])
			return parse_report(
				p, p->line,
				"nothing after \"!\" in %s=", k->name);
	}
	if (!v)
		return parse_report(p, p->line, "empty value for %s=", k->name);
	*out = steal_ptr(&v);
	return 0;
}

/* Appends a term, taking @property and @patterns. */
static int add_term(struct parser *p, enum match_key key, char **property,
		    bool negate, char ***patterns)
{
	struct rule *r = p->r;
	struct match_term *t =
		realloc(r->terms, (r->n_terms + 1) * sizeof(*r->terms));
	if (!t)
		return parse_oom(p);
	r->terms = t;
	r->terms[r->n_terms++] = (struct match_term){
		.key = key,
		.property = steal_ptr(property),
		.negate = negate,
		.patterns = steal_ptr(patterns),
		.line = p->line,
	};
	return 0;
}

/* lspci's short form "00:05.0" names domain 0000: read it so, or the
 * rule would never match. */
static int address_with_domain(struct parser *p, char **pat)
{
	const char *colon = strchr(*pat, ':');
	if (!colon || strchr(colon + 1, ':'))
		return 0;
	char *full = NULL;
	if (asprintf(&full, "0000:%s", *pat) < 0)
		return parse_oom(p);
	free(*pat);
	*pat = full;
	return 0;
}

/* A PCI address pattern: DDDD:BB:DD.F, hex, or a glob. */
static bool address_fits(const char *pat)
{
	if (strpbrk(pat, "*?[")) /* a glob: fnmatch decides */
		return true;
	return strlen(pat) == 12 && pat[4] == ':' && pat[7] == ':' &&
	       pat[10] == '.' && all_chars(pat, ":.");
}

static int check_address(struct parser *p, const struct key_def *k, char **pat)
{
	if (strspn(*pat, "0123456789abcdefABCDEF:.*?[]!^-") != strlen(*pat))
		return parse_report(p, p->line,
				    "bad PCI address \"%s\" for %s= "
				    "(expected like 0000:65:00.0)",
				    *pat, k->name);
	int r = address_with_domain(p, pat);
	if (r < 0)
		return r;
	ascii_lower(*pat);
	if (!address_fits(*pat))
		return parse_report(p, p->line,
				    "bad PCI address \"%s\" for %s= (expected "
				    "domain:bus:device.function, like "
				    "0000:65:00.0)",
				    *pat, k->name);
	return 0;
}

/* Checks and normalizes one pattern of a [Match] key. */
static int check_pattern(struct parser *p, const struct key_def *k, char **pat)
{
	bool star;

	switch (k->kind) {
	case VALUE_HEX:
		if (k->width && !hex_glob_fits(*pat, k->width))
			return parse_report(
				p, p->line,
				"bad hex value \"%s\" for %s= (expected "
				"%d hex digits)",
				*pat, k->name, k->width);
		if (hex_glob_width(*pat, &star) < 0)
			return parse_report(
				p, p->line,
				"bad hex value \"%s\" for %s= (expected "
				"2, 4 or 6 hex digits)",
				*pat, k->name);
		ascii_lower(*pat);
		return 0;
	case VALUE_ADDRESS:
		return check_address(p, k, pat);
	case VALUE_GLOB:
		return 0;
	}
	return 0;
}

static int parse_match_list(struct parser *p, const struct key_def *k,
			    char *value)
{
	_cleanup_(strv_freep) char **v = NULL;
	bool negate;
	int r = split_patterns(p, k, value, &negate, &v);
	if (r < 0)
		return r;
	for (char **s = v; *s; s++)
		if (check_pattern(p, k, s) < 0)
			r = -EINVAL;
	if (r < 0)
		return r;
	char *none = NULL;
	return add_term(p, k->match, &none, negate, &v);
}

/* Property=KEY=VALUE...: KEY is a udev property name. */
static int parse_property(struct parser *p, const struct key_def *k,
			  char *value)
{
	char *eq = strchr(value, '=');
	if (!eq)
		return parse_report(p, p->line,
				    "Property= needs KEY=VALUE, got \"%s\"",
				    value);
	*eq = '\0';
	char *key = parse_strip(value), *rest = parse_strip(eq + 1);
	if (!*key || !all_chars(key, "_"))
		return parse_report(p, p->line,
				    "bad property name \"%s\" for Property= "
				    "(expected letters, digits and _)",
				    key);
	if (!*rest)
		return parse_report(p, p->line,
				    "empty value for Property=%s=", key);

	_cleanup_(strv_freep) char **v = NULL;
	bool negate;
	int r = split_patterns(p, k, rest, &negate, &v);
	if (r < 0)
		return r;
	_cleanup_(freep) char *name = strdup(key);
	if (!name)
		return parse_oom(p);
	return add_term(p, MATCH_PROPERTY, &name, negate, &v);
}

/* For keys that take one word: reports the problem when there are more. */
static int single_value(struct parser *p, const struct key_def *k,
			const char *value)
{
	if (strpbrk(value, " \t"))
		return parse_report(p, p->line,
				    "%s= takes a single value, got \"%s\"",
				    k->name, value);
	return 0;
}

static int bad_value(struct parser *p, const struct key_def *k,
		     const char *value, const char *expected)
{
	return parse_report(p, p->line,
			    "bad value \"%s\" for %s= (expected %s)", value,
			    k->name, expected);
}

static int parse_subsystem(struct parser *p, const struct key_def *k,
			   char *value)
{
	int i = rule_subsystem_from_string(value);
	if (i < 0)
		return bad_value(p, k, value, "usb or pci");
	p->r->subsystem = (enum rule_subsystem)i;
	p->subsystem_ok = true;
	return 0;
}

static int parse_instance(struct parser *p, const struct key_def *k,
			  char *value)
{
	_cleanup_(strv_freep) char **v = NULL;
	int r = split_value(p, k, value, &v);
	if (r < 0)
		return r;
	for (char **s = v; *s; s++)
		if (!rule_instance_name_valid(*s))
			r = parse_report(
				p, p->line,
				"bad instance name \"%s\" for Instance= "
				"(expected letters, digits and -, at most "
				"63, starting with a letter)",
				*s);
	if (r < 0)
		return r;
	p->r->instances = steal_ptr(&v);
	return 0;
}

static int parse_project(struct parser *p, const struct key_def *k, char *value)
{
	if (single_value(p, k, value) < 0)
		return -EINVAL;
	if (strlen(value) > 63 || value[0] == '.' || !all_chars(value, "-_."))
		return bad_value(p, k, value,
				 "letters, digits and -_., at most 63");
	char *copy = strdup(value);
	if (!copy)
		return parse_oom(p);
	free(p->r->project);
	p->r->project = copy;
	return 0;
}

static int parse_nodes(struct parser *p, const struct key_def *k, char *value)
{
	_cleanup_(strv_freep) char **v = NULL;
	unsigned bits = 0;
	int r = split_value(p, k, value, &v);
	if (r < 0)
		return r;
	for (char **s = v; *s; s++) {
		unsigned kind = node_kind_from_string(*s);
		if (!kind)
			r = parse_report(p, p->line,
					 "unknown node kind \"%s\" for Nodes=; "
					 "known: usb, video4linux, sound, tty, "
					 "hidraw, input, usbmisc, all",
					 *s);
		bits |= kind;
	}
	if (r == 0)
		p->r->nodes = bits;
	return r;
}

static int parse_mode(struct parser *p, const struct key_def *k, char *value)
{
	if (single_value(p, k, value) < 0)
		return -EINVAL;
	if (strlen(value) > 4 || strspn(value, "01234567") != strlen(value))
		return bad_value(p, k, value, "octal, like 0660");
	p->r->mode = strdup(value);
	return p->r->mode ? 0 : parse_oom(p);
}

/* Uid=/Gid=: 0 .. 2^32-2 (2^32-1 is the kernel's "no id"). */
static int parse_id(struct parser *p, const struct key_def *k, char *value,
		    int64_t *out)
{
	if (single_value(p, k, value) < 0)
		return -EINVAL;
	size_t n = strlen(value);
	int64_t id = 0;
	if (n == 0 || n > 10 || strspn(value, "0123456789") != n ||
	    (id = strtoll(value, NULL, 10)) > 4294967294LL)
		return bad_value(p, k, value, "a number from 0 to 4294967294");
	*out = id;
	return 0;
}

static int parse_uid(struct parser *p, const struct key_def *k, char *value)
{
	return parse_id(p, k, value, &p->r->uid);
}

static int parse_gid(struct parser *p, const struct key_def *k, char *value)
{
	return parse_id(p, k, value, &p->r->gid);
}

static int parse_iommu(struct parser *p, const struct key_def *k, char *value)
{
	int i = rule_iommu_from_string(value);
	if (i < 0)
		return bad_value(p, k, value, "strict, whole or ignore");
	p->r->iommu = (enum iommu_policy)i;
	return 0;
}

static int parse_bool(struct parser *p, const struct key_def *k, char *value)
{
	static const char *const yes[] = {"yes", "true", "1"};
	static const char *const no[] = {"no", "false", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (strcasecmp(value, yes[i]) == 0 ||
		    strcasecmp(value, no[i]) == 0) {
			p->r->allow_privileged = strcasecmp(value, yes[i]) == 0;
			return 0;
		}
	return bad_value(p, k, value, "yes or no");
}

#define MATCH_LIST(n, key, k, w)                                               \
	{                                                                      \
		.name = n, .section = SECTION_MATCH, .repeatable = true,       \
		.parse = parse_match_list, .match = key, .kind = k, .width = w \
	}
#define ATTACH(n, fn)                                                          \
	{                                                                      \
		.name = n, .section = SECTION_ATTACH, .parse = fn              \
	}

static const struct key_def key_defs[] = {
	{.name = "Subsystem",
	 .section = SECTION_MATCH,
	 .parse = parse_subsystem,
	 .match = MATCH_SUBSYSTEM},
	MATCH_LIST("Vendor", MATCH_VENDOR, VALUE_HEX, 4),
	MATCH_LIST("Product", MATCH_PRODUCT, VALUE_HEX, 4),
	MATCH_LIST("Serial", MATCH_SERIAL, VALUE_GLOB, 0),
	MATCH_LIST("Manufacturer", MATCH_MANUFACTURER, VALUE_GLOB, 0),
	MATCH_LIST("Name", MATCH_NAME, VALUE_GLOB, 0),
	MATCH_LIST("Class", MATCH_CLASS, VALUE_HEX, 0),
	MATCH_LIST("Port", MATCH_PORT, VALUE_GLOB, 0),
	MATCH_LIST("Address", MATCH_ADDRESS, VALUE_ADDRESS, 0),
	MATCH_LIST("Driver", MATCH_DRIVER, VALUE_GLOB, 0),
	{.name = "Property",
	 .section = SECTION_MATCH,
	 .repeatable = true,
	 .parse = parse_property,
	 .match = MATCH_PROPERTY},
	ATTACH("Instance", parse_instance),
	ATTACH("Project", parse_project),
	ATTACH("Nodes", parse_nodes),
	ATTACH("Mode", parse_mode),
	ATTACH("Uid", parse_uid),
	ATTACH("Gid", parse_gid),
	ATTACH("IommuGroup", parse_iommu),
	ATTACH("AllowPrivileged", parse_bool),
};
_Static_assert(ARRAY_SIZE(key_defs) <= PARSE_KEYS_MAX, "raise PARSE_KEYS_MAX");

/* Index in key_defs[] of @name in @section (any section: SECTION_NONE). */
static int find_key(enum section section, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_defs); i++)
		if ((section == SECTION_NONE ||
		     key_defs[i].section == section) &&
		    strcmp(key_defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* "Subsystem, Vendor, ..." for messages; NULL on ENOMEM. */
static char *known_keys(enum section section)
{
	_cleanup_(strv_freep) char **names = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(key_defs); i++)
		if (key_defs[i].section == section &&
		    strv_push(&names, key_defs[i].name) < 0)
			return NULL;
	return strv_join(names, ", ");
}

static int unknown_key(struct parser *p, const char *key)
{
	int other = find_key(SECTION_NONE, key);
	if (other >= 0)
		return parse_report(p, p->line,
				    "key %s= belongs in [%s], not [%s]", key,
				    parse_section_name(key_defs[other].section),
				    parse_section_name(p->section));
	_cleanup_(freep) char *known = known_keys(p->section);
	if (!known)
		return parse_oom(p);
	return parse_report(p, p->line,
			    "unknown key \"%s\" in [%s]; known keys: %s", key,
			    parse_section_name(p->section), known);
}

int parse_key_assign(struct parser *p, const char *key, char *value)
{
	int i = find_key(p->section, key);
	if (i < 0)
		return unknown_key(p, key);
	const struct key_def *k = &key_defs[i];
	if (p->key_line[i] && !k->repeatable)
		return parse_report(
			p, p->line,
			"duplicate key %s= (first given on line %u)", k->name,
			p->key_line[i]);
	if (!p->key_line[i])
		p->key_line[i] = p->line;
	if (!*value)
		return parse_report(p, p->line, "empty value for %s=", k->name);
	return k->parse(p, k, value);
}

unsigned parse_key_line(const struct parser *p, enum section section,
			const char *key)
{
	int i = find_key(section, key);
	return i < 0 ? 0 : p->key_line[i];
}

/* Which subsystem a key makes sense for, or -1 for both. */
static int key_subsystem(enum match_key k)
{
	switch (k) {
	case MATCH_SERIAL:
	case MATCH_PORT:
		return RULE_SUBSYSTEM_USB;
	case MATCH_ADDRESS:
		return RULE_SUBSYSTEM_PCI;
	default:
		return -1;
	}
}

/* Class= widths depend on Subsystem=, which may come later in the file. */
static void check_class(struct parser *p, const struct match_term *t)
{
	bool usb = p->r->subsystem == RULE_SUBSYSTEM_USB;

	for (char **s = t->patterns; *s; s++)
		if (usb ? !hex_glob_fits(*s, 2)
			: !hex_glob_fits(*s, 4) && !hex_glob_fits(*s, 6))
			parse_report(
				p, t->line,
				"bad hex value \"%s\" for Class= (expected %s "
				"with Subsystem=%s)",
				*s, usb ? "2 hex digits" : "4 or 6 hex digits",
				rule_subsystem_to_string(p->r->subsystem));
}

void parse_keys_check_terms(struct parser *p)
{
	for (size_t i = 0; i < p->r->n_terms; i++) {
		const struct match_term *t = &p->r->terms[i];
		int only = key_subsystem(t->key);

		if (only >= 0 && only != (int)p->r->subsystem)
			parse_report(
				p, t->line,
				"%s= applies only to Subsystem=%s, but this "
				"rule has Subsystem=%s",
				rule_key_to_string(t->key),
				rule_subsystem_to_string(
					(enum rule_subsystem)only),
				rule_subsystem_to_string(p->r->subsystem));
		else if (t->key == MATCH_CLASS)
			check_class(p, t);
	}
}

/* Attach keys that only one subsystem's entries use (plan/entries.c). */
static const struct {
	const char *key;
	enum rule_subsystem only;
	const char *why;
} attach_only[] = {
	{"Nodes", RULE_SUBSYSTEM_USB,
	 "a PCI device has no device nodes to pass: a GPU goes to a "
	 "container whole"},
	{"Mode", RULE_SUBSYSTEM_USB, "it sets the mode of USB device nodes"},
	{"Uid", RULE_SUBSYSTEM_USB, "it sets the owner of USB device nodes"},
	{"Gid", RULE_SUBSYSTEM_USB, "it sets the group of USB device nodes"},
	{"IommuGroup", RULE_SUBSYSTEM_PCI,
	 "IOMMU groups hold PCI functions; a USB device goes to a VM alone"},
};

void parse_keys_check_attach(struct parser *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(attach_only); i++) {
		unsigned line =
			parse_key_line(p, SECTION_ATTACH, attach_only[i].key);
		if (!line || attach_only[i].only == p->r->subsystem)
			continue;
		if (rule_errors_add(&p->r->warnings, 0, p->path, line,
				    "%s= does nothing for a Subsystem=%s "
				    "rule: %s",
				    attach_only[i].key,
				    rule_subsystem_to_string(p->r->subsystem),
				    attach_only[i].why) < 0)
			p->oom = true;
	}
}
