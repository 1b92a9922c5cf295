/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading many rule files: 7,500 to 60,000 files in one directory, good
 * ones and bad ones (each bad file is one error), timed by ruleset_load().
 * Prints the time per file for each size: linear loading keeps it flat as
 * the count doubles (issue 9 measured 60,000 bad files at 15.8 s). Fails
 * only when the time per file at 60,000 is more than 4 times that at
 * 7,500, a margin for a loaded machine that a quadratic loader (8 times)
 * still misses.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devpass/rules/load.h"
#include "test-util.h"

static void write_files(const char *dir, size_t n, bool bad)
{
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%06zu.rules", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		const char *text = bad ? "[Match]\nVendr=046d\n"
				       : "[Match]\nSubsystem=usb\nVendor=046d\n"
					 "[Attach]\nInstance=c1\n";
		if (fd < 0 || write(fd, text, strlen(text)) < 0)
			exit(2);
		close(fd);
	}
}

static double load_ms(const char *dir, size_t *n_rules, size_t *n_errors)
{
	char *dirs[] = {(char *)dir, NULL};
	struct ruleset *rs = NULL;
	long long t0 = now_ms();
	if (ruleset_load(dirs, &rs) < 0)
		exit(2);
	double ms = (double)(now_ms() - t0);
	*n_rules = rs->n_rules;
	*n_errors = strv_length(rs->errors);
	ruleset_free(rs);
	return ms;
}

static double run(size_t n, bool bad)
{
	char dir[] = "/tmp/devpass-bench-rules-XXXXXX";
	char cmd[128];
	size_t n_rules, n_errors;
	if (!mkdtemp(dir))
		exit(2);
	chmod(dir, 0755);
	write_files(dir, n, bad);
	double ms = load_ms(dir, &n_rules, &n_errors);
	printf("%6zu %s files: %7.0f ms, %6.1f us per file (%zu rules, %zu "
	       "errors)\n",
	       n, bad ? "bad " : "good", ms, ms * 1000 / (double)n, n_rules,
	       n_errors);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		exit(2);
	return ms / (double)n;
}

int main(void)
{
	double first = 0, last = 0;
	for (int bad = 0; bad < 2; bad++)
		for (size_t n = 7500; n <= 60000; n *= 2) {
			double per = run(n, bad);
			if (bad && n == 7500)
				first = per;
			last = per;
		}
	if (last > 4 * first) {
		fprintf(stderr, "not linear: %.1f us per bad file at 60,000, "
			"%.1f at 7,500\n", last * 1000, first * 1000);
		return 1;
	}
	return 0;
}
