/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: rules
 *
 * One rule per file, NAME.rules, with a [Match] and an [Attach] section
 * (see README.md). A rule set is every rule of a list of directories; a
 * file in an earlier directory hides a file of the same name in a later
 * one; rules are kept sorted by file name, the order they are tried in.
 * A file with any error is left out whole and its errors are kept as
 * "FILE:LINE: message" strings; the rest load.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devpass/model/node.h"
#include "devpass/util/common.h"

#define RULES_DIR_ETC "/etc/devpass/rules.d"
#define RULES_DIR_RUN "/run/devpass/rules.d"
#define RULES_DIR_LIB "/usr/lib/devpass/rules.d"

/* Longest rule file accepted; anything bigger is not a hand-written rule. */
#define RULE_FILE_MAX (64 * 1024)

enum rule_subsystem {
	RULE_SUBSYSTEM_USB,
	RULE_SUBSYSTEM_PCI,
};

enum match_key {
	MATCH_SUBSYSTEM,
	MATCH_VENDOR,
	MATCH_PRODUCT,
	MATCH_SERIAL,
	MATCH_MANUFACTURER,
	MATCH_NAME,
	MATCH_CLASS,
	MATCH_PORT,
	MATCH_ADDRESS,
	MATCH_DRIVER,
	MATCH_PROPERTY,
	_MATCH_KEY_MAX,
};

/**
 * struct match_term - one "Key=values" line of [Match].
 * @key: which key.
 * @property: for Property=KEY=VALUE, the udev property name; else NULL.
 * @negate: the value list started with '!': the term holds when none match.
 * @patterns: NULL-terminated shell globs (fnmatch(3), backslash escapes);
 *            hex keys are stored lower-case.
 * @line: line number in the rule file, for messages.
 */
struct match_term {
	enum match_key key;
	char *property;
	bool negate;
	char **patterns;
	unsigned line;
};

enum iommu_policy {
	IOMMU_POLICY_STRICT,
	IOMMU_POLICY_WHOLE,
	IOMMU_POLICY_IGNORE,
};


/**
 * struct rule - one parsed rule file.
 * @name: file name without ".rules"; part of the LXD entry names.
 * @path: the file it came from.
 * @subsystem: Subsystem= (required).
 * @terms: the [Match] lines, in file order; all must hold.
 * @instances: Instance= names in preference order, NULL-terminated (>= 1).
 * @project: Project=, "default" when not given.
 * @nodes: Nodes= as enum node_kind bits; NODE_USB when not given.
 * @mode: Mode= as octal text ("0660"), or NULL for LXD's default.
 * @uid, @gid: Uid=/Gid=, or -1 for LXD's default.
 * @iommu: IommuGroup=, strict by default.
 * @allow_privileged: AllowPrivileged=.
 */
struct rule {
	char *name;
	char *path;
	enum rule_subsystem subsystem;
	struct match_term *terms;
	size_t n_terms;
	char **instances;
	char *project;
	unsigned nodes;
	char *mode;
	int64_t uid;
	int64_t gid;
	enum iommu_policy iommu;
	bool allow_privileged;
};

void rule_free(struct rule *r);
DEFINE_FREEP(struct rule, rule_free)

/**
 * struct ruleset - the rules of a list of directories, in trial order.
 * @rules: sorted by file name.
 * @errors: "FILE:LINE: message" for every problem found, NULL-terminated.
 *          A file named here is not in @rules.
 */
struct ruleset {
	struct rule **rules;
	size_t n_rules;
	char **errors;
};

void ruleset_free(struct ruleset *rs);
DEFINE_FREEP(struct ruleset, ruleset_free)

/**
 * rule_parse() - parse one rule from memory.
 * @name: the rule's name (file name without .rules).
 * @path: shown in messages.
 * @buf: the file's bytes; need not be NUL-terminated; may hold NULs.
 * @len: bytes in @buf.
 * @out: the rule, on success.
 * @errors: every problem is appended as "PATH:LINE: message".
 *
 * Return: 0 and *@out set; -EINVAL when the text has errors (all of them
 * appended to @errors); -ENOMEM.
 */
int rule_parse(const char *name, const char *path, const char *buf, size_t len,
	       struct rule **out, char ***errors);

/**
 * rule_load_file() - read, check ownership/permissions of, and parse a file.
 *
 * A file writable by group or others, or owned by anyone but root (or the
 * caller's own user, so people can check their own drafts), is refused.
 * Return: as rule_parse(); -EPERM for a refused file; -errno on I/O errors.
 * Every problem is appended to @errors.
 */
int rule_load_file(const char *path, struct rule **out, char ***errors);

/**
 * ruleset_load() - load every NAME.rules of @dirs (NULL-terminated, in
 * precedence order). Missing directories are skipped silently.
 * Return: 0 (even if some files had errors: see ->errors) or -ENOMEM.
 */
int ruleset_load(char *const *dirs, struct ruleset **out);

/* The three default directories, in precedence order, NULL-terminated. */
extern char *const rules_default_dirs[];

const char *match_key_to_string(enum match_key k);
const char *iommu_policy_to_string(enum iommu_policy p);
