/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
