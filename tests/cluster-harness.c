/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster-harness.h"
#include "test-util.h"

#ifndef CLUSTER_ENV_SCRIPT
#error "CLUSTER_ENV_SCRIPT must name tests/lxd/cluster-env.sh"
#endif

static void stop_on_death(void *data)
{
	cluster_harness_stop(data);
}

static int wait_exit(pid_t pid)
{
	int status;

	if (pid < 0)
		return pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Runs cluster-env.sh @argv (after the script's name), its stdout on
 * @out_fd (inherited when -1). */
static pid_t spawn(const char *const *argv, int out_fd)
{
	const char *full[40] = {CLUSTER_ENV_SCRIPT};
	size_t n = 1;
	for (; *argv && n < sizeof(full) / sizeof(full[0]) - 1; argv++)
		full[n++] = *argv;
	full[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid < 0 ? -errno : pid;
	char owner[16];
	/* Whose cluster it is: the next start sweeps those of dead tests. */
	snprintf(owner, sizeof(owner), "%d", (int)getppid());
	setenv("LXD_ENV_OWNER", owner, 1);
	/* Neither the members nor their containers may see a testbed. */
	unsetenv("LD_PRELOAD");
	unsetenv("UMOCKDEV_DIR");
	if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	execv(full[0], (char *const *)full);
	fprintf(stderr, "exec %s: %s\n", full[0], strerror(errno));
	_exit(127);
}

static int read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	while (buf && (n = read(fd, buf + len, cap - len - 1)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
		if (cap - len < 2) {
			char *grown = realloc(buf, cap *= 2);
			if (!grown)
				free(buf);
			buf = grown;
		}
	}
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int run(const char *const *argv, char **output)
{
	int p[2], r;

	if (!output)
		return wait_exit(spawn(argv, -1));
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = spawn(argv, p[1]);
	close(p[1]);
	r = pid < 0 ? (int)pid : read_all(p[0], output);
	close(p[0]);
	int status = wait_exit(pid);
	return r < 0 && pid > 0 ? r : status;
}

static int harness_fail(int r, const char *what)
{
	const char *allow = getenv("DEVPASS_ALLOW_SKIP");

	if (allow && strcmp(allow, "1") == 0) {
		fprintf(stderr, "SKIP: private cluster: %s (DEVPASS_ALLOW_SKIP=1)\n",
			what);
		exit(77);
	}
	fprintf(stderr,
		"FAIL: private cluster: %s. Integration tests need root, "
		"Debian's lxd and incus (bookworm-backports); set "
		"DEVPASS_ALLOW_SKIP=1 to skip instead.\n",
		what);
	return r;
}

static void describe_members(struct cluster_harness *c)
{
	for (size_t k = 0; k < c->n_members; k++) {
		struct lxd_harness *m = &c->members[k];
		*m = (struct lxd_harness){0};
		snprintf(m->dir, sizeof(m->dir), "%s/member%u", c->dir,
			 (unsigned)k + 1);
		snprintf(m->socket, sizeof(m->socket), "%s/unix.socket",
			 m->dir);
	}
}

int cluster_harness_start(struct cluster_harness *c, const char *kind,
			  size_t n)
{
	int64_t t0 = now_ms();
	char members[8];
	int r;

	*c = (struct cluster_harness){.kind = kind, .n_members = n};
	if (n < 1 || n > CLUSTER_MAX_MEMBERS)
		return -EINVAL;
	if (geteuid() != 0)
		return harness_fail(-EPERM, "not running as root");
	snprintf(c->dir, sizeof(c->dir), "/tmp/devpass-cluster.XXXXXX");
	if (!mkdtemp(c->dir))
		return harness_fail(-errno, "mkdtemp failed");
	describe_members(c);
	c->running = true;
	if ((r = at_exit_or_kill(stop_on_death, c)) < 0) {
		cluster_harness_stop(c);
		return harness_fail(r, "too many harnesses");
	}
	snprintf(members, sizeof(members), "%zu", n);
	if (run((const char *[]){"start", kind, c->dir, members, NULL},
		NULL) != 0) {
		cluster_harness_stop(c);
		return harness_fail(-EIO, "cluster-env.sh start failed");
	}
	fprintf(stderr, "private %s cluster of %zu members up in %s in %.1f s\n",
		cluster_kind_name(c), n, c->dir,
		(double)(now_ms() - t0) / 1e3);
	return 0;
}

void cluster_harness_stop(struct cluster_harness *c)
{
	if (!c->running)
		return;
	c->running = false;
	at_exit_or_kill_cancel(stop_on_death, c);
	if (run((const char *[]){"stop", c->dir, NULL}, NULL) != 0)
		fprintf(stderr, "cluster-env.sh stop %s failed\n", c->dir);
}

/* @verb DIR K @rest... */
static int run_member(const struct cluster_harness *c, const char *verb,
		      size_t k, char **output, const char *const *rest)
{
	const char *argv[36] = {verb, c->dir};
	char member[8];
	size_t n = 3;
	snprintf(member, sizeof(member), "%zu", k);
	argv[2] = member;
	for (; rest && *rest && n < sizeof(argv) / sizeof(argv[0]) - 1; rest++)
		argv[n++] = *rest;
	argv[n] = NULL;
	return run(argv, output);
}

int cluster_launch(const struct cluster_harness *c, size_t k, bool start,
		   const char *const *names)
{
	return run_member(c, start ? "launch" : "create", k, NULL, names) == 0
		       ? 0
		       : -EIO;
}

int cluster_empty_instances(const struct cluster_harness *c, size_t k,
			    const char *prefix, int n)
{
	char count[16];
	snprintf(count, sizeof(count), "%d", n);
	return run_member(c, "empty", k, NULL,
			  (const char *[]){prefix, count, NULL}) == 0
		       ? 0
		       : -EIO;
}

int cluster_client(const struct cluster_harness *c, size_t k, char **output,
		   const char *const *args)
{
	return run_member(c, "client", k, output, args);
}

int cluster_harness_halt(struct cluster_harness *c, size_t k)
{
	int r = run_member(c, "halt", k, NULL, NULL) == 0 ? 0 : -EIO;
	if (r == 0)
		c->halted[k - 1] = true;
	return r;
}

int cluster_harness_resume(struct cluster_harness *c, size_t k)
{
	int r = run_member(c, "resume", k, NULL, NULL) == 0 ? 0 : -EIO;
	if (r == 0)
		c->halted[k - 1] = false;
	return r;
}

const char *cluster_kind_name(const struct cluster_harness *c)
{
	return strcmp(c->kind, "incus") == 0 ? "Incus" : "LXD";
}
