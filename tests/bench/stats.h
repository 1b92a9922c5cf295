/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SERIES_MAX 32

/* Figures of several runs; a failed run (negative) is counted apart. */
struct series {
	double v[SERIES_MAX];
	size_t n;
	size_t failed;
};

void series_add(struct series *s, double v);
double series_median(const struct series *s);
double series_min(const struct series *s);
double series_max(const struct series *s);
/* "median (min-max)" with @decimals, or "failed" / "-"; a static buffer
 * of @slot (0..7), so several fit in one printf. */
const char *series_fmt(const struct series *s, int decimals, int slot);
