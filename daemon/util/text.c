/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devpass/util/text.h"

static bool is_cont(uint8_t c)
{
	return (c & 0xc0) == 0x80;
}

size_t text_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t len;
	uint32_t min;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, min = 0x80, *cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, min = 0x800, *cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, *cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (!is_cont(s[i])) /* also stops at a NUL */
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

bool text_utf8_valid(const char *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len)
		if ((len = text_utf8_decode(s + i, n - i, &cp)) == 0)
			return false;
	return true;
}

bool text_is_device_name_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z') || (c && strchr("/:_.-", c));
}

size_t text_safe_char_len(const char *s)
{
	uint32_t cp;
	size_t len = text_utf8_decode(s, 4, &cp);

	/* C0 controls, DEL and C1 controls move terminals' cursors. */
	if (len == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return 0;
	return len;
}

bool text_is_safe(const char *s)
{
	size_t len;

	for (; *s; s += len)
		if ((len = text_safe_char_len(s)) == 0)
			return false;
	return true;
}

size_t text_escape(char *buf, size_t n, const char *s)
{
	size_t at = strnlen(buf, n);

	if (at >= n)
		return at;
	while (*s) {
		/* A backslash is escaped too, so the output reads back one
		 * way: a literal "\x1b" cannot pass for an escaped ESC. */
		size_t len = *s == '\\' ? 0 : text_safe_char_len(s);
		size_t out = len ? len : 4;

		if (at + out >= n)
			break;
		if (len)
			memcpy(buf + at, s, len);
		else
			snprintf(buf + at, 5, "\\x%02x", (uint8_t)*s);
		at += out;
		s += len ? len : 1;
	}
	buf[at] = '\0';
	return at;
}

char *text_escape_dup(const char *s)
{
	size_t n = strlen(s) * 4 + 1;
	char *buf = malloc(n);

	if (!buf)
		return NULL;
	buf[0] = '\0';
	text_escape(buf, n, s);
	return buf;
}

char *text_vprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *text_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = text_vprintf(fmt, ap);
	va_end(ap);
	return s;
}
