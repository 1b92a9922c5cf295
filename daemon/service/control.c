/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "devpass/service/control.h"
#include "devpass/util/json.h"
#include "devpass/util/log.h"

/* A reply bigger than this is not from devpassd. */
#define CONTROL_REPLY_MAX (64u << 20)

struct control {
	int fd;
	char *path;
};

static int unix_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static void set_timeouts(int fd, int seconds)
{
	struct timeval tv = {.tv_sec = seconds};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int control_listen(const char *path, struct control **out)
{
	struct sockaddr_un sa;
	if (unix_address(path, &sa) < 0)
		return log_err_errno(-ENAMETOOLONG,
				     "control socket path too long: %s", path);
	_cleanup_(closep) int fd =
		socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_err_errno(-errno, "control socket: %m");
	unlink(path);
	/* No window in which others could connect: umask first, then 0600
	 * (connecting takes write permission; nobody needs execute). */
	mode_t old = umask(0077);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0)
		return log_err_errno(-errno, "cannot listen on %s: %m", path);
	_cleanup_(control_freep) struct control *c = calloc(1, sizeof(*c));
	if (c)
		c->fd = -1;
	if (!c || !(c->path = strdup(path)))
		return log_err_errno(-ENOMEM, "out of memory listening on %s",
				     path);
	c->fd = steal_fd(&fd);
	*out = steal_ptr(&c);
	return 0;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	closep(&c->fd);
	if (c->path)
		unlink(c->path);
	free(c->path);
	free(c);
}

int control_get_fd(const struct control *c)
{
	return c->fd;
}

static bool peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       cred.uid == 0;
}

/* Reads one request line (at most 63 bytes) into @buf. */
static int read_request(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t k = read(fd, buf + n, size - 1 - n);
		if (k <= 0)
			return k < 0 ? -errno : -EPROTO;
		n += (size_t)k;
		buf[n] = '\0';
		char *nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			return 0;
		}
	}
	return -EPROTO;
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t k = write(fd, s, len);
		if (k <= 0)
			return;
		s += k;
		len -= (size_t)k;
	}
}

static void answer(int fd, control_status_fn status, void *userdata)
{
	char req[64];
	if (!peer_is_root(fd)) {
		write_all(fd, "{\"error\":\"only root may ask devpassd\"}\n");
		return;
	}
	if (read_request(fd, req, sizeof(req)) < 0)
		return;
	if (strcmp(req, "status") != 0) {
		write_all(fd, "{\"error\":\"unknown request\"}\n");
		return;
	}
	json_object *reply = status(userdata);
	write_all(fd,
		  reply ? json_object_to_json_string_ext(
				  reply, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE)
			: "{\"error\":\"out of memory\"}");
	write_all(fd, "\n");
	json_object_put(reply);
}

int control_dispatch(struct control *c, control_status_fn status,
		     void *userdata)
{
	_cleanup_(closep) int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	set_timeouts(fd, 1);
	answer(fd, status, userdata);
	return 0;
}

static int read_reply(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	_cleanup_(freep) char *buf = malloc(cap);
	for (ssize_t k = 1; buf && k > 0;) {
		if (len + 1 == cap) {
			char *grown = cap < CONTROL_REPLY_MAX
					      ? realloc(buf, cap * 2)
					      : NULL;
			if (!grown)
				return -EPROTO;
			buf = grown;
			cap *= 2;
		}
		k = read(fd, buf + len, cap - 1 - len);
		if (k < 0)
			return -errno;
		len += (size_t)k;
	}
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*out = steal_ptr(&buf);
	return 0;
}

int control_request(const char *path, const char *command, json_object **reply)
{
	struct sockaddr_un sa;
	if (unix_address(path, &sa) < 0)
		return -ENAMETOOLONG;
	_cleanup_(closep) int fd =
		socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	set_timeouts(fd, 10);
	dprintf(fd, "%s\n", command);
	_cleanup_(freep) char *text = NULL;
	int r = read_reply(fd, &text);
	if (r < 0)
		return r;
	char why[128];
	r = json_parse_buffer(text, strlen(text), reply, why, sizeof(why));
	return r == -EBADMSG ? -EPROTO : r;
}
