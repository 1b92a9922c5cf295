/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: rule generation
 *
 * `devpass generate DEVICE` prints a rule that matches exactly that device:
 * Subsystem, Vendor, Product, and Serial= when the device has a serial,
 * else its Port= (USB) or Address= (PCI). Values are escaped so the parser
 * reads them back literally; a byte that cannot be written in a rule file
 * (a control, malformed UTF-8) becomes '?', a glob for any one character,
 * so the rule still matches the device (with the matcher in the C locale,
 * where '?' is one byte).
 */

#include <stddef.h>

#include "devpass/model/device.h"

/* The Instance= written when none is given; the rule says to change it. */
#define GENERATE_DEFAULT_INSTANCE "my-instance"

/* Enough for any name generate_file_name() suggests, with its NUL. */
#define GENERATE_NAME_MAX 64

/**
 * generate_rule() - the text of a rule matching exactly @d.
 * @instance: Instance= (an LXD instance name: letters, digits, '-', '_',
 *            '.'); NULL for GENERATE_DEFAULT_INSTANCE plus a comment
 *            asking to change it.
 * @out_text: the rule file's text, NUL-terminated; free() it.
 *
 * Return: 0; -EINVAL for an @instance that is no instance name; -ENOMEM.
 * Both failures are logged here.
 */
int generate_rule(const struct device *d, const char *instance,
		  char **out_text);

/**
 * generate_escape() - @s as a rule value that the parser reads back
 * as one glob matching @s: '\' before "*?[]\", space and a leading '!';
 * unsafe bytes (see text.h) become '?'.
 * Return: a new string (free() it), or NULL on ENOMEM (logged).
 */
char *generate_escape(const char *s);

/**
 * generate_file_name() - a file name for @d's rule, such as
 * "50-04a9-31c0-C767F1C7.rules": vendor, product, then the serial (or the
 * port path / PCI address), only [A-Za-z0-9._-].
 * Return: @buf, or NULL when @n < GENERATE_NAME_MAX.
 */
const char *generate_file_name(const struct device *d, char *buf, size_t n);
