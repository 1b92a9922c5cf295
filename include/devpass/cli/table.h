/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: aligned text tables
 *
 * Columns sized to their widest cell (counted in characters, not bytes, so
 * tree-drawing glyphs align), two spaces apart, the last column unpadded.
 * Cells are copied; a NULL cell prints as "-".
 */

#include <stdio.h>

#include "devpass/util/common.h"

struct table;

/*
 * A table with @n_cols columns; @headers (n_cols strings) or NULL.
 * Return: the table, or NULL on ENOMEM (logged).
 */
struct table *table_new(size_t n_cols, const char *const *headers);
void table_free(struct table *t);
DEFINE_FREEP(struct table, table_free)

/* Appends a row of n_cols cells. Return: 0 or -ENOMEM (logged). */
int table_add_row(struct table *t, const char *const *cells);

/* Prints every row, each line prefixed by @indent. */
void table_print(const struct table *t, FILE *f, const char *indent);
