/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers shared by the rule tests: temporary directories and files with
 * exact modes, and error-list assertions that print the whole list when
 * they fail.
 */

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "devpass/rules/load.h"
#include "devpass/rules/parse.h"

static inline void tu_print_errors(char **errors)
{
	for (char **e = errors; e && *e; e++)
		print_message("  error: %s\n", *e);
}

/* Fails unless some entry of @errors equals @expected. */
static inline void tu_assert_error(char **errors, const char *expected)
{
	for (char **e = errors; e && *e; e++)
		if (strcmp(*e, expected) == 0)
			return;
	print_message("expected error: %s\n", expected);
	tu_print_errors(errors);
	fail();
}

/* Fails unless some entry starts with @prefix and contains @part. */
static inline void tu_assert_error_like(char **errors, const char *prefix,
					const char *part)
{
	for (char **e = errors; e && *e; e++)
		if (strncmp(*e, prefix, strlen(prefix)) == 0 &&
		    strstr(*e + strlen(prefix), part))
			return;
	print_message("expected error: %s...%s...\n", prefix, part);
	tu_print_errors(errors);
	fail();
}

static inline int tu_rm_one(const char *path, const struct stat *st, int type,
			    struct FTW *ftw)
{
	return remove(path);
}

static inline void tu_rm_rf(const char *dir)
{
	nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under $TMPDIR; the caller tu_rm_rf()s and frees it. */
static inline char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;
	assert_true(
	    asprintf(&dir, "%s/devpass-rules-XXXXXX", tmp ? tmp : "/tmp") > 0);
	assert_non_null(mkdtemp(dir));
	return dir;
}

/* Writes @len bytes to DIR/NAME with exactly @mode (whatever the umask). */
static inline char *tu_write(const char *dir, const char *name, const char *buf,
			     size_t len, mode_t mode)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static inline char *tu_write_str(const char *dir, const char *name,
				 const char *text, mode_t mode)
{
	return tu_write(dir, name, text, strlen(text), mode);
}

/* Reads a whole (small) file; *len gets its size. */
static inline char *tu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char *buf = malloc(RULE_FILE_MAX + 2);
	assert_non_null(buf);
	*len = fread(buf, 1, RULE_FILE_MAX + 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}
