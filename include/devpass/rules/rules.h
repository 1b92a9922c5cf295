/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: rules
 *
 * The rule language as a whole, for code that reads rules and acts on
 * them without caring which part does what: the types (rule.h), the
 * parser of one file (parse.h) and the loader of the rule directories
 * (load.h). Matching is match.h, generating a rule generate.h.
 */

#include "devpass/rules/load.h"
#include "devpass/rules/parse.h"
#include "devpass/rules/rule.h"
