/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devpass/util/log.h"
#include "multi.h"

/* epoll data of the timerfd; sockets carry their fd (>= 0). */
#define TIMER_TAG UINT64_MAX

struct lxd_multi {
	CURLM *curl;
	int epoll_fd;
	int timer_fd;
	lxd_multi_done_t done;
};

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in @s into the set.
 * curl_multi_assign() marks a socket as already in the set. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
		     void *socketp)
{
	struct lxd_multi *m = userp;
	struct epoll_event ev = {.data.u64 = (uint64_t)s};
	(void)easy;

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(m->curl, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(m->epoll_fd, op, s, &ev) < 0 && op == EPOLL_CTL_MOD &&
	    errno == ENOENT)
		epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, s, &ev);
	curl_multi_assign(m->curl, s, m);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 disarms; 0 means "now", which a timerfd
 * (where 0 disarms) gets as one nanosecond. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct lxd_multi *m = userp;
	struct itimerspec its = {0};
	(void)multi;

	if (timeout_ms == 0)
		its.it_value.tv_nsec = 1;
	else if (timeout_ms > 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
	}
	timerfd_settime(m->timer_fd, 0, &its, NULL);
	return 0;
}

int lxd_multi_new(lxd_multi_done_t done, struct lxd_multi **out)
{
	_cleanup_(lxd_multi_freep) struct lxd_multi *m = calloc(1, sizeof(*m));
	if (!m)
		return log_err_errno(-ENOMEM, "out of memory for curl");
	m->epoll_fd = m->timer_fd = -1;
	m->done = done;
	if (!(m->curl = curl_multi_init()))
		return log_err_errno(-ENOMEM, "out of memory for curl");
	m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->epoll_fd < 0 || m->timer_fd < 0)
		return log_err_errno(-errno, "cannot set up curl's loop: %m");
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
	if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, m->timer_fd, &ev) < 0)
		return log_err_errno(-errno, "cannot set up curl's loop: %m");
	/* A pass writes its instances side by side; beyond this many at once
	 * curl queues the rest rather than open a connection each. */
	curl_multi_setopt(m->curl, CURLMOPT_MAX_TOTAL_CONNECTIONS, 16L);
	curl_multi_setopt(m->curl, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(m->curl, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->curl, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(m->curl, CURLMOPT_TIMERDATA, m);
	*out = steal_ptr(&m);
	return 0;
}

void lxd_multi_free(struct lxd_multi *m)
{
	if (!m)
		return;
	if (m->curl)
		curl_multi_cleanup(m->curl);
	closep(&m->timer_fd);
	closep(&m->epoll_fd);
	free(m);
}

int lxd_multi_add(struct lxd_multi *m, CURL *easy)
{
	CURLMcode mc = curl_multi_add_handle(m->curl, easy);
	if (mc != CURLM_OK)
		return log_err_errno(-ENOMEM,
				     "curl cannot start a transfer: %s",
				     curl_multi_strerror(mc));
	return 0;
}

void lxd_multi_remove(struct lxd_multi *m, CURL *easy)
{
	curl_multi_remove_handle(m->curl, easy);
}

int lxd_multi_get_fd(const struct lxd_multi *m)
{
	return m->epoll_fd;
}

/* Hands every finished transfer to done; done may add new ones. */
static void reap(struct lxd_multi *m)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m->curl, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode cc = msg->data.result;
		curl_multi_remove_handle(m->curl, easy);
		m->done(easy, cc);
	}
}

static void act(struct lxd_multi *m, const struct epoll_event *ev)
{
	int running;

	if (ev->data.u64 == TIMER_TAG) {
		uint64_t n;
		if (read(m->timer_fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
			return;
		curl_multi_socket_action(m->curl, CURL_SOCKET_TIMEOUT, 0,
					 &running);
		return;
	}
	int flags = (ev->events & EPOLLIN ? CURL_CSELECT_IN : 0) |
		    (ev->events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
		    (ev->events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
	curl_multi_socket_action(m->curl, (curl_socket_t)ev->data.u64, flags,
				 &running);
}

void lxd_multi_dispatch(struct lxd_multi *m)
{
	struct epoll_event evs[16];
	int n = epoll_wait(m->epoll_fd, evs, ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++)
		act(m, &evs[i]);
	reap(m);
}
