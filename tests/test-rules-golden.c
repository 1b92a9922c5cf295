/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Golden rule files, loaded the way the daemon loads them (ruleset_load):
 * - tests/rules/good/: all load, no errors, and together use every key;
 * - tests/rules/bad/: each fails with the message its first line names
 *   ("# expect: LINE: text") or its NAME.expect file holds;
 * - files git cannot keep (modes, NUL bytes, a 1 MiB line) are written
 *   here at run time and checked the same way;
 * - rules/: the shipped examples all load.
 * Files are copied into a temporary directory with mode 0644 first, so a
 * checkout made under a loose umask does not trip the permission check.
 */
#include <dirent.h>

#include "devpass/rules/load.h"
#include "rules-test-util.h"
#include "test-util.h"

/* What one file must produce: "LINE: text" as in the "# expect:" line. */
struct expect {
	char *name;
	char *expect;
};

struct expect_list {
	struct expect v[128];
	size_t n;
};

static char *source_path(const char *rel)
{
	const char *src = getenv("DEVPASS_SOURCE_DIR");
	char *p = NULL;
	assert_non_null(src); /* set by tests/meson.build */
	assert_true(asprintf(&p, "%s/%s", src, rel) > 0);
	return p;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The expectation of SRC/NAME: NAME.expect, else the first line. */
static char *read_expectation(const char *src, const char *name,
			      const char *text)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/%.*s.expect", src,
		 (int)(strlen(name) - strlen(".rules")), name);
	char *e = access(path, F_OK) == 0 ? tu_read(path, &len) : NULL;
	if (!e) {
		if (strncmp(text, "# expect: ", 10) != 0) {
			print_message("%s/%s: no '# expect:' line\n", src,
				      name);
			fail();
		}
		e = strndup(text + 10, strcspn(text + 10, "\n"));
	}
	e[strcspn(e, "\n")] = '\0';
	return e;
}

/* Copies every *.rules of @src into @dst (0644); returns how many. */
static size_t copy_rules(const char *src, const char *dst,
			 struct expect_list *expects)
{
	DIR *d = opendir(src);
	size_t n = 0;
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));) {
		if (!has_suffix(de->d_name, ".rules"))
			continue;
		char path[4096];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", src, de->d_name);
		char *text = tu_read(path, &len);
		free(tu_write(dst, de->d_name, text, len, 0644));
		if (expects) {
			assert_true(expects->n < ARRAY_SIZE(expects->v));
			expects->v[expects->n++] = (struct expect){
			    strdup(de->d_name),
			    read_expectation(src, de->d_name, text)};
		}
		free(text);
		n++;
	}
	closedir(d);
	return n;
}

/* Some error reads "DIR/NAME:LINE: ...text..." for "LINE: text". */
static void assert_expected(char **errors, const char *dir,
			    const struct expect *e)
{
	char prefix[4096];
	const char *text = strstr(e->expect, ": ");
	assert_non_null(text);
	snprintf(prefix, sizeof(prefix), "%s/%s:%.*s: ", dir, e->name,
		 (int)(text - e->expect), e->expect);
	print_message("%s: expect %s\n", e->name, e->expect);
	tu_assert_error_like(errors, prefix, text + 2);
}

static struct ruleset *load_dir(const char *dir)
{
	char *dirs[] = {(char *)dir, NULL};
	struct ruleset *rs = NULL;
	assert_int_equal(ruleset_load(dirs, &rs), 0);
	return rs;
}

/* Every file is refused, for the reason it names, and nothing else. */
static void check_bad_dir(const char *dir, struct expect_list *expects)
{
	struct ruleset *rs = load_dir(dir);
	assert_int_equal(rs->n_rules, 0);
	for (size_t i = 0; i < expects->n; i++) {
		assert_expected(rs->errors, dir, &expects->v[i]);
		free(expects->v[i].name);
		free(expects->v[i].expect);
	}
	ruleset_free(rs);
}

static void each_bad_file_fails_with_its_expected_message(void **state)
{
	char *src = source_path("tests/rules/bad");
	char *dir = tu_mkdtemp();
	struct expect_list expects = {0};

	size_t n = copy_rules(src, dir, &expects);
	assert_true(n >= 10);
	check_bad_dir(dir, &expects);
	tu_rm_rf(dir);
	free(dir);
	free(src);
}

static void add_generated(struct expect_list *l, const char *dir,
			  const char *name, const char *buf, size_t len,
			  mode_t mode, const char *expect)
{
	free(tu_write(dir, name, buf, len, mode));
	l->v[l->n++] = (struct expect){strdup(name), strdup(expect)};
}

static void unkeepable_bad_files_fail_with_their_message(void **state)
{
	static const char good[] = "[Match]\nSubsystem=usb\n"
				   "[Attach]\nInstance=c1\n";
	static const char nul[] = "[Match]\nSubsystem=usb\nName=a\0b\n"
				  "[Attach]\nInstance=c1\n";
	char *dir = tu_mkdtemp();
	struct expect_list l = {0};
	size_t big = 1024 * 1024 + 64;
	char *text = malloc(big);
	assert_non_null(text);

	/* One 1 MiB line: refused by size before any line is looked at. */
	memset(text, 'a', big);
	memcpy(text, "[Match]\nName=", 13);
	add_generated(&l, dir, "mib-line.rules", text, big, 0644,
		      "1: rule file too large (more than 65536 bytes)");
	/* A long line in a file of acceptable size. */
	memcpy(text, "[Match]\nSubsystem=usb\nName=", 27);
	memcpy(text + 27 + 5000, "\n", 1);
	add_generated(&l, dir, "long-line.rules", text, 27 + 5001, 0644,
		      "3: line too long (more than 4096 bytes)");
	add_generated(&l, dir, "nul.rules", nul, sizeof(nul) - 1, 0644,
		      "3: NUL byte in line");
	add_generated(&l, dir, "world-writable.rules", good, strlen(good), 0666,
		      "1: refusing rule file with mode 0666");
	add_generated(&l, dir, "world-writable2.rules", good, strlen(good),
		      0602, "1: fix with: chmod go-w ");
	add_generated(&l, dir, "group-writable.rules", good, strlen(good), 0664,
		      "1: refusing rule file with mode 0664");
	add_generated(&l, dir, "bad name!.rules", good, strlen(good), 0644,
		      "1: bad rule name \"bad name!\"");
	check_bad_dir(dir, &l);
	free(text);
	tu_rm_rf(dir);
	free(dir);
}

/* Which keys and non-default [Attach] values a rule set uses. */
static unsigned coverage(const struct ruleset *rs)
{
	unsigned seen = 0, bit = _MATCH_KEY_MAX;
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule *r = rs->rules[i];
		for (size_t t = 0; t < r->n_terms; t++)
			seen |= 1u << r->terms[t].key;
		seen |= (r->subsystem == RULE_SUBSYSTEM_PCI) << MATCH_SUBSYSTEM;
		seen |= (strv_length(r->instances) > 1) << bit;
		seen |= (strcmp(r->project, "default") != 0) << (bit + 1);
		seen |= (r->nodes != NODE_USB) << (bit + 2);
		seen |= (r->mode != NULL) << (bit + 3);
		seen |= (r->uid >= 0) << (bit + 4);
		seen |= (r->gid >= 0) << (bit + 5);
		seen |= (r->iommu == IOMMU_POLICY_WHOLE) << (bit + 6);
		seen |= (r->iommu == IOMMU_POLICY_IGNORE) << (bit + 7);
		seen |= r->allow_privileged << (bit + 8);
	}
	return seen;
}

static void good_files_load_and_use_every_key(void **state)
{
	char *src = source_path("tests/rules/good");
	char *dir = tu_mkdtemp();
	size_t n = copy_rules(src, dir, NULL);

	struct ruleset *rs = load_dir(dir);
	tu_print_errors(rs->errors);
	assert_null(rs->errors);
	assert_int_equal(rs->n_rules, n);
	assert_true(n >= 5);
	/* Together they use every key, both subsystems and every option. */
	assert_int_equal(coverage(rs), (1u << (_MATCH_KEY_MAX + 9)) - 1);
	ruleset_free(rs);
	tu_rm_rf(dir);
	free(dir);
	free(src);
}

static void shipped_examples_all_load(void **state)
{
	static const char *const required[] = {
	    "40-lab-phone-by-serial", "50-kiosk-touchscreen", "50-kiosk-webcam",
	    "50-smartcard-reader",    "60-gpu-to-vm",
	};
	char *src = source_path("rules");
	char *dir = tu_mkdtemp();
	size_t n = copy_rules(src, dir, NULL);

	struct ruleset *rs = load_dir(dir);
	tu_print_errors(rs->errors);
	assert_null(rs->errors);
	assert_int_equal(rs->n_rules, n);
	assert_true(n >= ARRAY_SIZE(required));
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		size_t j = 0;
		while (j < rs->n_rules &&
		       strcmp(rs->rules[j]->name, required[i]) != 0)
			j++;
		if (j == rs->n_rules)
			print_message("missing example %s\n", required[i]);
		assert_true(j < rs->n_rules);
	}
	ruleset_free(rs);
	tu_rm_rf(dir);
	free(dir);
	free(src);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_files_load_and_use_every_key),
	    cmocka_unit_test(each_bad_file_fails_with_its_expected_message),
	    cmocka_unit_test(unkeepable_bad_files_fail_with_their_message),
	    cmocka_unit_test(shipped_examples_all_load),
	};
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
