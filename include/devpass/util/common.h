/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: error contract and cleanup helpers
 *
 * Every fallible function returns an int: 0 on success, a negative errno on
 * failure (forwarded unchanged by callers), and where documented a positive
 * code for an expected, non-error outcome (for instance "no match").
 * A failure is logged once, where it happens, never again by the callers
 * that forward it.
 *
 * Owned resources are declared with _cleanup_(x_freep) and handed over
 * with steal_ptr() at the end, so every early return frees them.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "devpass/util/cleanup.h"
#include "devpass/util/strv.h"

#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define _nonnull_      __attribute__((nonnull))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline int streq_ptr(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && __builtin_strcmp(a, b) == 0);
}
