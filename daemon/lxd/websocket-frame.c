/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devpass/lxd/websocket-frame.h"

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
