/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: loading rule files
 *
 * A rule set is every NAME.rules of a list of directories: a file in an
 * earlier directory hides a file of the same name in a later one (a note
 * says so); rules are kept sorted by file name, the order they are tried
 * in. A file with any problem is left out whole and its problems are kept
 * as "FILE:LINE: message" strings; the rest load. Those strings are data
 * for the caller to show (the daemon logs them, `devpass check` prints
 * them): this module logs only what stops it, out-of-memory.
 *
 * Trust. Rule files decide what enters an instance, so only what root
 * controls is read, as sudo and systemd judge their drop-ins:
 * - every directory from / down to the rules directory, as written and
 *   with symlinks resolved, belongs to root and is writable by no group
 *   or other (a symlink's directory decides where it points); a
 *   sticky directory on the way (/tmp) may be writable by all, since only
 *   an entry's owner can replace it there. A directory that fails is
 *   refused whole: none of its files is read.
 * - the file is a regular file of root's, writable by no group or other.
 * - a symlink in a rules directory is followed only to a file named
 *   NAME.rules whose directories pass the same check (an example shipped
 *   in /usr/share can be enabled by a link); the rule's name is the
 *   link's. A symlink to /dev/null masks the name: no rule, and the file
 *   of that name in a later directory stays hidden.
 * "root" is also the caller's own user, so people can check their drafts
 * (`devpass check --rules-dir ~/drafts`); devpassd runs as root.
 * A refused file or directory costs only itself: the rest loads, and the
 * refusal is counted in ->n_refused, so a reload still takes the set.
 *
 * Files of a rules directory not named NAME.rules are not read; a warning
 * says so for names that look meant as rules (*.rule, *.conf, *.cfg,
 * *.ini), not for a README, a 50-cam.rules.off or an editor's backup.
 * Loading is linear in the number of files.
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

/* rule_load_file(): a symlink to /dev/null, no rule (see the DOC). */
enum {
	RULE_E_MASKED = 1,
};

/**
 * rule_load_file() - read, check ownership/permissions of, and parse a file.
 *
 * The trust checks of the DOC, on the file and every directory above it
 * (or above its symlink's target). Every problem is appended to @errors as
 * "PATH:LINE: message".
 * Return: as rule_parse(); RULE_E_MASKED; -EPERM for a refused file;
 * -errno on I/O errors.
 */
int rule_load_file(const char *path, struct rule **out, char ***errors);

/**
 * ruleset_load() - load every NAME.rules of @dirs (NULL-terminated, in
 * precedence order). Missing directories are skipped silently; other
 * problems go to ->errors, ->warnings and ->notes (struct ruleset). The
 * rules' own warnings move to ->warnings.
 * Return: 0 (even if some files had errors: see ->errors) or -ENOMEM
 * (logged).
 */
int ruleset_load(char *const *dirs, struct ruleset **out);
