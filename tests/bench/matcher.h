/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#define BENCH_N_DEVICES 10000
#define BENCH_N_RULES 1000

/*
 * bench_matcher_run() - build BENCH_N_DEVICES devices and BENCH_N_RULES
 * rules no device matches, and time match_ruleset() over all devices.
 * @matched: how many devices matched (0 when the matcher is right).
 * Return: the matching time in ms (building the structs not included).
 */
double bench_matcher_run(size_t *matched);
