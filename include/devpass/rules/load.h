/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: loading rule files
 *
 * A rule set is every NAME.rules of a list of directories: a file in an
 * earlier directory hides a file of the same name in a later one; rules
 * are kept sorted by file name, the order they are tried in. Rule files
 * decide what enters an instance, so a file that others than root (or the
 * caller) could write is refused. A file with any problem is left out
 * whole and its problems are kept as "FILE:LINE: message" strings; the
 * rest load. Those strings are data for the caller to show (the daemon
 * logs them, `devpass check` prints them): this module logs only what
 * stops it, out-of-memory.
 */

#include "config.h"
#include "devpass/rules/rule.h"

/* The build's sysconfdir and prefix/lib (meson.build): /etc/devpass/rules.d
 * and /usr/lib/devpass/rules.d for --prefix=/usr. /run is not the prefix's. */
#define RULES_DIR_ETC DEVPASS_RULES_DIR_ETC
#define RULES_DIR_RUN "/run/devpass/rules.d"
#define RULES_DIR_LIB DEVPASS_RULES_DIR_LIB

/* The three default directories, in precedence order, NULL-terminated. */
extern char *const rules_default_dirs[];

/**
 * rule_load_file() - read, check ownership/permissions of, and parse a file.
 *
 * A file writable by group or others, or owned by anyone but root (or the
 * caller's own user, so people can check their own drafts), is refused.
 * Every problem is appended to @errors as "PATH:LINE: message".
 * Return: as rule_parse(); -EPERM for a refused file; -errno on I/O errors.
 */
int rule_load_file(const char *path, struct rule **out, char ***errors);

/**
 * ruleset_load() - load every NAME.rules of @dirs (NULL-terminated, in
 * precedence order). Missing directories are skipped silently; other
 * problems go to ->errors.
 * Return: 0 (even if some files had errors: see ->errors) or -ENOMEM
 * (logged).
 */
int ruleset_load(char *const *dirs, struct ruleset **out);
