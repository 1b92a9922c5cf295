/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/cli/table.h"

struct table {
	size_t n_cols;
	size_t n_rows;
	char **cells; /* n_rows * n_cols, row-major */
	size_t *widths;
};

size_t utf8_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

struct table *table_new(size_t n_cols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n_cols = n_cols;
	t->widths = calloc(n_cols, sizeof(size_t));
	if (!t->widths || (headers && table_add_row(t, headers) < 0)) {
		table_free(t);
		return NULL;
	}
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->widths);
	free(t);
}

int table_add_row(struct table *t, const char *const *cells)
{
	size_t base = t->n_rows * t->n_cols;
	char **grown = realloc(t->cells, (base + t->n_cols) * sizeof(char *));
	if (!grown)
		return -ENOMEM;
	t->cells = grown;
	for (size_t c = 0; c < t->n_cols; c++) {
		t->cells[base + c] = strdup(cells[c] ? cells[c] : "-");
		if (!t->cells[base + c]) {
			for (size_t k = 0; k < c; k++)
				free(t->cells[base + k]);
			return -ENOMEM;
		}
		size_t w = utf8_width(t->cells[base + c]);
		if (w > t->widths[c])
			t->widths[c] = w;
	}
	t->n_rows++;
	return 0;
}

void table_print(const struct table *t, FILE *f, const char *indent)
{
	for (size_t r = 0; r < t->n_rows; r++) {
		fputs(indent ? indent : "", f);
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *cell = t->cells[r * t->n_cols + c];
			fputs(cell, f);
			if (c + 1 == t->n_cols)
				break;
			size_t pad = t->widths[c] - utf8_width(cell) + 2;
			fprintf(f, "%*s", (int)pad, "");
		}
		fputc('\n', f);
	}
}
