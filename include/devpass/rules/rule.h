/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: a rule
 *
 * What one rule file says, once parsed (parse.h): which devices it takes
 * ([Match], a list of terms that must all hold) and where they go
 * ([Attach]). A rule set is the rules of a list of directories (load.h),
 * in the order they are tried. This module owns the types, their
 * lifetime and their names as the rule language spells them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devpass/model/node.h"
#include "devpass/util/common.h"

enum rule_subsystem {
	RULE_SUBSYSTEM_USB,
	RULE_SUBSYSTEM_PCI,
	_RULE_SUBSYSTEM_MAX,
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
	_IOMMU_POLICY_MAX,
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
 * @warnings: "FILE:LINE: message" for keys that do nothing for this
 *            rule's subsystem (Nodes= on a PCI rule, IommuGroup= on a USB
 *            rule): the rule works without them; NULL-terminated or NULL.
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
	char **warnings;
};

/**
 * rule_new() - an empty rule named @name from @path, with the defaults of
 * every key that may be left out (see struct rule); no terms, no instances.
 * Return: 0 and *@out set, or -ENOMEM (logged).
 */
int rule_new(const char *name, const char *path, struct rule **out);

void rule_free(struct rule *r);
DEFINE_FREEP(struct rule, rule_free)

/**
 * struct ruleset - the rules of a list of directories, in trial order.
 * @rules: sorted by file name.
 * @errors: "FILE:LINE: message" for every problem found, NULL-terminated.
 *          A file named here is not in @rules.
 * @n_refused: how many of @errors are refusals of files or directories
 *             that root does not control (load.h): each costs only itself,
 *             so they do not make a reload fail as a broken rule does.
 * @warnings: what loads but cannot work as written: keys that do nothing
 *            (struct rule), files ignored for their name; NULL-terminated.
 * @notes: what works as designed but may surprise: a file hidden by one
 *         of the same name in an earlier directory; NULL-terminated.
 */
struct ruleset {
	struct rule **rules;
	size_t n_rules;
	size_t cap_rules;
	char **errors;
	size_t n_refused;
	char **warnings;
	char **notes;
};

/* An empty rule set. Return: 0 and *@out set, or -ENOMEM (logged). */
int ruleset_new(struct ruleset **out);

/* Appends *@r to @rs, which takes it. Return: 0, or -ENOMEM (logged). */
int ruleset_add(struct ruleset *rs, struct rule **r);

void ruleset_free(struct ruleset *rs);
DEFINE_FREEP(struct ruleset, ruleset_free)

/*
 * The names the rule language gives these values ("Vendor", "usb",
 * "whole"); NULL for a value out of range. The *_from_string() functions
 * return the value, or -EINVAL for a name the language does not have.
 */
const char *rule_key_to_string(enum match_key k);

/**
 * rule_instance_name_valid() - whether @s can name an LXD instance: a host
 * name label (LXD's ValidHostname): 1-63 letters, digits and '-', starting
 * with a letter, not ending with '-'. Instance= and `devpass generate
 * --instance` both hold names to it.
 */
bool rule_instance_name_valid(const char *s);
const char *rule_subsystem_to_string(enum rule_subsystem s);
int rule_subsystem_from_string(const char *s);
const char *rule_iommu_to_string(enum iommu_policy p);
int rule_iommu_from_string(const char *s);
