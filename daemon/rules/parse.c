/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rule file parser (rule_parse): the text's half. A file is read
 * line by line; each line is first checked as bytes (length, NUL, UTF-8,
 * control characters), then parsed as a section header or a Key=value
 * assignment, whose key and value parse-keys.c checks and stores. Checks
 * that depend on several lines (required keys, keys that only make sense
 * for one subsystem, Class= widths) run once the whole file is read, so
 * the order of lines never matters. Every problem is reported, up to
 * ERRORS_MAX per file, and a file with any problem yields no rule.
 */
#include <stdio.h>
#include <string.h>

#include "devpass/rules/parse.h"
#include "devpass/util/text.h"
#include "parse-internal.h"
#include "rule-internal.h"

#define LINE_MAX_BYTES 4096
#define ERRORS_MAX     20

/* Whether the character at @s[i] is escaped by an odd run of backslashes. */
static bool is_escaped(const char *s, size_t i)
{
	size_t run = 0;
	while (i > run && s[i - run - 1] == '\\')
		run++;
	return run % 2 == 1;
}

/* A generated Serial=\ x\  ends in an escaped blank. */
char *parse_strip(char *s)
{
	while (parse_is_blank(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && parse_is_blank(s[n - 1]) && !is_escaped(s, n - 1))
		s[--n] = '\0';
	return s;
}

static const char *const section_names[_SECTION_MAX] = {
	[SECTION_MATCH] = "Match",
	[SECTION_ATTACH] = "Attach",
};

/* The section named @s ("Match"), or -1. */
static int section_from_string(const char *s)
{
	for (int i = 0; i < _SECTION_MAX; i++)
		if (section_names[i] && strcmp(section_names[i], s) == 0)
			return i;
	return -1;
}

const char *parse_section_name(enum section s)
{
	return (unsigned)s < ARRAY_SIZE(section_names) ? section_names[s]
						       : NULL;
}

static bool parser_stopped(const struct parser *p)
{
	return p->oom || p->n_errors >= ERRORS_MAX;
}

int parse_report(struct parser *p, unsigned line, const char *fmt, ...)
{
	if (parser_stopped(p))
		return p->oom ? -ENOMEM : -EINVAL;

	va_list ap;
	va_start(ap, fmt);
	int r = rule_errors_addv(p->errors, p->path, line, fmt, ap);
	va_end(ap);
	p->n_errors++;
	if (r >= 0 && p->n_errors == ERRORS_MAX)
		r = rule_errors_add(p->errors, 0, p->path, line,
				    "too many errors, not reading further");
	if (r < 0)
		p->oom = true; /* logged by rule_errors_add() */
	return r < 0 ? r : -EINVAL;
}

int parse_oom(struct parser *p)
{
	if (!p->oom)
		rule_oom();
	p->oom = true;
	return -ENOMEM;
}

static int parse_assignment(struct parser *p, char *line)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return parse_report(
			p, p->line,
			"missing \"=\" in \"%s\" (expected Key=value)", line);
	*eq = '\0';
	char *key = parse_strip(line), *value = parse_strip(eq + 1);
	if (!*key)
		return parse_report(p, p->line, "missing key before \"=\"");

	if (p->section == SECTION_NONE)
		return parse_report(
			p, p->line,
			"key \"%s\" outside of a section (put [Match] "
			"or [Attach] before it)",
			key);
	if (p->section == SECTION_UNKNOWN)
		return 0; /* the section header was reported already */
	return parse_key_assign(p, key, value);
}

static int parse_section(struct parser *p, char *line)
{
	size_t n = strlen(line);
	if (line[n - 1] != ']')
		return parse_report(
			p, p->line,
			"bad section header \"%s\" (expected [Match] or "
			"[Attach])",
			line);
	line[n - 1] = '\0';
	int i = section_from_string(line + 1);
	p->section = i < 0 ? SECTION_UNKNOWN : (enum section)i;
	if (i < 0)
		return parse_report(
			p, p->line,
			"unknown section [%s]; known sections: [Match], "
			"[Attach]",
			line + 1);
	if (!p->section_line[i])
		p->section_line[i] = p->line;
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	line = parse_strip(line);
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
		return parse_report(p, p->line,
				    "line too long (more than %d bytes)",
				    LINE_MAX_BYTES);
	if (memchr(s, '\0', n))
		return parse_report(p, p->line, "NUL byte in line");
	if (!text_utf8_valid(s, n))
		return parse_report(p, p->line, "invalid UTF-8");
	if (n > 0 && s[n - 1] == '\r')
		n--; /* CRLF line ends */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return parse_report(p, p->line,
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

/* Reports a required key given nowhere, at its section's header line. */
static void check_required(struct parser *p, enum section section,
			   const char *key, const char *hint)
{
	if (parse_key_line(p, section, key))
		return;
	parse_report(p, p->section_line[section] ? p->section_line[section] : 1,
		     "missing %s= in [%s]%s", key, parse_section_name(section),
		     hint);
}

static void check_rule(struct parser *p)
{
	if (!p->content) {
		parse_report(p, 1, "empty rule file");
		return;
	}
	check_required(p, SECTION_MATCH, "Subsystem", " (usb or pci)");
	check_required(p, SECTION_ATTACH, "Instance", "");
	if (p->subsystem_ok) {
		parse_keys_check_terms(p);
		parse_keys_check_attach(p);
	}
}

/* Rule names go into LXD device names; a file name holds no '/'. */
static bool rule_name_valid(const char *name)
{
	for (const char *c = name; *c; c++)
		if (!text_is_device_name_char(*c) || *c == '/')
			return false;
	return name[0] && strlen(name) <= 255;
}

int rule_parse(const char *name, const char *path, const char *buf, size_t len,
	       struct rule **out, char ***errors)
{
	_cleanup_(rule_freep) struct rule *r = NULL;
	struct parser p = {.path = path, .errors = errors};

	int ret = rule_new(name, path, &r);
	if (ret < 0)
		return ret; /* logged */
	p.r = r;
	if (!rule_name_valid(name))
		parse_report(
			&p, 1,
			"bad rule name \"%s\": a rule file name may hold only "
			"letters, digits and \":_.-\" before .rules",
			name);
	if (len > RULE_FILE_MAX)
		parse_report(&p, 1, "rule file too large (more than %d bytes)",
			     RULE_FILE_MAX);
	else if (len == 0)
		parse_report(&p, 1, "empty rule file");
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
