/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <string.h>

#include "devpass/util/strv.h"

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int strv_push(char ***v, const char *s)
{
	size_t n = strv_length(*v);
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	char **grown = realloc(*v, (n + 2) * sizeof(char *));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[n] = copy;
	grown[n + 1] = NULL;
	*v = grown;
	return 0;
}

int strv_builder_reserve(struct strv_builder *b, size_t more)
{
	if (b->cap && more <= b->cap - b->n - 1)
		return 0;
	size_t cap = b->cap ? b->cap : 8;
	while (cap - b->n - 1 < more) {
		if (cap > SIZE_MAX / 2 / sizeof(char *))
			return -ENOMEM;
		cap *= 2;
	}
	char **grown = realloc(b->v, cap * sizeof(char *));
	if (!grown)
		return -ENOMEM;
	grown[b->n] = NULL;
	b->v = grown;
	b->cap = cap;
	return 0;
}

int strv_builder_add(struct strv_builder *b, const char *s)
{
	char *copy = strdup(s);
	if (!copy || strv_builder_reserve(b, 1) < 0) {
		free(copy);
		return -ENOMEM;
	}
	b->v[b->n++] = copy;
	b->v[b->n] = NULL;
	return 0;
}

char **strv_builder_steal(struct strv_builder *b)
{
	char **v = b->v;
	*b = (struct strv_builder){0};
	return v;
}

void strv_builder_clear(struct strv_builder *b)
{
	strv_free(strv_builder_steal(b));
}

bool strv_contains(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

char *strv_join(char *const *v, const char *sep)
{
	size_t seplen = strlen(sep), len = 1;

	for (char *const *p = v; p && *p; p++)
		len += strlen(*p) + (p != v ? seplen : 0);
	char *out = malloc(len), *at = out;
	if (!out)
		return NULL;
	for (char *const *p = v; p && *p; p++) {
		if (p != v)
			at = stpcpy(at, sep);
		at = stpcpy(at, *p);
	}
	*at = '\0';
	return out;
}
