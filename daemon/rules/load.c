/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rule files from disk: the ownership and mode checks, reading a file
 * with a cap, and the directory walk with its precedence. Parsing is
 * parse.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "devpass/rules/load.h"
#include "devpass/rules/parse.h"
#include "rule-internal.h"

char *const rules_default_dirs[] = {
	(char *)RULES_DIR_ETC,
	(char *)RULES_DIR_RUN,
	(char *)RULES_DIR_LIB,
	NULL,
};

/* Rule files decide what enters an instance: only root may write them. */
static int check_file(const char *path, const struct stat *st, char ***errors)
{
	if (!S_ISREG(st->st_mode))
		return rule_errors_add(
			errors, -EPERM, path, 1,
			"refusing rule file: not a regular file");
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return rule_errors_add(errors, -EPERM, path, 1,
				       "refusing rule file owned by uid %u: "
				       "rule files must belong to root; fix "
				       "with: chown root %s",
				       (unsigned)st->st_uid, path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return rule_errors_add(errors, -EPERM, path, 1,
				       "refusing rule file with mode %04o: it "
				       "is writable by group or others, who "
				       "could then choose what enters an "
				       "instance; fix with: chmod go-w %s",
				       (unsigned)(st->st_mode & 07777), path);
	return 0;
}

/* Reads at most @max bytes (one more tells the parser it is too big). */
static int read_capped(int fd, size_t max, char **out, size_t *len)
{
	_cleanup_(freep) char *buf = malloc(max);
	size_t n = 0;

	if (!buf)
		return rule_oom();
	while (n < max) {
		ssize_t k = read(fd, buf + n, max - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*out = steal_ptr(&buf);
	*len = n;
	return 0;
}

/* NAME of ".../NAME.rules". */
static char *rule_name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n >= 6 && strcmp(base + n - 6, ".rules") == 0)
		n -= 6;
	return strndup(base, n);
}

int rule_load_file(const char *path, struct rule **out, char ***errors)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) char *buf = NULL;
	_cleanup_(freep) char *name = NULL;
	struct stat st;
	size_t len = 0;

	/* O_NONBLOCK: a FIFO must not hang us before fstat() refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;
		return rule_errors_add(errors, -err, path, 1,
				       "cannot open rule file: %s",
				       strerror(err));
	}
	int r = check_file(path, &st, errors);
	if (r < 0)
		return r;
	r = read_capped(fd, RULE_FILE_MAX + 1, &buf, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return rule_errors_add(errors, r, path, 1,
				       "cannot read rule file: %s",
				       strerror(-r));
	name = rule_name_from_path(path);
	if (!name)
		return rule_oom();
	return rule_parse(name, path, buf, len, out, errors);
}

/* A NAME.rules file found in the directory of precedence @dir. */
struct candidate {
	char *file;
	char *path;
	size_t dir;
};

struct candidates {
	struct candidate *v;
	size_t n;
};

static void candidates_done(struct candidates *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].file);
		free(c->v[i].path);
	}
	free(c->v);
}

/* Hidden files (editor leftovers) and other suffixes are not rules. */
static bool is_rule_file_name(const char *s)
{
	size_t n = strlen(s);
	return s[0] != '.' && n > 6 && strcmp(s + n - 6, ".rules") == 0;
}

static int candidates_add(struct candidates *c, const char *dir,
			  const char *file, size_t idx)
{
	_cleanup_(freep) char *name = strdup(file);
	_cleanup_(freep) char *path = NULL;
	if (!name || asprintf(&path, "%s/%s", dir, file) < 0)
		return rule_oom();
	struct candidate *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return rule_oom();
	c->v = v;
	c->v[c->n++] = (struct candidate){
		.file = steal_ptr(&name),
		.path = steal_ptr(&path),
		.dir = idx,
	};
	return 0;
}

/* A directory that cannot be read is an error of the set, not a failure. */
static int collect_dir(struct candidates *c, const char *dir, size_t idx,
		       char ***errors)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return rule_errors_add(errors, 0, dir, 0,
				       "cannot read rules directory: %s",
				       strerror(errno));
	}
	for (struct dirent *de; (de = readdir(d));)
		if (is_rule_file_name(de->d_name) &&
		    candidates_add(c, dir, de->d_name, idx) < 0)
			return -ENOMEM;
	return 0;
}

/* By file name, then by directory precedence: the first of a name wins. */
static int candidate_cmp(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	int r = strcmp(x->file, y->file);
	if (r)
		return r;
	return x->dir < y->dir ? -1 : x->dir > y->dir;
}

/* Loads the first candidate of each name; the others are hidden by it. */
static int load_candidates(struct ruleset *rs, const struct candidates *c)
{
	for (size_t i = 0; i < c->n; i++) {
		_cleanup_(rule_freep) struct rule *r = NULL;
		if (i > 0 && strcmp(c->v[i].file, c->v[i - 1].file) == 0)
			continue;
		int ret = rule_load_file(c->v[i].path, &r, &rs->errors);
		if (ret == -ENOMEM || (r && ruleset_add(rs, &r) < 0))
			return -ENOMEM;
	}
	return 0;
}

int ruleset_load(char *const *dirs, struct ruleset **out)
{
	_cleanup_(candidates_done) struct candidates c = {0};
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	int r = ruleset_new(&rs);
	if (r < 0)
		return r;
	for (size_t i = 0; dirs && dirs[i]; i++)
		if (collect_dir(&c, dirs[i], i, &rs->errors) < 0)
			return -ENOMEM;
	if (c.n > 0)
		qsort(c.v, c.n, sizeof(*c.v), candidate_cmp);
	r = load_candidates(rs, &c);
	if (r < 0)
		return r;
	*out = steal_ptr(&rs);
	return 0;
}
