/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: NULL-terminated arrays of strings
 */

#include <stdbool.h>
#include <stddef.h>

#include "devpass/util/cleanup.h"

/* Iterates @s (char **) over the strings of @v (NULL-terminated, or NULL). */
#define STRV_FOREACH(s, v) for (char **s = (char **)(v); s && *s; s++)

/* Frees a NULL-terminated array of strings and the array itself. */
void strv_free(char **v);
DEFINE_FREEP(char *, strv_free)

/* Number of entries of a NULL-terminated array (0 for NULL). */
size_t strv_length(char *const *v);

/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_push(char ***v, const char *s);

/* Whether @v (NULL-terminated, or NULL) holds a string equal to @s. */
bool strv_contains(char *const *v, const char *s);

/**
 * strv_join() - the strings of @v with @sep between them ("" for NULL).
 * Return: a new string (free() it), or NULL on ENOMEM.
 */
char *strv_join(char *const *v, const char *sep);
