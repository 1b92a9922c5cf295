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

#include <cmocka.h>

#include "daemon-harness.h"
#include "devpass/service/control.h"
#include "devpass/lxd/client.h"
#include "test-util.h"

/* At exit or death (test-util.h): registered after the LXD harness, so
 * the daemon and its directory go before its LXD does. */
static void cleanup_on_death(void *data)
{
	daemon_harness_cleanup(data);
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
	/* Last: a test whose init failed half-way may skip the cleanup. */
	assert_int_equal(at_exit_or_kill(cleanup_on_death, d), 0);
}

void daemon_harness_cleanup(struct daemon_harness *d)
{
	at_exit_or_kill_cancel(cleanup_on_death, d);
	if (d->pid > 0)
		daemon_stop(d, SIGKILL);
	lxd_client_free(d->client);
	d->client = NULL;
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

static bool control_answers(void *userdata)
{
	struct daemon_harness *d = userdata;
	json_object *reply = NULL;

	if (control_request(d->control, "status", &reply) != 0)
		return false;
	json_object_put(reply);
	return true;
}

void daemon_start(struct daemon_harness *d, const char *const *extra, bool wait_ready)
{
	d->pid = spawn(d, extra);
	if (wait_ready && !wait_until(control_answers, d, 10000))
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

/* What wait_entries(), wait_entry() and wait_state() wait for. */
struct wanted {
	struct daemon_harness *d;
	const char *instance; /* or the device id of wait_state() */
	const char *what;     /* an entry name, or a state */
	size_t n;
	bool present;
};

static bool has_n_entries(void *userdata)
{
	const struct wanted *w = userdata;
	json_object *e = daemon_entries(w->d, w->instance);
	size_t have = (size_t)json_object_object_length(e);

	json_object_put(e);
	return have == w->n;
}

bool wait_entries(struct daemon_harness *d, const char *instance, size_t n, int timeout_ms)
{
	struct wanted w = {.d = d, .instance = instance, .n = n};
	return wait_until(has_n_entries, &w, timeout_ms);
}

static bool entry_is_as_wanted(void *userdata)
{
	const struct wanted *w = userdata;
	json_object *e = daemon_entries(w->d, w->instance);
	bool has = json_object_object_get_ex(e, w->what, NULL);

	json_object_put(e);
	return has == w->present;
}

bool wait_entry(struct daemon_harness *d, const char *instance, const char *entry,
		bool present, int timeout_ms)
{
	struct wanted w = {.d = d, .instance = instance, .what = entry,
			   .present = present};
	return wait_until(entry_is_as_wanted, &w, timeout_ms);
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

static bool state_is(void *userdata)
{
	const struct wanted *w = userdata;
	json_object *s = daemon_status(w->d);
	const char *have = status_state(s, w->instance);
	bool ok = have && strcmp(have, w->what) == 0;

	json_object_put(s);
	return ok;
}

bool wait_state(struct daemon_harness *d, const char *id, const char *state, int timeout_ms)
{
	struct wanted w = {.d = d, .instance = id, .what = state};
	return wait_until(state_is, &w, timeout_ms);
}

unsigned daemon_lxd_counter(struct daemon_harness *d, const char *name)
{
	json_object *s = daemon_status(d);
	json_object *lxd = json_object_object_get(s, "lxd");
	unsigned n = (unsigned)json_object_get_int64(json_object_object_get(lxd, name));
	json_object_put(s);
	return n;
}

unsigned daemon_writes(struct daemon_harness *d)
{
	return daemon_lxd_counter(d, "writes");
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
