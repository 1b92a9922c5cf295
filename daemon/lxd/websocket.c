/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "devpass/util/log.h"
#include "devpass/lxd/websocket-handshake.h"
#include "devpass/lxd/websocket.h"

/* A response head longer than this is not LXD's 101. */
#define WS_HEAD_MAX   8192
#define WS_READ_CHUNK 16384

struct ws_conn {
	int fd;
	bool open; /* the 101 came and checked out */
	char key[WS_KEY_LEN + 1];
	size_t head_len;
	char head[WS_HEAD_MAX];
	struct ws_decoder *dec;
	size_t in_off;
	size_t in_len;
	uint8_t in[WS_READ_CHUNK];
};

void ws_conn_free(struct ws_conn *c)
{
	if (!c)
		return;
	closep(&c->fd);
	ws_decoder_free(c->dec);
	free(c);
}

int ws_conn_get_fd(const struct ws_conn *c)
{
	return c->fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until @fd is ready for @events or @deadline (CLOCK_MONOTONIC ms). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Sends @len bytes at once or fails: the loop never waits on the peer. */
static int send_now(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EAGAIN;
}

/*
 * Reads what has come of the response head, up to the blank line. One
 * byte at a time, so nothing after the head (frames LXD may send right
 * away) is read here: it stays in the socket for the decoder. The head is
 * ~130 bytes once per connection, so the syscalls do not matter.
 * Return: 1 when the head is complete, 0 when more must come, < 0.
 */
static int head_step(struct ws_conn *c)
{
	while (c->head_len < 4 ||
	       memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) != 0) {
		if (c->head_len + 1 >= sizeof(c->head))
			return -EPROTO;
		ssize_t n = read(c->fd, c->head + c->head_len, 1);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		c->head_len++;
	}
	c->head[c->head_len] = '\0';
	return 1;
}

/* The handshake's next step: 0 (wait for the fd), WS_OPENED or < 0. */
static int handshake_step(struct ws_conn *c)
{
	int r = head_step(c);
	if (r <= 0)
		return r;
	if ((r = ws_handshake_check(c->head, c->key)) < 0)
		return r;
	c->open = true;
	return WS_OPENED;
}

/* Sends the upgrade request; a fresh socket takes its ~200 bytes at once,
 * and one that does not is a server not reading: no waiting for it. */
static int send_request(struct ws_conn *c, const char *host, const char *path)
{
	_cleanup_(freep) char *req = NULL;
	int r = ws_handshake_key(c->key);

	if (r < 0 || (r = ws_handshake_request(host, path, c->key, &req)) < 0)
		return r;
	return send_now(c->fd, req, strlen(req));
}

int ws_conn_start(struct ws_conn **ret, int fd, const char *host,
		  const char *path)
{
	_cleanup_(closep) int owned = fd;
	_cleanup_(ws_conn_freep) struct ws_conn *c = NULL;
	int flags = fcntl(fd, F_GETFL);
	int r;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return log_err_errno(-errno, "websocket: fcntl: %m");
	c = calloc(1, sizeof(*c));
	if (!c)
		return log_err_errno(-ENOMEM, "websocket: out of memory");
	c->fd = steal_fd(&owned);
	r = ws_decoder_new(&c->dec, WS_MAX_MESSAGE_DEFAULT);
	if (r < 0)
		return log_err_errno(r, "websocket: no decoder: %s",
				     strerror(-r));
	if ((r = send_request(c, host, path)) < 0)
		return log_err_errno(r,
				     "websocket: sending the handshake for "
				     "%s: %s",
				     path, strerror(-r));
	*ret = steal_ptr(&c);
	return 0;
}

int ws_conn_new(struct ws_conn **ret, int fd, const char *host,
		const char *path, int timeout_ms)
{
	_cleanup_(ws_conn_freep) struct ws_conn *c = NULL;
	int64_t deadline = now_ms() + timeout_ms;
	struct ws_message msg;
	int r = ws_conn_start(&c, fd, host, path);

	if (r < 0)
		return r;
	while ((r = ws_conn_read(c, &msg)) == 0)
		if ((r = wait_fd(c->fd, POLLIN, deadline)) < 0)
			break;
	if (r < 0)
		return log_err_errno(r,
				     "websocket: handshake for %s failed: %s",
				     path, strerror(-r));
	*ret = steal_ptr(&c);
	return 0;
}

/*
 * Sends a small control frame. A peer that cannot take ~130 bytes at once
 * is stuck: that drops the connection rather than wait in the loop.
 */
static int conn_send_control(struct ws_conn *c, enum ws_opcode op,
			     const void *payload, size_t len)
{
	uint8_t frame[2 + 4 + WS_MAX_CONTROL], mask[4];

	if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask))
		return log_err_errno(-errno, "getrandom failed: %m");
	ssize_t n =
		ws_frame_encode(op, payload, len, mask, frame, sizeof(frame));
	if (n < 0)
		return (int)n;
	int r = send_now(c->fd, frame, (size_t)n);
	if (r < 0)
		return log_err_errno(r,
				     "websocket: sending a control frame: %s",
				     strerror(-r));
	return 0;
}

/* Acts on a decoded message: 0 to go on, WS_MESSAGE, WS_CLOSED or < 0. */
static int conn_handle(struct ws_conn *c, const struct ws_message *msg)
{
	uint8_t code[2];

	switch (msg->opcode) {
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		return WS_MESSAGE;
	case WS_OP_PING:
		/* LXD pings every 10 s and drops clients that do not answer. */
		return conn_send_control(c, WS_OP_PONG, msg->data, msg->len);
	case WS_OP_CLOSE:
		log_debug("websocket: server closed the connection (%u)",
			  msg->close_code);
		code[0] = (uint8_t)(msg->close_code >> 8);
		code[1] = (uint8_t)msg->close_code;
		/* Echo the status (RFC 5.5.1); an unanswered close is fine. */
		(void)conn_send_control(
			c, WS_OP_CLOSE, code,
			msg->close_code == WS_CLOSE_NO_STATUS ? 0 : 2);
		return WS_CLOSED;
	default:
		return 0;
	}
}

/* Reads what the socket has: 1 if bytes came, 0, WS_CLOSED or < 0. */
static int conn_fill(struct ws_conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in, sizeof(c->in));
		if (n > 0) {
			c->in_off = 0;
			c->in_len = (size_t)n;
			return 1;
		}
		if (n == 0) {
			log_debug(
				"websocket: connection closed without close frame");
			return WS_CLOSED;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		return log_err_errno(-errno, "websocket: read: %m");
	}
}

int ws_conn_read(struct ws_conn *c, struct ws_message *msg)
{
	if (!c->open)
		return handshake_step(c);
	for (;;) {
		int r;
		if (c->in_off == c->in_len) {
			r = conn_fill(c);
			if (r != 1)
				return r;
		}
		size_t n;
		r = ws_decoder_feed(c->dec, c->in + c->in_off,
				    c->in_len - c->in_off, &n, msg);
		c->in_off += n;
		if (r < 0)
			return log_err_errno(
				r, "websocket: bad frame from server: %s",
				strerror(-r));
		if (r == WS_MESSAGE) {
			r = conn_handle(c, msg);
			if (r != 0)
				return r;
		}
	}
}
