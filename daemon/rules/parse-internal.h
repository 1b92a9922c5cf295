/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the two halves of the rule parser only: parse.c reads the
 * text (lines, sections, Key=value, the checks of the whole file);
 * parse-keys.c knows the keys (what each takes, how its values are
 * checked and stored, which keys go together).
 */

#include <stdbool.h>

#include "devpass/rules/rule.h"
#include "devpass/util/common.h"

/* More than the rule language has keys (parse-keys.c checks). */
#define PARSE_KEYS_MAX 32

enum section {
	SECTION_NONE,
	SECTION_MATCH,
	SECTION_ATTACH,
	SECTION_UNKNOWN,
	_SECTION_MAX,
};

/**
 * struct parser - the state of one rule_parse() call.
 * @line: the line being parsed, 1-based.
 * @content: a line other than blanks and comments was seen.
 * @subsystem_ok: Subsystem= was given and valid (r->subsystem holds it).
 * @section_line: first line of each section header, 0 when absent.
 * @key_line: line each key was first given on (by key index).
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
	unsigned key_line[PARSE_KEYS_MAX];
	struct rule *r;
};

/* ---- parse.c ---- */

/* Reports a problem at @line. Return: -EINVAL, or -ENOMEM (logged). */
_printf_(3, 4) int parse_report(struct parser *p, unsigned line,
				const char *fmt, ...);

/* Out of memory: logged once per parse. Return: -ENOMEM. */
int parse_oom(struct parser *p);

/* "Match", "Attach"; NULL for the others. */
const char *parse_section_name(enum section s);

/* Trims blanks at both ends of @s in place, keeping an escaped one. */
char *parse_strip(char *s);

/* Blanks separate values (ASCII only: no locale surprises). */
static inline bool parse_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- parse-keys.c ---- */

/**
 * parse_key_assign() - "@key=@value" in the current section: finds the
 * key, refuses a repeat of a key that takes one line, parses the value.
 * Return: 0, or -EINVAL/-ENOMEM once reported.
 */
int parse_key_assign(struct parser *p, const char *key, char *value);

/* The line @key of @section was first given on, or 0. */
unsigned parse_key_line(const struct parser *p, enum section section,
			const char *key);

/* The checks of terms that need Subsystem=, which may come last. */
void parse_keys_check_terms(struct parser *p);

/* Warns (p->r->warnings) of [Attach] keys that do nothing for the rule's
 * subsystem. */
void parse_keys_check_attach(struct parser *p);
