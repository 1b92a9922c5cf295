/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

void series_add(struct series *s, double v)
{
	if (v < 0)
		s->failed++;
	else if (s->n < SERIES_MAX)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double series_median(const struct series *s)
{
	double v[SERIES_MAX];

	if (!s->n)
		return -1;
	memcpy(v, s->v, s->n * sizeof(*v));
	qsort(v, s->n, sizeof(*v), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

double series_min(const struct series *s)
{
	double m = s->n ? s->v[0] : -1;
	for (size_t i = 1; i < s->n; i++)
		m = s->v[i] < m ? s->v[i] : m;
	return m;
}

double series_max(const struct series *s)
{
	double m = s->n ? s->v[0] : -1;
	for (size_t i = 1; i < s->n; i++)
		m = s->v[i] > m ? s->v[i] : m;
	return m;
}

const char *series_fmt(const struct series *s, int decimals, int slot)
{
	static char buf[8][64];
	char *b = buf[slot & 7];
	int len;

	if (!s->n)
		return s->failed ? "failed" : "-";
	if (s->n == 1 || series_min(s) == series_max(s))
		len = snprintf(b, 64, "%.*f", decimals, series_median(s));
	else
		len = snprintf(b, 64, "%.*f (%.*f-%.*f)", decimals, series_median(s),
			       decimals, series_min(s), decimals, series_max(s));
	if (s->failed && len > 0 && len < 48)
		snprintf(b + len, 64 - (size_t)len, " [%zu failed]", s->failed);
	return b;
}
