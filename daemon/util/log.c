/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devpass/util/log.h"

static int max_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERR] = "err",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_level_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (level_names[i] && strcmp(level_names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

void log_msgv(int level, const char *fmt, va_list ap)
{
	if (level > max_level)
		return;
	int saved = errno;
	/* The journal reads "<N>" as the level; a terminal does not need it. */
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	errno = saved;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_msgv(level, fmt, ap);
	va_end(ap);
}
