/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "devpass/util/log.h"
#include "devpass/lxd/websocket.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* A response head longer than this is not LXD's 101. */
#define WS_HEAD_MAX   8192
#define WS_READ_CHUNK 16384

/* ---- SHA-1 (FIPS 180-4), only for the handshake's accept value ---- */

struct sha1 {
	uint32_t h[5];
	uint8_t block[64];
	size_t fill;
	uint64_t total;
};

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t sha1_f(unsigned t, uint32_t b, uint32_t c, uint32_t d)
{
	if (t < 20)
		return ((b & c) | (~b & d)) + 0x5a827999;
	if (t < 40)
		return (b ^ c ^ d) + 0x6ed9eba1;
	if (t < 60)
		return ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc;
	return (b ^ c ^ d) + 0xca62c1d6;
}

static void sha1_block(uint32_t h[5], const uint8_t p[64])
{
	uint32_t w[80], v[5];

	for (unsigned t = 0; t < 16; t++)
		w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
		       (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
	for (unsigned t = 16; t < 80; t++)
		w[t] = rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	memcpy(v, h, sizeof(v));
	for (unsigned t = 0; t < 80; t++) {
		uint32_t tmp = rol32(v[0], 5) + sha1_f(t, v[1], v[2], v[3]) +
			       v[4] + w[t];
		v[4] = v[3];
		v[3] = v[2];
		v[2] = rol32(v[1], 30);
		v[1] = v[0];
		v[0] = tmp;
	}
	for (unsigned i = 0; i < 5; i++)
		h[i] += v[i];
}

static void sha1_init(struct sha1 *s)
{
	*s = (struct sha1){
		.h = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
		      0xc3d2e1f0},
	};
}

static void sha1_update(struct sha1 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->total += len;
	while (len > 0) {
		size_t n = sizeof(s->block) - s->fill;
		if (n > len)
			n = len;
		memcpy(s->block + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill == sizeof(s->block)) {
			sha1_block(s->h, s->block);
			s->fill = 0;
		}
	}
}

static void sha1_final(struct sha1 *s, uint8_t out[20])
{
	uint64_t bits = s->total * 8;
	uint8_t pad = 0x80, len_be[8];

	sha1_update(s, &pad, 1);
	pad = 0;
	while (s->fill != 56)
		sha1_update(s, &pad, 1);
	for (unsigned i = 0; i < 8; i++)
		len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(s, len_be, 8);
	for (unsigned i = 0; i < 20; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ---- handshake ---- */

void ws_base64_encode(const uint8_t *in, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*out++ = tab[(v >> 18) & 63];
		*out++ = tab[(v >> 12) & 63];
		*out++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*out++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*out = '\0';
}

void ws_accept_compute(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	struct sha1 s;
	uint8_t digest[20];

	sha1_init(&s);
	sha1_update(&s, key, strlen(key));
	sha1_update(&s, WS_GUID, strlen(WS_GUID));
	sha1_final(&s, digest);
	ws_base64_encode(digest, sizeof(digest), out);
}

int ws_key_generate(char out[WS_KEY_LEN + 1])
{
	uint8_t raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return log_err_errno(-errno, "getrandom failed: %m");
	ws_base64_encode(raw, sizeof(raw), out);
	return 0;
}

/* A request-line or header token must not smuggle in more lines. */
static bool token_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int ws_handshake_request(const char *host, const char *path, const char *key,
			 char **ret)
{
	if (!token_safe(host) || !token_safe(path) || !token_safe(key) ||
	    path[0] != '/')
		return log_err_errno(-EINVAL, "websocket: bad request target");
	if (asprintf(ret,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "\r\n",
		     path, host, key) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * Finds header @name in @head (case-insensitive) and copies its value,
 * trimmed, into @buf. Returns false if absent or too long.
 */
static bool header_value(const char *head, const char *name, char *buf,
			 size_t size)
{
	size_t nlen = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, name, nlen) != 0 || l[nlen] != ':')
			continue;
		const char *v = l + nlen + 1;
		v += strspn(v, " \t");
		size_t vlen = strcspn(v, "\r\n");
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= size)
			return false;
		memcpy(buf, v, vlen);
		buf[vlen] = '\0';
		return true;
	}
	return false;
}

int ws_handshake_check(const char *head, const char *key)
{
	char expected[WS_ACCEPT_LEN + 1], value[128];
	int status = 0;

	if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1 || status != 101) {
		int line = (int)strcspn(head, "\r\n");
		log_err("websocket: handshake refused: \"%.*s\"",
			line > 80 ? 80 : line, head);
		return -EPROTO;
	}
	if (!header_value(head, "Upgrade", value, sizeof(value)) ||
	    strcasecmp(value, "websocket") != 0) {
		log_err("websocket: 101 response without Upgrade: websocket");
		return -EPROTO;
	}
	ws_accept_compute(key, expected);
	if (!header_value(head, "Sec-WebSocket-Accept", value, sizeof(value)) ||
	    strcmp(value, expected) != 0) {
		log_err("websocket: wrong or missing Sec-WebSocket-Accept");
		return -EPROTO;
	}
	return 0;
}

/* ---- frames ---- */

size_t ws_frame_size(size_t len)
{
	size_t ext = len < 126 ? 0 : len <= 0xffff ? 2 : 8;
	return 2 + ext + 4 + len;
}

ssize_t ws_frame_encode(enum ws_opcode op, const void *payload, size_t len,
			const uint8_t mask[4], uint8_t *out, size_t size)
{
	const uint8_t *p = payload;
	size_t n = 0;

	if (size < ws_frame_size(len))
		return -ENOBUFS;
	out[n++] = 0x80 | (uint8_t)op;
	if (len < 126) {
		out[n++] = 0x80 | (uint8_t)len;
	} else if (len <= 0xffff) {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	memcpy(out + n, mask, 4);
	n += 4;
	for (size_t i = 0; i < len; i++)
		out[n++] = p[i] ^ mask[i % 4];
	return (ssize_t)n;
}

/* ---- decoder ---- */

struct ws_decoder {
	size_t max_message;
	int error; /* sticky: once the stream is broken it stays broken */

	/* The frame being read: header bytes, then payload. */
	uint8_t hdr[14];
	size_t hdr_len;
	bool in_payload;
	bool fin;
	uint8_t opcode;
	uint64_t remaining;

	/* A control frame's payload (may interleave a fragmented message). */
	uint8_t ctrl[WS_MAX_CONTROL + 1];
	size_t ctrl_len;

	/* The data message being reassembled, NUL-terminated when handed out.
	 */
	uint8_t *msg;
	size_t msg_len;
	size_t msg_cap;
	bool msg_open;
	bool msg_done; /* handed out: start over on the next feed */
	uint8_t msg_opcode;
};

int ws_decoder_new(struct ws_decoder **ret, size_t max_message)
{
	struct ws_decoder *d = NULL;

	/* The buffer holds max_message + 1 bytes and grows by doubling. */
	if (max_message == 0 || max_message > SIZE_MAX / 4)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->max_message = max_message;
	*ret = d;
	return 0;
}

void ws_decoder_free(struct ws_decoder *d)
{
	if (!d)
		return;
	free(d->msg);
	free(d);
}

static int decoder_fail(struct ws_decoder *d, int error)
{
	d->error = error;
	return error;
}

/* Header bytes still missing, given what has been read so far. */
static size_t header_missing(const struct ws_decoder *d)
{
	size_t need = 2;

	if (d->hdr_len >= 2) {
		uint8_t len7 = d->hdr[1] & 0x7f;
		need += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
	}
	return need - d->hdr_len;
}

static uint64_t header_payload_len(const struct ws_decoder *d)
{
	uint8_t len7 = d->hdr[1] & 0x7f;
	uint64_t len = 0;

	if (len7 < 126)
		return len7;
	for (size_t i = 2; i < (len7 == 126 ? 4u : 10u); i++)
		len = len << 8 | d->hdr[i];
	return len;
}

/* Makes room for @more payload bytes plus the terminating NUL. */
static int message_reserve(struct ws_decoder *d, uint64_t more)
{
	if (more > d->max_message - d->msg_len)
		return -EMSGSIZE;
	size_t want = d->msg_len + (size_t)more + 1;
	if (want <= d->msg_cap)
		return 0;
	size_t cap = d->msg_cap ? d->msg_cap : 4096;
	while (cap < want)
		cap *= 2;
	if (cap > d->max_message + 1)
		cap = d->max_message + 1;
	uint8_t *p = realloc(d->msg, cap);
	if (!p)
		return -ENOMEM;
	d->msg = p;
	d->msg_cap = cap;
	return 0;
}

static int header_check_control(const struct ws_decoder *d)
{
	if (d->opcode != WS_OP_CLOSE && d->opcode != WS_OP_PING &&
	    d->opcode != WS_OP_PONG)
		return -EPROTO;
	if (!d->fin || d->remaining > WS_MAX_CONTROL)
		return -EPROTO;
	return 0;
}

static int header_check_data(struct ws_decoder *d)
{
	if (d->opcode == WS_OP_CONTINUATION) {
		if (!d->msg_open)
			return -EPROTO;
	} else if (d->opcode == WS_OP_TEXT || d->opcode == WS_OP_BINARY) {
		if (d->msg_open)
			return -EPROTO;
		d->msg_open = true;
		d->msg_opcode = d->opcode;
		d->msg_len = 0;
	} else {
		return -EPROTO;
	}
	return message_reserve(d, d->remaining);
}

/* The header is complete: check it and get ready for the payload. */
static int header_parse(struct ws_decoder *d)
{
	d->fin = d->hdr[0] & 0x80;
	d->opcode = d->hdr[0] & 0x0f;
	d->remaining = header_payload_len(d);
	d->in_payload = true;
	d->ctrl_len = 0;
	/* No extension was negotiated, so RSV bits must be 0 (RFC 5.2). */
	if (d->hdr[0] & 0x70 || d->remaining >> 63)
		return -EPROTO;
	if (d->opcode & 0x08)
		return header_check_control(d);
	return header_check_data(d);
}

/* Takes header bytes; returns how many were used, or -EPROTO. */
static ssize_t header_take(struct ws_decoder *d, const uint8_t *p, size_t len)
{
	size_t used = 0;

	while (used < len && header_missing(d) > 0) {
		d->hdr[d->hdr_len++] = p[used++];
		/* A client must fail on a masked server frame (RFC 5.1). */
		if (d->hdr_len == 2 && d->hdr[1] & 0x80)
			return -EPROTO;
	}
	return (ssize_t)used;
}

static void payload_take(struct ws_decoder *d, const uint8_t *p, size_t n)
{
	if (d->opcode & 0x08) {
		memcpy(d->ctrl + d->ctrl_len, p, n);
		d->ctrl_len += n;
	} else {
		memcpy(d->msg + d->msg_len, p, n);
		d->msg_len += n;
	}
	d->remaining -= n;
}

static int control_finish(struct ws_decoder *d, struct ws_message *msg)
{
	*msg = (struct ws_message){
		.opcode = d->opcode,
		.data = d->ctrl,
		.len = d->ctrl_len,
		.close_code = WS_CLOSE_NO_STATUS,
	};
	d->ctrl[d->ctrl_len] = '\0';
	if (d->opcode == WS_OP_CLOSE && d->ctrl_len == 1)
		return -EPROTO;
	if (d->opcode == WS_OP_CLOSE && d->ctrl_len >= 2) {
		msg->close_code = (uint16_t)(d->ctrl[0] << 8 | d->ctrl[1]);
		msg->data += 2;
		msg->len -= 2;
	}
	return WS_MESSAGE;
}

/* The frame's payload is complete: is a message complete too? */
static int frame_finish(struct ws_decoder *d, struct ws_message *msg)
{
	d->in_payload = false;
	d->hdr_len = 0;
	if (d->opcode & 0x08)
		return control_finish(d, msg);
	if (!d->fin)
		return 0;
	d->msg[d->msg_len] = '\0';
	*msg = (struct ws_message){
		.opcode = d->msg_opcode,
		.data = d->msg,
		.len = d->msg_len,
	};
	d->msg_open = false;
	d->msg_done = true;
	return WS_MESSAGE;
}

/* Decodes from @p until a frame ends; returns bytes used via @used. */
static int decode_step(struct ws_decoder *d, const uint8_t *p, size_t len,
		       size_t *used, struct ws_message *msg)
{
	*used = 0;
	if (!d->in_payload) {
		ssize_t n = header_take(d, p, len);
		if (n < 0)
			return (int)n;
		*used = (size_t)n;
		if (header_missing(d) > 0)
			return 0;
		int r = header_parse(d);
		if (r < 0)
			return r;
	} else {
		size_t n = d->remaining < len ? (size_t)d->remaining : len;
		payload_take(d, p, n);
		*used = n;
	}
	return d->remaining == 0 ? frame_finish(d, msg) : 0;
}

int ws_decoder_feed(struct ws_decoder *d, const void *buf, size_t len,
		    size_t *consumed, struct ws_message *msg)
{
	const uint8_t *p = buf;
	size_t used = 0;

	*consumed = 0;
	if (d->error)
		return d->error;
	if (d->msg_done) {
		d->msg_done = false;
		d->msg_len = 0;
	}
	while (used < len) {
		size_t n;
		int r = decode_step(d, p + used, len - used, &n, msg);
		used += n;
		if (r < 0)
			return decoder_fail(d, r);
		if (r == WS_MESSAGE) {
			*consumed = used;
			return WS_MESSAGE;
		}
	}
	*consumed = used;
	return 0;
}

/* ---- connection ---- */

struct ws_conn {
	int fd;
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

static int send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads the response head up to the blank line. One byte at a time, so
 * nothing after the head (frames LXD may send right away) is read here:
 * it stays in the socket for the decoder. The head is ~130 bytes once
 * per connection, so the syscalls do not matter.
 */
static int read_head(int fd, char *buf, size_t size, int64_t deadline)
{
	size_t len = 0;

	while (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0) {
		if (len + 1 >= size)
			return -EPROTO;
		ssize_t n = read(fd, buf + len, 1);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		len++;
	}
	buf[len] = '\0';
	return 0;
}

static int handshake(int fd, const char *host, const char *path, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	_cleanup_(freep) char *req = NULL;
	char key[WS_KEY_LEN + 1], head[WS_HEAD_MAX];
	int r;

	r = ws_key_generate(key);
	if (r < 0)
		return r;
	r = ws_handshake_request(host, path, key, &req);
	if (r < 0)
		return r;
	r = send_all(fd, req, strlen(req), deadline);
	if (r >= 0)
		r = read_head(fd, head, sizeof(head), deadline);
	if (r < 0)
		return log_err_errno(r,
				     "websocket: handshake for %s failed: %s",
				     path, strerror(-r));
	return ws_handshake_check(head, key);
}

int ws_conn_new(struct ws_conn **ret, int fd, const char *host,
		const char *path, int timeout_ms)
{
	_cleanup_(closep) int owned = fd;
	_cleanup_(ws_conn_freep) struct ws_conn *c = NULL;
	int flags = fcntl(fd, F_GETFL);
	int r;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return log_err_errno(-errno, "websocket: fcntl: %m");
	r = handshake(fd, host, path, timeout_ms);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = owned;
	owned = -1;
	r = ws_decoder_new(&c->dec, WS_MAX_MESSAGE_DEFAULT);
	if (r < 0)
		return r;
	*ret = steal_ptr(&c);
	return 0;
}

/*
 * Sends a small control frame. A peer that cannot take ~130 bytes is
 * stuck, so the deadline is short and missing it drops the connection.
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
	int r = send_all(c->fd, frame, (size_t)n, now_ms() + 1000);
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
