/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * testbed-shell: a umockdev testbed driven by commands on stdin, for the
 * demo (tests/demo.sh) and the benchmark. Run it under
 * LD_PRELOAD=libumockdev-preload.so.0; the programs it starts see the
 * testbed's devices and receive its uevents.
 *
 *   load FILE                     add a recording (tests/data/FILE)
 *   plug PORT VVVV:PPPP [SERIAL]  add a USB device on bus 1 (sends "add")
 *   unplug PORT                   send "remove" and take the device away
 *   start CMD ARGS...             start a program in the background
 *   run CMD ARGS...               run a program in the testbed and wait
 *   host CMD ARGS...              run a program outside the testbed (lxc)
 *   sleep MS | echo TEXT          pace and narrate
 * At the end of input the started programs get SIGTERM.
 */
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"
#include "testbed.h"

#define MAX_ARGS 32
#define MAX_STARTED 8

static UMockdevTestbed *tb;
static pid_t started[MAX_STARTED];
static size_t n_started;
static unsigned next_devnum = 100;

static pid_t spawn(char **argv, bool in_testbed)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (!in_testbed) {
			unsetenv("LD_PRELOAD");
			unsetenv("UMOCKDEV_DIR");
		}
		execvp(argv[0], argv);
		fprintf(stderr, "testbed-shell: cannot run %s\n", argv[0]);
		_exit(127);
	}
	return pid;
}

static int wait_for(pid_t pid)
{
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0)
		;
	return status;
}

static void plug(char **argv)
{
	unsigned vendor, product;
	if (!argv[1] || !argv[2] || sscanf(argv[2], "%x:%x", &vendor, &product) != 2) {
		fprintf(stderr, "testbed-shell: plug PORT VVVV:PPPP [SERIAL]\n");
		return;
	}
	const struct testbed_usb u = {
		.port = argv[1], .vendor = (uint16_t)vendor,
		.product = (uint16_t)product, .serial = argv[3],
		.busnum = 1, .devnum = next_devnum++, .interface_class = -1,
	};
	g_free(testbed_add_usb_device(tb, &u));
}

static const char *wanted_port;
static char found_path[4096];

static int find_port(const char *path, const struct stat *st, int type, struct FTW *f)
{
	const char *base = path + f->base;
	if (type == FTW_D && strcmp(base, wanted_port) == 0) {
		snprintf(found_path, sizeof(found_path), "%s", path);
		return 1;
	}
	return 0;
}

/* The syspath (/sys/...) of the USB device at @port in the testbed. */
static bool port_syspath(const char *port, char *out, size_t n)
{
	const char *root = umockdev_testbed_get_root_dir(tb);
	char devices[4096];
	snprintf(devices, sizeof(devices), "%s/sys/devices", root);
	wanted_port = port;
	found_path[0] = '\0';
	if (nftw(devices, find_port, 32, FTW_PHYS) != 1)
		return false;
	snprintf(out, n, "%s", found_path + strlen(root));
	return true;
}

static void unplug(const char *port)
{
	char syspath[4096];
	if (!port || !port_syspath(port, syspath, sizeof(syspath))) {
		fprintf(stderr, "testbed-shell: no device at port %s\n", port ? port : "?");
		return;
	}
	umockdev_testbed_uevent(tb, syspath, "remove");
	umockdev_testbed_remove_device(tb, syspath);
}

static void command(char **argv, char *rest)
{
	if (strcmp(argv[0], "load") == 0 && argv[1])
		testbed_load(tb, argv[1]);
	else if (strcmp(argv[0], "plug") == 0)
		plug(argv);
	else if (strcmp(argv[0], "unplug") == 0)
		unplug(argv[1]);
	else if (strcmp(argv[0], "start") == 0 && argv[1] && n_started < MAX_STARTED)
		started[n_started++] = spawn(argv + 1, true);
	else if (strcmp(argv[0], "run") == 0 && argv[1])
		wait_for(spawn(argv + 1, true));
	else if (strcmp(argv[0], "host") == 0 && argv[1])
		wait_for(spawn(argv + 1, false));
	else if (strcmp(argv[0], "sleep") == 0 && argv[1])
		sleep_ms(atoi(argv[1]));
	else if (strcmp(argv[0], "echo") == 0)
		printf("%s\n", rest ? rest : "");
	else
		fprintf(stderr, "testbed-shell: unknown command %s\n", argv[0]);
	fflush(stdout);
}

int main(void)
{
	char line[4096];
	tb = testbed_new();
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		char *rest = strchr(line, ' ') ? strchr(line, ' ') + 1 : NULL;
		char *copy = strdup(line), *argv[MAX_ARGS + 1] = {0}, *save = NULL;
		size_t n = 0;
		for (char *t = strtok_r(copy, " \t", &save); t && n < MAX_ARGS;
		     t = strtok_r(NULL, " \t", &save))
			argv[n++] = t;
		if (n && argv[0][0] != '#')
			command(argv, rest);
		free(copy);
	}
	for (size_t i = 0; i < n_started; i++) {
		kill(started[i], SIGTERM);
		wait_for(started[i]);
	}
	g_object_unref(tb);
	return 0;
}
