/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the parser and the loader only: the "PATH:LINE: message" list
 * both fill, and the one out-of-memory message of the rules layer.
 */

#include <stdarg.h>

#include "devpass/util/common.h"

/*
 * Appends "PATH:LINE: message" to *@errors (nothing when @errors is NULL).
 * Return: 0, or -ENOMEM (logged).
 */
_printf_(4, 0) int rule_errors_addv(char ***errors, const char *path,
				    unsigned line, const char *fmt, va_list ap);

/* As rule_errors_addv(); returns @ret, or -ENOMEM (logged) if that failed. */
_printf_(5, 6) int rule_errors_add(char ***errors, int ret, const char *path,
				   unsigned line, const char *fmt, ...);

/* Logs that reading rules ran out of memory. Return: -ENOMEM. */
int rule_oom(void);
