/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devpass/service/stream.h"
#include "devpass/util/log.h"

enum stream_state {
	STREAM_DOWN,	  /* the timer says when to connect again */
	STREAM_HANDSHAKE, /* the timer is the handshake's deadline */
	STREAM_UP,	  /* the timer says when the stream counts as stable */
};

/* epoll data of the timer; the socket is 0. */
#define TIMER_TAG 1u

struct stream {
	char *socket_path;
	int epoll_fd;
	int timer_fd;
	struct lxd_events *ev;
	enum stream_state state;
	unsigned backoff_ms;
	bool stable; /* stayed up or delivered: the next failure starts over */
	unsigned attempts;
	const struct stream_ops *ops;
	void *userdata;
};

static void arm(struct stream *s, unsigned ms)
{
	struct itimerspec its = {
		.it_value.tv_sec = ms / 1000,
		.it_value.tv_nsec = (long)(ms % 1000) * 1000000 + 1,
	};
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void drop(struct stream *s)
{
	if (!s->ev)
		return;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, lxd_events_get_fd(s->ev), NULL);
	lxd_events_free(steal_ptr(&s->ev));
}

/* Any stage failed: wait one backoff step more than last time. */
static void fail(struct stream *s, const char *why)
{
	bool was_up = s->state == STREAM_UP;

	drop(s);
	s->state = STREAM_DOWN;
	if (s->stable)
		s->backoff_ms = 0;
	s->stable = false;
	s->backoff_ms =
		s->backoff_ms ? s->backoff_ms * 2 : STREAM_BACKOFF_MIN_MS;
	if (s->backoff_ms > STREAM_BACKOFF_MAX_MS)
		s->backoff_ms = STREAM_BACKOFF_MAX_MS;
	arm(s, s->backoff_ms);
	if (was_up)
		log_warning("lost LXD's event stream (%s); reconnecting in "
			    "%u ms",
			    why, s->backoff_ms);
	else
		log_info("no LXD event stream (%s); trying again in %u ms", why,
			 s->backoff_ms);
}

static void connect_now(struct stream *s)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = 0};
	int r;

	s->attempts++;
	if ((r = lxd_events_start(&s->ev, s->socket_path)) < 0)
		return fail(s, strerror(-r));
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, lxd_events_get_fd(s->ev),
		      &e) < 0)
		return fail(s, strerror(errno));
	s->state = STREAM_HANDSHAKE;
	arm(s, STREAM_HANDSHAKE_MS);
}

int stream_new(const char *socket_path, const struct stream_ops *ops,
	       void *userdata, struct stream **out)
{
	_cleanup_(stream_freep) struct stream *s = calloc(1, sizeof(*s));
	if (!s || !(s->socket_path = strdup(socket_path)))
		return log_err_errno(-ENOMEM, "out of memory for LXD events");
	s->timer_fd = -1;
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = TIMER_TAG};
	if (s->epoll_fd < 0 || s->timer_fd < 0 ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &e) < 0)
		return log_err_errno(-errno, "cannot set up LXD events: %m");
	s->ops = ops;
	s->userdata = userdata;
	connect_now(s);
	*out = steal_ptr(&s);
	return 0;
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	drop(s);
	closep(&s->timer_fd);
	closep(&s->epoll_fd);
	free(s->socket_path);
	free(s);
}

int stream_get_fd(const struct stream *s)
{
	return s->epoll_fd;
}

bool stream_is_up(const struct stream *s)
{
	return s->state == STREAM_UP;
}

unsigned stream_attempts(const struct stream *s)
{
	return s->attempts;
}

static void on_timer(struct stream *s)
{
	uint64_t n;
	if (read(s->timer_fd, &n, sizeof(n)) < 0)
		return;
	if (s->state == STREAM_DOWN)
		connect_now(s);
	else if (s->state == STREAM_HANDSHAKE)
		fail(s, "no handshake within 5 s");
	else
		s->stable = true;
}

static void on_event(const struct lxd_event *ev, void *userdata)
{
	struct stream *s = userdata;
	s->stable = true; /* it delivered */
	s->ops->on_event(ev, s->userdata);
}

static void opened(struct stream *s)
{
	s->state = STREAM_UP;
	arm(s, STREAM_STABLE_MS);
	log_info("listening to LXD events on %s", s->socket_path);
	s->ops->on_up(s->userdata);
}

static void on_socket(struct stream *s)
{
	int r = lxd_events_dispatch(s->ev, on_event, s);
	if (r == LXD_EVENTS_OPENED) {
		opened(s);
		r = lxd_events_dispatch(s->ev, on_event, s);
	}
	if (r == LXD_EVENTS_CLOSED)
		fail(s, "closed by LXD");
	else if (r < 0)
		fail(s, strerror(-r));
}

void stream_dispatch(struct stream *s)
{
	struct epoll_event evs[2];
	int n = epoll_wait(s->epoll_fd, evs, ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.u32 == TIMER_TAG)
			on_timer(s);
		else if (s->ev)
			on_socket(s);
	}
}
