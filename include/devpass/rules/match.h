/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: matching
 *
 * A rule matches a device when its subsystem is the device's and every
 * [Match] term holds. A term holds when any of the device's values for the
 * key matches any of its globs (none of them, for a negated term). Values
 * per key: Vendor/Product as 4 lower-case hex digits; Class as 2 hex digits
 * for the USB device class and each interface class, as 4 and 6 hex digits
 * for PCI; Serial, Manufacturer, Name, Driver, Port (USB id), Address (PCI
 * id) as they are; Property=KEY the value of KEY on the device or any of its
 * nodes. A device with no value for a key (an unset or empty string, Port
 * on PCI, Address on USB) fails a positive term and passes a negated one.
 * Globs are fnmatch(3) without flags; in the C locale, as the daemon runs,
 * they compare bytes, so '?' stands for one byte.
 */

#include <stdbool.h>

#include "devpass/model/device.h"
#include "devpass/rules/rule.h"

/**
 * struct match_why - why a rule did not match, for `devpass explain`.
 * @term: the first term that failed, or NULL when the subsystem differs.
 * @reason: a sentence naming the key, the device's value(s) and the globs.
 */
struct match_why {
	const struct match_term *term;
	char reason[512];
};

/**
 * match_rule() - does @r match @d?
 * @why: filled when it does not; may be NULL (the hot path: then nothing
 *       is formatted and nothing allocated).
 *
 * Matching cannot fail, so this is a predicate, not an error code.
 * Return: true when every term holds.
 */
bool match_rule(const struct rule *r, const struct device *d,
		struct match_why *why);

/**
 * match_ruleset() - the first rule (in file-name order) matching @d.
 * Return: the rule (owned by @rs), or NULL when none matches (the device
 * stays on the host).
 */
const struct rule *match_ruleset(const struct ruleset *rs,
				 const struct device *d);
