/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/cli/table.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"

struct table {
	size_t n_cols;
	size_t n_rows;
	char **cells; /* n_rows * n_cols, row-major */
	size_t *widths;
};

/* Characters in @s: what a terminal gives a cell; a malformed byte is one. */
static size_t cell_width(const char *s)
{
	size_t n = 0;
	for (size_t len = strlen(s); len > 0; n++) {
		uint32_t cp;
		size_t k = text_utf8_decode(s, len, &cp);
		k = k ? k : 1;
		s += k;
		len -= k;
	}
	return n;
}

static int table_oom(void)
{
	return log_err_errno(-ENOMEM, "Out of memory building a table");
}

struct table *table_new(size_t n_cols, const char *const *headers)
{
	_cleanup_(table_freep) struct table *t = calloc(1, sizeof(*t));
	if (!t) {
		table_oom();
		return NULL;
	}
	t->n_cols = n_cols;
	t->widths = calloc(n_cols, sizeof(size_t));
	if (!t->widths) {
		table_oom();
		return NULL;
	}
	if (headers && table_add_row(t, headers) < 0)
		return NULL;
	return steal_ptr(&t);
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
	/* The copies first, so a failure leaves the table as it was. */
	_cleanup_(strv_freep) char **row = calloc(t->n_cols + 1, sizeof(*row));
	if (!row)
		return table_oom();
	for (size_t c = 0; c < t->n_cols; c++)
		if (!(row[c] = strdup(cells[c] ? cells[c] : "-")))
			return table_oom();
	size_t base = t->n_rows * t->n_cols;
	char **grown = realloc(t->cells, (base + t->n_cols) * sizeof(char *));
	if (!grown)
		return table_oom();
	t->cells = grown;
	for (size_t c = 0; c < t->n_cols; c++) {
		size_t w = cell_width(row[c]);
		if (w > t->widths[c])
			t->widths[c] = w;
		t->cells[base + c] = steal_ptr(&row[c]);
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
			size_t pad = t->widths[c] - cell_width(cell) + 2;
			fprintf(f, "%*s", (int)pad, "");
		}
		fputc('\n', f);
	}
}
