/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The matcher's worst case, 10,000 devices x 1,000 rules (matcher.c).
 * Prints the time per (device, rule) check; fails when the whole run
 * takes longer than DEVPASS_BENCH_MAX_MS (default 20 s, a bound only a
 * pathological matcher misses, sanitizers included).
 */
#include <stdio.h>
#include <stdlib.h>

#include "matcher.h"

int main(void)
{
	const char *max_env = getenv("DEVPASS_BENCH_MAX_MS");
	double max_ms = max_env ? strtod(max_env, NULL) : 20000;
	size_t matched;
	double ms = bench_matcher_run(&matched);

	printf("%d devices x %d rules: %.0f ms, %.1f ns per check, %zu "
	       "matched\n",
	       BENCH_N_DEVICES, BENCH_N_RULES, ms,
	       ms * 1e6 / ((double)BENCH_N_DEVICES * BENCH_N_RULES), matched);
	if (matched != 0) {
		fprintf(stderr, "expected no device to match\n");
		return 1;
	}
	if (ms > max_ms) {
		fprintf(stderr, "slower than %.0f ms\n", max_ms);
		return 1;
	}
	return 0;
}
