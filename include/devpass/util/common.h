/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the error contract (every module of devpass holds to it)
 *
 * A fallible function returns an int:
 *
 * - 0 on success;
 * - a negative errno on failure (-ENOMEM, -EIO, -EPROTO, ...). Callers
 *   forward it unchanged (`if (r < 0) return r;`) unless they can handle it;
 *   they never turn it into a success or an outcome;
 * - a positive value only for an expected outcome that is not a failure
 *   ("the device is not one devpass handles", "LXD refused this entry"),
 *   and then a named code of an enum in the module's header
 *   (ENTRIES_E_REFUSED, DEVICE_E_NOT_HANDLED), documented with the
 *   function. Never a bare 1, never "any non-zero".
 *
 * A failure is logged once, where it starts, by the code that knows what
 * failed and why (which device, rule, instance, file or request). Callers
 * that forward it do not log it again; a caller logs only what it adds
 * (what it gave up on because of it). Out of memory is logged where the
 * allocation failed, except in pure code (the planner, the LXD reply
 * parsers), which returns -ENOMEM unlogged to the first caller that can
 * say what it was doing.
 *
 * A module that produces reasons for a person (the planner's "waiting:
 * c1 is not running") returns them as data and logs nothing; the service
 * logs a device's state when it changes.
 *
 * Owned resources follow the cleanup habit of devpass/util/cleanup.h.
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
