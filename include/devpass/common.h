/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: error contract and cleanup helpers
 *
 * Every fallible function returns an int: 0 on success, a negative errno on
 * failure (forwarded unchanged by callers), and where documented a positive
 * code for an expected, non-error outcome (for instance "no match").
 * A failure is logged once, where it happens, never again by the callers
 * that forward it.
 *
 * Owned resources are declared with _cleanup_(x_freep) and handed over
 * with steal_ptr() at the end, so every early return frees them.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define _nonnull_      __attribute__((nonnull))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Defines NAMEp(T **) that calls NAME(*p) when *p is not NULL. */
#define DEFINE_FREEP(type, name)                                               \
	static inline void name##p(type **p)                                   \
	{                                                                      \
		if (*p)                                                        \
			name(*p);                                              \
	}

/* Returns *pp and clears it: ownership moves to the caller. */
#define steal_ptr(pp)                                                          \
	({                                                                     \
		__typeof__(*(pp)) _tmp = *(pp);                                \
		*(pp) = NULL;                                                  \
		_tmp;                                                          \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

/* Returns *fd and sets it to -1: ownership moves to the caller. */
static inline int steal_fd(int *fd)
{
	int tmp = *fd;
	*fd = -1;
	return tmp;
}

/* Frees a NULL-terminated array of strings and the array itself. */
void strv_free(char **v);
DEFINE_FREEP(char *, strv_free)

/* Number of entries of a NULL-terminated array (0 for NULL). */
size_t strv_length(char *const *v);

/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_push(char ***v, const char *s);

/* Whether @v (NULL-terminated, or NULL) holds a string equal to @s. */
bool strv_contains(char *const *v, const char *s);

static inline int streq_ptr(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && __builtin_strcmp(a, b) == 0);
}
