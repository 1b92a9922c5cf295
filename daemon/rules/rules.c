/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rule files: parsing (rule_parse) and loading (rule_load_file,
 * ruleset_load). Matching lives in match.c.
 *
 * A rule file is read line by line; each line is first checked as bytes
 * (length, NUL, UTF-8, control characters), then parsed as a section
 * header or a Key=value assignment dispatched through key_defs[]. Checks
 * that depend on several lines (required keys, keys that only make sense
 * for one subsystem, Class= widths) run once the whole file is read, so
 * the order of lines never matters. Every problem is reported, up to
 * ERRORS_MAX per file, and a file with any problem yields no rule.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "devpass/rules/rules.h"
#include "devpass/util/text.h"

#define LINE_MAX_BYTES 4096
#define ERRORS_MAX     20
#define KEYS_MAX       32

char *const rules_default_dirs[] = {
	(char *)RULES_DIR_ETC,
	(char *)RULES_DIR_RUN,
	(char *)RULES_DIR_LIB,
	NULL,
};

static const char *const match_key_names[_MATCH_KEY_MAX] = {
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


static const char *const iommu_names[] = {
	[IOMMU_POLICY_STRICT] = "strict",
	[IOMMU_POLICY_WHOLE] = "whole",
	[IOMMU_POLICY_IGNORE] = "ignore",
};

static const char *const subsystem_names[] = {
	[RULE_SUBSYSTEM_USB] = "usb",
	[RULE_SUBSYSTEM_PCI] = "pci",
};

const char *match_key_to_string(enum match_key k)
{
	return (unsigned)k < _MATCH_KEY_MAX ? match_key_names[k] : NULL;
}

const char *iommu_policy_to_string(enum iommu_policy p)
{
	return (unsigned)p < ARRAY_SIZE(iommu_names) ? iommu_names[p] : NULL;
}

/* ---- error list ---------------------------------------------------- */

_printf_(4, 0) static int errors_addv(char ***errors, const char *path,
				      unsigned line, const char *fmt,
				      va_list ap)
{
	_cleanup_(freep) char *msg = NULL;
	_cleanup_(freep) char *full = NULL;

	if (!errors)
		return 0;
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
		return -ENOMEM;
	}
	if (asprintf(&full, "%s:%u: %s", path, line, msg) < 0) {
		full = NULL;
		return -ENOMEM;
	}
	return strv_push(errors, full);
}

/* Appends "PATH:LINE: message"; returns @ret, or -ENOMEM if that failed. */
_printf_(5, 6) static int errors_add(char ***errors, int ret, const char *path,
				     unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = errors_addv(errors, path, line, fmt, ap);
	va_end(ap);
	return r < 0 ? r : ret;
}

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

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
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

/* Whether the character at @s[i] is escaped by an odd run of backslashes. */
static bool is_escaped(const char *s, size_t i)
{
	size_t run = 0;
	while (i > run && s[i - run - 1] == '\\')
		run++;
	return run % 2 == 1;
}

/* Trims blanks at both ends, keeping a trailing blank that a backslash
 * escapes (a generated Serial=\ x\  ends in one). */
static char *strip(char *s)
{
	while (is_blank(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]) && !is_escaped(s, n - 1))
		s[--n] = '\0';
	return s;
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

/* ---- the parser ---------------------------------------------------- */

enum section {
	SECTION_NONE,
	SECTION_MATCH,
	SECTION_ATTACH,
	SECTION_UNKNOWN,
	_SECTION_MAX,
};

static const char *const section_names[_SECTION_MAX] = {
	[SECTION_MATCH] = "Match",
	[SECTION_ATTACH] = "Attach",
};

/* How the patterns of a [Match] key are checked and stored. */
enum value_kind {
	VALUE_GLOB,    /* any glob, kept as written */
	VALUE_HEX,     /* hex digits and globs, lower-cased */
	VALUE_ADDRESS, /* PCI address glob, lower-cased */
};

struct parser;
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

/**
 * struct parser - the state of one rule_parse() call.
 * @line: the line being parsed, 1-based.
 * @content: a line other than blanks and comments was seen.
 * @subsystem_ok: Subsystem= was given and valid (r->subsystem holds it).
 * @section_line: first line of each section header, 0 when absent.
 * @key_line: line each key was first given on (by key_defs[] index).
 */
struct parser {
	const char *path;
	char ***errors;
	unsigned n_errors;
	bool oom;
	unsigned line;
	enum section section;
	bool content;
	bool subsystem_ok;
	unsigned section_line[_SECTION_MAX];
	unsigned key_line[KEYS_MAX];
	struct rule *r;
};

static bool parser_stopped(const struct parser *p)
{
	return p->oom || p->n_errors >= ERRORS_MAX;
}

/* Reports a problem at @line; returns -EINVAL (or -ENOMEM). */
_printf_(3, 4) static int report(struct parser *p, unsigned line,
				 const char *fmt, ...)
{
	if (parser_stopped(p))
		return p->oom ? -ENOMEM : -EINVAL;

	va_list ap;
	va_start(ap, fmt);
	int r = errors_addv(p->errors, p->path, line, fmt, ap);
	va_end(ap);
	p->n_errors++;
	if (r >= 0 && p->n_errors == ERRORS_MAX)
		r = errors_add(p->errors, 0, p->path, line,
			       "too many errors, not reading further");
	if (r < 0)
		p->oom = true;
	return r < 0 ? r : -EINVAL;
}

static int oom(struct parser *p)
{
	p->oom = true;
	return -ENOMEM;
}

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
		for (; s[n] && !is_blank(s[n]); n++)
			if (s[n] == '\\' && !s[++n])
				return report(p, p->line,
					      "trailing backslash in %s= value",
					      k->name);
		_cleanup_(freep) char *tok = strndup(s, n);
		if (!tok || strv_push(&v, tok) < 0)
			return oom(p);
		for (s += n; is_blank(*s); s++)
			;
	}
	*out = steal_ptr(&v);
	return 0;
}

/* Removes v[0] from a non-empty list. */
static void strv_drop_first(char **v)
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
			strv_drop_first(v);
		if (!v[0])
			return report(p, p->line,
				      "nothing after \"!\" in %s=", k->name);
	}
	if (!v)
		return report(p, p->line, "empty value for %s=", k->name);
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
		return oom(p);
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

/* Checks and normalizes one pattern of a [Match] key. */
static int check_pattern(struct parser *p, const struct key_def *k, char *pat)
{
	bool star;

	switch (k->kind) {
	case VALUE_HEX:
		if (k->width && !hex_glob_fits(pat, k->width))
			return report(p, p->line,
				      "bad hex value \"%s\" for %s= (expected "
				      "%d hex digits)",
				      pat, k->name, k->width);
		if (hex_glob_width(pat, &star) < 0)
			return report(p, p->line,
				      "bad hex value \"%s\" for %s= (expected "
				      "2, 4 or 6 hex digits)",
				      pat, k->name);
		ascii_lower(pat);
		return 0;
	case VALUE_ADDRESS:
		if (strspn(pat, "0123456789abcdefABCDEF:.*?[]!^-") !=
		    strlen(pat))
			return report(p, p->line,
				      "bad PCI address \"%s\" for Address= "
				      "(expected like 0000:65:00.0)",
				      pat);
		ascii_lower(pat);
		return 0;
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
		if (check_pattern(p, k, *s) < 0)
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
		return report(p, p->line,
			      "Property= needs KEY=VALUE, got \"%s\"", value);
	*eq = '\0';
	char *key = strip(value), *rest = strip(eq + 1);
	if (!*key || !all_chars(key, "_"))
		return report(p, p->line,
			      "bad property name \"%s\" for Property= "
			      "(expected letters, digits and _)",
			      key);
	if (!*rest)
		return report(p, p->line, "empty value for Property=%s=", key);

	_cleanup_(strv_freep) char **v = NULL;
	bool negate;
	int r = split_patterns(p, k, rest, &negate, &v);
	if (r < 0)
		return r;
	_cleanup_(freep) char *name = strdup(key);
	if (!name)
		return oom(p);
	return add_term(p, MATCH_PROPERTY, &name, negate, &v);
}

/* For keys that take one word: reports the problem when there are more. */
static int single_value(struct parser *p, const struct key_def *k,
			const char *value)
{
	if (strpbrk(value, " \t"))
		return report(p, p->line,
			      "%s= takes a single value, got \"%s\"", k->name,
			      value);
	return 0;
}

static int bad_value(struct parser *p, const struct key_def *k,
		     const char *value, const char *expected)
{
	return report(p, p->line, "bad value \"%s\" for %s= (expected %s)",
		      value, k->name, expected);
}

/* Index of @value in @names (NULL entries skipped), or -1. */
static int lookup(const char *const *names, size_t n, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], value) == 0)
			return (int)i;
	return -1;
}

static int parse_subsystem(struct parser *p, const struct key_def *k,
			   char *value)
{
	int i = lookup(subsystem_names, ARRAY_SIZE(subsystem_names), value);
	if (i < 0)
		return bad_value(p, k, value, "usb or pci");
	p->r->subsystem = (enum rule_subsystem)i;
	p->subsystem_ok = true;
	return 0;
}

/* LXD instance names: a hostname label that starts with a letter. */
static bool instance_name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 63 && is_alpha(s[0]) && s[n - 1] != '-' &&
	       all_chars(s, "-");
}

static int parse_instance(struct parser *p, const struct key_def *k,
			  char *value)
{
	_cleanup_(strv_freep) char **v = NULL;
	int r = split_value(p, k, value, &v);
	if (r < 0)
		return r;
	for (char **s = v; *s; s++)
		if (!instance_name_valid(*s))
			r = report(p, p->line,
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
		return oom(p);
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
			r = report(p, p->line,
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
	return p->r->mode ? 0 : oom(p);
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
	int i = lookup(iommu_names, ARRAY_SIZE(iommu_names), value);
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
_Static_assert(ARRAY_SIZE(key_defs) <= KEYS_MAX, "raise KEYS_MAX");

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

/* "Subsystem, Vendor, ..." for messages. */
static void known_keys(enum section section, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(key_defs) && len < size; i++)
		if (key_defs[i].section == section)
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? ", " : "",
						key_defs[i].name);
}

static int unknown_key(struct parser *p, const char *key)
{
	char known[256];
	int other = find_key(SECTION_NONE, key);

	known_keys(p->section, known, sizeof(known));
	if (other >= 0)
		return report(p, p->line, "key %s= belongs in [%s], not [%s]",
			      key, section_names[key_defs[other].section],
			      section_names[p->section]);
	return report(p, p->line, "unknown key \"%s\" in [%s]; known keys: %s",
		      key, section_names[p->section], known);
}

static int parse_assignment(struct parser *p, char *line)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return report(p, p->line,
			      "missing \"=\" in \"%s\" (expected Key=value)",
			      line);
	*eq = '\0';
	char *key = strip(line), *value = strip(eq + 1);
	if (!*key)
		return report(p, p->line, "missing key before \"=\"");

	if (p->section == SECTION_NONE)
		return report(p, p->line,
			      "key \"%s\" outside of a section (put [Match] "
			      "or [Attach] before it)",
			      key);
	if (p->section == SECTION_UNKNOWN)
		return 0; /* the section header was reported already */
	int i = find_key(p->section, key);
	if (i < 0)
		return unknown_key(p, key);
	const struct key_def *k = &key_defs[i];
	if (p->key_line[i] && !k->repeatable)
		return report(p, p->line,
			      "duplicate key %s= (first given on line %u)",
			      k->name, p->key_line[i]);
	if (!p->key_line[i])
		p->key_line[i] = p->line;
	if (!*value)
		return report(p, p->line, "empty value for %s=", k->name);
	return k->parse(p, k, value);
}

static int parse_section(struct parser *p, char *line)
{
	size_t n = strlen(line);
	if (line[n - 1] != ']')
		return report(p, p->line,
			      "bad section header \"%s\" (expected [Match] or "
			      "[Attach])",
			      line);
	line[n - 1] = '\0';
	int i = lookup(section_names, ARRAY_SIZE(section_names), line + 1);
	p->section = i < 0 ? SECTION_UNKNOWN : (enum section)i;
	if (i < 0)
		return report(p, p->line,
			      "unknown section [%s]; known sections: [Match], "
			      "[Attach]",
			      line + 1);
	if (!p->section_line[i])
		p->section_line[i] = p->line;
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	line = strip(line);
	if (!*line || *line == '#' || *line == ';')
		return 0;
	p->content = true;
	if (*line == '[')
		return parse_section(p, line);
	return parse_assignment(p, line);
}

/* Checks a line as bytes, then parses it from a NUL-terminated copy. */
static int parse_raw_line(struct parser *p, const char *s, size_t n)
{
	char line[LINE_MAX_BYTES + 1];

	if (n > LINE_MAX_BYTES)
		return report(p, p->line, "line too long (more than %d bytes)",
			      LINE_MAX_BYTES);
	if (memchr(s, '\0', n))
		return report(p, p->line, "NUL byte in line");
	if (!text_utf8_valid(s, n))
		return report(p, p->line, "invalid UTF-8");
	if (n > 0 && s[n - 1] == '\r')
		n--; /* CRLF line ends */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return report(p, p->line,
				      "control character 0x%02x in line",
				      (unsigned char)s[i]);
	memcpy(line, s, n);
	line[n] = '\0';
	return parse_line(p, line);
}

static void parse_text(struct parser *p, const char *buf, size_t len)
{
	const char *end = buf + len;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		buf += 3; /* a byte order mark some editors write */
	for (const char *s = buf; s < end && !parser_stopped(p);) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		p->line++;
		parse_raw_line(p, s, n);
		s = nl ? nl + 1 : end;
	}
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
			report(p, t->line,
			       "bad hex value \"%s\" for Class= (expected %s "
			       "with Subsystem=%s)",
			       *s, usb ? "2 hex digits" : "4 or 6 hex digits",
			       subsystem_names[p->r->subsystem]);
}

static void check_terms(struct parser *p)
{
	for (size_t i = 0; i < p->r->n_terms; i++) {
		const struct match_term *t = &p->r->terms[i];
		int only = key_subsystem(t->key);

		if (only >= 0 && only != (int)p->r->subsystem)
			report(p, t->line,
			       "%s= applies only to Subsystem=%s, but this "
			       "rule has Subsystem=%s",
			       match_key_names[t->key], subsystem_names[only],
			       subsystem_names[p->r->subsystem]);
		else if (t->key == MATCH_CLASS)
			check_class(p, t);
	}
}

/* Reports a required key given nowhere, at its section's header line. */
static void check_required(struct parser *p, enum section section,
			   const char *key, const char *hint)
{
	if (p->key_line[find_key(section, key)])
		return;
	report(p, p->section_line[section] ? p->section_line[section] : 1,
	       "missing %s= in [%s]%s", key, section_names[section], hint);
}

static void check_rule(struct parser *p)
{
	if (!p->content) {
		report(p, 1, "empty rule file");
		return;
	}
	check_required(p, SECTION_MATCH, "Subsystem", " (usb or pci)");
	check_required(p, SECTION_ATTACH, "Instance", "");
	if (p->subsystem_ok)
		check_terms(p);
}

/* Rule names go into LXD device names; a file name holds no '/'. */
static bool rule_name_valid(const char *name)
{
	for (const char *c = name; *c; c++)
		if (!text_is_device_name_char(*c) || *c == '/')
			return false;
	return name[0] && strlen(name) <= 255;
}

static int rule_new(const char *name, const char *path, struct rule **out)
{
	_cleanup_(rule_freep) struct rule *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->name = strdup(name);
	r->path = strdup(path);
	r->project = strdup("default");
	if (!r->name || !r->path || !r->project)
		return -ENOMEM;
	r->subsystem = RULE_SUBSYSTEM_USB;
	r->nodes = NODE_USB;
	r->uid = -1;
	r->gid = -1;
	r->iommu = IOMMU_POLICY_STRICT;
	*out = steal_ptr(&r);
	return 0;
}

int rule_parse(const char *name, const char *path, const char *buf, size_t len,
	       struct rule **out, char ***errors)
{
	_cleanup_(rule_freep) struct rule *r = NULL;
	struct parser p = {.path = path, .errors = errors};

	int ret = rule_new(name, path, &r);
	if (ret < 0)
		return ret;
	p.r = r;
	if (!rule_name_valid(name))
		report(&p, 1,
		       "bad rule name \"%s\": a rule file name may hold only "
		       "letters, digits and \":_.-\" before .rules",
		       name);
	if (len > RULE_FILE_MAX)
		report(&p, 1, "rule file too large (more than %d bytes)",
		       RULE_FILE_MAX);
	else if (len == 0)
		report(&p, 1, "empty rule file");
	else {
		parse_text(&p, buf, len);
		check_rule(&p);
	}
	if (p.oom)
		return -ENOMEM;
	if (p.n_errors > 0)
		return -EINVAL;
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
	free(r);
}

/* ---- files and directories ----------------------------------------- */

/* Rule files decide what enters an instance: only root may write them. */
static int check_file(const char *path, const struct stat *st, char ***errors)
{
	if (!S_ISREG(st->st_mode))
		return errors_add(errors, -EPERM, path, 1,
				  "refusing rule file: not a regular file");
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return errors_add(errors, -EPERM, path, 1,
				  "refusing rule file owned by uid %u: rule "
				  "files must belong to root; fix with: chown "
				  "root %s",
				  (unsigned)st->st_uid, path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return errors_add(errors, -EPERM, path, 1,
				  "refusing rule file with mode %04o: it is "
				  "writable by group or others, who could "
				  "then choose what enters an instance; fix "
				  "with: chmod go-w %s",
				  (unsigned)(st->st_mode & 07777), path);
	return 0;
}

/* Reads at most @max bytes (one more tells the parser it is too big). */
static int read_capped(int fd, size_t max, char **out, size_t *len)
{
	_cleanup_(freep) char *buf = malloc(max);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	while (n < max) {
		ssize_t k = read(fd, buf + n, max - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*out = steal_ptr(&buf);
	*len = n;
	return 0;
}

/* NAME of ".../NAME.rules". */
static char *rule_name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n >= 6 && strcmp(base + n - 6, ".rules") == 0)
		n -= 6;
	return strndup(base, n);
}

int rule_load_file(const char *path, struct rule **out, char ***errors)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) char *buf = NULL;
	_cleanup_(freep) char *name = NULL;
	struct stat st;
	size_t len = 0;

	/* O_NONBLOCK: a FIFO must not hang us before fstat() refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;
		return errors_add(errors, -err, path, 1,
				  "cannot open rule file: %s", strerror(err));
	}
	int r = check_file(path, &st, errors);
	if (r < 0)
		return r;
	r = read_capped(fd, RULE_FILE_MAX + 1, &buf, &len);
	if (r < 0)
		return errors_add(errors, r, path, 1,
				  "cannot read rule file: %s", strerror(-r));
	name = rule_name_from_path(path);
	if (!name)
		return -ENOMEM;
	return rule_parse(name, path, buf, len, out, errors);
}

/* A NAME.rules file found in the directory of precedence @dir. */
struct candidate {
	char *file;
	char *path;
	size_t dir;
};

struct candidates {
	struct candidate *v;
	size_t n;
};

static void candidates_done(struct candidates *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].file);
		free(c->v[i].path);
	}
	free(c->v);
}

/* Hidden files (editor leftovers) and other suffixes are not rules. */
static bool is_rule_file_name(const char *s)
{
	size_t n = strlen(s);
	return s[0] != '.' && n > 6 && strcmp(s + n - 6, ".rules") == 0;
}

static int candidates_add(struct candidates *c, const char *dir,
			  const char *file, size_t idx)
{
	struct candidate *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->v = v;
	struct candidate *e = &c->v[c->n];
	e->dir = idx;
	e->file = strdup(file);
	if (!e->file)
		return -ENOMEM;
	if (asprintf(&e->path, "%s/%s", dir, file) < 0) {
		free(e->file);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

static int collect_dir(struct candidates *c, const char *dir, size_t idx,
		       char ***errors)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return errors_add(errors, 0, dir, 0,
				  "cannot read rules directory: %s",
				  strerror(errno));
	}
	for (struct dirent *de; (de = readdir(d));)
		if (is_rule_file_name(de->d_name) &&
		    candidates_add(c, dir, de->d_name, idx) < 0)
			return -ENOMEM;
	return 0;
}

/* By file name, then by directory precedence: the first of a name wins. */
static int candidate_cmp(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	int r = strcmp(x->file, y->file);
	if (r)
		return r;
	return x->dir < y->dir ? -1 : x->dir > y->dir;
}

static int ruleset_add(struct ruleset *rs, struct rule **r)
{
	struct rule **v =
		realloc(rs->rules, (rs->n_rules + 1) * sizeof(*rs->rules));
	if (!v)
		return -ENOMEM;
	rs->rules = v;
	rs->rules[rs->n_rules++] = steal_ptr(r);
	return 0;
}

int ruleset_load(char *const *dirs, struct ruleset **out)
{
	_cleanup_(candidates_done) struct candidates c = {0};
	_cleanup_(ruleset_freep) struct ruleset *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;

	for (size_t i = 0; dirs && dirs[i]; i++)
		if (collect_dir(&c, dirs[i], i, &rs->errors) < 0)
			return -ENOMEM;
	if (c.n > 0)
		qsort(c.v, c.n, sizeof(*c.v), candidate_cmp);
	for (size_t i = 0; i < c.n; i++) {
		_cleanup_(rule_freep) struct rule *r = NULL;
		if (i > 0 && strcmp(c.v[i].file, c.v[i - 1].file) == 0)
			continue; /* hidden by an earlier directory */
		int ret = rule_load_file(c.v[i].path, &r, &rs->errors);
		if (ret == -ENOMEM || (r && ruleset_add(rs, &r) < 0))
			return -ENOMEM;
	}
	*out = steal_ptr(&rs);
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
	free(rs);
}
