/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lxd-harness.h"
#include "test-util.h"

#ifndef LXD_ENV_SCRIPT
#error "LXD_ENV_SCRIPT must name tests/lxd/lxd-env.sh"
#endif

/* Run at exit or death (test-util.h) while @data, a harness, runs. */
static void stop_on_death(void *data)
{
	lxd_harness_stop(data);
}

const char *lxd_harness_server_name(enum lxd_harness_server server)
{
	return server == LXD_HARNESS_INCUS ? "Incus" : "LXD";
}

const char *lxd_harness_cli(enum lxd_harness_server server)
{
	return server == LXD_HARNESS_INCUS ? "incus" : "lxc";
}

int lxd_harness_server_from_env(enum lxd_harness_server *out)
{
	const char *v = getenv("DEVPASS_SERVER");

	if (!v || !*v || strcmp(v, "lxd") == 0)
		*out = LXD_HARNESS_LXD;
	else if (strcmp(v, "incus") == 0)
		*out = LXD_HARNESS_INCUS;
	else {
		fprintf(stderr, "DEVPASS_SERVER=%s: neither lxd nor incus\n", v);
		return -EINVAL;
	}
	return 0;
}

static void child_env(const struct lxd_harness *h)
{
	bool incus = h->server == LXD_HARNESS_INCUS;
	char conf[sizeof(h->dir) + 8], owner[16];
	snprintf(conf, sizeof(conf), "%s/client", h->dir);
	setenv(incus ? "INCUS_DIR" : "LXD_DIR", h->dir, 1);
	setenv(incus ? "INCUS_CONF" : "LXD_CONF", conf, 1);
	setenv("LXD_ENV_SERVER", incus ? "incus" : "lxd", 1);
	/* Whose LXD it is: lxd-env.sh sweeps those of dead test programs. */
	snprintf(owner, sizeof(owner), "%d", (int)getppid());
	setenv("LXD_ENV_OWNER", owner, 1);
	/* A test under a umockdev testbed must not hand its fake /sys and
	 * /dev to LXD (liblxc would start containers against them). */
	unsetenv("LD_PRELOAD");
	unsetenv("UMOCKDEV_DIR");
}

/* Starts @argv with its stdout on @out_fd (inherited when -1). */
static pid_t spawn(const struct lxd_harness *h, const char *const *argv,
		   int out_fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	child_env(h);
	if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	const char *prog = argv[0];
	if (strcmp(prog, "lxc") == 0)
		prog = lxd_harness_cli(h->server);
	execvp(prog, (char *const *)argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The exit status of @pid, 128 if a signal ended it. */
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

int lxd_harness_run(const struct lxd_harness *h, char **output,
		    const char *const *argv)
{
	int p[2], r;

	if (!output)
		return wait_exit(spawn(h, argv, -1));
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = spawn(h, argv, p[1]);
	close(p[1]);
	/* Read before waiting: the child may write more than a pipe holds. */
	r = pid < 0 ? (int)pid : read_all(p[0], output);
	close(p[0]);
	int status = wait_exit(pid);
	if (r < 0 && pid > 0)
		return r;
	return status;
}

static int script(const struct lxd_harness *h, const char *verb,
		  const char *const *names)
{
	const char *argv[64] = {LXD_ENV_SCRIPT, verb, h->dir};
	size_t n = 3;

	for (; names && *names && n < sizeof(argv) / sizeof(argv[0]) - 1;
	     names++)
		argv[n++] = *names;
	argv[n] = NULL;
	return wait_exit(spawn(h, argv, -1)) == 0 ? 0 : -EIO;
}

static int harness_fail(const struct lxd_harness *h, int r, const char *what)
{
	const char *allow = getenv("DEVPASS_ALLOW_SKIP");
	const char *name = lxd_harness_server_name(h->server);

	if (allow && strcmp(allow, "1") == 0) {
		fprintf(stderr, "SKIP: private %s: %s (DEVPASS_ALLOW_SKIP=1)\n",
			name, what);
		exit(77);
	}
	fprintf(stderr,
		"FAIL: private %s: %s. Integration tests need root, Debian's "
		"lxd and bookworm-backports' incus; set DEVPASS_ALLOW_SKIP=1 "
		"to skip instead.\n",
		name, what);
	return r;
}

int lxd_harness_start(struct lxd_harness *h, const char *const *containers)
{
	enum lxd_harness_server server;
	int r = lxd_harness_server_from_env(&server);

	if (r < 0)
		return r;
	return lxd_harness_start_server(h, server, containers);
}

int lxd_harness_start_server(struct lxd_harness *h,
			     enum lxd_harness_server server,
			     const char *const *containers)
{
	int64_t t0 = now_ms();
	int r;

	*h = (struct lxd_harness){.server = server};
	if (geteuid() != 0)
		return harness_fail(h, -EPERM, "not running as root");
	/* lxd-env.sh's sweep knows a stale one's server by this prefix. */
	snprintf(h->dir, sizeof(h->dir), "/tmp/devpass-%s.XXXXXX",
		 server == LXD_HARNESS_INCUS ? "incus" : "lxd");
	if (!mkdtemp(h->dir))
		return harness_fail(h, -errno, "mkdtemp failed");
	snprintf(h->socket, sizeof(h->socket), "%s/unix.socket", h->dir);
	h->running = true;
	/* A test that aborts (a failed umockdev call, meson's timeout) or
	 * exits early must not leave its LXD running. */
	if ((r = at_exit_or_kill(stop_on_death, h)) < 0) {
		lxd_harness_stop(h);
		return harness_fail(h, r, "too many harnesses");
	}
	if ((r = script(h, "start", NULL)) < 0 ||
	    (r = script(h, "launch", containers)) < 0) {
		lxd_harness_stop(h);
		return harness_fail(h, r, "lxd-env.sh start/launch failed");
	}
	fprintf(stderr, "private %s up in %s in %.1f s\n",
		lxd_harness_server_name(server), h->dir,
		(double)(now_ms() - t0) / 1e3);
	return 0;
}

void lxd_harness_stop(struct lxd_harness *h)
{
	if (!h->running)
		return;
	h->running = false;
	h->halted = false;
	at_exit_or_kill_cancel(stop_on_death, h);
	if (script(h, "stop", NULL) < 0)
		fprintf(stderr, "lxd-env.sh stop %s failed\n", h->dir);
}

int lxd_harness_halt(struct lxd_harness *h)
{
	int r = script(h, "halt", NULL);

	h->halted = r == 0;
	return r;
}

int lxd_harness_resume(struct lxd_harness *h)
{
	int r = script(h, "resume", NULL);

	if (r == 0)
		h->halted = false;
	return r;
}
