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

/*
 * Appends a copy of s; returns 0 or -ENOMEM. It walks @v to its end and
 * grows it by one: O(n) each, so O(n^2) for a list whose length comes from
 * outside (entries LXD holds, devices, rules): build those with a
 * struct strv_builder.
 */
int strv_push(char ***v, const char *s);

/**
 * struct strv_builder - a strv built in amortised O(1) per string.
 * @v: NULL-terminated whenever not NULL (readable while being built).
 * @n: strings in @v.
 * @cap: room in @v, its NULL included.
 *
 * Start from {0}; strv_builder_add() as many times as needed;
 * strv_builder_steal() hands the strv over; strv_builder_clear() (a
 * _cleanup_ function) frees what was not handed over.
 */
struct strv_builder {
	char **v;
	size_t n;
	size_t cap;
};

/* Makes room for @more strings beyond @b->n; returns 0 or -ENOMEM. */
int strv_builder_reserve(struct strv_builder *b, size_t more);

/* Appends a copy of @s; returns 0 or -ENOMEM (@b is left as it was). */
int strv_builder_add(struct strv_builder *b, const char *s);

/* The strv built so far (NULL when empty); @b is left empty. */
char **strv_builder_steal(struct strv_builder *b);

/* Frees the strings and the array of @b; @b is left empty. */
void strv_builder_clear(struct strv_builder *b);

/* Whether @v (NULL-terminated, or NULL) holds a string equal to @s. */
bool strv_contains(char *const *v, const char *s);

/**
 * strv_join() - the strings of @v with @sep between them ("" for NULL).
 * Return: a new string (free() it), or NULL on ENOMEM.
 */
char *strv_join(char *const *v, const char *sep);
