/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the rule parser. Besides crashes, leaks and
 * undefined behaviour, it checks rule_parse()'s contract on every input:
 * a rule and no errors, or -EINVAL, no rule and at least one
 * "fuzz.rules:LINE: " error; a rule always has a non-empty instance list
 * and no term without patterns.
 */
#include <stdint.h>
#include <string.h>

#include "devpass/rules/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rule(const struct rule *r)
{
	if (!r->instances || !r->instances[0] || !r->project)
		abort();
	for (size_t i = 0; i < r->n_terms; i++)
		if (!r->terms[i].patterns || !r->terms[i].patterns[0] ||
		    (unsigned)r->terms[i].key >= _MATCH_KEY_MAX)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(rule_freep) struct rule *r = NULL;
	_cleanup_(strv_freep) char **errors = NULL;

	int ret = rule_parse("fuzz", "fuzz.rules", (const char *)data, size,
			     &r, &errors);
	if (ret == 0) {
		if (!r || errors)
			abort();
		check_rule(r);
		return 0;
	}
	if (ret != -EINVAL || r || !errors)
		abort();
	for (char **e = errors; *e; e++)
		if (strncmp(*e, "fuzz.rules:", 11) != 0)
			abort();
	return 0;
}
