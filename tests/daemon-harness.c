/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "daemon-harness.h"
#include "devpass/service/control.h"
#include "devpass/lxd/client.h"

#define POLL_MS 20

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void daemon_harness_init(struct daemon_harness *d, const struct lxd_harness *lxd)
{
	*d = (struct daemon_harness){.lxd = lxd, .pid = -1};
	snprintf(d->dir, sizeof(d->dir), "/tmp/devpassd-test-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->rules_dir, sizeof(d->rules_dir), "%s/rules.d", d->dir);
	snprintf(d->control, sizeof(d->control), "%s/control", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/devpassd.log", d->dir);
	assert_int_equal(mkdir(d->rules_dir, 0755), 0);
	assert_int_equal(lxd_client_new(lxd->socket, &d->client), 0);
}

void daemon_harness_cleanup(struct daemon_harness *d)
{
	if (d->pid > 0)
		daemon_stop(d, SIGKILL);
	lxd_client_free(d->client);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", d->dir);
}

void daemon_write_rule(struct daemon_harness *d, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.rules", d->rules_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}

void daemon_remove_rule(struct daemon_harness *d, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.rules", d->rules_dir, name);
	assert_int_equal(unlink(path), 0);
}

static pid_t spawn(struct daemon_harness *d, const char *const *extra)
{
	char bin[4096];
	snprintf(bin, sizeof(bin), "%s/daemon/devpassd",
		 getenv("DEVPASS_BUILD_DIR") ?: ".");
	const char *argv[24] = {bin, "--rules-dir", d->rules_dir, "--socket",
				d->lxd->socket, "--control", d->control,
				"--log-level", "debug"};
	size_t n = 9;
	for (size_t i = 0; extra && extra[i] && n < 23; i++)
		argv[n++] = extra[i];
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Dies with a test that aborts, instead of outliving it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

void daemon_start(struct daemon_harness *d, const char *const *extra, bool wait_ready)
{
	d->pid = spawn(d, extra);
	long long deadline = now_ms() + 10000;
	while (wait_ready && now_ms() < deadline) {
		json_object *reply = NULL;
		if (control_request(d->control, "status", &reply) == 0) {
			json_object_put(reply);
			return;
		}
		sleep_ms(POLL_MS);
	}
	if (wait_ready)
		fail_msg("devpassd did not answer on %s (log: %s)", d->control, d->log);
}

static int wait_exit(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int daemon_stop(struct daemon_harness *d, int sig)
{
	kill(d->pid, sig);
	int status = wait_exit(d->pid);
	d->pid = -1;
	return status;
}

int daemon_run(struct daemon_harness *d, const char *const *extra)
{
	return wait_exit(spawn(d, extra));
}

json_object *daemon_instance(struct daemon_harness *d, const char *instance)
{
	json_object *md = NULL;
	char *etag = NULL;
	assert_int_equal(lxd_instance_get(d->client, "default", instance, &md, &etag), 0);
	free(etag);
	return md;
}

json_object *daemon_entries(struct daemon_harness *d, const char *instance)
{
	json_object *md = daemon_instance(d, instance), *devices = NULL;
	json_object *own = json_object_new_object();
	json_object_object_get_ex(md, "devices", &devices);
	json_object_object_foreach(devices, name, value)
		if (strncmp(name, "devpass-", 8) == 0)
			json_object_object_add(own, name, json_object_get(value));
	json_object_put(md);
	return own;
}

bool wait_entries(struct daemon_harness *d, const char *instance, size_t n, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	do {
		json_object *e = daemon_entries(d, instance);
		size_t have = (size_t)json_object_object_length(e);
		json_object_put(e);
		if (have == n)
			return true;
		sleep_ms(POLL_MS);
	} while (now_ms() < deadline);
	return false;
}

bool wait_entry(struct daemon_harness *d, const char *instance, const char *entry,
		bool present, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	do {
		json_object *e = daemon_entries(d, instance);
		bool has = json_object_object_get_ex(e, entry, NULL);
		json_object_put(e);
		if (has == present)
			return true;
		sleep_ms(POLL_MS);
	} while (now_ms() < deadline);
	return false;
}

json_object *daemon_status(struct daemon_harness *d)
{
	json_object *reply = NULL;
	assert_int_equal(control_request(d->control, "status", &reply), 0);
	return reply;
}

const char *status_state(json_object *status, const char *id)
{
	json_object *devs = json_object_object_get(status, "devices");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *dev = json_object_array_get_idx(devs, i);
		if (strcmp(json_object_get_string(json_object_object_get(dev, "id")), id) == 0)
			return json_object_get_string(json_object_object_get(dev, "state"));
	}
	return NULL;
}

bool wait_state(struct daemon_harness *d, const char *id, const char *state, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	do {
		json_object *s = daemon_status(d);
		const char *have = status_state(s, id);
		bool ok = have && strcmp(have, state) == 0;
		json_object_put(s);
		if (ok)
			return true;
		sleep_ms(POLL_MS);
	} while (now_ms() < deadline);
	return false;
}

unsigned daemon_writes(struct daemon_harness *d)
{
	json_object *s = daemon_status(d);
	json_object *lxd = json_object_object_get(s, "lxd");
	unsigned n = (unsigned)json_object_get_int64(json_object_object_get(lxd, "writes"));
	json_object_put(s);
	return n;
}

int lxc(struct daemon_harness *d, const char *const *args)
{
	const char *argv[16] = {"lxc"};
	for (size_t i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	return lxd_harness_run(d->lxd, NULL, argv);
}

bool container_has_node(struct daemon_harness *d, const char *instance, const char *path)
{
	return lxc(d, (const char *[]){"exec", instance, "--", "test", "-c", path, NULL}) == 0;
}
