/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>

#include "control-conn.h"
#include "devpass/service/control.h"
#include "devpass/util/json.h"
#include "devpass/util/log.h"

/* A reply bigger than this is not from devpassd. */
#define CONTROL_REPLY_MAX (64u << 20)
/* Clients served at once; one more evicts the oldest that has not sent
 * its request yet (an idle client never keeps `status` out). */
#define CONTROL_MAX_CLIENTS 64
/* How long a client has to send its request line. */
#define CONTROL_REQUEST_MS 1000
/* Clients accepted per control_dispatch(), so that a flood of connects
 * leaves room for the rest of the loop. */
#define CONTROL_ACCEPTS_PER_ROUND 16

enum { TAG_LISTEN = CONTROL_MAX_CLIENTS, TAG_TIMER };

struct control {
	int fd;	      /* the listening socket */
	int epoll_fd; /* it, the clients and the timer: what the loop polls */
	int timer_fd; /* the earliest client deadline */
	char *path;
	dev_t dev; /* of the socket bound at @path, to remove only it */
	ino_t ino;
	struct conn *conns[CONTROL_MAX_CLIENTS];
};

static long long clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/*
 * Clears the way to bind @path: nothing there, or a socket nobody listens
 * on (a devpassd that died), which is removed. Anything else is left
 * alone: a regular file, a directory, a live daemon's socket.
 */
static int clear_path(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return log_err_errno(-EEXIST,
				     "cannot listen on %s: it exists and is "
				     "not a socket; not removing it",
				     path);
	_cleanup_(closep) int probe =
		socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe >= 0 &&
	    connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return log_err_errno(-EADDRINUSE,
				     "cannot listen on %s: another devpassd "
				     "answers there",
				     path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Binds and listens on @path, mode 0600 from the start. */
static int bind_path(const char *path, struct control *c)
{
	struct sockaddr_un sa;
	if (unix_address(path, &sa) < 0)
		return log_err_errno(-ENAMETOOLONG,
				     "control socket path too long: %s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return log_err_errno(-errno, "control socket: %m");
	int r = clear_path(path, &sa);
	if (r == -EEXIST || r == -EADDRINUSE)
		return r;
	if (r < 0)
		return log_err_errno(r, "cannot listen on %s: %s", path,
				     strerror(-r));
	/* No window in which others could connect: umask first, then 0600
	 * (connecting takes write permission; nobody needs execute). */
	mode_t old = umask(0077);
	r = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	struct stat st;
	if (r < 0 || chmod(path, 0600) < 0 || lstat(path, &st) < 0 ||
	    listen(c->fd, 64) < 0)
		return log_err_errno(-errno, "cannot listen on %s: %m", path);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

static int add_fd(struct control *c, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};
	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return log_err_errno(-errno, "control socket: epoll: %m");
	return 0;
}

static int setup_poll(struct control *c)
{
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	c->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->epoll_fd < 0 || c->timer_fd < 0)
		return log_err_errno(-errno, "control socket: %m");
	int r = add_fd(c, c->fd, EPOLLIN, TAG_LISTEN);
	return r < 0 ? r : add_fd(c, c->timer_fd, EPOLLIN, TAG_TIMER);
}

int control_listen(const char *path, struct control **out)
{
	_cleanup_(control_freep) struct control *c = calloc(1, sizeof(*c));
	if (!c)
		return log_err_errno(-ENOMEM, "out of memory listening on %s",
				     path);
	c->fd = c->epoll_fd = c->timer_fd = -1;
	int r = bind_path(path, c);
	if (r == 0 && !(c->path = strdup(path)))
		r = log_err_errno(-ENOMEM, "out of memory listening on %s",
				  path);
	if (r == 0)
		r = setup_poll(c);
	if (r < 0)
		return r;
	*out = steal_ptr(&c);
	return 0;
}

/* Removes @c->path if it is still the socket we bound there. */
static void remove_path(const struct control *c)
{
	struct stat st;
	if (c->path && lstat(c->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
}

void control_free(struct control *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		conn_free(c->conns[i]);
	if (c->fd >= 0)
		remove_path(c);
	closep(&c->fd);
	closep(&c->timer_fd);
	closep(&c->epoll_fd);
	free(c->path);
	free(c);
}

int control_get_fd(const struct control *c)
{
	return c->epoll_fd;
}

size_t control_clients(const struct control *c)
{
	size_t n = 0;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		n += c->conns[i] != NULL;
	return n;
}

static bool peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       cred.uid == 0;
}

static void drop(struct control *c, size_t i)
{
	conn_free(steal_ptr(&c->conns[i]));
}

/* A free slot; when all are taken, the oldest client still silent is
 * dropped for it. CONTROL_MAX_CLIENTS when every client is replying. */
static size_t free_slot(struct control *c)
{
	size_t oldest = CONTROL_MAX_CLIENTS;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		const struct conn *k = c->conns[i];
		if (!k)
			return i;
		if (!k->replying &&
		    (oldest == CONTROL_MAX_CLIENTS ||
		     k->deadline_ms < c->conns[oldest]->deadline_ms))
			oldest = i;
	}
	if (oldest < CONTROL_MAX_CLIENTS) {
		log_debug("control socket: %d clients; dropping the oldest "
			  "idle one",
			  CONTROL_MAX_CLIENTS);
		drop(c, oldest);
	}
	return oldest;
}

/* Accepts one client; false when none is pending. */
static bool accept_one(struct control *c, long long now)
{
	_cleanup_(closep) int fd =
		accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EINTR || errno == ECONNABORTED;
	size_t i = free_slot(c);
	if (i == CONTROL_MAX_CLIENTS)
		return true; /* all busy replying: this one is closed */
	bool root = peer_is_root(fd);
	c->conns[i] = conn_new(steal_fd(&fd), root, now + CONTROL_REQUEST_MS);
	if (!c->conns[i]) {
		log_err("out of memory accepting a control client");
		return true;
	}
	uint32_t events = c->conns[i]->replying ? EPOLLOUT : EPOLLIN;
	if (add_fd(c, c->conns[i]->fd, events, (uint32_t)i) < 0)
		drop(c, i);
	return true;
}

static void step(struct control *c, size_t i, control_status_fn status,
		 void *userdata, long long now)
{
	struct conn *k = c->conns[i];
	if (!k)
		return;
	bool was_replying = k->replying;
	if (conn_step(k, status, userdata, now) == CONN_E_DONE) {
		drop(c, i);
		return;
	}
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
	if (!was_replying && k->replying &&
	    epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, k->fd, &ev) < 0)
		drop(c, i);
}

/* Drops the clients past their deadline; arms the timer for the next. */
static void expire(struct control *c, long long now)
{
	uint64_t expirations;
	long long next = 0;
	(void)!read(c->timer_fd, &expirations, sizeof(expirations));
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		const struct conn *k = c->conns[i];
		if (k && k->deadline_ms <= now)
			drop(c, i);
		else if (k && (!next || k->deadline_ms < next))
			next = k->deadline_ms;
	}
	long long in = next ? next - now : 0;
	struct itimerspec its = {
		.it_value.tv_sec = in / 1000,
		.it_value.tv_nsec = (in % 1000) * 1000000,
	};
	timerfd_settime(c->timer_fd, 0, &its, NULL);
}

int control_dispatch(struct control *c, control_status_fn status,
		     void *userdata)
{
	struct epoll_event evs[16];
	int n = epoll_wait(c->epoll_fd, evs, ARRAY_SIZE(evs), 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	long long now = clock_ms();
	for (int e = 0; e < n; e++) {
		uint32_t tag = evs[e].data.u32;
		if (tag == TAG_LISTEN)
			for (int i = 0; i < CONTROL_ACCEPTS_PER_ROUND &&
					accept_one(c, now);
			     i++)
				;
		else if (tag < CONTROL_MAX_CLIENTS)
			step(c, tag, status, userdata, now);
	}
	expire(c, now);
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
