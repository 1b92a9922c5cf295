/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The private server of tests/lxd-harness.h leaves nothing behind: a test
 * program killed with SIGKILL (nothing of it can run) leaves its LXD or
 * Incus running, and the next start of tests/lxd/lxd-env.sh stops and
 * removes it: its daemon, its containers, its mounts and its directory.
 * Run against the server $DEVPASS_SERVER names, as meson's two entries of
 * this program set it.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lxd-harness.h"
#include "test-util.h"

/* How many live processes name @dir in their command line (the daemon,
 * its container monitors); zombies have none. */
static unsigned processes_under(const char *dir)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	unsigned n = 0;
	while (proc && (e = readdir(proc))) {
		char path[300], cmd[4096];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[len] = '\0';
		n += strstr(cmd, dir) != NULL;
	}
	if (proc)
		closedir(proc);
	return n;
}

static bool mounted_under(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	bool found = false;
	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, dir) != NULL;
	if (f)
		fclose(f);
	return found;
}

static bool dir_gone(void *dir)
{
	struct stat st;
	return stat(dir, &st) < 0;
}

/* A test program that starts its server with a container, says where,
 * and is then killed with SIGKILL; returns the directory it left. */
static void start_and_die(enum lxd_harness_server server, char *dir, size_t size)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static struct lxd_harness h;
		close(p[0]);
		if (lxd_harness_start_server(&h, server, (const char *[]){"c1", NULL}) < 0)
			_exit(1);
		if (write(p[1], h.dir, strlen(h.dir)) < 0)
			_exit(1);
		close(p[1]);
		pause();
		_exit(0);
	}
	close(p[1]);
	ssize_t n = read(p[0], dir, size - 1);
	close(p[0]);
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(n > 0);
	dir[n] = '\0';
}

static void killed_programs_server_is_swept_by_the_next_start(void **state)
{
	enum lxd_harness_server server;
	static struct lxd_harness next; /* at_exit_or_kill() keeps its address */
	char stale[64];
	struct stat st;

	assert_int_equal(lxd_harness_server_from_env(&server), 0);
	start_and_die(server, stale, sizeof(stale));
	/* Not asserted: any start on this machine (other test programs run
	 * beside this one) may sweep it from now on. */
	print_message("%s left by a killed test program in %s: %s, %u "
		      "processes\n",
		      lxd_harness_server_name(server), stale,
		      stat(stale, &st) == 0 ? "there" : "swept already",
		      processes_under(stale));

	assert_int_equal(lxd_harness_start_server(&next, server, NULL), 0);
	/* another start's sweep may be the one that won; it ends soon */
	assert_true(wait_until(dir_gone, stale, 30000));
	assert_int_equal(processes_under(stale), 0);
	assert_false(mounted_under(stale));
	/* and the one that swept it is not taken for stale by itself */
	assert_int_equal(stat(next.socket, &st), 0);
	lxd_harness_stop(&next);
	assert_int_equal(stat(next.dir, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_programs_server_is_swept_by_the_next_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
