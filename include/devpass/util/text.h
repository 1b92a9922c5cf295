/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: text from devices
 *
 * Strings a device reports (serials, names, udev properties) may hold any
 * byte. Before they reach a terminal, a log or a rule file, they pass
 * through here: a character is "safe" when it is printable ASCII or a
 * valid UTF-8 sequence of a non-control code point; every other byte
 * (C0 and C1 controls, DEL, malformed or overlong UTF-8) is unsafe and is
 * shown as \xNN, and so is the backslash itself, so that escaped text
 * reads back one way.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devpass/util/common.h"

/**
 * text_utf8_decode() - decode the UTF-8 sequence at @s, of at most @n bytes.
 * Strict: overlong forms, surrogates and code points past U+10FFFF are
 * malformed, and a NUL ends a sequence.
 * Return: its length (1-4) with *@cp set, or 0 when malformed or @n is 0.
 */
size_t text_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Whether @s[0..n) is strict UTF-8 throughout (NUL bytes are valid). */
bool text_utf8_valid(const char *s, size_t n);

/**
 * text_is_device_name_char() - whether LXD accepts @c in a device name:
 * [A-Za-z0-9/:_.-] (LXD's ValidDeviceName). The one definition of that set.
 */
bool text_is_device_name_char(char c);

/**
 * text_safe_char_len() - length of the safe character at @s.
 * Return: 1-4 bytes, or 0 when the byte at @s is unsafe (or the NUL).
 */
size_t text_safe_char_len(const char *s);

/* Whether every character of @s is safe. */
bool text_is_safe(const char *s);

/**
 * text_escape() - append @s to the NUL-terminated string in @buf, with
 * unsafe bytes as \xNN, truncating (never splitting an escape or a
 * character) so that the result fits in @n bytes.
 * Return: the length of @buf afterwards.
 */
size_t text_escape(char *buf, size_t n, const char *s);

/**
 * text_escape_dup() - @s with unsafe bytes as \xNN, in a new string.
 * Return: the string (free() it), or NULL on ENOMEM.
 */
char *text_escape_dup(const char *s);

/**
 * text_printf() - a new string formatted as printf() would.
 * Return: the string (free() it), or NULL on ENOMEM (not logged: the
 * caller says what it was building).
 */
char *text_printf(const char *fmt, ...) _printf_(1, 2);
char *text_vprintf(const char *fmt, va_list ap) _printf_(1, 0);
