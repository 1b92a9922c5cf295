/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rule files from disk: the ownership and mode checks, reading a file
 * with a cap, and the directory walk with its precedence. Parsing is
 * parse.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "devpass/rules/load.h"
#include "devpass/rules/parse.h"
#include "devpass/util/text.h"
#include "rule-internal.h"

char *const rules_default_dirs[] = {
	(char *)RULES_DIR_ETC,
	(char *)RULES_DIR_RUN,
	(char *)RULES_DIR_LIB,
	NULL,
};

/* Root, or the caller checking drafts of their own, may own what leads
 * to a rule. */
static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* Rule files decide what enters an instance: only root may write them. */
static int check_file(const char *path, const struct stat *st, char ***errors)
{
	if (!S_ISREG(st->st_mode))
		return rule_errors_add(
			errors, -EPERM, path, 1,
			"refusing rule file: not a regular file");
	if (!trusted_owner(st->st_uid))
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

/*
 * Whether the directory @path (@st) is root's alone: 0, or 1 and *@why
 * when it is not (another
 * user owns it, or group or others may write it), or -ENOMEM. A sticky
 * directory on
 * the way (/tmp) may be writable by all: only an entry's owner can
 * replace that entry, and the next directory's owner is checked in turn.
 * The rules directory itself (@last) may not.
 */
static int dir_untrusted(const char *path, const struct stat *st, bool last,
			 char **why)
{
	if (!S_ISDIR(st->st_mode))
		*why = text_printf("%s is not a directory", path);
	else if (!trusted_owner(st->st_uid))
		*why = text_printf("%s belongs to uid %u; fix with: chown "
				   "root %s",
				   path, (unsigned)st->st_uid, path);
	else if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
		 (last || !(st->st_mode & S_ISVTX)))
		*why = text_printf("%s is writable by group or others (mode "
				   "%04o); fix with: chmod go-w %s",
				   path, (unsigned)(st->st_mode & 07777), path);
	else
		return 0;
	return *why ? 1 : rule_oom();
}

/* The length of the next directory of @real to check after the first
 * @n characters ("/", "/etc", "/etc/devpass", ...). */
static size_t next_prefix(const char *real, size_t n)
{
	const char *slash = strchr(real + n + 1, '/');
	return slash ? (size_t)(slash - real) : strlen(real);
}

/* Checks each directory of the absolute path @p from / down (stat()
 * follows a symlink to what it names). Return: 0 or 1 and *@why (see
 * dir_untrusted()); -errno. */
static int check_chain(char *p, char **why)
{
	struct stat st;
	size_t len = strlen(p);
	for (size_t n = 1;; n = next_prefix(p, n)) {
		char saved = p[n];
		p[n] = '\0';
		int ret = stat(p, &st) < 0
				  ? -errno
				  : dir_untrusted(p, &st, n >= len, why);
		p[n] = saved;
		if (ret != 0 || n >= len)
			return ret;
	}
}

/*
 * Checks every directory from / down to @dir, both as written (whoever
 * may write a directory holding a symlink may change it) and with the
 * symlinks resolved (where the files really are).
 * Return: 0 with *@real (the resolved path) and *@why NULL when root
 * controls the whole path, or *@why saying which directory does not;
 * -errno when @dir cannot be resolved (-ENOENT: it does not exist).
 */
static int check_dir_path(const char *dir, char **real, char **why)
{
	_cleanup_(freep) char *r = realpath(dir, NULL);
	_cleanup_(freep) char *written = NULL;
	*why = NULL;
	if (!r)
		return -errno;
	int ret = check_chain(r, why);
	if (ret == 0 && dir[0] == '/' && strcmp(dir, r) != 0) {
		if (!(written = strdup(dir)))
			return rule_oom();
		ret = check_chain(written, why);
	}
	if (ret < 0)
		return ret;
	*real = steal_ptr(&r);
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

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The directory part of @path ("." for a bare name). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Refuses @path unless root controls every directory of @dir. */
static int check_parent(const char *path, const char *dir, const char *what,
			char ***errors)
{
	_cleanup_(freep) char *real = NULL, *why = NULL;
	int r = check_dir_path(dir, &real, &why);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return rule_errors_add(errors, r, path, 1,
				       "cannot open rule file: %s",
				       strerror(-r));
	if (why)
		return rule_errors_add(errors, -EPERM, path, 1,
				       "refusing rule file: %s%s, who could "
				       "then choose what enters an instance",
				       what, why);
	return 0;
}

/*
 * Where the rule file @path really is: @path, or what its symlink points
 * to, which must be a NAME.rules on a path root controls, or /dev/null.
 * Return: 0 and *@target; RULE_E_MASKED; -EPERM or -errno (reported).
 */
static int resolve(const char *path, bool check_dir, char **target,
		   char ***errors)
{
	_cleanup_(freep) char *dir = NULL, *real = NULL, *what = NULL;
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode)) {
		*target = strdup(path);
		dir = dir_of(path);
		if (!*target || !dir)
			return rule_oom();
		return check_dir ? check_parent(path, dir, "", errors) : 0;
	}
	_cleanup_(freep) char *link_dir = dir_of(path);
	if (!link_dir)
		return rule_oom();
	int r = check_dir ? check_parent(path, link_dir, "", errors) : 0;
	if (r < 0)
		return r;
	if (!(real = realpath(path, NULL)))
		return rule_errors_add(errors, -errno, path, 1,
				       "cannot open rule file: %s",
				       strerror(errno));
	if (strcmp(real, "/dev/null") == 0)
		return RULE_E_MASKED;
	if (!(dir = dir_of(real)) ||
	    !(what = text_printf("it is a symlink to %s, and ", real)))
		return rule_oom();
	r = check_parent(path, dir, what, errors);
	if (r < 0)
		return r;
	*target = steal_ptr(&real);
	return 0;
}

/* A symlink's target must be a rule file itself, not any root file. */
static int check_target_name(const char *path, const char *target,
			     char ***errors)
{
	if (strcmp(path, target) == 0 || ends_with(target, ".rules"))
		return 0;
	return rule_errors_add(errors, -EPERM, path, 1,
			       "refusing rule file: it is a symlink to %s, "
			       "which is not named NAME.rules",
			       target);
}

static int load_file(const char *path, bool check_dir, struct rule **out,
		     char ***errors)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) char *buf = NULL, *name = NULL, *target = NULL;
	struct stat st;
	size_t len = 0;
	int r = resolve(path, check_dir, &target, errors);
	if (r != 0)
		return r;
	/* O_NONBLOCK: a FIFO must not hang us before fstat() refuses it. */
	fd = open(target, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;
		return rule_errors_add(errors, -err, path, 1,
				       "cannot open rule file: %s",
				       strerror(err));
	}
	if ((r = check_file(path, &st, errors)) < 0 ||
	    (r = check_target_name(path, target, errors)) < 0)
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

int rule_load_file(const char *path, struct rule **out, char ***errors)
{
	return load_file(path, true, out, errors);
}

/*
 * A NULL-terminated list appended to in O(1) per item: the set's errors,
 * warnings and notes, however many files there are (strv_push() counts
 * the list each time).
 */
struct list {
	char ***v;
	size_t n;
	size_t cap;
};

/* Moves the strings of @items (then freed) to the end of @l. */
static int list_take(struct list *l, char **items)
{
	size_t k = strv_length(items);
	if (k == 0) {
		free(items);
		return 0;
	}
	if (l->n + k + 1 > l->cap) {
		size_t cap = 2 * (l->n + k + 1);
		char **v = reallocarray(*l->v, cap, sizeof(*v));
		if (!v) {
			strv_free(items);
			return rule_oom();
		}
		*l->v = v;
		l->cap = cap;
	}
	memcpy(*l->v + l->n, items, k * sizeof(*items));
	l->n += k;
	(*l->v)[l->n] = NULL;
	free(items);
	return 0;
}

_printf_(2, 3) static int list_add(struct list *l, const char *fmt, ...)
{
	_cleanup_(strv_freep) char **one = NULL;
	va_list ap;
	va_start(ap, fmt);
	char *msg = text_vprintf(fmt, ap);
	va_end(ap);
	if (!msg || strv_push(&one, msg) < 0) {
		free(msg);
		return rule_oom();
	}
	free(msg);
	return list_take(l, steal_ptr(&one));
}

/* A NAME.rules file found in the directory of precedence @dir. */
struct candidate {
	char *file;
	char *path;
	size_t dir;
};

/* What ruleset_load() gathers: the files, and the set's lists. */
struct loader {
	struct ruleset *rs;
	struct candidate *v;
	size_t n;
	size_t cap;
	struct list errors;
	struct list warnings;
	struct list notes;
};

static void loader_done(struct loader *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].file);
		free(l->v[i].path);
	}
	free(l->v);
}

/* Hidden files (editor leftovers) and other suffixes are not rules. */
static bool is_rule_file_name(const char *s)
{
	return s[0] != '.' && strlen(s) > 6 && ends_with(s, ".rules");
}

/* Names of files meant as rules, mistyped: 50-cam.rule, cam.conf. (A
 * file renamed 50-cam.rules.off, a README, a dot file or an editor's
 * backup was put aside on purpose.) */
static bool looks_meant_as_rule(const char *s)
{
	static const char *const suffixes[] = {".rule", ".conf", ".cfg",
					       ".ini"};
	if (s[0] == '.')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (ends_with(s, suffixes[i]))
			return true;
	return false;
}

static int candidates_add(struct loader *l, const char *dir, const char *file,
			  size_t idx)
{
	_cleanup_(freep) char *name = strdup(file);
	_cleanup_(freep) char *path = NULL;
	if (!name || asprintf(&path, "%s/%s", dir, file) < 0)
		return rule_oom();
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct candidate *v = reallocarray(l->v, cap, sizeof(*v));
		if (!v)
			return rule_oom();
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct candidate){
		.file = steal_ptr(&name),
		.path = steal_ptr(&path),
		.dir = idx,
	};
	return 0;
}

/* A file of @dir not read for its name, said so when it looks meant as
 * a rule. */
static int ignored_file(struct loader *l, const char *dir,
			const struct dirent *de)
{
	if (!looks_meant_as_rule(de->d_name) || de->d_type == DT_DIR)
		return 0;
	return list_add(&l->warnings,
			"%s/%s: ignored: only files named NAME.rules are "
			"read",
			dir, de->d_name);
}

static int collect_entries(struct loader *l, const char *dir, size_t idx)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d)
		return list_add(&l->errors,
				"%s:0: cannot read rules "
				"directory: %s",
				dir, strerror(errno));
	for (struct dirent *de; (de = readdir(d));) {
		int r = is_rule_file_name(de->d_name)
				? candidates_add(l, dir, de->d_name, idx)
				: ignored_file(l, dir, de);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A directory that does not exist is skipped (devpass check says so for
 * one given on its command line); one that root does not control is
 * refused whole; neither is a failure. */
static int collect_dir(struct loader *l, const char *dir, size_t idx)
{
	_cleanup_(freep) char *real = NULL, *why = NULL;
	int r = check_dir_path(dir, &real, &why);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return list_add(&l->errors,
				"%s:0: cannot read rules "
				"directory: %s",
				dir, strerror(-r));
	if (why) {
		l->rs->n_refused++;
		return list_add(&l->errors,
				"%s:0: refusing rules directory: %s, who "
				"could then choose what enters an instance; "
				"none of its files is read",
				dir, why);
	}
	return collect_entries(l, dir, idx);
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

/* Loads one candidate: its rule into the set, its messages into the
 * lists. A refused file costs only itself. */
static int load_candidate(struct loader *l, const struct candidate *c)
{
	_cleanup_(rule_freep) struct rule *r = NULL;
	char **errors = NULL;
	int ret = load_file(c->path, false, &r, &errors);
	if (ret == -EPERM)
		l->rs->n_refused += strv_length(errors);
	if (list_take(&l->errors, errors) < 0 || ret == -ENOMEM)
		return -ENOMEM;
	if (r && list_take(&l->warnings, steal_ptr(&r->warnings)) < 0)
		return -ENOMEM;
	return r ? ruleset_add(l->rs, &r) : 0;
}

/* Loads the first candidate of each name; the others are hidden by it. */
static int load_candidates(struct loader *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct candidate *c = &l->v[i];
		size_t first = i;
		while (first > 0 && strcmp(l->v[first - 1].file, c->file) == 0)
			first--;
		int r = first == i ? load_candidate(l, c)
				   : list_add(&l->notes,
					      "%s: not read: %s has its name "
					      "and comes first",
					      c->path, l->v[first].path);
		if (r < 0)
			return r;
	}
	return 0;
}

int ruleset_load(char *const *dirs, struct ruleset **out)
{
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	int r = ruleset_new(&rs);
	if (r < 0)
		return r;
	_cleanup_(loader_done) struct loader l = {
		.rs = rs,
		.errors = {.v = &rs->errors},
		.warnings = {.v = &rs->warnings},
		.notes = {.v = &rs->notes},
	};
	for (size_t i = 0; dirs && dirs[i]; i++)
		if (collect_dir(&l, dirs[i], i) < 0)
			return -ENOMEM;
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), candidate_cmp);
	r = load_candidates(&l);
	if (r < 0)
		return r;
	*out = steal_ptr(&rs);
	return 0;
}
