/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the rule file parser
 *
 * One rule per file, NAME.rules, with a [Match] and an [Attach] section
 * (see README.md). The text is read line by line; every problem is
 * reported as "PATH:LINE: message" (up to a cap per file), and a file with
 * any problem yields no rule. The order of lines never matters: checks
 * that depend on several lines run once the whole file is read.
 */

#include <stddef.h>

#include "devpass/rules/rule.h"

/* Longest rule file accepted; anything bigger is not a hand-written rule. */
#define RULE_FILE_MAX (64 * 1024)

/**
 * rule_parse() - parse one rule from memory.
 * @name: the rule's name (file name without .rules).
 * @path: shown in messages.
 * @buf: the file's bytes; need not be NUL-terminated; may hold NULs.
 * @len: bytes in @buf.
 * @out: the rule, on success.
 * @errors: every problem is appended as "PATH:LINE: message"; may be NULL.
 *
 * Return: 0 and *@out set; -EINVAL when the text has errors (all of them
 * appended to @errors, nothing logged); -ENOMEM (logged).
 */
int rule_parse(const char *name, const char *path, const char *buf, size_t len,
	       struct rule **out, char ***errors);
