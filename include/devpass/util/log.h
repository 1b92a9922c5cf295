/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: logging
 *
 * One line per event, syslog levels. To stderr; under systemd (JOURNAL_STREAM
 * set) each line is prefixed with "<N>" so the journal keeps the level.
 * Messages say what happened, to which device, rule and instance, and why.
 */

#include <stdarg.h>
#include <syslog.h>

#include "devpass/util/common.h"

/**
 * log_set_max_level() - drop messages less important than @level.
 * @level: LOG_DEBUG ... LOG_ERR.
 */
void log_set_max_level(int level);
int log_get_max_level(void);

/**
 * log_level_from_string() - parse "debug", "info", "notice", "warning", "err".
 * Return: the LOG_* level, or -EINVAL.
 */
int log_level_from_string(const char *s);

void log_msg(int level, const char *fmt, ...) _printf_(2, 3);
void log_msgv(int level, const char *fmt, va_list ap) _printf_(2, 0);

#define log_debug(...)	 log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	 log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...)	 log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...)	 log_msg(LOG_ERR, __VA_ARGS__)

/* Logs at LOG_ERR and returns @err (a negative errno) for one-line returns. */
#define log_err_errno(err, ...) (log_err(__VA_ARGS__), (err))
